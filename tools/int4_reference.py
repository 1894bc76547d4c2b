"""The int4 scheme of `optiml quantize --dtype int4` in PyTorch, to check `optiml accuracy`'s int4 row.

Usage: python tools/int4_reference.py MODEL_DIR TEXT_FILE [--positions 1024]

Quantizes every weight matrix but the position embeddings as optiml does (groups of 32 columns of a row,
scale = max|group| / 7 rounded to f16, q = round-half-even(w / scale) clamped to -8…7), runs the text in
sequences of 256 tokens (BOS first) in f32 before and after, and prints max |Δ logit|, mean cosine and top-1
agreement, the figures `optiml accuracy --text TEXT_FILE` prints for int4 (its prefill quantizes the inputs
too, so they agree to about 1e-3 in cosine and top-1).
"""
import argparse

import torch
from transformers import AutoTokenizer, OPTForCausalLM


def quantize_int4(w: torch.Tensor) -> torch.Tensor:
    rows, cols = w.shape
    groups = w.reshape(rows, cols // 32, 32)
    scale = (groups.abs().amax(-1, keepdim=True) / 7).half().float()
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.where(scale > 0, torch.round(groups / safe), torch.zeros_like(groups)).clamp(-8, 7)
    return (q * scale).reshape(rows, cols)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--positions", type=int, default=1024)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = OPTForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    ids = tokenizer(open(args.text, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
    sequences, start = [], 0
    while sum(len(s) for s in sequences) < args.positions and start < len(ids):
        body = ids[start:start + 255]
        sequences.append([model.config.bos_token_id] + body)
        start += len(body)

    def logits() -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([model(torch.tensor([s])).logits[0] for s in sequences])

    reference = logits()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 2 and "embed_positions" not in name:
                parameter.copy_(quantize_int4(parameter))
    quantized = logits()
    cosine = torch.nn.functional.cosine_similarity(reference, quantized, dim=-1).mean().item()
    top1 = (reference.argmax(-1) == quantized.argmax(-1)).float().mean().item()
    print(f"int4  {reference.shape[0]}  {(reference - quantized).abs().max().item():.5f}  {cosine:.6f}  {top1:.4f}")


if __name__ == "__main__":
    main()
