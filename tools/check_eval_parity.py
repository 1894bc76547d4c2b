#!/usr/bin/env python3
"""Evaluates a checkpoint twice, with `optiml eval`'s local engine and in transformers, and compares the scores.

Usage: python tools/check_eval_parity.py --model CHECKPOINT --bench BENCH --work DIR [--optiml .build/release/optiml]
           [-- EVAL OPTIONS…]   (default: --split test --shots 0,2 --limit 8 --max-new-tokens 8, the demo's quick evaluation)

The transformers side is `optiml eval --backend openai` against tools/hf_completions_server.py, so
both runs answer the very same requests (rank classification log-likelihoods, greedy generations)
and aggregate them the same way; only the model computing the answers differs. Prints every
level's and task's score from both runs and the largest difference; exits 1 when a score differs
by more than --tolerance (default 1e-9: the scores are counts of right answers, so any difference
is a different answer) or when a sample's prediction differs.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def results(run):
    with open(os.path.join(run, "results.json")) as f:
        data = json.load(f)
    # Groups without "shots" average over every shot count.
    scores = {(g["kind"], g["level"], g.get("shots", "all"), g["name"]): g["score"] for g in data["groups"]}
    scores.update({("task", t["level"], t["shots"], t["task"]): t["score"] for t in data["tasks"]})
    with open(os.path.join(run, "samples.jsonl")) as f:
        samples = {(s["task"], s["id"], s["shots"]): s["prediction"]
                   for s in map(json.loads, f)}
    return scores, samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--optiml", default=".build/release/optiml")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    parser.add_argument("eval_options", nargs="*", default=["--split", "test", "--shots", "0,2", "--limit", "8", "--max-new-tokens", "8"])
    args = parser.parse_args()
    local, remote = os.path.join(args.work, "optiml"), os.path.join(args.work, "transformers")
    common = [args.optiml, "eval", "--model", args.model, "--bench", args.bench] + args.eval_options
    started = time.time()
    subprocess.run(common + ["--out", local], check=True)
    local_seconds = time.time() - started

    port = free_port()
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "hf_completions_server.py"), "--model", args.model, "--port", str(port)])
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        started = time.time()
        subprocess.run(common + ["--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1", "--concurrency", "1",
                                 "--out", remote], check=True)
        remote_seconds = time.time() - started
    finally:
        server.terminate()
        server.wait()

    (a, a_samples), (b, b_samples) = results(local), results(remote)
    worst, failed = 0.0, False
    print(f"{'kind':9} {'level':>5} {'shots':>5}  {'name':48} {'optiml':>8} {'transformers':>12}")
    for key in sorted(a, key=str):
        difference = abs(a[key] - b.get(key, float("nan")))
        worst = max(worst, difference) if difference == difference else float("inf")
        print(f"{key[0]:9} {key[1]:>5} {str(key[2]):>5}  {str(key[3])[:48]:48} {a[key]:8.3f} {b.get(key, float('nan')):12.3f}")
    if set(a) != set(b):
        print("the runs scored different groups or tasks:", sorted(set(a) ^ set(b), key=str))
        failed = True
    disagreements = [k for k in a_samples if a_samples[k] != b_samples.get(k)]
    print(f"{len(a_samples)} samples, {len(disagreements)} predictions differ; largest score difference {worst:.3g}; "
          f"optiml eval {local_seconds:.1f} s, transformers via the server {remote_seconds:.1f} s")
    for key in disagreements[:10]:
        print("  differs:", key, repr(a_samples[key]), repr(b_samples.get(key)))
    return 1 if failed or disagreements or worst > args.tolerance else 0


if __name__ == "__main__":
    sys.exit(main())
