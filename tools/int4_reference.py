"""The int4 scheme of `optiml quantize --dtype int4` in NumPy, to check `optiml accuracy`'s int4 row.

Usage: python tools/int4_reference.py MODEL_DIR TEXT_FILE [--positions 1024] [--scheme search|absmax]
       [--calibration FILE [--calibration-positions 16384] [--sequential]]

Quantizes every weight matrix but the position embeddings as optiml does: the token embedding (the tied lm_head)
and the first decoder layer's matrices in int8 (one scale per row, max|row| / 127, levels round-half-even(w / s)
clamped to ±127; `--all-int4` puts them in int4 too), the others in groups of 32 columns of a row, each with one
f16 scale d (signed) and levels q = round-half-even(w / d) clamped to -8…7. `search` (optiml's scheme)
tries d = f16(max|group| / 7) and, for each of the inverse scales -(7, 7.1, …, 9) / m (m the group's value of
largest magnitude), the weighted least-squares fit d = Σ w²·w·l / Σ w²·l² of the levels l that inverse scale
gives, rounded to f16; it keeps the d of least Σ w² (w − d·q)², the absmax one on ties. `absmax` is the
scheme before it (d = f16(max|group| / 7) alone). The script runs the text in sequences of 256 tokens (BOS first)
in f32 before and after, and prints max |Δ logit|, mean cosine, top-1 agreement and the share of positions
whose two largest f32 logits are within 0.05 and 0.2 (near-ties, where any perturbation may swap the top-1),
the figures `optiml accuracy --text TEXT_FILE` prints for int4 (its prefill quantizes the inputs too, so they
agree to about 1e-3 in cosine and top-1). Written from the scheme's description, not from the C code, so
that the two check each other.

`--calibration` rounds the int4 matrices by GPTQ (Frantar et al., 2022), as `optiml accuracy --calibration` does:
the calibration text (sequences of up to 512 tokens, BOS first) runs through the f32 model once, each Linear's
inputs summed into H = Σ xᵀx; each int4 matrix then gets U = the upper Cholesky factor of (H + 1% of its mean
diagonal)⁻¹, computed as GPTQ's reference computes it (torch.linalg.cholesky, cholesky_inverse), and its columns
are rounded in order, each group's scale chosen by `--scheme` from the group's weights when its first column
comes, each column's error (w − d·q) / U[i, i] taken from the later columns times U's row i (one column at a time,
without the lazy batches, which change only the order of the sums). `--sequential` gathers each decoder layer's H
again, through the layers already rounded, as GPTQ's reference does (optiml gathers them from the f32 model).
"""
import argparse

import numpy as np
import torch
from transformers import AutoTokenizer, OPTForCausalLM


def to_f16(d: np.ndarray) -> np.ndarray:
    """A scale as stored: f16, clamped to the largest finite half."""
    return np.clip(d, -65504, 65504).astype(np.float16).astype(np.float32)


def levels(groups: np.ndarray, d: np.ndarray) -> np.ndarray:
    """round-half-even(w / d) clamped to -8…7 (0 where d is 0), d broadcast over each group."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(np.round(groups * np.where(d != 0, np.float32(1) / d, np.float32(0))), -8, 7)
    return q.astype(np.float32)


def weighted_error(groups: np.ndarray, d: np.ndarray) -> np.ndarray:
    return (groups**2 * (groups - d * levels(groups, d)) ** 2).sum(-1, keepdims=True)


def scales_int4(groups: np.ndarray, scheme: str) -> np.ndarray:
    """The f16 scale of each group ([..., 32] f32, NaN already 0), shape [..., 1]."""
    amax = np.abs(groups).max(-1, keepdims=True)
    best = to_f16(amax / 7)
    if scheme == "absmax":
        return best
    best_error = weighted_error(groups, best)
    signed = np.take_along_axis(groups, np.abs(groups).argmax(-1)[..., None], -1)
    safe = np.where(amax > 0, signed, np.float32(1))
    weights = groups**2
    for k in range(-10, 11):
        inverse = -(np.float32(8) + np.float32(0.1) * np.float32(k)) / safe
        l = np.clip(np.round(groups * inverse), -8, 7)
        fit_denominator = (weights * l * l).sum(-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            fitted = to_f16((weights * groups * l).sum(-1, keepdims=True) / fit_denominator)
        error = weighted_error(groups, fitted)
        better = (fit_denominator > 0) & (error < best_error) & (amax > 0) & np.isfinite(amax)
        best = np.where(better, fitted, best)
        best_error = np.where(better, error, best_error)
    return best


def quantize_int4(w: torch.Tensor, scheme: str) -> torch.Tensor:
    rows, cols = w.shape
    groups = np.nan_to_num(w.detach().float().numpy().reshape(rows, cols // 32, 32), nan=0.0)
    d = scales_int4(groups, scheme)
    return torch.from_numpy((levels(groups, d) * d).reshape(rows, cols))


def gptq_int4(w: torch.Tensor, h: torch.Tensor, scheme: str) -> torch.Tensor:
    """w rounded by GPTQ over inputs of second moments h, dequantized."""
    w = torch.nan_to_num(w.detach().float(), nan=0.0).clone()
    rows, cols = w.shape
    mean = h.diagonal().mean()
    h = h + (0.01 * mean if mean > 0 else 1) * torch.eye(cols)
    u = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    q = torch.zeros_like(w)
    for g in range(0, cols, 32):
        d = scales_int4(w[:, g:g + 32].numpy()[:, None, :], scheme)[:, 0, :]
        for i in range(g, g + 32):
            q[:, i] = torch.from_numpy((levels(w[:, i:i + 1].numpy(), d) * d)[:, 0])
            error = (w[:, i] - q[:, i]) / u[i, i]
            w[:, i + 1:] -= error[:, None] * u[i, i + 1:][None, :]
    return q


def second_moments(model: OPTForCausalLM, sequences: list) -> dict:
    """Σ xᵀx of each Linear's inputs over the sequences, by the Linear's weight name."""
    moments, names = {}, {module: name + ".weight" for name, module in model.named_modules()}

    def gather(module, inputs, output):
        x = inputs[0].reshape(-1, inputs[0].shape[-1]).float()
        moments[names[module]] = moments.get(names[module], 0) + x.T @ x

    handles = [m.register_forward_hook(gather) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for s in sequences:
            model(torch.tensor([s]))
    for handle in handles:
        handle.remove()
    return moments


def quantize_int8(w: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 with one f32 scale per row (max|row| / 127), dequantized."""
    a = np.nan_to_num(w.detach().float().numpy(), nan=0.0)
    s = np.abs(a).max(-1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.clip(np.round(a * np.where(s > 0, np.float32(1) / s, np.float32(0))), -127, 127)
    return torch.from_numpy((q * s).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("text")
    parser.add_argument("--positions", type=int, default=1024)
    parser.add_argument("--scheme", choices=["search", "absmax"], default="search")
    parser.add_argument("--all-int4", action="store_true", help="the token embedding and the first layer in int4 too")
    parser.add_argument("--calibration", help="text whose inputs GPTQ rounds the int4 matrices by")
    parser.add_argument("--calibration-positions", type=int, default=16384)
    parser.add_argument("--sequential", action="store_true", help="each layer's H through the layers already rounded")
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = OPTForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32).eval()

    def cut(path: str, positions: int, length: int) -> list:
        """Sequences of BOS and the next length - 1 tokens of the text, until `positions` are covered."""
        ids = tokenizer(open(path, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
        sequences, start = [], 0
        while sum(len(s) for s in sequences) < positions and start < len(ids):
            body = ids[start:start + length - 1]
            sequences.append([model.config.bos_token_id] + body)
            start += len(body)
        return sequences

    sequences = cut(args.text, args.positions, 256)
    calibration = cut(args.calibration, args.calibration_positions, 512) if args.calibration else []
    moments = second_moments(model, calibration) if calibration else {}

    def logits() -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([model(torch.tensor([s])).logits[0] for s in sequences])

    reference = logits()
    with torch.no_grad():
        layer = None
        for name, parameter in model.named_parameters():
            if args.sequential and calibration and ".layers." in name and name.split(".layers.")[1].split(".")[0] != layer:
                layer = name.split(".layers.")[1].split(".")[0]
                moments = second_moments(model, calibration)
            if parameter.dim() == 2 and "embed_positions" not in name:
                sensitive = "embed_tokens" in name or "lm_head" in name or ".layers.0." in name
                if sensitive and not args.all_int4:
                    parameter.copy_(quantize_int8(parameter))
                elif name in moments:
                    parameter.copy_(gptq_int4(parameter, moments[name], args.scheme))
                else:
                    parameter.copy_(quantize_int4(parameter, args.scheme))
    quantized = logits()
    cosine = torch.nn.functional.cosine_similarity(reference, quantized, dim=-1).mean().item()
    top1 = (reference.argmax(-1) == quantized.argmax(-1)).float().mean().item()
    top2 = reference.topk(2, dim=-1).values
    margin = top2[:, 0] - top2[:, 1]
    ties = "  ".join(f"{(margin < m).float().mean().item():.4f}" for m in (0.05, 0.2))
    print("dtype  positions  max |Δlogit|  mean cosine  top-1 agreement  near-ties (<0.05, <0.2)")
    method = ("-gptq-sequential" if args.sequential else "-gptq") if calibration else ""
    print(f"int4-{args.scheme}{method}  {reference.shape[0]}  {(reference - quantized).abs().max().item():.5f}  {cosine:.6f}  {top1:.4f}  {ties}")


if __name__ == "__main__":
    main()
