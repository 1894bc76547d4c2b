#!/usr/bin/env python3
"""Speed of the MMLU and BIG-Bench Hard suites: lm-evaluation-harness's `hf` backend beside `optiml eval`, on
the same checkpoint folder and the same rows, in one run on this machine; says whether the answers agree.

Usage:
  HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python tools/bench_suites.py
        [--model DIR] [--optiml .build/release/optiml] [--suites mmlu,bbh]
        [--mmlu-subjects abstract_algebra,high_school_geography,world_religions] [--shots 5] [--limit N]
        [--bbh-tasks boolean_expressions,date_understanding,web_of_lies] [--bbh-max-gen-toks 32]
        [--batch-sizes 1,8] [--repeat 1] [--threads 2] [--skip-optiml] [--optiml-extra "..."]
        [--work DIR] [--json-out FILE]

Setup, in --work (a temporary folder unless given):
  model   --model DIR if it holds a config.json; otherwise a random opt-125m made there by `optiml init-random
          --like opt-125m` (or, without the binary, tools/make_random_hf_checkpoint.py --like opt-125m). Both
          engines load that one folder.
  data    MMLU: from ../shared/data/mmlu/test.jsonl, per subject the first 5 rows (file order) are dev and the
          next --limit rows (all the rest without it) are test, written in the official layout
          data/{dev,test}/{subject}_{split}.csv for optiml and in cais/mmlu's schema (JSON lines) for lm-eval.
          BBH: the first --limit examples of ../shared/data/bbh/bbh/{task}.json in the official layout
          bbh/{task}.json + cot-prompts/{task}.txt for optiml, as JSON lines for lm-eval.
  theirs  lm_eval.simple_evaluate with HFLM(pretrained=DIR, dtype=float32, device=cpu, batch_size=B) for each B
          of --batch-sizes (fixed batches: lm-eval's `auto` runs 5 forward passes of max_batch_size (64) rows
          of the longest request, halving only on out-of-memory, so on CPU it settles on 64 after a probe that
          costs more than this run), lm-eval's own mmlu_{subject} and bbh_fewshot_{task} configs with
          only the dataset location overridden, num_fewshot=--shots for MMLU and 3 for BBH, BBH's max_gen_toks
          capped at --bbh-max-gen-toks (the config leaves HFLM's 256). Timed: simple_evaluate after the model is
          loaded (load time shown apart); with --repeat R, R runs and the fastest is reported (all are in the JSON).
  ours    `optiml eval --model DIR --suite mmlu --data DATA --shots K --out OUT --tasks a,b,c` and
          `optiml eval --model DIR --suite bbh --max-new-tokens CAP --data DATA --out OUT --tasks ...` (+ any
          --optiml-extra, e.g. the generation cap), wall time of the process (fastest of --repeat, a fresh OUT
          each time, so load time is included); OUT/samples.jsonl lines
          {task, id, shots, prediction, gold, loglikelihoods} are compared with lm-eval's chosen answers.

Prints `lscpu`'s model name, a Markdown table (examples, seconds, examples/s, ratio) and the agreement;
--json-out writes the same numbers. Why: the suites must be exact and should be faster than the reference.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"


def cpu_name():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")),
                    "unknown")
    except OSError:
        return "unknown"


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def make_model(args, work):
    if args.model and os.path.exists(os.path.join(args.model, "config.json")):
        return args.model
    out = args.model or os.path.join(work, "opt-125m-random")
    if os.path.exists(args.optiml):
        subprocess.run([args.optiml, "init-random", "--like", "opt-125m", "--out", out], check=True)
    else:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_random_hf_checkpoint.py"),
                        "--like", "opt-125m", "--out", out], check=True)
    return out


def make_mmlu(args, work):
    """Official layout for optiml, cais/mmlu schema for lm-eval; the same rows."""
    with open(os.path.join(SHARED, "mmlu", "test.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    official = os.path.join(work, "mmlu")
    files, n = {}, 0
    for subject in args.mmlu_subjects.split(","):
        mine = [r for r in rows if r["topic"] == subject.replace("_", " ")]
        assert len(mine) > 5, f"no MMLU rows for {subject}"
        dev, test = mine[:5], mine[5:]
        if args.limit:
            test = test[:args.limit]
        n += len(test)
        for split, part in (("dev", dev), ("test", test)):
            os.makedirs(os.path.join(official, "data", split), exist_ok=True)
            with open(os.path.join(official, "data", split, f"{subject}_{split}.csv"), "w", newline="") as f:
                writer = csv.writer(f)
                for r in part:
                    writer.writerow([r["question"], r["answer_a"], r["answer_b"], r["answer_c"], r["answer_d"],
                                     r["correct_answer"]])
            path = os.path.join(work, "mmlu-cais", subject, f"{split}.jsonl")
            write_jsonl(path, [{"question": r["question"], "subject": subject,
                                "choices": [r["answer_a"], r["answer_b"], r["answer_c"], r["answer_d"]],
                                "answer": "ABCD".index(r["correct_answer"])} for r in part])
            files.setdefault(subject, {})[split] = path
    return official, files, n


def make_bbh(args, work):
    official = os.path.join(work, "bbh")
    files, n = {}, 0
    for task in args.bbh_tasks.split(","):
        with open(os.path.join(SHARED, "bbh", "bbh", f"{task}.json")) as f:
            full = json.load(f)
        examples = full["examples"][:args.limit] if args.limit else full["examples"]
        n += len(examples)
        os.makedirs(os.path.join(official, "bbh"), exist_ok=True)
        os.makedirs(os.path.join(official, "cot-prompts"), exist_ok=True)
        with open(os.path.join(official, "bbh", f"{task}.json"), "w") as f:
            json.dump({"canary": full["canary"], "examples": examples}, f, indent=4, ensure_ascii=False)
        shutil.copyfile(os.path.join(SHARED, "bbh", "cot-prompts", f"{task}.txt"),
                        os.path.join(official, "cot-prompts", f"{task}.txt"))
        path = os.path.join(work, "bbh-jsonl", f"{task}.jsonl")
        write_jsonl(path, examples)
        files[task] = path
    return official, files, n


def lmeval_configs(tm, suite, files, args):
    from lm_eval.tasks._yaml_loader import load_yaml

    def config(name, **overrides):
        cfg = dict(load_yaml(tm.task_index[name].yaml_path, resolve_func=True))
        cfg.pop("include", None)
        cfg.update(overrides, task=name)
        return cfg

    if suite == "mmlu":
        return [config(f"mmlu_{s}", dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": f})
                for s, f in files.items()]
    out = []
    for task, path in files.items():
        name = f"bbh_fewshot_{task}"
        gen = dict(config(name)["generation_kwargs"], max_gen_toks=args.bbh_max_gen_toks)
        out.append(config(name, dataset_path="json", dataset_name=None,
                          dataset_kwargs={"data_files": {"test": path}}, generation_kwargs=gen))
    return out


def run_lmeval(model_dir, suite, files, n, args, batch):
    import lm_eval
    import numpy as np
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    tm = TaskManager()
    started = time.perf_counter()
    lm = HFLM(pretrained=model_dir, batch_size=batch, dtype="float32", device="cpu")
    load_s = time.perf_counter() - started
    tasks = lmeval_configs(tm, suite, files, args)
    seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = lm_eval.simple_evaluate(model=lm, tasks=tasks, num_fewshot=args.shots if suite == "mmlu" else 3,
                                          log_samples=True, task_manager=tm, bootstrap_iters=0)
        seconds.append(time.perf_counter() - started)
    answers = {}
    for task, samples in results["samples"].items():
        short = task.removeprefix("mmlu_").removeprefix("bbh_fewshot_")
        for s in samples:
            if suite == "mmlu":
                answers[(short, s["doc_id"])] = int(np.argmax([r[0] for r in s["filtered_resps"]]))
            else:
                answers[(short, s["doc_id"])] = s["filtered_resps"][0]
    metrics = {t: {k: v for k, v in r.items() if "stderr" not in k and k != "alias"}
               for t, r in results["results"].items()}
    del lm
    return {"engine": f"lm-eval hf batch {batch}", "examples": n, "seconds": min(seconds), "all_seconds": seconds,
            "load_seconds": load_s, "examples_per_s": n / min(seconds), "answers": answers, "metrics": metrics}


def doc_index(value):
    if isinstance(value, int):
        return value
    tail = str(value).replace("/", ":").split(":")[-1]
    return int(tail) if tail.isdigit() else value


def run_optiml(model_dir, suite, data, n, args, work):
    out = os.path.join(work, f"optiml-{suite}-out")
    shutil.rmtree(out, ignore_errors=True)
    tasks = args.mmlu_subjects if suite == "mmlu" else args.bbh_tasks
    cmd = [args.optiml, "eval", "--model", model_dir, "--suite", suite, "--data", data, "--out", out, "--tasks", tasks]
    cmd += ["--shots", str(args.shots)] if suite == "mmlu" else ["--max-new-tokens", str(args.bbh_max_gen_toks)]
    cmd += args.optiml_extra.split()
    seconds = []
    for _ in range(args.repeat):
        shutil.rmtree(out, ignore_errors=True)  # a fresh --out each time: no response cache
        started = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds.append(time.perf_counter() - started)
    answers = {}
    with open(os.path.join(out, "samples.jsonl")) as f:
        for line in f:
            s = json.loads(line)
            task = str(s["task"]).split("/")[-1].removeprefix("mmlu_").removeprefix("bbh_fewshot_").removeprefix("bbh_")
            prediction = s["prediction"]
            if suite == "mmlu" and isinstance(prediction, str) and prediction.strip() in "ABCD":
                prediction = "ABCD".index(prediction.strip())
            answers[(task, doc_index(s["id"]))] = prediction
    return {"engine": "optiml eval (process wall time)", "examples": n, "seconds": min(seconds),
            "all_seconds": seconds, "examples_per_s": n / min(seconds), "answers": answers, "command": " ".join(cmd)}


def agreement(reference, ours):
    keys = sorted(reference, key=str)
    same = sum(1 for k in keys if k in ours and ours[k] == reference[k])
    missing = [k for k in keys if k not in ours]
    differ = [(k, reference[k], ours[k]) for k in keys if k in ours and ours[k] != reference[k]]
    return {"compared": len(keys), "identical": same, "missing": len(missing), "first_differences": differ[:5]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--optiml", default=os.path.join(ROOT, ".build", "release", "optiml"))
    parser.add_argument("--suites", default="mmlu,bbh")
    parser.add_argument("--mmlu-subjects", default="abstract_algebra,high_school_geography,world_religions")
    parser.add_argument("--bbh-tasks", default="boolean_expressions,date_understanding,web_of_lies")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="test rows per subject / task")
    parser.add_argument("--bbh-max-gen-toks", type=int, default=32)
    parser.add_argument("--batch-sizes", default="1,8")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per engine; the fastest is reported")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--skip-optiml", action="store_true")
    parser.add_argument("--optiml-extra", default="", help="more arguments for both optiml eval runs")
    parser.add_argument("--work", default=None)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    work = args.work or tempfile.mkdtemp(prefix="bench-suites-")
    os.makedirs(work, exist_ok=True)
    os.environ.setdefault("HF_DATASETS_CACHE", os.path.join(work, "hf-datasets"))
    report = {"cpu": cpu_name(), "torch_threads": torch.get_num_threads(), "suites": {}}
    print(f"CPU: {report['cpu']}  (torch threads {report['torch_threads']})", flush=True)
    model_dir = make_model(args, work)
    report["model"] = model_dir
    for suite in args.suites.split(","):
        data, files, n = (make_mmlu if suite == "mmlu" else make_bbh)(args, work)
        runs = [run_lmeval(model_dir, suite, files, n, args, int(b)) for b in args.batch_sizes.split(",")]
        if not args.skip_optiml:
            if os.path.exists(args.optiml):
                runs.append(run_optiml(model_dir, suite, data, n, args, work))
            else:
                print(f"(no optiml binary at {args.optiml}: its half is skipped)", flush=True)
        reference = runs[0]["answers"]
        title = f"{suite} ({args.shots if suite == 'mmlu' else 3}-shot, {n} examples)"
        fastest = max(r["examples_per_s"] for r in runs if r["engine"].startswith("lm-eval"))
        print(f"\n### {title}\n\n| engine | examples | s | examples/s | vs lm-eval batch 1 | vs fastest lm-eval | answers = lm-eval b1 |")
        print("|---|---|---|---|---|---|---|")
        for run in runs:
            run["agreement"] = agreement(reference, run["answers"])
            a = run["agreement"]
            print(f"| {run['engine']} | {run['examples']} | {run['seconds']:.1f} | {run['examples_per_s']:.2f} | "
                  f"{run['examples_per_s'] / runs[0]['examples_per_s']:.2f}x | {run['examples_per_s'] / fastest:.2f}x | "
                  f"{a['identical']}/{a['compared']} |")
            if a["first_differences"]:
                print(f"  differences: {a['first_differences']}")
        report["suites"][title] = [{k: (v if k != "answers" else len(v)) for k, v in r.items()} for r in runs]
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True, default=str)
            f.write("\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
