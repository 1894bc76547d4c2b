#!/usr/bin/env python3
"""Builds the OPTData test fixtures in Tests/Fixtures/data/ with pyarrow and `datasets`.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyarrow datasets
    HF_DATASETS_OFFLINE=1 /tmp/venv/bin/python tools/make_data_fixtures.py

Writes (all small):
  rows.stream.arrow      IPC stream, 3 rows per record batch (several batches)
  rows.file.arrow        IPC file format (ARROW1 magic), 4 rows per batch
  rows.legacy.arrow      IPC stream in the pre-0.15 format (no 0xFFFFFFFF continuation marker), 5 columns
  saved/                 Dataset.save_to_disk, 2 shards
  saved_dict/            DatasetDict.save_to_disk (train, test)
  cache/                 a `datasets` cache made by load_dataset("json", ...) (json-train.arrow, json-validation.arrow)
  rows.jsonl, rows.list.json, rows.data.json, rows.columns.json   the same rows as text (without the binary column)
  rows.csv, rows.tsv     the flat columns, csv module QUOTE_MINIMAL
  expected.jsonl         every row as pyarrow's to_pylist() gives it (bytes as {"$bytes": hex})
  expected_test.jsonl    the DatasetDict's test split
  expected_csv.jsonl     rows.csv as csv.DictReader reads it (all strings)
  template.arrow         one record batch of 256 rows (id int64, text utf8) for the large-file test
  refused_*.arrow        zstd-compressed buffers, a dictionary-encoded column, a decimal column (all refused)
"""
import csv
import json
import math
import os
import shutil
import sys

import pyarrow as pa
from datasets import ClassLabel, Dataset, DatasetDict, Features, LargeList, Sequence, Value, load_dataset

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "data")


def features():
    return Features({
        "idx": Value("int32"),
        "label": ClassLabel(names=["negative", "positive", "neutral"]),
        "text": Value("string"),
        "tokens": Sequence(Value("string")),
        "answers": Sequence({"text": Value("string"), "start": Value("int32")}),
        "meta": {"source": Value("string"), "nested": {"a": Value("int64"), "b": Value("float32")}},
        "score": Value("float64"),
        "maybe": Value("int64"),
        "flag": Value("bool"),
        "half": Value("float16"),
        "i8": Value("int8"),
        "u8": Value("uint8"),
        "i16": Value("int16"),
        "u16": Value("uint16"),
        "u32": Value("uint32"),
        "u64": Value("uint64"),
        "f32": Value("float32"),
        "fixed": Sequence(Value("float32"), length=2),
        "big": LargeList(Value("int32")),
        "ls": Value("large_string"),
        "blob": Value("binary"),
        "nothing": Value("null"),
    })


TEXTS = [
    "plain text",
    "comma, and \"quotes\"",
    "multi\nline\r\nfield",
    "Unicode: café ñ 日本語 😀",
    "",
    "tab\there",
    "back\\slash and \u0001 control",
    "last row",
    "ninth",
    "tenth 🎉",
]


def columns(n, offset=0):
    rows = {k: [] for k in features()}
    for i in range(n):
        j = i + offset
        rows["idx"].append(j)
        rows["label"].append(j % 3)
        rows["text"].append(TEXTS[j % len(TEXTS)])
        rows["tokens"].append([f"tok{j}", "ü"][: j % 3])
        rows["answers"].append({"text": [f"ans{j}"] * (j % 2 + 1), "start": list(range(j % 2 + 1))})
        rows["meta"].append({"source": None if j == 2 else f"src{j}", "nested": {"a": j * 1000000007, "b": j / 4}})
        rows["score"].append(float("nan") if j == 5 else (j * 1.5 if j % 2 else float(j)))
        rows["maybe"].append(None if j % 3 == 1 else -j)
        rows["flag"].append(j % 2 == 0)
        rows["half"].append(j * 0.5 - 1)
        rows["i8"].append(-128 + j)
        rows["u8"].append(255 - j)
        rows["i16"].append(-32768 + j)
        rows["u16"].append(65535 - j)
        rows["u32"].append(4294967295 - j)
        rows["u64"].append(2**63 - 1 - j)
        rows["f32"].append(0.1 * j)
        rows["fixed"].append([j, -j / 2])
        rows["big"].append(list(range(j % 4)))
        rows["ls"].append(f"large {j} ✓")
        rows["blob"].append(None if j == 3 else bytes([j, 0, 255]))
        rows["nothing"].append(None)
    return rows


def plain(value):
    """to_pylist() values made JSON-serializable: bytes as {"$bytes": hex}."""
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    if os.path.exists(ROOT):
        for name in os.listdir(ROOT):
            p = os.path.join(ROOT, name)
            if name != "README.md":
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    os.makedirs(ROOT, exist_ok=True)
    feats = features()
    ds = Dataset.from_dict(columns(10), features=feats)
    table = ds.data.table
    rows = [plain(r) for r in table.to_pylist()]
    write_jsonl(os.path.join(ROOT, "expected.jsonl"), rows)

    # Raw IPC: several record batches.
    with pa.OSFile(os.path.join(ROOT, "rows.stream.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as w:
            for b in table.to_batches(max_chunksize=3):
                w.write_batch(b)
    with pa.OSFile(os.path.join(ROOT, "rows.file.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as w:
            for b in table.to_batches(max_chunksize=4):
                w.write_batch(b)
    legacy = pa.ipc.IpcWriteOptions(use_legacy_format=True, metadata_version=pa.ipc.MetadataVersion.V4)
    with pa.OSFile(os.path.join(ROOT, "rows.legacy.arrow"), "wb") as sink:
        subset = table.select(["idx", "text", "tokens", "meta", "maybe"])
        with pa.ipc.new_stream(sink, subset.schema, options=legacy) as w:
            for b in subset.to_batches(max_chunksize=5):
                w.write_batch(b)

    # save_to_disk: one Dataset in two shards, and a DatasetDict.
    ds.save_to_disk(os.path.join(ROOT, "saved"), num_shards=2)
    test = Dataset.from_dict(columns(3, offset=7), features=feats)
    write_jsonl(os.path.join(ROOT, "expected_test.jsonl"), [plain(r) for r in test.data.table.to_pylist()])
    DatasetDict({"train": ds, "test": test}).save_to_disk(os.path.join(ROOT, "saved_dict"))

    # Text formats (no binary column: JSON has no bytes).
    text_rows = [{k: v for k, v in r.items() if k != "blob"} for r in table.to_pylist()]
    write_jsonl(os.path.join(ROOT, "rows.jsonl"), text_rows)
    with open(os.path.join(ROOT, "rows.list.json"), "w", encoding="utf-8") as f:
        json.dump(text_rows, f, ensure_ascii=True)
    with open(os.path.join(ROOT, "rows.data.json"), "w", encoding="utf-8") as f:
        json.dump({"data": text_rows}, f, ensure_ascii=False)
    with open(os.path.join(ROOT, "rows.columns.json"), "w", encoding="utf-8") as f:
        json.dump({k: [r[k] for r in text_rows] for k in text_rows[0]}, f, ensure_ascii=False)

    flat = ["idx", "label", "text", "score", "maybe", "flag"]
    for name, delim in (("rows.csv", ","), ("rows.tsv", "\t")):
        with open(os.path.join(ROOT, name), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter=delim, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n" if delim == "," else "\n")
            w.writerow(flat)
            for r in text_rows:
                w.writerow(["" if r[k] is None else r[k] for k in flat])
    with open(os.path.join(ROOT, "rows.csv"), encoding="utf-8", newline="") as f:
        csv_rows = list(csv.DictReader(f))
    with open(os.path.join(ROOT, "rows.tsv"), encoding="utf-8", newline="") as f:
        assert list(csv.DictReader(f, delimiter="\t")) == csv_rows
    write_jsonl(os.path.join(ROOT, "expected_csv.jsonl"), csv_rows)

    # A real `datasets` cache: <cache>/json/<config>/0.0.0/<hash>/json-<split>.arrow
    src = os.path.join(ROOT, "_src")
    os.makedirs(src)
    small = [{"q": f"question {i}", "a": i} for i in range(4)]
    write_jsonl(os.path.join(src, "train.jsonl"), small)
    write_jsonl(os.path.join(src, "validation.jsonl"), small[:2])
    load_dataset("json", data_files={"train": os.path.join(src, "train.jsonl"),
                                     "validation": os.path.join(src, "validation.jsonl")},
                 cache_dir=os.path.join(ROOT, "cache"))
    shutil.rmtree(src)
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, "cache"), topdown=False):
        for fn in filenames:
            if fn.endswith(".lock") or fn.startswith("cache-"):
                os.remove(os.path.join(dirpath, fn))
        if not os.listdir(dirpath):
            os.rmdir(dirpath)

    # Template for the large-file test: one batch of 256 rows.
    t = pa.table({"id": pa.array(range(256), pa.int64()), "text": [f"row {i}" for i in range(256)]})
    with pa.OSFile(os.path.join(ROOT, "template.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)

    # Files the reader refuses: compressed buffers, a dictionary-encoded column, a decimal column.
    small = pa.table({"x": pa.array([1, 2, 3], pa.int64())})
    with pa.OSFile(os.path.join(ROOT, "refused_compressed.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, small.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as w:
            w.write_table(small)
    dict_table = pa.table({"d": pa.array(["a", "b", "a"]).dictionary_encode()})
    with pa.OSFile(os.path.join(ROOT, "refused_dictionary.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, dict_table.schema) as w:
            w.write_table(dict_table)
    import decimal
    dec = pa.table({"m": pa.array([decimal.Decimal("1.5")], pa.decimal128(5, 2))})
    with pa.OSFile(os.path.join(ROOT, "refused_decimal.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, dec.schema) as w:
            w.write_table(dec)

    total = 0
    for dirpath, _, filenames in os.walk(ROOT):
        for fn in filenames:
            total += os.path.getsize(os.path.join(dirpath, fn))
    print(f"wrote {ROOT}: {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
