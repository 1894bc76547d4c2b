#!/usr/bin/env python3
"""Writes a synthetic task collection in optiml's JSONL task format, at a chosen scale, to time
`optiml bench build` (loading, splitting, the 13-gram leakage audit, writing) on more than the
real Super-NI subset holds.

Usage: python tools/make_scale_collection.py --tasks 160 --instances 6500 --out /tmp/scale [--words 60] [--seed 0]

Each task gets its own category among 40 and its own source dataset; each instance is --words
random words from a 20,000-word vocabulary (so n-grams almost never repeat by chance), with one
output of 5 words. Also writes DIR.yaml: a split holding out 4 categories (level 1), 2 partially
(level 2), 1% of each training task's instances (level 3, at most 100), 100 evaluation instances a task.
Needs only the Python standard library.
"""
import argparse
import json
import os
import random


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=160)
    parser.add_argument("--instances", type=int, default=6500)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocabulary = ["w%x" % rng.getrandbits(40) for _ in range(20000)]
    os.makedirs(args.out, exist_ok=True)
    for t in range(args.tasks):
        name = "task%05d_synthetic" % t
        with open(os.path.join(args.out, name + ".jsonl"), "w") as f:
            meta = {"benchmark": "synthetic", "categories": ["Category %d" % (t % 40)], "sources": ["source%d" % t],
                    "definition": "Synthetic task %d: answer with five words." % t}
            f.write(json.dumps({"task": meta}) + "\n")
            for i in range(args.instances):
                words = " ".join(rng.choices(vocabulary, k=args.words))
                output = " ".join(rng.choices(vocabulary, k=5))
                f.write(json.dumps({"id": "%s-%d" % (name, i), "input": words, "outputs": [output]}) + "\n")
    with open(args.out.rstrip("/") + ".yaml", "w") as f:
        f.write("name: scale\n"
                "validation: {categories: [Category 0, Category 1]}\n"
                "test: {categories: [Category 2, Category 3]}\n"
                "partially_held_out: {fraction: 0.25, validation: [Category 4], test: [Category 5]}\n"
                "instances: {fraction: 0.01, max_per_task: 100}\n"
                "caps: {eval_per_task: 100}\n")
    print("wrote %d tasks of %d instances to %s, split file %s.yaml" % (args.tasks, args.instances, args.out, args.out.rstrip("/")))


if __name__ == "__main__":
    main()
