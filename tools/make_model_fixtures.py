#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/models: tiny random OPT checkpoints and transformers' outputs on them.

Usage: python tools/make_model_fixtures.py [NAME ...]   (needs torch, transformers, tokenizers, safetensors)

With names, only those models are written again (the others are left as they are); without, all of them.

Each model directory holds a Hugging Face checkpoint (config.json, weights, tokenizer files) and
expected.json: left-padded batch logits (raw little-endian float32 in logits.f32), greedy
continuations (single and batched, plain and with repetition penalty / n-gram ban) and
continuation scores computed the lm-evaluation-harness way. The Swift tests compare against these.
"""
import json
import os
import shutil
import sys

import torch
from transformers import AutoTokenizer, OPTConfig, OPTForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe_fixture import train_opt_style_bpe  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "models")
VOCAB = 1000  # tokenizer size; config vocab_size is padded above it as OPT pads 50265 -> 50272
PADDED_VOCAB = 1008

PROMPTS = [
    "The capital of France is",
    "Q: What is 12 plus 7?\nA:",
    "Héllo wörld — 東京 🙂",
]
SCORE_PAIRS = [
    ("The capital of France is", " Paris"),
    ("The capital of France is ", "Paris"),  # trailing space moves to the continuation
    ("Q: Is the sky blue?\nA:", " yes"),
    ("Q: Is the sky blue?\nA:", " no, it is green today"),
    ("", "Hello there"),  # empty context: BOS alone conditions the continuation
    ("Translate to German: cat ->", " Katze 🐈"),
]

MODELS = {
    # name: (config overrides, storage)
    "tiny-preln-safetensors-sharded": (dict(), "safetensors-sharded"),
    "tiny-postln-bin-sharded": (
        dict(do_layer_norm_before=False, word_embed_proj_dim=16, _remove_final_layer_norm=False),
        "bin-sharded-unprefixed",
    ),
    "tiny-f16-nobias-safetensors": (dict(enable_bias=False, layer_norm_elementwise_affine=False), "safetensors-f16"),
    "tiny-bf16-bin-untied": (dict(tie_word_embeddings=False, _remove_final_layer_norm=True), "bin-bf16"),
    # Heads of 64 values, as OPT's from 125m to 1.3b: the size the AVX-512 prefill attention kernel takes.
    "tiny-heads64-safetensors": (dict(hidden_size=128, num_attention_heads=2, ffn_dim=256, word_embed_proj_dim=128),
                                 "safetensors-sharded"),
}


def make_config(overrides):
    base = dict(
        vocab_size=PADDED_VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64,
        max_position_embeddings=64, word_embed_proj_dim=32, do_layer_norm_before=True, bos_token_id=2,
        eos_token_id=2, pad_token_id=1, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
    )
    base.update(overrides)
    return OPTConfig(**base)


def randomize(model, seed):
    # Larger weights than the 0.02 init spread the logits apart, so greedy choices are never near-ties.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.35 * torch.randn(p.shape, generator=g))


def save_bin_shards(state, directory, prefix_model):
    names = sorted(state)
    if not prefix_model:
        state = {k[len("model."):] if k.startswith("model.") else k: v for k, v in state.items()}
        names = sorted(state)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save({n: state[n].contiguous() for n in shard}, os.path.join(directory, file))
        weight_map.update({n: file for n in shard})
    with open(os.path.join(directory, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state.values())},
                   "weight_map": weight_map}, f, indent=2)


def save(model, directory, storage):
    if storage == "safetensors-sharded":
        model.save_pretrained(directory, max_shard_size="40KB")
    elif storage == "safetensors-f16":
        model.half().save_pretrained(directory)
    elif storage == "bin-sharded-unprefixed":
        model.config.save_pretrained(directory)
        save_bin_shards(model.state_dict(), directory, prefix_model=False)
    elif storage == "bin-bf16":
        model.config.save_pretrained(directory)
        torch.save(model.to(torch.bfloat16).state_dict(), os.path.join(directory, "pytorch_model.bin"))
    else:
        raise ValueError(storage)


def harness_split(tok, context, continuation):
    n = len(context) - len(context.rstrip())
    if n > 0:
        continuation = context[-n:] + continuation
        context = context[:-n]
    whole = tok(context + continuation)["input_ids"]
    ctx = tok(context)["input_ids"]
    return ctx, whole[len(ctx):]


def reference(model, tok, directory):
    model = model.float().eval()
    out = {"prompts": PROMPTS}
    enc = tok(PROMPTS, return_tensors="pt", padding=True)
    out["batch_input_ids"] = enc["input_ids"].tolist()
    out["batch_attention_mask"] = enc["attention_mask"].tolist()
    with torch.no_grad():
        logits = model(**enc).logits
    # Only real (non-pad) positions are compared; store them in row order.
    real = enc["attention_mask"].bool()
    logits[real].numpy().astype("<f4").tofile(os.path.join(directory, "logits.f32"))

    def greedy(ids_list, **kw):
        batch = tok.pad({"input_ids": ids_list}, return_tensors="pt")
        with torch.no_grad():
            gen = model.generate(**batch, do_sample=False, max_new_tokens=24, pad_token_id=1, **kw)
        return [row[batch["input_ids"].shape[1]:].tolist() for row in gen]

    single = [tok(p)["input_ids"] for p in PROMPTS]
    out["greedy"] = [greedy([ids], eos_token_id=None)[0] for ids in single]
    out["greedy_batched"] = greedy(single, eos_token_id=None)
    out["greedy_penalized"] = [
        greedy([ids], eos_token_id=None, repetition_penalty=1.5, no_repeat_ngram_size=2)[0] for ids in single]
    out["greedy_with_eos"] = [greedy([ids], eos_token_id=2)[0] for ids in single]

    scores = []
    for context, continuation in SCORE_PAIRS:
        ctx, cont = harness_split(tok, context, continuation)
        inp = torch.tensor([(ctx + cont)[:-1]])
        with torch.no_grad():
            lp = torch.log_softmax(model(inp).logits[0, -len(cont):], dim=-1)
        token_lp = [lp[i, t].item() for i, t in enumerate(cont)]
        greedy_ok = all(lp[i].argmax().item() == t for i, t in enumerate(cont))
        scores.append(dict(context=context, continuation=continuation, context_ids=ctx, continuation_ids=cont,
                           token_logprobs=token_lp, logprob=sum(token_lp), is_greedy=greedy_ok))
    out["scores"] = scores
    return out


def main():
    only = set(sys.argv[1:])
    unknown = only - set(MODELS)
    if unknown:
        sys.exit(f"unknown model(s): {', '.join(sorted(unknown))}; known: {', '.join(MODELS)}")
    if not only and os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT, exist_ok=True)
    tokenizer_dir = os.path.join(ROOT, "_tokenizer")
    train_opt_style_bpe(tokenizer_dir, vocab_size=VOCAB)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.padding_side = "left"
    for seed, (name, (overrides, storage)) in enumerate(MODELS.items()):
        if only and name not in only:
            continue
        directory = os.path.join(ROOT, name)
        if os.path.exists(directory):
            shutil.rmtree(directory)
        os.makedirs(directory)
        torch.manual_seed(seed)
        model = OPTForCausalLM(make_config(overrides))
        randomize(model, seed)
        save(model, directory, storage)
        for file in os.listdir(tokenizer_dir):
            shutil.copy(os.path.join(tokenizer_dir, file), directory)
        # The reference runs on the weights exactly as stored (f16/bf16 rounded), computed in float32.
        stored = OPTForCausalLM.from_pretrained(directory, torch_dtype=torch.float32) if storage.startswith("safetensors") else None
        if stored is None:
            stored = model.float()
        expected = reference(stored, tok, directory)
        expected["config"] = {k: v for k, v in overrides.items()}
        with open(os.path.join(directory, "expected.json"), "w") as f:
            json.dump(expected, f, indent=1, ensure_ascii=False)
        print(name, "ok")
    shutil.rmtree(tokenizer_dir)


if __name__ == "__main__":
    main()
