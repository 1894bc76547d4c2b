#!/usr/bin/env python3
"""Loss curves of f32 and bf16 training on the demo's tuning recipe, and whether they differ beyond noise.

Usage: python tools/compare_loss_curves.py [--steps 200] [--work .build/loss-curves] [--base Models/nano]
       [--threads N] [--optiml .build/release/optiml]

Makes the demo's task suite and bench (optiml synth, optiml bench build), then runs `optiml tune` twice on
the demo's instruction-tuning recipe (Sources/optiml/Demo.swift: batch 8, seq 256, lr 1e-3, warmup 30,
linear decay, 5% pre-training text, seed 0, the bundled nano base), once with f32 products and once with
--bf16, and reads each run's metrics.jsonl. Both runs see the same batches and the same dropout masks, so
the curves are compared step by step.

Noise is the f32 curve's own step-to-step scatter: the standard deviation of each step's loss about the
mean of its neighbours (a centred window of 9 steps). The curves are "within noise" when the mean of the
per-step differences (bf16 - f32), over all steps and over the last 20, is smaller than that noise divided
by the square root of the steps it averages (the standard error a difference that is pure noise would
have), or smaller than a tenth of the noise, whichever is larger.
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time


def run(command):
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def losses(folder):
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r["loss"] for r in sorted(records, key=lambda r: r["step"])]


def scatter(curve, half=4):
    residuals = []
    for i in range(half, len(curve) - half):
        neighbours = curve[i - half:i] + curve[i + 1:i + half + 1]
        residuals.append(curve[i] - sum(neighbours) / len(neighbours))
    mean = sum(residuals) / len(residuals)
    return math.sqrt(sum((r - mean) ** 2 for r in residuals) / (len(residuals) - 1))


def main():
    parser = argparse.ArgumentParser(description="Compare f32 and bf16 loss curves on the demo's tuning recipe.")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--work", default=".build/loss-curves", help="folder for the suite, bench and runs (replaced)")
    parser.add_argument("--base", default="Models/nano", help="the base model (the demo's)")
    parser.add_argument("--threads", type=int, help="threads for optiml tune (default: every core)")
    parser.add_argument("--optiml", default=".build/release/optiml")
    parser.add_argument("--json", help="also write the figures and both curves to this file")
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    path = lambda name: os.path.join(args.work, name)
    run([args.optiml, "synth", "--out", path("suite"), "--seed", "0", "--instances", "2000"])
    run([args.optiml, "bench", "build", "--source", "niv2:" + path("suite/tasks"), "--preset", path("suite/split.yaml"),
         "--out", path("bench")])
    curves, seconds = {}, {}
    for precision in ["f32", "bf16"]:
        command = [args.optiml, "tune", "--model", args.base, "--bench", path("bench"), "--out", path("tune-" + precision),
                   "--steps", str(args.steps), "--batch-size", "8", "--seq-len", "256", "--lr", "1e-3", "--warmup", "30",
                   "--stream", "pretraining=" + path("suite/pretraining.jsonl") + ":0.05", "--seed", "0",
                   "--save-every", str(args.steps), "--log-level", "warning"]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if precision == "bf16":
            command.append("--bf16")
        start = time.time()
        run(command)
        seconds[precision] = time.time() - start
        curves[precision] = losses(path("tune-" + precision))

    f32, bf16 = curves["f32"], curves["bf16"]
    assert len(f32) == len(bf16) == args.steps, "a run did not log every step"
    noise = scatter(f32)
    diff = [b - a for a, b in zip(f32, bf16)]
    tail = 20
    mean = lambda xs: sum(xs) / len(xs)
    bound_all = max(noise / math.sqrt(len(diff)), noise / 10)
    bound_tail = max(noise / math.sqrt(tail), noise / 10)
    within = abs(mean(diff)) < bound_all and abs(mean(diff[-tail:])) < bound_tail
    print(f"| products | mean loss | final loss | mean of last {tail} | run s |")
    print("|---|--:|--:|--:|--:|")
    for name, curve in curves.items():
        print(f"| {name} | {mean(curve):.4f} | {curve[-1]:.4f} | {mean(curve[-tail:]):.4f} | {seconds[name]:.0f} |")
    print(f"\nstep-to-step noise (f32, sd about a 9-step window): {noise:.4f}")
    print(f"bf16 - f32 per step: mean {mean(diff):+.4f} (bound {bound_all:.4f}), last {tail} {mean(diff[-tail:]):+.4f} "
          f"(bound {bound_tail:.4f}), largest |difference| {max(abs(d) for d in diff):.4f}")
    print("within noise" if within else "NOT within noise")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(noise=noise, mean_difference=mean(diff), tail_difference=mean(diff[-tail:]), within_noise=within,
                           seconds=seconds, curves=curves), f, indent=1)
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
