#!/usr/bin/env python3
"""Checks that a checkpoint written by `optiml tune` loads in transformers and agrees with our runtime.

Usage: python tools/check_tuned_checkpoint.py CHECKPOINT_DIR [--optiml .build/release/optiml]

Loads CHECKPOINT_DIR with OPTForCausalLM.from_pretrained and AutoTokenizer (no warnings about
missing or unexpected weights allowed), then for a few context/continuation pairs compares
transformers' per-token log-probabilities (log-softmax of its logits) with `optiml score --json` on the
same checkpoint, and greedy continuations with `optiml generate --json`. Exits 1 on any difference
above 1e-4.
"""
import argparse
import json
import subprocess
import sys

import torch
from transformers import AutoTokenizer, OPTForCausalLM

PAIRS = [
    ("Name the colour of the fruit.\n\nFruit: apple\nAnswer:", " red"),
    ("Is the number even or odd?\n\nNumber: three\nA:", " odd"),
    ("The capital of France is", " Paris, a city on the Seine"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--optiml", default=".build/release/optiml")
    args = parser.parse_args()
    model, info = OPTForCausalLM.from_pretrained(args.checkpoint, dtype=torch.float32, output_loading_info=True)
    missing = [k for k in info["missing_keys"] if k != "lm_head.weight"]
    if missing or info["unexpected_keys"] or info["mismatched_keys"]:
        print("loading problems:", info)
        return 1
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)
    worst = 0.0
    for context, continuation in PAIRS:
        ours = json.loads(subprocess.run([args.optiml, "score", "--model", args.checkpoint, "--context", context,
                                          "--continuation", continuation, "--json"], check=True, capture_output=True, text=True).stdout)
        context_ids = tokenizer(context)["input_ids"]
        ids = context_ids + ours["continuation_ids"]
        with torch.no_grad():
            logprobs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].double(), dim=-1)
        theirs = [logprobs[len(context_ids) + i - 1, t].item() for i, t in enumerate(ours["continuation_ids"])]
        difference = max(abs(a - b) for a, b in zip(ours["token_logprobs"], theirs))
        worst = max(worst, difference)
        print(f"score    {context[:40]!r:44} tokens {len(theirs):2}  max |Δ logprob| {difference:.2e}")

        generated = json.loads(subprocess.run([args.optiml, "generate", "--model", args.checkpoint, "--prompt", context,
                                               "--max-new-tokens", "12", "--json"], check=True, capture_output=True, text=True).stdout)
        with torch.no_grad():
            reference = model.generate(torch.tensor([context_ids]), max_new_tokens=12, do_sample=False)[0, len(context_ids):].tolist()
        # optiml's output_ids leave out the EOS that ends a generation; transformers' include it.
        if tokenizer.eos_token_id in reference:
            reference = reference[:reference.index(tokenizer.eos_token_id)]
        ours_ids = generated["output_ids"]
        same = ours_ids[:len(reference)] == reference
        print(f"generate {context[:40]!r:44} {'same ids' if same else 'DIFFERENT: ' + str(ours_ids) + ' vs ' + str(reference)}")
        if not same:
            return 1
    print(f"worst |Δ logprob| {worst:.2e}")
    return 0 if worst <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
