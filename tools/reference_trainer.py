#!/usr/bin/env python3
"""Trains an OPT checkpoint on a stream exported by `optiml tune --export`, with PyTorch FSDP.

Usage (one machine, N GPUs; on CPU the gloo backend is used):
    torchrun --nproc_per_node N tools/reference_trainer.py --export DIR --model CHECKPOINT --out RUN

The export fixes everything that decides the numbers, so that this trainer computes what
`optiml tune` computes on the same rows: the rows of each step (input_ids, labels with -100 where
no loss, position_ids restarting at each example, cu_seqlens), and in manifest.json the run's
settings, from which the optimizer is built: AdamW with the manifest's betas, epsilon and decoupled
weight decay (biases, norms and position embeddings exempt), the learning rate of
`LearningRateSchedule` (linear warmup, then linear / cosine / constant), gradients clipped to the
global norm `clipNorm`, dropout on embeddings, residual branches, attention probabilities and after
the FFN activation. The loss of a step is the cross-entropy summed over its labelled tokens divided
by the step's number of labels, over all of its rows on every rank, as `Trainer` divides it.

Attention is document-masked: a token attends to earlier tokens of its own example only, a
block-diagonal causal mask built from cu_seqlens (eager attention); with --bf16, flash-attn installed
and a GPU, flash-attention's variable-length kernel gets the same boundaries (cu_seq_lens) and the
micro-batch's rows as one flattened sequence.

The engine is PyTorch FSDP2 (`torch.distributed.fsdp.fully_shard`: each decoder layer a unit,
parameters sharded over the ranks as DTensors that keep transformers' names and shapes, so the
optimizer's groups are those of a single process; unlike FSDP1 it also runs on CPU with gloo);
each rank takes an equal slice of each step's rows. Checkpoints go to RUN/checkpoint-NNNNNN (every --save-every steps and at the end) in
the Hugging Face layout with float32 weights and the input checkpoint's tokenizer files, as
`optiml tune` writes them, so `optiml` and transformers both load them; RUN/latest names the newest,
RUN/metrics.jsonl gets one line per step (loss, lr, grad_norm, labels, seconds).

It refuses, before training: an export of another format or version, a checkpoint whose tokenizer
files differ from those the stream was tokenized with (their SHA-256, as the manifest records it),
a model whose positions or vocabulary the rows do not fit, a shard whose content is not the one the
manifest lists (another export's file), steps the export does not hold, and a RUN folder holding a
run of another export.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import shutil
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors import safe_open

FORMAT, VERSION = "optiml-training-stream", 1
# The tokenizer files a checkpoint carries (CheckpointExport.companionFiles without generation_config.json).
TOKENIZER_FILES = sorted(["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                          "special_tokens_map.json", "added_tokens.json"])


class Refusal(Exception):
    """Bad input: the message names what and where."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def tokenizer_identity(model_dir):
    """TokenizerIdentity.sha256 of the Swift side: name, newline, file hash, newline, per file present."""
    listing = ""
    for name in TOKENIZER_FILES:
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            listing += name + "\n" + sha256_file(path) + "\n"
    return hashlib.sha256(listing.encode()).hexdigest()


def learning_rate(step, schedule):
    """LearningRateSchedule.rate(atStep:): the rate of update `step` (1-based)."""
    peak, warmup, total, decay = schedule["peak"], schedule["warmupSteps"], schedule["totalSteps"], schedule["decay"]
    if warmup > 0 and step <= warmup:
        return peak * step / warmup
    progress = min(max((step - warmup) / max(total - warmup, 1), 0.0), 1.0)
    if decay == "linear":
        return peak * (1 - progress)
    if decay == "cosine":
        return peak * 0.5 * (1 + math.cos(math.pi * progress))
    return peak


def read_manifest(export_dir, model_dir, config, verify=True):
    path = os.path.join(export_dir, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, ValueError) as error:
        raise Refusal(f"{path}: not a readable stream manifest ({error})")
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise Refusal(f"{path}: format {manifest.get('format')} version {manifest.get('version')}; expected {FORMAT} version {VERSION}")
    ours = tokenizer_identity(model_dir)
    if manifest["tokenizer"]["sha256"] != ours:
        raise Refusal(f"{export_dir} was tokenized with another tokenizer (sha256 {manifest['tokenizer']['sha256']} over "
                      f"{', '.join(manifest['tokenizer']['files'])}) than the checkpoint {model_dir} has ({ours}); "
                      "export again with --model pointing at this checkpoint")
    if manifest["tokenizer"]["pad_token_id"] != config.pad_token_id:
        raise Refusal(f"{export_dir} pads with token {manifest['tokenizer']['pad_token_id']}, {model_dir}/config.json has pad_token_id {config.pad_token_id}")
    if manifest["seq_len"] > config.max_position_embeddings:
        raise Refusal(f"{export_dir}: seq_len {manifest['seq_len']} is beyond {model_dir}'s {config.max_position_embeddings} positions")
    if manifest["tokenizer"]["vocab_size"] > config.vocab_size:
        raise Refusal(f"{export_dir}: its tokenizer has {manifest['tokenizer']['vocab_size']} tokens, {model_dir} only {config.vocab_size} embeddings")
    expected = manifest["first_step"]
    for shard in manifest["shards"]:
        file = os.path.join(export_dir, shard["file"])
        if shard["first_step"] != expected:
            raise Refusal(f"{path}: shard {shard['file']} begins at step {shard['first_step']}, expected {expected}")
        expected += shard["steps"]
        if not os.path.exists(file) or os.path.getsize(file) != shard["bytes"] or (verify and sha256_file(file) != shard["sha256"]):
            raise Refusal(f"{file}: missing, or not the shard the manifest lists (size or SHA-256 differ): "
                          "it belongs to another export; export again into an empty folder")
        with safe_open(file, "pt") as f:
            shape = f.get_slice("input_ids").get_shape()
        if shape != [shard["steps"] * manifest["rows_per_step"], manifest["seq_len"]]:
            raise Refusal(f"{file}: input_ids is {shape}, the manifest says {shard['steps']} steps of "
                          f"{manifest['rows_per_step']} rows of {manifest['seq_len']} tokens")
    return manifest


class Stream:
    """The rows of one step, read lazily from the shard that holds it."""

    def __init__(self, export_dir, manifest):
        self.dir, self.manifest = export_dir, manifest
        self.rows, self.length = manifest["rows_per_step"], manifest["seq_len"]
        self.file, self.handle = None, None

    def last_step(self):
        shard = self.manifest["shards"][-1]
        return shard["first_step"] + shard["steps"] - 1

    def step(self, step, begin, end):
        """Rows begin..<end of `step`: input_ids, labels, position_ids [end-begin, L] (int64) and the
        cumulative sequence lengths over those rows, flattened."""
        shard = next((s for s in self.manifest["shards"] if s["first_step"] <= step < s["first_step"] + s["steps"]), None)
        if shard is None:
            raise Refusal(f"{self.dir} holds steps {self.manifest['first_step']}…{self.last_step()}, not step {step}")
        if self.file != shard["file"]:
            self.file = shard["file"]
            self.handle = safe_open(os.path.join(self.dir, shard["file"]), "pt")
            self.boundaries = self.handle.get_tensor("cu_seqlens").long()
        first = (step - shard["first_step"]) * self.rows
        a, b = first + begin, first + end
        tensors = [self.handle.get_slice(name)[a:b].long() for name in ("input_ids", "labels", "position_ids")]
        cu = self.boundaries
        inside = cu[(cu >= a * self.length) & (cu <= b * self.length)] - a * self.length
        return (*tensors, inside)

    def step_labels(self, step):
        """Labelled tokens of the whole step (every rank's rows): the loss's denominator."""
        labels = self.step(step, 0, self.rows)[1]
        return int((labels != -100).sum())


def document_mask(cu, rows, length, dtype):
    """Block-diagonal causal mask [rows, 1, L, L]: 0 where a token may attend, the dtype's minimum elsewhere."""
    marks = torch.zeros(rows * length, dtype=torch.long)
    marks[cu[1:-1]] = 1
    segment = marks.cumsum(0).view(rows, length)
    causal = torch.ones(length, length, dtype=torch.bool).tril()
    allowed = (segment[:, :, None] == segment[:, None, :]) & causal
    mask = torch.zeros(rows, 1, length, length, dtype=dtype)
    return mask.masked_fill_(~allowed[:, None], torch.finfo(dtype).min)


def setup_distributed():
    if "RANK" not in os.environ:  # a plain `python` run: one process
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(minutes=30))
    return dist.get_rank(), dist.get_world_size(), torch.device("cuda") if cuda else torch.device("cpu")


def build_model(model_dir, settings, dtype, device, flash):
    from transformers import OPTForCausalLM
    dropout = settings["dropout"]
    model = OPTForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="flash_attention_2" if flash else "eager",
                                           dropout=dropout["residual"], attention_dropout=dropout["attention"])

    def dropout_on_input(p):
        def hook(module, args, kwargs):
            return (F.dropout(args[0], p=p, training=module.training), *args[1:]), kwargs
        return hook

    # transformers' OPT has neither of these; fairseq/metaseq (and `optiml tune`) apply them: on what
    # enters the first layer (token + position embeddings, after project_in), and after the FFN's activation.
    if dropout["embedding"] > 0:
        model.model.decoder.layers[0].register_forward_pre_hook(dropout_on_input(dropout["embedding"]), with_kwargs=True)
    if dropout["activation"] > 0:
        for layer in model.model.decoder.layers:
            layer.fc2.register_forward_pre_hook(dropout_on_input(dropout["activation"]), with_kwargs=True)
    return model.to(device)


def wrap_fsdp(model, compute_dtype):
    """FSDP2: each decoder layer a unit, the embeddings and head in the root; parameters become DTensors
    sharded on their first dimension (names and shapes kept). With `compute_dtype`, forward and backward
    run in it while weights, optimizer state and gradient reduction stay float32."""
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    policy = MixedPrecisionPolicy(param_dtype=compute_dtype, reduce_dtype=torch.float32) if compute_dtype else MixedPrecisionPolicy()
    for layer in model.model.decoder.layers:
        fully_shard(layer, mp_policy=policy)
    return fully_shard(model, mp_policy=policy)


def decay_exempt(model):
    """Names of the parameters AdamW.swift does not decay: 1-D tensors (biases, norms) and position embeddings."""
    return {n for n, p in model.named_parameters() if p.dim() == 1 or n.endswith("embed_positions.weight")}


def optimizer_for(model, adam, exempt):
    """torch.optim.AdamW with the manifest's settings."""
    named = list(model.named_parameters())
    groups = [dict(params=[p for n, p in named if n not in exempt], weight_decay=adam["weightDecay"]),
              dict(params=[p for n, p in named if n in exempt], weight_decay=0.0)]
    return torch.optim.AdamW(groups, lr=0.0, betas=(adam["beta1"], adam["beta2"]), eps=adam["epsilon"], foreach=False)


def save_checkpoint(model, source_dir, out, step, state, rank):
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    weights = get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if rank == 0:
        name = f"checkpoint-{step:06d}"
        final, temporary = os.path.join(out, name), os.path.join(out, f".{name}.partial")
        shutil.rmtree(temporary, ignore_errors=True)
        model.save_pretrained(temporary, state_dict={k: v.float() for k, v in weights.items()}, safe_serialization=True)
        with open(os.path.join(temporary, "config.json")) as f:
            config = json.load(f)
        config["torch_dtype"] = config["dtype"] = "float32"
        with open(os.path.join(temporary, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        # The input's tokenizer files byte for byte: their hash is the stream's tokenizer identity.
        for file in TOKENIZER_FILES:
            if os.path.exists(os.path.join(source_dir, file)):
                shutil.copyfile(os.path.join(source_dir, file), os.path.join(temporary, file))
        with open(os.path.join(temporary, "reference_trainer_state.json"), "w") as f:
            json.dump(dict(state, step=step), f, indent=2)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(temporary, final)
        with open(os.path.join(out, ".latest.tmp"), "w") as f:
            f.write(name)
        os.replace(os.path.join(out, ".latest.tmp"), os.path.join(out, "latest"))
    if dist.is_initialized():
        dist.barrier()


def check_out_folder(out, manifest):
    latest = os.path.join(out, "latest")
    if not os.path.exists(latest):
        return
    with open(latest) as f:
        state_file = os.path.join(out, f.read().strip(), "reference_trainer_state.json")
    with open(state_file) as f:
        state = json.load(f)
    if state["settings_hash"] != manifest["settings_hash"]:
        raise Refusal(f"{out} holds a run of another export (settings hash {state['settings_hash']}, this export's is "
                      f"{manifest['settings_hash']}); choose another --out")
    raise Refusal(f"{out} already holds a run of this export (up to step {state['step']}); choose another --out")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export", required=True, help="folder written by `optiml tune --export`")
    parser.add_argument("--model", required=True, help="the checkpoint the export was made for (Hugging Face layout)")
    parser.add_argument("--out", required=True, help="folder for checkpoints and metrics.jsonl")
    parser.add_argument("--steps", type=int, help="stop after this step (default: the export's last)")
    parser.add_argument("--micro-batch-size", type=int, help="rows per forward pass on each rank (default: the export's, "
                        "at most the rank's share of a step); the numbers do not depend on it")
    parser.add_argument("--save-every", type=int, default=0, help="checkpoint every N steps (0: at the end only)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="float64 for parity fixtures (the reference's rounding out of the comparison)")
    parser.add_argument("--bf16", action="store_true", help="compute in bfloat16 (FSDP mixed precision: float32 master weights, "
                        "optimizer state and gradient reduction), as GPUs train; flash-attention needs it")
    parser.add_argument("--no-verify", action="store_true", help="skip the SHA-256 check of the shards")
    parser.add_argument("--threads", type=int, help="torch CPU threads per process")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import AutoConfig
    rank, world, device = setup_distributed()
    try:
        config = AutoConfig.from_pretrained(args.model)
        manifest = read_manifest(args.export, args.model, config, verify=not args.no_verify)
        settings = manifest["settings"]
        stream = Stream(args.export, manifest)
        first, last = manifest["first_step"], args.steps or stream.last_step()
        if first != 1:
            raise Refusal(f"{args.export} begins at step {first}: training from its rows needs the checkpoint of step {first - 1} "
                          "with its optimizer moments, which this trainer does not resume; export from step 0")
        if last > stream.last_step():
            raise Refusal(f"{args.export} holds steps {first}…{stream.last_step()}, not up to {last}")
        if stream.rows % world:
            raise Refusal(f"{args.export}: {stream.rows} rows a step do not split over {world} processes")
        check_out_folder(args.out, manifest)
    except Refusal as refusal:
        if rank == 0:
            print(f"reference_trainer: {refusal}", file=sys.stderr)
        dist.destroy_process_group()
        sys.exit(2)

    dtype = dict(float32=torch.float32, float64=torch.float64)[args.dtype]
    if args.bf16 and dtype != torch.float32:
        raise SystemExit("reference_trainer: --bf16 keeps float32 master weights; drop --dtype float64")
    flash = args.bf16 and device.type == "cuda" and _has_flash_attn()
    torch.manual_seed(settings["seed"] + rank)  # dropout draws; they cannot match Swift's, only the rates do
    model = build_model(args.model, settings, dtype, device, flash)
    exempt = decay_exempt(model)
    model = wrap_fsdp(model, torch.bfloat16 if args.bf16 else None)
    optimizer = optimizer_for(model, settings["adam"], exempt)
    dropout_on = any(settings["dropout"][k] > 0 for k in ("embedding", "residual", "attention", "activation"))
    model.train(dropout_on)

    share = stream.rows // world
    micro = min(args.micro_batch_size or manifest["micro_batch_size"], share)
    mine = (rank * share, (rank + 1) * share)
    os.makedirs(args.out, exist_ok=True)
    metrics = open(os.path.join(args.out, "metrics.jsonl"), "w") if rank == 0 else None
    state = dict(settings_hash=manifest["settings_hash"], export=os.path.abspath(args.export), world_size=world)
    started = time.time()
    for step in range(first, last + 1):
        began = time.time()
        labels = stream.step_labels(step)
        loss_sum = torch.zeros((), dtype=torch.float64)
        for begin in range(mine[0], mine[1], micro):
            end = min(begin + micro, mine[1])
            input_ids, targets, positions, cu = stream.step(step, begin, end)
            if flash:
                # One flattened sequence: flash-attention's varlen kernel reads the boundaries.
                cu_dev = cu.to(device, torch.int32)
                longest = int((cu[1:] - cu[:-1]).max())
                logits = model(input_ids=input_ids.view(1, -1).to(device), position_ids=positions.view(1, -1).to(device),
                               cu_seq_lens_q=cu_dev, cu_seq_lens_k=cu_dev, max_length_q=longest, max_length_k=longest).logits
                logits = logits.view(end - begin, stream.length, -1)
            else:
                mask = document_mask(cu, end - begin, stream.length, torch.bfloat16 if args.bf16 else dtype).to(device)
                logits = model(input_ids=input_ids.to(device), attention_mask=mask, position_ids=positions.to(device)).logits
            # labels name each token's own loss: position i predicts token i + 1.
            part = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), targets[:, 1:].reshape(-1).to(device),
                                   ignore_index=-100, reduction="sum")
            # FSDP averages gradients over ranks: scaling by the world size leaves d(sum over the step)/labels.
            (part * world / max(labels, 1)).backward()
            loss_sum += part.detach().double().cpu()
        if world > 1:
            dist.all_reduce(loss_sum)
        loss = loss_sum.item() / max(labels, 1)
        clip = settings["clipNorm"]
        limit = clip if clip > 0 else float("inf")
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), limit)
        norm = norm.full_tensor() if hasattr(norm, "full_tensor") else norm  # a DTensor when sharded over several ranks
        lr = learning_rate(step, settings["schedule"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if metrics:
            metrics.write(json.dumps(dict(step=step, loss=loss, lr=lr, grad_norm=float(norm), labels=labels,
                                          seconds=time.time() - began)) + "\n")
            metrics.flush()
            print(f"step {step}/{last}  loss {loss:.6f}  grad_norm {float(norm):.6f}  lr {lr:.3e}", file=sys.stderr)
        if (args.save_every and step % args.save_every == 0) or step == last:
            save_checkpoint(model, args.model, args.out, step, state, rank)
    if metrics:
        metrics.close()
        print(f"trained steps {first}…{last} on {world} process(es) in {time.time() - started:.1f} s; "
              f"checkpoint {os.path.join(args.out, f'checkpoint-{last:06d}')}", file=sys.stderr)
    dist.destroy_process_group()


def _has_flash_attn():
    try:
        import flash_attn  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
