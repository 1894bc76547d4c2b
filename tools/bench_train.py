#!/usr/bin/env python3
"""Training speed: optiml against a PyTorch training step on the same checkpoint and batch.

Usage: python tools/bench_train.py --model DIR [--seq-len 512,2048] [--batch-size 1] [--threads 2] [--repeat 3]
       [--optiml .build/release/optiml]

Both sides run full optimizer steps on `batch-size` rows of `seq-len` tokens: forward, loss on every
position (transformers' labels = input_ids), backward, clipping to norm 1.0 and an AdamW update,
dropout 0.1 (the paper's), float32 throughout. The figure is the median step of --repeat steps after
one warm-up; each engine runs in its own process so that peak RSS is its own. Prints a Markdown table
with our tokens/s over PyTorch's. Make a random checkpoint at a real shape first:
    .build/release/optiml init-random --like opt-125m --out /tmp/opt-125m
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def torch_step(model_dir, seq_len, batch, threads, repeat):
    import torch
    from transformers import OPTForCausalLM

    torch.set_num_threads(threads)
    start = time.time()
    model = OPTForCausalLM.from_pretrained(model_dir, dtype=torch.float32, dropout=0.1, attention_dropout=0.1)
    load = time.time() - start
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ids = torch.randint(4, 50000, (batch, seq_len))
    ids[:, 0] = 2
    times = []
    for step in range(repeat + 1):
        t = time.time()
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step > 0:
            times.append(time.time() - t)
    median = statistics.median(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(engine="pytorch", seq_len=seq_len, batch_size=batch, threads=threads, load_s=load, step_s=median,
                tokens_per_s=batch * seq_len / median, peak_rss_mb=rss)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--seq-len", default="512,2048")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--optiml", default=".build/release/optiml")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(torch_step(args.model, int(args.child), args.batch_size, args.threads, args.repeat)))
        return
    print("| engine | seq len | batch | step s | tokens/s | peak RSS MB | ours / PyTorch |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for seq_len in [int(s) for s in args.seq_len.split(",")]:
        ours = json.loads(subprocess.run(
            [args.optiml, "train-speed", "--model", args.model, "--seq-len", str(seq_len), "--batch-size", str(args.batch_size),
             "--threads", str(args.threads), "--repeat", str(args.repeat), "--json"], check=True, capture_output=True, text=True).stdout)
        theirs = json.loads(subprocess.run(
            [sys.executable, __file__, "--model", args.model, "--child", str(seq_len), "--batch-size", str(args.batch_size),
             "--threads", str(args.threads), "--repeat", str(args.repeat)], check=True, capture_output=True, text=True).stdout)
        for row in (theirs, ours):
            ratio = f"{ours['tokens_per_s'] / theirs['tokens_per_s']:.2f}×" if row is ours else ""
            print(f"| {row['engine']} | {seq_len} | {row['batch_size']} | {row['step_s']:.2f} | {row['tokens_per_s']:.1f} | "
                  f"{row['peak_rss_mb']:.0f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
