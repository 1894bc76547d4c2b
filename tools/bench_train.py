#!/usr/bin/env python3
"""Training speed: optiml against a PyTorch training step on the same checkpoint and batch.

Usage: python tools/bench_train.py --model DIR [--seq-len 512,2048] [--batch-size 1] [--threads 2] [--repeat 3]
       [--bf16] [--optiml .build/release/optiml]

Both sides run full optimizer steps on `batch-size` rows of `seq-len` tokens: forward, loss on every
position (transformers' labels = input_ids), backward, clipping to norm 1.0 and an AdamW update,
dropout 0.1 (the paper's), float32 throughout. --bf16 adds a run of optiml with the products' inputs
rounded to bfloat16 (f32 sums, `optiml train-speed --bf16`); PyTorch stays float32, the baseline every
ratio is taken against, measured in the same run. The figures are the median step of --repeat steps after
one warm-up, by wall time and by CPU time (user + system of every thread: on a loaded machine the wall
time moves with the load, the CPU time less); each engine runs in its own process so that peak RSS is its
own. Prints a Markdown table with our tokens/s over PyTorch's. Make a random checkpoint at a real shape first:
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
    times, cpu = [], []
    for step in range(repeat + 1):
        t, c = time.time(), time.process_time()
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step > 0:
            times.append(time.time() - t)
            cpu.append(time.process_time() - c)
    median = statistics.median(times)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(engine="pytorch", precision="f32", library=f"torch {torch.__version__}", seq_len=seq_len, batch_size=batch,
                threads=threads, load_s=load, step_s=median, step_cpu_s=statistics.median(cpu),
                tokens_per_s=batch * seq_len / median, peak_rss_mb=rss)


def main():
    parser = argparse.ArgumentParser(description="Training tokens/s of optiml against PyTorch float32 on the same model and batch.")
    parser.add_argument("--model", required=True, help="checkpoint directory (optiml init-random --like opt-125m makes one)")
    parser.add_argument("--seq-len", default="512,2048", help="comma-separated sequence lengths")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="timed steps after one warm-up (median reported)")
    parser.add_argument("--bf16", action="store_true", help="also run optiml with bf16 products (train-speed --bf16)")
    parser.add_argument("--optiml", default=".build/release/optiml")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(torch_step(args.model, int(args.child), args.batch_size, args.threads, args.repeat)))
        return
    print("| engine | products | seq len | batch | step s | CPU s / step | tokens/s | peak RSS MB | tokens/s / PyTorch f32 | CPU s / PyTorch's |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for seq_len in [int(s) for s in args.seq_len.split(",")]:
        theirs = json.loads(subprocess.run(
            [sys.executable, __file__, "--model", args.model, "--child", str(seq_len), "--batch-size", str(args.batch_size),
             "--threads", str(args.threads), "--repeat", str(args.repeat)], check=True, capture_output=True, text=True).stdout)
        rows = [theirs]
        for bf16 in [False, True] if args.bf16 else [False]:
            rows.append(json.loads(subprocess.run(
                [args.optiml, "train-speed", "--model", args.model, "--seq-len", str(seq_len), "--batch-size", str(args.batch_size),
                 "--threads", str(args.threads), "--repeat", str(args.repeat), "--json"] + (["--bf16"] if bf16 else []),
                check=True, capture_output=True, text=True).stdout))
        for row in rows:
            speed = f"{row['tokens_per_s'] / theirs['tokens_per_s']:.2f}×" if row is not theirs else ""
            cpu = f"{row['step_cpu_s'] / theirs['step_cpu_s']:.2f}×" if row is not theirs else ""
            print(f"| {row['engine']} | {row['precision']} ({row['library']}) | {seq_len} | {row['batch_size']} | {row['step_s']:.2f} | "
                  f"{row['step_cpu_s']:.2f} | {row['tokens_per_s']:.1f} | {row['peak_rss_mb']:.0f} | {speed} | {cpu} |", flush=True)


if __name__ == "__main__":
    main()
