#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/training: transformers' loss and gradients on packed, label-masked batches.

Usage: python tools/make_training_fixtures.py   (needs torch, transformers, safetensors; run
tools/make_model_fixtures.py first: it makes the tiny checkpoints used here)

For each tiny model of Tests/Fixtures/models, a batch of 2 rows × 24 tokens packs several examples
per row (each starting with </s>, the padding tail a segment of its own). The reference is what a
packed row with a document mask and restarting positions must equal: every example run on its own
through OPTForCausalLM (float64, dropout off), cross-entropy summed over the tokens whose loss mask
is set, divided by the number of such tokens in the whole batch. <model>/batch.json holds the
examples and the loss; <model>/gradients/model.safetensors the gradient of every named parameter
(float32, so that the checkpoint reader loads it).

optimizer.json: the losses of 6 training steps on the first model's batch with torch.optim.AdamW
(β = (0.9, 0.95), weight decay 0.1 except biases, norms and position embeddings), a linear warmup
of 2 steps then linear decay to 0 at step 6, and gradients clipped to norm 1.0.
"""
import json
import os

import torch
from safetensors.torch import save_file
from transformers import OPTForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "Tests", "Fixtures", "models")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "training")
ROWS, LENGTH = 2, 24
# (row, start, length, first label position): the last example of row 0 leaves 3 tokens of padding.
LAYOUT = [(0, 0, 9, 4), (0, 9, 7, 1), (0, 16, 5, 3), (1, 0, 14, 6), (1, 14, 10, 1)]


def decay_exempt(name, parameter):
    return parameter.dim() == 1 or name.endswith("embed_positions.weight")


def packed_loss(model, examples):
    total, labels = 0, 0
    for e in examples:
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([e["tokens"]])).logits[0], dim=-1)
        for i in range(1, len(e["tokens"])):
            if e["mask"][i]:
                total = total - logprobs[i - 1, e["tokens"][i]]
                labels += 1
    return total / labels


def optimizer_trace(name, examples, steps=6, warmup=2, lr=1e-3):
    model = OPTForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float64)
    model.eval()
    named = list(model.named_parameters())
    groups = [dict(params=[p for n, p in named if not decay_exempt(n, p)], weight_decay=0.1),
              dict(params=[p for n, p in named if decay_exempt(n, p)], weight_decay=0.0)]
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95), eps=1e-8)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s + 1 <= warmup else max(0.0, (steps - s - 1) / (steps - warmup)))
    losses, norms = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = packed_loss(model, examples)
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0).item())
        losses.append(loss.item())
        optimizer.step()
        schedule.step()
    losses.append(packed_loss(model, examples).item())
    return dict(model=name, lr=lr, warmup=warmup, steps=steps, weight_decay=0.1, clip=1.0, losses=losses, grad_norms=norms)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(os.listdir(MODELS)):
        torch.manual_seed(0)
        model = OPTForCausalLM.from_pretrained(os.path.join(MODELS, name), dtype=torch.float64)
        model.eval()
        vocab = 1000  # real tokens; the config pads the vocabulary above this
        examples, total, labels = [], torch.zeros((), dtype=torch.float64), 0
        for row, start, length, first in LAYOUT:
            tokens = [2] + torch.randint(3, vocab, (length - 1,)).tolist()
            mask = [i >= first for i in range(length)]
            examples.append(dict(row=row, start=start, tokens=tokens, mask=mask))
            logits = model(input_ids=torch.tensor([tokens])).logits[0]
            logprobs = torch.log_softmax(logits, dim=-1)
            for i in range(1, length):
                if mask[i]:
                    total = total - logprobs[i - 1, tokens[i]]
                    labels += 1
        (total / labels).backward()
        grads = {n: p.grad.detach().float().contiguous() for n, p in model.named_parameters()}
        os.makedirs(os.path.join(OUT, name, "gradients"), exist_ok=True)
        save_file(grads, os.path.join(OUT, name, "gradients", "model.safetensors"))
        meta = dict(model=name, rows=ROWS, length=LENGTH, examples=examples, labels=labels,
                    loss_sum=total.item(), loss=(total / labels).item())
        with open(os.path.join(OUT, name, "batch.json"), "w") as f:
            json.dump(meta, f)
        print(name, "loss", meta["loss"], "tensors", len(grads))
        if name == "tiny-preln-safetensors-sharded":
            with open(os.path.join(OUT, "optimizer.json"), "w") as f:
                json.dump(optimizer_trace(name, examples), f)


if __name__ == "__main__":
    main()
