#!/usr/bin/env python3
"""Evaluation throughput of `optiml eval` beside lm-evaluation-harness's `hf` backend (HFLM), on the same prompts
and the same checkpoint, in one run on this machine; prints Markdown tables with the ratios and the agreement.

Usage:
  python tools/bench_eval.py --model DIR [--niv2 ../shared/data/niv2]
        [--mc-task task363_sst2_polarity_classification] [--gen-task task1564_triviaqa_answer_generation]
        [--shots 0] [--threads 2] [--batch-size 8] [--max-new-tokens 32] [--limit N] [--repeat 1]
        [--retries 2] [--optiml .build/release/optiml] [--work DIR] [--json-out FILE] [--no-wait]

Setup, all in a temporary folder (--work keeps it):
  benches   three `optiml bench build --source niv2:NIV2 --preset SPLIT.yaml` runs, SPLIT.yaml being
            `test: {tasks: [...]}`: the bench of both held-out tasks, and one bench of each task alone, so that
            rank classification and generation are timed apart. The prompts of the one-task benches are checked
            to be those of the two-task bench.
  prompts   `optiml bench export BENCH --split test --format metaseq [--shots K]` of each one-task bench: one JSON a
            line with src, tgt, references, candidates, gold, task, id. These are what lm-eval is given; our
            samples.jsonl prompts are checked to be the same texts.
  ours      `optiml eval --model DIR --bench BENCH --levels 1,2 --shots K --no-calibration --max-new-tokens N
            --threads T --batch-size B [--limit L] --out FRESH` with a fresh --out each time (no response cache).
            "ours s" is the run's own span in results.sqlite (runs.started_at -> finished_at): after the model is
            loaded, covering prompt formatting, every request, scoring and storing the samples. The wall time of
            the process and of a run of one instance (--limit 1), about load + startup, are shown too.
  theirs    lm_eval.models.huggingface.HFLM(pretrained=DIR, batch_size=B, device="cpu") after
            torch.set_num_threads(T), loaded once (load time shown, not counted). Multiple choice:
            lm.loglikelihood([Instance("loglikelihood", doc, (src, candidate), idx=j, metadata=(task, doc_id, 1))
            for every candidate j]); the prediction is the argmax of the summed log-probabilities (first on ties,
            as ours). Generation: lm.generate_until([Instance("generate_until", doc, (src, {"until": U,
            "max_gen_toks": N, "do_sample": False}), idx=0, ...)]) with U = [] at 0 shots and ["\\n\\n\\n"] at k
            shots, as our runner (lm-eval adds EOS to U itself). Only these calls are timed (tokenization inside
            them included, as ours includes its own), after one untimed single-request call of each kind so
            that torch's one-time set-up is not counted against it. lm-eval's default logits_cache is on: one
            forward for the requests of a context whose continuations are one token each (its prefix sharing).
  timing    examples/s = instances / seconds; each figure is the median of --repeat runs (no warm-up run on
            either side beyond the one above: ours is a fresh process each time). ratio = ours ex/s / theirs ex/s.
  agreement multiple choice: the share of instances where both pick the same candidate (our samples.jsonl
            "prediction" against their argmax), and the largest |difference| of the log-probabilities, ours read
            from the response cache in results.sqlite (keys recomputed as the runner does; the share of keys found
            is printed). Generation: the share of identical texts after stripping whitespace (our samples.jsonl
            predictions are stripped), and of identical raw texts where the cache has ours.
  machine   before each timed part the script waits while a Swift build runs (a process whose command line matches
            swift-frontend|swift-build; --no-wait skips this), and notes how long it waited; during each timed
            part it measures the CPU time other processes took (Linux /proc/stat); above 0.1 core on average it
            measures that part again, at most --retries (2) times, keeps the least disturbed try and notes it when
            even that one was disturbed: on a shared 2-core machine such figures are low.
Needs: pip install lm-eval accelerate (into a venv with torch and transformers); swift build -c release --product optiml.
"""
import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OPTIML = os.path.join(ROOT, ".build", "release", "optiml")
BUSY = re.compile(r"swift-frontend|swift-build")
NOTES = []


def note(message):
    NOTES.append(message)
    print(f"note: {message}", file=sys.stderr)


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the machine

def busy_processes():
    """Command lines of other processes matching swift-frontend|swift-build (as `pgrep -f` would)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                line = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if line and BUSY.search(line):
            found.append(line)
    return found


def wait_idle(args, what):
    if args.no_wait:
        return
    start, announced = time.monotonic(), False
    while busy_processes():
        if not announced:
            log(f"waiting for a Swift build to end before {what} …")
            announced = True
        time.sleep(15)
    waited = time.monotonic() - start
    if announced:
        note(f"waited {waited:.0f} s for other Swift builds before {what}: the machine was busy")


def machine_cpu_seconds():
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    except OSError:
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class Watch:
    """Wall time of a block, and the cores other processes kept busy meanwhile."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.machine, self.own, self.start = machine_cpu_seconds(), own_cpu_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.cores = 0.0
        if self.machine is not None and exc[0] is None:
            others = machine_cpu_seconds() - self.machine - (own_cpu_seconds() - self.own)
            self.cores = max(others / max(self.seconds, 1e-9), 0.0)
        return False


def measured(args, what, body):
    """body() under a Watch, after waiting for Swift builds; run again (up to --retries times) while other
    processes took more than 0.1 core meanwhile, keeping the least disturbed try. Returns (value, Watch)."""
    best = None
    for attempt in range(args.retries + 1):
        wait_idle(args, what)
        with Watch(what) as watch:
            value = body()
        if best is None or watch.cores < best[1].cores:
            best = (value, watch)
        if watch.cores <= 0.1:
            break
        log(f"other processes took {watch.cores:.2f} cores during {what}" + ("; again" if attempt < args.retries else ""))
    if best[1].cores > 0.1:
        note(f"other processes kept {best[1].cores:.2f} cores busy on average during {what} "
             f"(least of {args.retries + 1} tries): its figure is low")
    return best


# ---------------------------------------------------------------- benches and prompts

def run(command, what):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{what} failed (exit {done.returncode}): {' '.join(command)}\n{done.stderr.strip()[-2000:]}")
    return done


def build_bench(args, tasks, folder, name):
    split = os.path.join(folder, f"{name}.yaml")
    with open(split, "w") as f:
        f.write(f"name: {name}\ntest: {{tasks: [{', '.join(tasks)}]}}\n")
    bench = os.path.join(folder, f"bench-{name}")
    run([args.optiml, "bench", "build", "--source", f"niv2:{args.niv2}", "--preset", split, "--out", bench, "--force"],
        f"bench build {name}")
    return bench


def export(args, bench, shots, out):
    command = [args.optiml, "bench", "export", bench, "--split", "test", "--format", "metaseq", "--out", out]
    if shots:
        command += ["--shots", str(shots)]
    run(command, f"bench export {bench}")
    with open(out) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- ours

def ours_once(args, bench, shots, out, limit=None):
    command = [args.optiml, "eval", "--model", args.model, "--bench", bench, "--levels", "1,2", "--shots", str(shots),
               "--no-calibration", "--max-new-tokens", str(args.max_new_tokens), "--threads", str(args.threads),
               "--batch-size", str(args.batch_size), "--out", out]
    if limit or args.limit:
        command += ["--limit", str(limit or args.limit)]
    def body():
        if os.path.exists(out):
            shutil.rmtree(out)  # a fresh folder for every try: no response cache
        return run(command, "optiml eval")
    what = f"optiml eval {os.path.basename(bench)} {shots}-shot" if limit is None else "optiml's one-instance run"
    done, watch = measured(args, what, body)
    db = sqlite3.connect(os.path.join(out, "results.sqlite"))
    model_hash, started, finished = db.execute(
        "SELECT model_hash, started_at, finished_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    responses = {key: (logprob, text) for key, logprob, text in db.execute("SELECT key, logprob, text FROM responses")}
    db.close()
    samples = []
    path = os.path.join(out, "samples.jsonl")
    if os.path.exists(path):
        with open(path) as f:
            samples = [json.loads(line) for line in f if line.strip()]
    computed = re.search(r"(\d+) requests computed", done.stdout)
    return dict(wall=watch.seconds, span=finished - started, samples=samples, responses=responses, model_hash=model_hash,
                requests=int(computed.group(1)) if computed else None)


def swift_json(value):
    """A string as Swift's JSONEncoder writes it (UTF-8, `/` escaped)."""
    return json.dumps(value, ensure_ascii=False).replace("/", "\\/")


def cache_keys(model_hash, request):
    """The runner's cache key, EvalRequest.cacheKey: SHA-256 of the model hash, NUL, and the request as Swift's
    JSONEncoder writes it with sorted keys ({"kind": {field: value, …}}); `fields` holds JSON values."""
    kind, fields = request
    body = '{"%s":{%s}}' % (kind, ",".join(f'"{k}":{v}' for k, v in sorted(fields.items())))
    return [hashlib.sha256((model_hash + "\0").encode() + body.encode()).hexdigest()]


def cached(result, request):
    for key in cache_keys(result["model_hash"], request):
        if key in result["responses"]:
            return result["responses"][key]
    return None


# ---------------------------------------------------------------- theirs

def load_theirs(args):
    import torch
    torch.set_num_threads(args.threads)
    from lm_eval.models.huggingface import HFLM
    start = time.perf_counter()
    lm = HFLM(pretrained=args.model, batch_size=args.batch_size, device="cpu")
    return lm, time.perf_counter() - start


def theirs_mc(lm, records, task):
    from lm_eval.api.instance import Instance
    requests = [Instance(request_type="loglikelihood", doc=record, arguments=(record["src"], candidate), idx=j,
                         metadata=(task, i, 1))
                for i, record in enumerate(records) for j, candidate in enumerate(record["candidates"])]
    start = time.perf_counter()
    answers = lm.loglikelihood(requests, disable_tqdm=True)
    seconds = time.perf_counter() - start
    logprobs, at = [], 0
    for record in records:
        count = len(record["candidates"])
        logprobs.append([float(answers[at + j][0]) for j in range(count)])
        at += count
    return seconds, logprobs, len(requests)


def theirs_gen(lm, records, task, shots, max_new_tokens):
    from lm_eval.api.instance import Instance
    until = ["\n\n\n"] if shots > 0 else []
    requests = [Instance(request_type="generate_until", doc=record,
                         arguments=(record["src"], {"until": list(until), "max_gen_toks": max_new_tokens, "do_sample": False}),
                         idx=0, metadata=(task, i, 1))
                for i, record in enumerate(records)]
    start = time.perf_counter()
    texts = lm.generate_until(requests, disable_tqdm=True)
    return time.perf_counter() - start, texts, len(requests)


# ---------------------------------------------------------------- the comparison

def argmax(values):
    best = 0
    for i, value in enumerate(values):
        if value > values[best]:
            best = i
    return best


def compare_mc(ours, records, their_logprobs):
    by_id = {s["id"]: s for s in ours["samples"]}
    same, found, deltas, flips = 0, 0, [], 0
    for record, logprobs in zip(records, their_logprobs):
        theirs = argmax(logprobs)
        mine = record["candidates"].index(by_id[record["id"]]["prediction"])
        same += mine == theirs
        for candidate, logprob in zip(record["candidates"], logprobs):
            hit = cached(ours, ("loglikelihood", {"context": swift_json(record["src"]),
                                                   "continuation": swift_json(candidate)}))
            if hit is not None and hit[0] is not None:
                found += 1
                deltas.append(abs(hit[0] - logprob))
        if mine != theirs:
            ordered = sorted(logprobs, reverse=True)
            flips += len(ordered) > 1 and ordered[0] - ordered[1] < 1e-3
    requests = sum(len(r["candidates"]) for r in records)
    return dict(same=same, of=len(records), keys_found=found, requests=requests,
                max_abs_logprob_diff=max(deltas) if deltas else None, near_tie_disagreements=flips)


def compare_gen(ours, records, their_texts, shots, max_new_tokens):
    by_id = {s["id"]: s for s in ours["samples"]}
    same, raw_same, found, examples = 0, 0, 0, []
    until = ["\n\n\n"] if shots > 0 else []
    for record, text in zip(records, their_texts):
        mine = by_id[record["id"]]["prediction"]
        if mine == text.strip():
            same += 1
        elif len(examples) < 3:
            examples.append((record["id"], mine, text.strip()))
        hit = cached(ours, ("generate", {"context": swift_json(record["src"]), "maxTokens": str(max_new_tokens),
                                         "until": "[" + ",".join(swift_json(u) for u in until) + "]"}))
        if hit is not None and hit[1] is not None:
            found += 1
            raw_same += hit[1] == text
    return dict(same=same, of=len(records), raw_same=raw_same, keys_found=found, differing=examples)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a Hugging Face OPT checkpoint, e.g. from tools/make_random_hf_checkpoint.py --like opt-125m")
    parser.add_argument("--niv2", default=os.path.join(ROOT, "..", "shared", "data", "niv2"))
    parser.add_argument("--mc-task", default="task363_sst2_polarity_classification",
                        help="a task with answer options, e.g. task1286_openbookqa_question_answering (A-D)")
    parser.add_argument("--gen-task", default="task1564_triviaqa_answer_generation")
    parser.add_argument("--shots", default="0", help="shot counts, e.g. 0,2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8, help="both sides: HFLM batch_size, optiml --batch-size")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="instances per task (default: all in the local data)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per side; the median is shown")
    parser.add_argument("--optiml", default=OPTIML)
    parser.add_argument("--work", default=None, help="keep the benches, exports and result folders here")
    parser.add_argument("--json-out", default=None)
    parser.add_argument("--retries", type=int, default=2,
                        help="measure a part again (at most this many times) when other processes took CPU meanwhile")
    parser.add_argument("--no-wait", action="store_true", help="do not wait for Swift builds to end")
    args = parser.parse_args()
    args.model, args.niv2 = os.path.abspath(args.model), os.path.abspath(args.niv2)
    shot_counts = [int(s) for s in args.shots.split(",")]
    if not os.path.exists(args.optiml):
        sys.exit(f"no optiml binary at {args.optiml}: swift build -c release --product optiml")
    for task in (args.mc_task, args.gen_task):
        if not os.path.exists(os.path.join(args.niv2, "tasks", f"{task}.json")) and \
                not os.path.exists(os.path.join(args.niv2, f"{task}.json")):
            sys.exit(f"no task file for {task} in {args.niv2}")

    import lm_eval
    import torch
    import transformers
    work = args.work or tempfile.mkdtemp(prefix="bench_eval-")
    os.makedirs(work, exist_ok=True)

    log("building the benches")
    both = build_bench(args, [args.mc_task, args.gen_task], work, "both")
    one = {"multiple choice": build_bench(args, [args.mc_task], work, "mc"),
           "generation": build_bench(args, [args.gen_task], work, "gen")}
    tasks = {"multiple choice": args.mc_task, "generation": args.gen_task}

    prompts = {}
    for shots in shot_counts:
        combined = {r["id"]: r for r in export(args, both, shots, os.path.join(work, f"both-{shots}shot.jsonl"))}
        for kind, bench in one.items():
            records = export(args, bench, shots, os.path.join(work, f"{kind[:3]}-{shots}shot.jsonl"))
            records = [r for r in records if r["task"] == tasks[kind]]
            if kind == "multiple choice" and not all(r.get("candidates") for r in records):
                sys.exit(f"{args.mc_task} has no answer options in the bench: it is not scored by rank classification")
            if kind == "generation" and any(r.get("candidates") for r in records):
                sys.exit(f"{args.gen_task} has answer options in the bench: it is not scored by generation")
            differ = sum(combined.get(r["id"], {}).get("src") != r["src"] for r in records)
            if differ:
                note(f"{differ} {kind} prompts ({shots}-shot) of the one-task bench differ from the two-task bench's")
            prompts[(kind, shots)] = records

    # Ours: one-instance runs for load + startup (an evaluation with nothing to do is refused), then each
    # kind and shot count in a fresh folder.
    wait_idle(args, "timing optiml")
    baseline = statistics.median(
        ours_once(args, one["multiple choice"], 0, os.path.join(work, f"ours-one-{i}"), limit=1)["wall"]
        for i in range(max(args.repeat, 1)))
    ours = {}
    for shots in shot_counts:
        for kind, bench in one.items():
            results = []
            for i in range(args.repeat):
                log(f"ours: {kind}, {shots}-shot, run {i + 1}/{args.repeat}")
                results.append(ours_once(args, bench, shots, os.path.join(work, f"ours-{kind[:3]}-{shots}shot-{i}")))
            result = results[-1]
            result["span"] = statistics.median(r["span"] for r in results)
            result["wall"] = statistics.median(r["wall"] for r in results)
            ours[(kind, shots)] = result
            # lm-eval gets exactly the instances our run evaluated (--limit keeps the first in file order).
            ids = {s["id"] for s in result["samples"]}
            prompts[(kind, shots)] = [r for r in prompts[(kind, shots)] if r["id"] in ids]
            prompt_of = {s["id"]: s["prompt"] for s in result["samples"]}
            differ = sum(prompt_of[r["id"]] != r["src"] for r in prompts[(kind, shots)])
            if differ or len(ids) != len(prompts[(kind, shots)]):
                note(f"{kind} {shots}-shot: {differ} of our prompts differ from the export, "
                     f"{len(ids) - len(prompts[(kind, shots)])} of our instances are missing from it")

    # Theirs.
    wait_idle(args, "loading lm-eval")
    log("theirs: loading HFLM")
    lm, their_load = load_theirs(args)
    theirs, rows, agreement = {}, [], []
    for shots in shot_counts:
        for kind in one:
            records = prompts[(kind, shots)]
            def body():
                if kind == "multiple choice":
                    return theirs_mc(lm, records, tasks[kind])
                return theirs_gen(lm, records, tasks[kind], shots, args.max_new_tokens)
            # One untimed request first, so that torch's one-time set-up is not counted against lm-eval.
            if kind == "multiple choice":
                theirs_mc(lm, records[:1], tasks[kind])
            else:
                theirs_gen(lm, records[:1], tasks[kind], shots, args.max_new_tokens)
            times = []
            for i in range(args.repeat):
                log(f"theirs: {kind}, {shots}-shot, run {i + 1}/{args.repeat}")
                (seconds, answers, count), _ = measured(args, f"lm-eval {kind} {shots}-shot", body)
                times.append(seconds)
            theirs[(kind, shots)] = dict(seconds=statistics.median(times), requests=count)
            mine = ours[(kind, shots)]
            n = len(records)
            if mine["requests"] != count:
                note(f"{kind} {shots}-shot: optiml computed {mine['requests']} requests, lm-eval was given {count}")
            row = dict(kind=kind, task=tasks[kind], shots=shots, instances=n, ours_requests=mine["requests"],
                       their_requests=count, ours_s=mine["span"], ours_wall_s=mine["wall"],
                       theirs_s=theirs[(kind, shots)]["seconds"])
            row["ours_eps"], row["theirs_eps"] = n / row["ours_s"], n / row["theirs_s"]
            row["ratio"] = row["ours_eps"] / row["theirs_eps"]
            rows.append(row)
            if kind == "multiple choice":
                agreement.append(dict(kind=kind, shots=shots, **compare_mc(mine, records, answers)))
            else:
                agreement.append(dict(kind=kind, shots=shots, **compare_gen(mine, records, answers, shots, args.max_new_tokens)))

    busy_now = busy_processes()
    print(f"## optiml eval vs lm-evaluation-harness {lm_eval.__version__ if hasattr(lm_eval, '__version__') else ''} hf "
          f"(HFLM, torch {torch.__version__}, transformers {transformers.__version__})\n")
    print(f"model {args.model}; threads {args.threads} both; batch size {args.batch_size} both; max new tokens "
          f"{args.max_new_tokens}; no calibration; repeat {args.repeat} (median); {os.cpu_count()} CPUs\n")
    print("| task kind | task | shots | instances | requests (ours/theirs) | ours s | theirs s | ours ex/s | theirs ex/s | ratio |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['kind']} | {r['task']} | {r['shots']} | {r['instances']} | {r['ours_requests']}/{r['their_requests']} "
              f"| {r['ours_s']:.2f} | {r['theirs_s']:.2f} | {r['ours_eps']:.2f} | {r['theirs_eps']:.2f} "
              f"| {r['ratio']:.2f}x |")
    print()
    print(f"ours s: the run's span in results.sqlite (after the model load). Process wall times: "
          + ", ".join(f"{r['kind']} {r['shots']}-shot {r['ours_wall_s']:.2f} s" for r in rows)
          + f"; a run of one instance (load + startup) takes {baseline:.2f} s. lm-eval's HFLM load: {their_load:.2f} s "
          "(not counted).\n")
    print("| agreement | shots | same | of | share | detail |")
    print("|---|--:|--:|--:|--:|---|")
    for a in agreement:
        if a["kind"] == "multiple choice":
            diff = a["max_abs_logprob_diff"]
            detail = (f"max abs logprob diff {diff:.2e} over {a['keys_found']}/{a['requests']} requests found in our cache"
                      if diff is not None else f"our logprobs not found in the cache (0/{a['requests']} keys)")
            detail += f"; disagreements at near-ties (<1e-3): {a['near_tie_disagreements']}"
            what = "same candidate"
        else:
            detail = (f"unstripped texts identical: {a['raw_same']} of the {a['keys_found']} of ours found in the "
                      "response cache")
            what = "same generated text"
        print(f"| {what} | {a['shots']} | {a['same']} | {a['of']} | {a['same'] / max(a['of'], 1):.1%} | {detail} |")
    for a in agreement:
        for ident, mine, theirs_text in a.get("differing", []):
            print(f"\ndiffering generation {ident} ({a['shots']}-shot):\n  ours:   {mine!r}\n  theirs: {theirs_text!r}")
    print()
    if busy_now:
        note(f"{len(busy_now)} Swift build processes were running at the end")
    if NOTES:
        print("Notes:")
        for line in NOTES:
            print(f"- {line}")
    else:
        print("Notes: no Swift build waited for; other processes took under 0.1 core during every timed part.")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(dict(rows=rows, agreement=agreement, baseline_s=baseline, their_load_s=their_load, notes=NOTES,
                           lm_eval=getattr(lm_eval, "__version__", None)), f, indent=2)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
