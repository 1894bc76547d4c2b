#!/usr/bin/env python3
"""Writes the small checkpoint fixtures that Tests/OPTCheckpointTests read.

Run from the repository root with a Python that has torch and safetensors:

    python3 tools/make_checkpoint_fixtures.py

Everything under Tests/Fixtures/checkpoint/ except README.md is rewritten.
The Swift tests never run Python; they compare against expected.json, which
stores every floating value as the bit pattern of torch's float32 conversion so
that infinities, -0 and subnormals compare exactly (NaN payloads differ between
converters, so the tests only require a NaN where torch has one).
"""

import collections
import json
import os
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "checkpoint"

DTYPE_NAMES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.uint16: "U16",
    torch.bool: "BOOL",
}

# Values that exercise the float16/bfloat16 -> float32 conversion edge cases.
SPECIAL = [0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08,
           3.0e-05, float("inf"), float("-inf"), float("nan"), 0.333]
BF16_SPECIAL = SPECIAL[:10] + [1.0e-40, 3.0e38, float("nan")]


def float_bits(t):
    """float32 bit patterns of a tensor's values, row-major."""
    flat = t.detach().to(torch.float32).contiguous().reshape(-1)
    return [v & 0xFFFFFFFF for v in flat.view(torch.int32).tolist()]


def describe(sd):
    out = {}
    for name, t in sd.items():
        entry = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape)}
        if t.dtype.is_floating_point:
            entry["f32_bits"] = float_bits(t)
        else:
            entry["ints"] = [int(v) for v in t.detach().contiguous().reshape(-1).tolist()]
        out[name] = entry
    return out


class TinyOPTish(torch.nn.Module):
    """A module whose state_dict carries `_metadata`, as real checkpoints do (pickled via BUILD)."""

    def __init__(self):
        super().__init__()
        self.embed_tokens = torch.nn.Embedding(5, 3)
        self.layer_norm = torch.nn.LayerNorm(3)
        self.lm_head = torch.nn.Linear(3, 5, bias=False)
        self.lm_head.weight = self.embed_tokens.weight  # tied, like OPT


def torch_single_state_dict():
    torch.manual_seed(0)
    module = TinyOPTish()
    with torch.no_grad():
        module.layer_norm.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        module.layer_norm.bias.copy_(torch.tensor([-0.5, 0.0, 0.5]))
    sd = module.state_dict()  # embed_tokens.weight and lm_head.weight share one storage
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4
    sd["transposed"] = base.t()  # non-contiguous view, strides (1, 4)
    sd["row_slice"] = base[1]  # contiguous, storage offset 4
    sd["column_slice"] = base[:, 2]  # non-contiguous with storage offset 2
    sd["half"] = torch.tensor(SPECIAL, dtype=torch.float16)
    sd["bfloat"] = torch.tensor(BF16_SPECIAL, dtype=torch.bfloat16)
    sd["double"] = torch.tensor([[1.5, -1e300], [1e-300, 2.0]], dtype=torch.float64)
    sd["scalar"] = torch.tensor(7.25)
    sd["position_ids"] = torch.arange(6, dtype=torch.int64).reshape(1, 6)  # an int64 buffer
    sd["mask"] = torch.tensor([True, False, True])
    sd["u16"] = torch.tensor([1, 65535, 300], dtype=torch.uint16)  # saved via _rebuild_tensor_v3
    sd["param"] = torch.nn.Parameter(torch.tensor([0.25, -0.75]))  # saved via _rebuild_parameter
    sd["empty"] = torch.zeros(0, 3)
    return sd


def write_torch(sd, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    loaded = torch.load(path, weights_only=True)
    assert list(loaded.keys()) == list(sd.keys())


def rewrite_as_zip64(src, dst):
    """Re-packs a torch zip with every size and offset moved into ZIP64 records.

    Real multi-GB shards use ZIP64; a tiny fixture written this way exercises the same path.
    """
    with zipfile.ZipFile(src) as z:
        entries = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        raw_name = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        # Pad the local header so the data starts 64-byte aligned, as torch does.
        header_len = 30 + len(raw_name) + len(local_extra)
        pad = (-(offset + header_len + 4)) % 64
        local_extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(raw_name), len(local_extra))
        out += raw_name + local_extra + data
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(raw_name), len(central_extra),
                               0, 0, 0, 0, 0xFFFFFFFF)
        central += raw_name + central_extra
    cd_offset = len(out)
    out += central
    z64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0,
                       len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
                       0xFFFFFFFF, 0xFFFFFFFF, 0)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(out)
    with zipfile.ZipFile(dst) as z:
        assert z.testzip() is None


class Pwned:
    """Pickles as a call to os.system: a loader that executes globals would run it."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    if ROOT.exists():
        for child in ROOT.iterdir():
            if child.name != "README.md":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    ROOT.mkdir(parents=True, exist_ok=True)
    expected = {}

    # A single pytorch_model.bin covering every tensor layout torch.save produces.
    sd = torch_single_state_dict()
    write_torch(sd, ROOT / "torch_single" / "pytorch_model.bin")
    expected["torch_single"] = describe(sd)

    # The same state dict in a ZIP64 archive.
    rewrite_as_zip64(ROOT / "torch_single" / "pytorch_model.bin", ROOT / "torch_zip64" / "pytorch_model.bin")
    loaded = torch.load(ROOT / "torch_zip64" / "pytorch_model.bin", weights_only=True)
    assert all(torch.equal(loaded[k].float().nan_to_num(), sd[k].float().nan_to_num()) for k in sd)
    expected["torch_zip64"] = expected["torch_single"]

    # The same state dict pickled with protocol 5 (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE).
    (ROOT / "torch_protocol5").mkdir()
    torch.save(sd, ROOT / "torch_protocol5" / "pytorch_model.bin", pickle_protocol=5)
    expected["torch_protocol5"] = expected["torch_single"]

    # Sharded pytorch_model.bin with an index.
    torch.manual_seed(1)
    shard_a = collections.OrderedDict(
        [("model.decoder.layers.0.fc1.weight", torch.randn(4, 3)),
         ("model.decoder.layers.0.fc1.bias", torch.randn(4))])
    shard_b = collections.OrderedDict(
        [("model.decoder.layers.1.fc1.weight", torch.randn(4, 3).half()),
         ("model.decoder.final_layer_norm.weight", torch.ones(3))])
    sharded = ROOT / "torch_sharded"
    write_torch(shard_a, sharded / "pytorch_model-00001-of-00002.bin")
    write_torch(shard_b, sharded / "pytorch_model-00002-of-00002.bin")
    weight_map = {k: "pytorch_model-00001-of-00002.bin" for k in shard_a}
    weight_map.update({k: "pytorch_model-00002-of-00002.bin" for k in shard_b})
    (sharded / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": weight_map}, indent=2))
    expected["torch_sharded"] = describe({**shard_a, **shard_b})

    # safetensors, single file, written by the safetensors library.
    st = collections.OrderedDict(
        [("model.decoder.embed_tokens.weight", torch.arange(15, dtype=torch.float32).reshape(5, 3) - 7),
         ("half", torch.tensor(SPECIAL, dtype=torch.float16)),
         ("bfloat", torch.tensor(BF16_SPECIAL, dtype=torch.bfloat16)),
         ("double", torch.tensor([0.1, -3e40, 1e-50], dtype=torch.float64)),
         ("scalar", torch.tensor(-1.0)),
         ("position_ids", torch.arange(4, dtype=torch.int64)),
         ("bytes", torch.tensor([0, 7, 255], dtype=torch.uint8)),
         ("empty", torch.zeros(2, 0))])
    (ROOT / "safetensors_single").mkdir()
    save_file(st, ROOT / "safetensors_single" / "model.safetensors", metadata={"format": "pt"})
    expected["safetensors_single"] = describe(st)

    # safetensors, sharded with an index.
    torch.manual_seed(2)
    st_a = {"model.decoder.layers.0.fc2.weight": torch.randn(3, 4).to(torch.bfloat16)}
    st_b = {"model.decoder.layers.1.fc2.weight": torch.randn(3, 4),
            "model.decoder.layers.1.fc2.bias": torch.randn(3).half()}
    st_sharded = ROOT / "safetensors_sharded"
    st_sharded.mkdir()
    save_file(st_a, st_sharded / "model-00001-of-00002.safetensors", metadata={"format": "pt"})
    save_file(st_b, st_sharded / "model-00002-of-00002.safetensors", metadata={"format": "pt"})
    st_map = {k: "model-00001-of-00002.safetensors" for k in st_a}
    st_map.update({k: "model-00002-of-00002.safetensors" for k in st_b})
    (st_sharded / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 0}, "weight_map": st_map}, indent=2))
    expected["safetensors_sharded"] = describe({**st_a, **st_b})

    # Both formats in one folder: the loader must pick safetensors.
    prefer = ROOT / "prefer_safetensors"
    prefer.mkdir()
    save_file({"which": torch.tensor([1.0])}, prefer / "model.safetensors")
    write_torch({"which": torch.tensor([2.0])}, prefer / "pytorch_model.bin")
    expected["prefer_safetensors"] = describe({"which": torch.tensor([1.0])})

    # A torch zip whose pickle calls os.system: must be rejected, never run.
    write_forbidden = ROOT / "forbidden_global" / "pytorch_model.bin"
    write_forbidden.parent.mkdir()
    torch.save({"weight": torch.ones(1), "evil": Pwned()}, write_forbidden)

    # The pre-1.6 non-zip torch format.
    legacy = ROOT / "legacy_torch" / "pytorch_model.bin"
    legacy.parent.mkdir()
    torch.save({"weight": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)

    (ROOT / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    print(f"wrote {ROOT} ({total} bytes)")


if __name__ == "__main__":
    main()
