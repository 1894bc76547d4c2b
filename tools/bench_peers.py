#!/usr/bin/env python3
"""Measures optiml beside its peers on one checkpoint, in one run, and prints the table with ratios.

Usage:
  python tools/bench_peers.py --model DIR [--threads N] [--repeat 3] [--optiml .build/release/optiml]
        [--engines transformers,ctranslate2,optiml] [--json-out FILE]

Peers: transformers fp32 (torch), CTranslate2 fp32 and int8 (the checkpoint converted once into
--cache-dir). Ours: `optiml bench --json`, every weight format. Each engine runs in its own process,
so peak RSS is its own. Workloads, identical for all (random-weight checkpoints are fine: speed does
not depend on the values, and EOS is disabled so every run produces the full length):
  decode b1   greedy, 64 new tokens after a 32-token prompt; the whole generate call is timed
              (prompt pass included); tokens/s = 64 / seconds
  decode b8   8 prompts of 32 tokens, 64 new tokens each; tokens/s = 512 / seconds
  prefill     one forward over 512 tokens with the logits of every position; tokens/s = 512 / seconds
Each figure is the median of --repeat runs after one warm-up. Needs: pip install torch transformers ctranslate2
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

PROMPT, NEW, PREFILL, BATCH = 32, 64, 512, 8


def prompt_ids(count, seed, vocab=50000):
    """Fixed pseudo-random token ids (speed does not depend on which), BOS first."""
    state, ids = seed, [2]
    for _ in range(count - 1):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        ids.append(4 + (state >> 33) % (vocab - 4))
    return ids


def median_seconds(body, repeat):
    body()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_transformers(model_dir, threads, repeat):
    import torch
    from transformers import OPTForCausalLM

    torch.set_num_threads(threads)
    start = time.perf_counter()
    model = OPTForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    load = time.perf_counter() - start
    single = torch.tensor([prompt_ids(PROMPT, 1)])
    batch = torch.tensor([prompt_ids(PROMPT, 1 + i) for i in range(BATCH)])
    prefill = torch.tensor([prompt_ids(PREFILL, 99)])

    def generate(ids):
        with torch.inference_mode():
            model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=NEW,
                           min_new_tokens=NEW, eos_token_id=None, pad_token_id=1)

    def forward():
        with torch.inference_mode():
            model(prefill)

    return dict(dtype="f32", load_s=load, decode_b1_tps=NEW / median_seconds(lambda: generate(single), repeat),
                decode_b8_tps=BATCH * NEW / median_seconds(lambda: generate(batch), repeat),
                prefill_tps=PREFILL / median_seconds(forward, repeat))


def ctranslate2_dir(model_dir, quantization, cache_dir):
    import ctranslate2

    out = os.path.join(cache_dir, os.path.basename(os.path.normpath(model_dir)) + "-ct2-" + quantization)
    if not os.path.exists(os.path.join(out, "model.bin")):
        ctranslate2.converters.TransformersConverter(model_dir).convert(out, quantization=quantization, force=True)
    return out


def measure_ctranslate2(model_dir, dtype, threads, repeat, cache_dir):
    import ctranslate2

    converted = ctranslate2_dir(model_dir, "float32" if dtype == "f32" else "int8", cache_dir)
    start = time.perf_counter()
    generator = ctranslate2.Generator(converted, device="cpu", intra_threads=threads,
                                      compute_type="float32" if dtype == "f32" else "int8")
    load = time.perf_counter() - start

    # generate_batch takes token strings: spell the same ids with the checkpoint's vocabulary.
    with open(os.path.join(model_dir, "vocab.json")) as f:
        spelling = {i: token for token, i in json.load(f).items()}
    single = [[spelling[i] for i in prompt_ids(PROMPT, 1)]]
    batch = [[spelling[i] for i in prompt_ids(PROMPT, 1 + b)] for b in range(BATCH)]
    prefill = [prompt_ids(PREFILL, 99)]

    def generate(prompts):
        results = generator.generate_batch(prompts, max_length=NEW, min_length=NEW, sampling_topk=1,
                                           include_prompt_in_result=False)
        assert all(len(r.sequences_ids[0]) == NEW for r in results), "CTranslate2 stopped early"

    def forward():
        generator.forward_batch(prefill)

    return dict(dtype=dtype, load_s=load, decode_b1_tps=NEW / median_seconds(lambda: generate(single), repeat),
                decode_b8_tps=BATCH * NEW / median_seconds(lambda: generate(batch), repeat),
                prefill_tps=PREFILL / median_seconds(forward, repeat))


def worker(args):
    """Runs one engine in this process and prints its row as JSON."""
    if args.worker == "transformers":
        row = measure_transformers(args.model, args.threads, args.repeat)
    else:
        row = measure_ctranslate2(args.model, args.worker_dtype, args.threads, args.repeat, args.cache_dir)
    row.update(engine=args.worker, peak_rss_mb=peak_rss_mb())
    print(json.dumps(row))


def run_worker(args, engine, dtype):
    command = [sys.executable, __file__, "--model", args.model, "--threads", str(args.threads), "--repeat",
               str(args.repeat), "--cache-dir", args.cache_dir, "--worker", engine, "--worker-dtype", dtype]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"note: {engine} {dtype} failed: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_optiml(args):
    if not os.path.exists(args.optiml):
        print(f"note: {args.optiml} not found (swift build -c release); showing the peers only", file=sys.stderr)
        return []
    command = [args.optiml, "bench", "--model", args.model, "--json", "--threads", str(args.threads),
               "--repeat", str(args.repeat), "--dtype", args.optiml_dtypes]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"note: optiml bench failed: {done.stderr.strip()}", file=sys.stderr)
        return []
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def report(rows):
    print("| engine | dtype | load s | decode b1 tok/s | decode b8 tok/s | prefill 512 tok/s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['engine']} | {r['dtype']} | {r['load_s']:.2f} | {r['decode_b1_tps']:.1f} | "
              f"{r['decode_b8_tps']:.1f} | {r['prefill_tps']:.1f} | {r['peak_rss_mb']:.0f} |")
    peers = [r for r in rows if r["engine"] != "optiml"]
    ours = [r for r in rows if r["engine"] == "optiml"]
    if not peers or not ours:
        return
    print()
    print("| optiml | metric | ours | best peer | ratio to best | " + " | ".join(f"÷ {p['engine']} {p['dtype']}" for p in peers) + " |")
    print("|---|---|---|---|---|" + "---|" * len(peers))
    for r in ours:
        for key, label in [("decode_b1_tps", "decode b1"), ("decode_b8_tps", "decode b8"), ("prefill_tps", "prefill")]:
            best = max(peers, key=lambda p: p[key])
            ratios = " | ".join(f"{r[key] / p[key]:.2f}×" for p in peers)
            print(f"| {r['dtype']} | {label} | {r[key]:.1f} | {best[key]:.1f} ({best['engine']} {best['dtype']}) | "
                  f"{r[key] / best[key]:.2f}× | {ratios} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Hugging Face checkpoint directory (config.json, weights, tokenizer)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default="transformers,ctranslate2,optiml")
    parser.add_argument("--optiml", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "optiml"))
    parser.add_argument("--optiml-dtypes", default="f32,f16,bf16,int8")
    parser.add_argument("--cache-dir", default="/tmp/optiml-bench-cache", help="where converted CTranslate2 models are kept")
    parser.add_argument("--json-out", help="also write every row to this JSON file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-dtype", default="f32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    engines = args.engines.split(",")
    rows = []
    if "transformers" in engines:
        rows.append(run_worker(args, "transformers", "f32"))
    if "ctranslate2" in engines:
        rows += [run_worker(args, "ctranslate2", "f32"), run_worker(args, "ctranslate2", "int8")]
    if "optiml" in engines:
        rows += run_optiml(args)
    rows = [r for r in rows if r]
    report(rows)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
