#!/usr/bin/env python3
"""Writes PromptSource dataset rows at a chosen scale, to time `optiml bench build --source promptsource:…`
(template rendering over every row, splitting, the leakage audit, writing) and measure its peak memory.

Usage: python tools/make_scale_promptsource.py --datasets 40 --rows 50000 --out /tmp/ps-scale

Takes the first --datasets dataset folders of the committed fixtures (Tests/Fixtures/promptsource/datasets,
rows made with each dataset's schema) and writes DIR/<folder>/train.jsonl with --rows rows each: the fixture
rows in turn, every string value given a distinct random word prefix so that rows differ (the labels, and so the
templates' branches, stay those of the fixture rows). Needs only the Python standard library.
"""
import argparse
import json
import os
import random


def vary(value, rng):
    if isinstance(value, str):
        words = value.split(" ")
        if len(words) < 4:  # labels and names that templates compare or look up stay as they are
            return value
        out = ["w%x" % rng.getrandbits(32)]
        for i, w in enumerate(words):
            out.append(w)
            if i % 6 == 5:
                out.append("w%x" % rng.getrandbits(32))
        return " ".join(out)
    if isinstance(value, list):
        return [vary(v, rng) for v in value]
    if isinstance(value, dict):
        return {k: vary(v, rng) for k, v in value.items()}
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=int, default=40)
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "promptsource", "datasets")
    folders = sorted(os.path.relpath(d, root) for d, _, files in os.walk(root) if "train.jsonl" in files)
    for folder in folders[: args.datasets]:
        with open(os.path.join(root, folder, "train.jsonl")) as f:
            rows = [json.loads(line) for line in f]
        os.makedirs(os.path.join(args.out, folder), exist_ok=True)
        with open(os.path.join(args.out, folder, "train.jsonl"), "w") as out:
            for i in range(args.rows):
                out.write(json.dumps(vary(rows[i % len(rows)], rng)) + "\n")
    print(f"wrote {min(args.datasets, len(folders))} datasets × {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
