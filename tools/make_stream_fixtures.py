#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/stream: the reference trainer's losses and gradient norms on streams
exported by `optiml tune --export`, which StreamParityTests compares with `optiml tune`'s Trainer.

Usage: python tools/make_stream_fixtures.py [--optiml .build/debug/optiml]
(needs torch, transformers, safetensors, and the optiml binary: `swift build --product optiml`)

bench/ is a small bench of `optiml synth`'s generated tasks (the same folder the Swift test reads).
For each model (the tiny pre-LN fixture and Models/nano), `optiml tune --export` writes 5 steps
(4 rows of packed examples with MetaICL demonstrations, label loss, dropout off), and
tools/reference_trainer.py trains on them in float64 through FSDP on one process. <model>/manifest.json
is the export's manifest (its settings are what the test trains with; its shards' SHA-256 are what
the test's own export must reproduce) and <model>/reference.json the per-step loss and gradient norm.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "stream")
MODELS = {
    "tiny-preln-safetensors-sharded": (os.path.join(ROOT, "Tests", "Fixtures", "models", "tiny-preln-safetensors-sharded"), 64),
    "nano": (os.path.join(ROOT, "Models", "nano"), 128),
}


def run(*command, cwd=ROOT):
    subprocess.run(command, check=True, cwd=cwd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--optiml", default=os.path.join(ROOT, ".build", "debug", "optiml"))
    args = parser.parse_args()
    args.optiml = os.path.abspath(args.optiml)
    for folder in ["bench", *MODELS]:  # README.md stays
        shutil.rmtree(os.path.join(OUT, folder), ignore_errors=True)
    # A fixed folder: the bench records its tasks' absolute origins, and the fixture must not change with each run.
    work = "/tmp/optiml-stream-fixtures"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        run(args.optiml, "synth", "--out", "suite", "--seed", "0", "--instances", "12", cwd=work)
        bench = os.path.join(OUT, "bench")
        run(args.optiml, "bench", "build", "--source", "niv2:suite/tasks", "--preset", "suite/split.yaml", "--out", bench, cwd=work)
        for name, (model, seq_len) in MODELS.items():
            export, trained = os.path.join(work, name + "-export"), os.path.join(work, name + "-run")
            run(args.optiml, "tune", "--model", model, "--bench", bench, "--steps", "5", "--batch-size", "4",
                "--micro-batch-size", "2", "--seq-len", str(seq_len), "--lr", "1e-3", "--warmup", "2", "--dropout", "0",
                "--max-shots", "2", "--task-cap", "8", "--seed", "1", "--export", export, "--export-shard-steps", "2")
            run(sys.executable, os.path.join(ROOT, "tools", "reference_trainer.py"), "--export", export, "--model", model,
                "--out", trained, "--dtype", "float64", "--threads", "2")
            with open(os.path.join(trained, "metrics.jsonl")) as f:
                steps = [json.loads(line) for line in f]
            os.makedirs(os.path.join(OUT, name))
            shutil.copyfile(os.path.join(export, "manifest.json"), os.path.join(OUT, name, "manifest.json"))
            with open(os.path.join(OUT, name, "reference.json"), "w") as f:
                json.dump(dict(model=name, dtype="float64", steps=[dict(step=s["step"], loss=s["loss"], grad_norm=s["grad_norm"],
                                                                         lr=s["lr"], labels=s["labels"]) for s in steps]), f, indent=1)
            print(name, [(s["loss"], s["grad_norm"]) for s in steps])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
