#!/usr/bin/env python3
"""Writes a random-weight OPT checkpoint at a real size with transformers, for demos and benchmarks.

Usage: python tools/make_random_hf_checkpoint.py --like opt-125m --out /tmp/opt-125m-random [--bin]

The tokenizer is GPT-2's BPE (from ../shared/data/gpt2-tokenizer) laid out as OPT's vocabulary:
<s>, <pad>, </s>, <unk> at ids 0-3, 50265 entries in all, and BOS </s> prepended. The weights are random, so the text is
gibberish; the shapes, file layout and speed are those of the real model.
"""
import argparse
import json
import os

import torch
from transformers import OPTConfig, OPTForCausalLM

SHAPES = {
    "opt-125m": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, ffn_dim=3072),
    "opt-350m": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, ffn_dim=4096,
                     word_embed_proj_dim=512, do_layer_norm_before=False),
    "opt-1.3b": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=32, ffn_dim=8192),
}
SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "gpt2-tokenizer")


def write_tokenizer(out):
    with open(os.path.join(SHARED, "vocab.json")) as f:
        gpt2 = json.load(f)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for token, _ in sorted(gpt2.items(), key=lambda kv: kv[1]):
        vocab[token] = len(vocab)
    # OPT's tokenizer has 50265 entries (CTranslate2's converter checks this against the padded 50272).
    while len(vocab) < 50265:
        vocab[f"<extra_{len(vocab)}>"] = len(vocab)
    with open(os.path.join(out, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(SHARED, "merges.txt")) as src, open(os.path.join(out, "merges.txt"), "w") as dst:
        dst.write(src.read())
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "add_bos_token": True, "bos_token": "</s>",
                   "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>", "model_max_length": 1000000000000000019884624838656}, f)
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": "</s>", "eos_token": "</s>", "unk_token": "</s>", "pad_token": "<pad>"}, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--like", choices=sorted(SHAPES), default="opt-125m")
    parser.add_argument("--out", required=True)
    parser.add_argument("--bin", action="store_true", help="write pytorch_model.bin instead of safetensors")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    config = OPTConfig(vocab_size=50272, max_position_embeddings=2048, **SHAPES[args.like])
    model = OPTForCausalLM(config).eval()
    if args.bin:
        config.save_pretrained(args.out)
        torch.save(model.state_dict(), os.path.join(args.out, "pytorch_model.bin"))
    else:
        model.save_pretrained(args.out)
    write_tokenizer(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
