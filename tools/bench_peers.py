#!/usr/bin/env python3
"""Measures optiml beside its peers on one checkpoint, in one run, on this machine, and prints the tables.

Usage:
  python tools/bench_peers.py --model DIR [--threads N] [--repeat 3] [--rounds 1] [--engines transformers,ctranslate2,optiml]
        [--optiml .build/release/optiml] [--optiml-dtypes f32,f16,bf16,int8] [--cache-dir DIR] [--json-out FILE]

Engines:
  transformers  fp32 (torch), torch.set_num_threads(N)
  ctranslate2   every compute type its CPU build has here among float32, int8 (int8_float32), bfloat16 and
                int8_bfloat16 (intra_threads=N); the checkpoint is converted
                with ctranslate2.converters.TransformersConverter once per quantization, in its own process,
                and kept under --cache-dir (keyed by the checkpoint's path, file sizes and times)
  optiml        `optiml speed --json --threads N` for each format in --optiml-dtypes (f32, f16, bf16, int8, int4,
                int4-head4 (int4 with its lm_head in int4 too) and bf16-gemm); if the binary or
                the subcommand is missing, a note says so and the peers are shown alone
Every engine/dtype runs in its own process, so peak RSS (ru_maxrss of that process: libraries, weights,
activations) is its own. Workloads, the same for all; weight values do not matter to speed, so random-weight
checkpoints do, and EOS is held off (min length = max length) so every run makes the full length:
  load        seconds to construct the model, ready to run (library imports not included)
  decode b1   greedy, 64 new tokens after a 32-token prompt; the whole generate call is timed, prompt pass
              included; tokens/s = 64 / seconds
  decode b8   8 prompts of 32 tokens, 64 new tokens each, whole call; tokens/s = 8 * 64 / seconds
  prefill     one forward over 512 tokens computing the logits of every position (transformers: model(ids)
              under torch.inference_mode; CTranslate2: Generator.forward_batch); tokens/s = 512 / seconds
Each speed is the median of --repeat timed runs after one warm-up run. A note on stderr names any engine
during which other processes took CPU time (Linux /proc/stat): on a shared machine, run again when it is idle.
--rounds N measures every engine N times, round after round in the same order, so that a machine whose speed
drifts (a VM beside busy neighbours) slows every engine alike; each figure is then the median over the rounds
(peak RSS the largest), and a last table gives optiml's ratio to the best peer in each round.
Output: a Markdown table of all rows, then optiml's speeds divided by the best peer's and by each peer's.
Needs: pip install torch transformers ctranslate2 (peers), swift build -c release (optiml).
"""
import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

PROMPT, NEW, PREFILL, BATCH = 32, 64, 512, 8
ENGINES = ("transformers", "ctranslate2", "optiml")
PEERS = {"transformers": ["f32"], "ctranslate2": ["f32", "int8", "bf16", "int8_bf16"]}
# Our names for CTranslate2's compute types; those its CPU build lacks on this machine are skipped with a note.
CT2_TYPES = {"f32": "float32", "int8": "int8", "bf16": "bfloat16", "int8_bf16": "int8_bfloat16"}
# optiml formats beyond `optiml speed --dtype`'s: bf16 weights with the bf16 GEMM unit asked for.
OPTIML_FLAGS = {"bf16-gemm": ("bf16", ["--bf16-gemm"])}
SPEEDS = [("decode_b1_tps", "decode b1"), ("decode_b8_tps", "decode b8"), ("prefill_tps", "prefill 512")]
NAMES = {"transformers": "transformers", "ctranslate2": "CTranslate2", "optiml": "optiml"}
OPTIML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "optiml")
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def prompt_ids(count, seed, vocab=50000):
    """Fixed pseudo-random token ids, BOS (2) first: speed does not depend on which tokens they are."""
    state, ids = seed, [2]
    for _ in range(count - 1):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        ids.append(4 + (state >> 33) % (vocab - 4))
    return ids


def median_seconds(body, repeat):
    """One warm-up call, then the median wall time of `repeat` calls."""
    body()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speeds(generate, single, batch, forward, repeat):
    return dict(decode_b1_tps=NEW / median_seconds(lambda: generate(single), repeat),
                decode_b8_tps=BATCH * NEW / median_seconds(lambda: generate(batch), repeat),
                prefill_tps=PREFILL / median_seconds(forward, repeat))


def measure_transformers(model_dir, threads, repeat):
    import torch
    from transformers import OPTForCausalLM

    torch.set_num_threads(threads)
    start = time.perf_counter()
    model = OPTForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    load = time.perf_counter() - start
    single = torch.tensor([prompt_ids(PROMPT, 1)])
    batch = torch.tensor([prompt_ids(PROMPT, 1 + b) for b in range(BATCH)])
    prefill = torch.tensor([prompt_ids(PREFILL, 99)])

    def generate(ids):
        with torch.inference_mode():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=NEW,
                                 min_new_tokens=NEW, pad_token_id=1)
        assert out.shape[1] == PROMPT + NEW, "transformers stopped early"

    def forward():
        with torch.inference_mode():
            model(prefill)

    return dict(load_s=load, **speeds(generate, single, batch, forward, repeat))


def measure_ctranslate2(converted, dtype, threads, repeat):
    import ctranslate2

    start = time.perf_counter()
    generator = ctranslate2.Generator(converted, device="cpu", compute_type=CT2_TYPES[dtype], intra_threads=threads)
    load = time.perf_counter() - start
    # generate_batch takes token strings: spell the ids with the converted model's vocabulary (index = id).
    with open(os.path.join(converted, "vocabulary.json")) as f:
        vocabulary = json.load(f)
    single = [[vocabulary[i] for i in prompt_ids(PROMPT, 1)]]
    batch = [[vocabulary[i] for i in prompt_ids(PROMPT, 1 + b)] for b in range(BATCH)]
    prefill = [prompt_ids(PREFILL, 99)]

    def generate(prompts):
        results = generator.generate_batch(prompts, max_length=NEW, min_length=NEW, sampling_topk=1,
                                           include_prompt_in_result=False)
        assert all(len(r.sequences_ids[0]) == NEW for r in results), "CTranslate2 stopped early"

    def forward():
        generator.forward_batch(prefill)  # logits [1, 512, vocab]

    return dict(load_s=load, **speeds(generate, single, batch, forward, repeat))


def converted_dir(model_dir, dtype, cache_dir):
    """The cache folder for one quantization of this checkpoint: changes when the checkpoint's files do."""
    model_dir = os.path.realpath(model_dir)
    fingerprint = [model_dir]
    for name in sorted(os.listdir(model_dir)):
        stat = os.stat(os.path.join(model_dir, name))
        fingerprint.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    digest = hashlib.sha1("\n".join(fingerprint).encode()).hexdigest()[:10]
    return os.path.join(cache_dir, f"{os.path.basename(model_dir)}-{digest}-ct2-{CT2_TYPES[dtype]}")


def convert(model_dir, dtype, out):
    """Converts in a scratch folder beside `out` and renames it, so an interrupted conversion leaves no model."""
    from ctranslate2.converters import TransformersConverter

    scratch = f"{out}.partial-{os.getpid()}"
    try:
        TransformersConverter(model_dir).convert(scratch, quantization=CT2_TYPES[dtype], force=True)
        os.rename(scratch, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def worker(args):
    """Child process: one engine and dtype; prints its row as one JSON line (or converts a checkpoint)."""
    if args.worker == "convert":
        return convert(args.model, args.worker_dtype, args.worker_dir)
    if args.worker == "transformers":
        row = measure_transformers(args.model, args.threads, args.repeat)
    else:
        row = measure_ctranslate2(args.worker_dir, args.worker_dtype, args.threads, args.repeat)
    row.update(engine=args.worker, dtype=args.worker_dtype,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row))


def note(message, stderr=""):
    """A line on stderr, with the last lines a failed child wrote there."""
    tail = stderr.strip().splitlines()[-3:]
    print("\n    ".join([f"note: {message}"] + tail), file=sys.stderr)


def machine_cpu_seconds():
    """CPU seconds spent so far by every process on the machine, VM steal included (Linux), else None."""
    try:
        with open("/proc/stat") as f:
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    except OSError:
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_watched(command, what=None):
    """subprocess.run; when measuring `what`, a note if other processes took CPU time from the cores meanwhile
    (their share lowers the figures; on a 2-core machine even one busy process halves them)."""
    start, machine, ours = time.perf_counter(), machine_cpu_seconds(), children_cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True)
    if what and machine is not None:
        others = machine_cpu_seconds() - machine - (children_cpu_seconds() - ours)
        cores = others / (time.perf_counter() - start)
        if cores > 0.1:
            note(f"other processes kept {cores:.2f} cores busy on average while running {what}: its figures are low")
    return done


def run_child(args, engine, dtype, directory=""):
    """Runs this script as a worker; returns its stdout, or None (with a note) when it fails."""
    command = [sys.executable, os.path.abspath(__file__), "--model", args.model, "--threads", str(args.threads),
               "--repeat", str(args.repeat), "--worker", engine, "--worker-dtype", dtype, "--worker-dir", directory]
    done = run_watched(command, None if engine == "convert" else f"{engine} {dtype}")
    if done.returncode != 0:
        note(f"{engine} {dtype} failed (exit {done.returncode}):", done.stderr)
        return None
    return done.stdout


def ct2_supported():
    """CTranslate2's compute types on this CPU (its build and the processor decide), or None without it."""
    try:
        import ctranslate2
    except ImportError:
        return None
    return ctranslate2.get_supported_compute_types("cpu")


def machine():
    """The processor's name and the features the engines' kernels choose by (Linux /proc/cpuinfo)."""
    wanted = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni", "avx512_bf16",
              "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp")
    name, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown":
                    name = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags |= set(value.split())
    except OSError:
        pass
    return f"CPU: {name}, {CORES} cores; features: {' '.join(f for f in wanted if f in flags) or 'none listed'}"


def measure_peer(args, engine, dtype):
    directory = ""
    if engine == "ctranslate2":
        supported = ct2_supported()
        if supported is not None and CT2_TYPES[dtype] not in supported:
            note(f"CTranslate2 has no {CT2_TYPES[dtype]} on this CPU (it has {', '.join(sorted(supported))}); skipped")
            return None
        directory = converted_dir(args.model, dtype, args.cache_dir)
        if not os.path.isdir(directory):
            print(f"converting for CTranslate2 {CT2_TYPES[dtype]} into {directory}", file=sys.stderr)
            os.makedirs(args.cache_dir, exist_ok=True)
            if run_child(args, "convert", dtype, directory) is None:
                return None
    print(f"measuring {engine} {dtype}", file=sys.stderr)
    out = run_child(args, engine, dtype, directory)
    return json.loads(out.strip().splitlines()[-1]) if out else None


def run_optiml(args):
    """optiml speed's rows, one call per format (so that a note on other processes names one row), or none with
    a note when the binary or its speed subcommand is missing or fails."""
    if not shutil.which(args.optiml):
        note(f"no optiml binary at {args.optiml} (swift build -c release); showing the peers only")
        return []
    rows = []
    for dtype in args.optiml_dtypes.split(","):
        print(f"measuring optiml {dtype}", file=sys.stderr)
        stored, flags = OPTIML_FLAGS.get(dtype, (dtype, []))
        command = [args.optiml, "speed", "--model", args.model, "--dtype", stored, "--json",
                   "--threads", str(args.threads), "--repeat", str(args.repeat)] + flags
        done = run_watched(command, f"optiml {dtype}")
        found = [dict(json.loads(line), dtype=dtype) for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not found:
            if not rows:
                note(f"`optiml speed` failed or is not there yet (exit {done.returncode}); showing the peers only:",
                     done.stderr)
                return []
            note(f"optiml {dtype} failed (exit {done.returncode}):", done.stderr)
        rows += found
    return rows


def measure_round(args, engines):
    """One measurement of every engine and format, peers first."""
    rows = [measure_peer(args, engine, dtype) for engine in PEERS if engine in engines for dtype in PEERS[engine]]
    rows = [r for r in rows if r]
    if "optiml" in engines:
        rows += run_optiml(args)
    return rows


def combine(rounds):
    """Each engine and format's rows over the rounds as one: the median of each time and speed, the largest peak RSS."""
    keys = []
    for rows in rounds:
        keys += [k for k in ((r["engine"], r["dtype"]) for r in rows) if k not in keys]
    combined = []
    for engine, dtype in keys:
        found = [r for rows in rounds for r in rows if (r["engine"], r["dtype"]) == (engine, dtype)]
        row = dict(found[0])
        for key in ["load_s"] + [key for key, _ in SPEEDS]:
            row[key] = statistics.median(r[key] for r in found)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in found)
        combined.append(row)
    return combined


def report_rounds(rounds):
    """optiml's speed over the best peer's in each round, per format and workload."""
    print()
    print("| optiml | workload | × best peer in each round |")
    print("|---|---|---|")
    first = [r for r in rounds[0] if r["engine"] == "optiml"]
    for dtype in [r["dtype"] for r in first]:
        for key, workload in SPEEDS:
            ratios = []
            for rows in rounds:
                peers = [r for r in rows if r["engine"] != "optiml"]
                ours = [r for r in rows if r["engine"] == "optiml" and r["dtype"] == dtype]
                if peers and ours:
                    ratios.append(f"{ours[0][key] / max(p[key] for p in peers):.2f}×")
            print(f"| {dtype} | {workload} | {', '.join(ratios)} |")


def label(row):
    return f"{NAMES[row['engine']]} {row['dtype']}"


def report(rows):
    """Prints the table of every row, then each optiml row's speeds over the best peer's and each peer's."""
    print("| engine | dtype | load s | decode b1 tok/s | decode b8 tok/s | prefill 512 tok/s | peak RSS MB |")
    print("|---|---|--:|--:|--:|--:|--:|")
    for r in rows:
        print(f"| {r['engine']} | {r['dtype']} | {r['load_s']:.2f} | {r['decode_b1_tps']:.1f} | "
              f"{r['decode_b8_tps']:.1f} | {r['prefill_tps']:.1f} | {r['peak_rss_mb']:.0f} |")
    peers = [r for r in rows if r["engine"] != "optiml"]
    ours = [r for r in rows if r["engine"] == "optiml"]
    if not peers or not ours:
        return
    print()
    print("| optiml | workload | tok/s | best peer | × best peer | "
          + " | ".join(f"× {label(p)}" for p in peers) + " |")
    print("|---|---|--:|---|--:|" + "--:|" * len(peers))
    for r in ours:
        for key, workload in SPEEDS:
            best = max(peers, key=lambda p: p[key])
            ratios = " | ".join(f"{r[key] / p[key]:.2f}×" for p in peers)
            print(f"| {r['dtype']} | {workload} | {r[key]:.1f} | {label(best)} ({best[key]:.1f}) | "
                  f"{r[key] / best[key]:.2f}× | {ratios} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Hugging Face OPT checkpoint (config.json, weights, tokenizer)")
    parser.add_argument("--threads", type=int, default=CORES, help="threads for every engine (default: all cores)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per measurement; the median is reported")
    parser.add_argument("--rounds", type=int, default=1, help="measure every engine this many times, interleaved")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated subset of " + ",".join(ENGINES))
    parser.add_argument("--optiml", default=OPTIML, help="the optiml binary (default: .build/release/optiml)")
    parser.add_argument("--optiml-dtypes", default="f32,f16,bf16,int8",
                        help="weight formats for optiml speed, and bf16-gemm (bf16 weights on the bf16 GEMM unit)")
    parser.add_argument("--cache-dir", default="/tmp/optiml-bench-cache", help="where CTranslate2 conversions are kept")
    parser.add_argument("--json-out", help="also write every row, as a JSON list, to this file")
    parser.add_argument("--worker", choices=["transformers", "ctranslate2", "convert"], help=argparse.SUPPRESS)
    parser.add_argument("--worker-dtype", choices=sorted(CT2_TYPES), default="f32", help=argparse.SUPPRESS)
    parser.add_argument("--worker-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    engines = args.engines.split(",")
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"--engines: unknown {', '.join(sorted(unknown))} (expected some of {', '.join(ENGINES)})")
    if not os.path.isfile(os.path.join(args.model, "config.json")):
        parser.error(f"--model {args.model}: no config.json there")
    if args.repeat < 1 or args.threads < 1 or args.rounds < 1:
        parser.error("--repeat, --rounds and --threads must be at least 1")

    print(machine())
    rounds = []
    for number in range(args.rounds):
        if args.rounds > 1:
            print(f"round {number + 1} of {args.rounds}", file=sys.stderr)
        rounds.append(measure_round(args, engines))
    rows = combine(rounds)
    if not rows:
        note("nothing was measured")
        return 1
    report(rows)
    if args.rounds > 1:
        report_rounds(rounds)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
