#!/usr/bin/env python3
"""Regenerates the Tk-Instruct prompt ("source" string) fixtures under Tests/Fixtures/bench/tk_instruct/.

Usage (from the package root):

    python tools/make_tk_prompt_fixtures.py [--niv2-dir ../shared/data/niv2/tasks] [--tk-instruct DIR]

Needs `transformers` (+ `tokenizers`). Writes:

- tasks/<task>.json   copies of a few real Super-NaturalInstructions task files, each cut to its
                      first 4 "Instances" (every other key kept, same key order), plus the
                      synthetic tasks/task9999_synthetic_edge_cases.json defined in this file.
                      If --niv2-dir does not exist, the existing copies are read back instead
                      (the prompts only use the first 4 instances, so the output is the same).
- prompts.jsonl       one record per (task, instance, config): the exact source string.
- meta.json           transformers/tokenizers versions, tokenizer path and settings, provenance.

What the fixture holds
----------------------
The source strings that Tk-Instruct's `DataCollatorForNI` (yizhongw/Tk-Instruct, `src/ni_collator.py`)
builds for Super-NI instances with tk_instruct=False and fixed flags: optional task name ("<Task>. "),
"Definition: <first definition, stripped>" with a "." added unless it ends in `string.punctuation`,
then "\n\n"; positive and negative example blocks (" Positive Example N -\nInput: ….\n Output: ….\n",
optionally " Explanation: ….\n", then "\n"), each kept only while definition + the blocks kept so far
joined by " " + this block + the task input tokenize to at most max_source_length ids (BOS included);
then "Now complete the following example -\nInput: <input>.\nOutput: ". A source whose ids still
exceed the limit is cut to its first max_source_length ids and decoded with skip_special_tokens.
Labels (a random choice among the outputs in the original) are not part of the fixture.

`tk_source` below is this project's own implementation of that behaviour; the committed fixture was
produced by it and checked to give the same bytes as the collator's code as published (read at the
fork copy Yottaxx/Tk-Instruct@c6b845df36d24ce032ff1a9cd9f99e3cb2f1a033, which matches the forks
nitwtog@2d3c33b, hepengfe@cb82ee4, rahuln@6eb7678 and thesofakillers@9afe14e). The upstream code is
not copied here. With `--tk-instruct DIR` (a checkout of yizhongw/Tk-Instruct) the script also runs
the real `DataCollatorForNI` (text_only=True) on every record and stops at the first difference.

Instances reach the collator as Tk-Instruct's `src/ni_dataset.py` yields them: the task's JSON with
"Task" set to the file name stem and "Instance" set to the raw instance dict, in file order. The
collator is fed the raw json-loaded dicts (as its `isinstance(Definition, list)` and
`"explanation" in example` checks expect); for the real tasks used here that equals what the
`datasets` cast would give (one-element Definition lists, examples with input/output/explanation),
which the script asserts. Only the synthetic task uses a plain-string Definition and examples
without an explanation.

Tokenizer
---------
`AutoTokenizer.from_pretrained("Tests/Fixtures/models/tiny-preln-safetensors-sharded")` (an OPT-style
byte-level BPE, GPT2Tokenizer, 1000 ids, add_bos_token=True with bos "</s>", so every
`tokenizer(text)["input_ids"]` starts with the BOS id and the length checks count it;
clean_up_tokenization_spaces=False). The decode in the truncation branch is exactly
`tokenizer.decode(tokenized_source[:max_source_length], skip_special_tokens=True)`.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path

import tokenizers
import transformers
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "Tests" / "Fixtures" / "bench" / "tk_instruct"
TOKENIZER_REL = "Tests/Fixtures/models/tiny-preln-safetensors-sharded"
DEFAULT_NIV2_DIR = ROOT.parent / "shared" / "data" / "niv2" / "tasks"
NUM_INSTANCES = 4

REAL_TASKS = [
    "task121_zest_text_modification",  # long definition (1.4k chars), 3 positive examples
    "task1564_triviaqa_answer_generation",  # short definition, 4 positive + 4 negative examples
    "task530_europarl_en_es_translation",  # multilingual (en -> es), 3 positive examples
    "task073_commonsenseqa_answer_generation",  # instance inputs end without punctuation
    "task363_sst2_polarity_classification",  # definition ends without punctuation; "It 's ... ." spacing
    "task1342_amazon_us_reviews_title",  # ~1k-char inputs
]
SYNTHETIC_TASK = "task9999_synthetic_edge_cases"

PROVENANCE = {
    "reproduces": "yizhongw/Tk-Instruct src/ni_collator.py DataCollatorForNI (source strings, tk_instruct=False)",
    "checked_against": "the collator's code as published at Yottaxx/Tk-Instruct@c6b845df36d24ce032ff1a9cd9f99e3cb2f1a033 "
    "(same as nitwtog@2d3c33b, hepengfe@cb82ee4, rahuln@6eb7678, thesofakillers@9afe14e); "
    "rerun with --tk-instruct DIR to compare with a checkout of the upstream repository",
    "ni_dataset": "yizhongw/Tk-Instruct@36453822c919f11c2d0fe64dfbc6349e9d5260f8 src/ni_dataset.py (how instances reach the collator)",
}

# (name, add_task_name, add_task_definition, num_pos_examples, num_neg_examples, add_explanation, max_source_length)
CONFIGS = [
    ("a_def", False, True, 0, 0, False, 1024),
    ("b_def_pos2", False, True, 2, 0, False, 1024),
    ("c_def_pos2_neg2", False, True, 2, 2, False, 1024),
    ("d_def_pos2_neg2_expl", False, True, 2, 2, True, 1024),
    ("e_name_def_pos2", True, True, 2, 0, False, 1024),
    ("f_pos2", False, False, 2, 0, False, 1024),
    ("g_def_pos2_neg2_expl_len128", False, True, 2, 2, True, 128),
]


def with_period(text: str) -> str:
    """A "." unless the text already ends in ASCII punctuation (`string.punctuation`)."""
    return text if text and text[-1] in string.punctuation else text + "."


def example_block(kind: str, number: int, example: dict, explanations: bool) -> str:
    block = with_period(f" {kind} Example {number} -\nInput: " + example["input"].strip()) + "\n"
    block = with_period(block + " Output: " + example["output"].strip()) + "\n"
    if explanations and "explanation" in example:
        block = with_period(block + " Explanation: " + example["explanation"].strip()) + "\n"
    return block + "\n"


def tk_source(tokenizer, example: dict, config: dict) -> tuple[str, bool, int, int]:
    """(source, whether it was cut to max_source_length, positive and negative examples kept)."""
    limit = config["max_source_length"]

    def fits(text: str) -> bool:
        return len(tokenizer(text)["input_ids"]) <= limit

    query = with_period("Now complete the following example -\nInput: " + example["Instance"]["input"].strip()) + "\nOutput: "
    name = example["Task"] + ". " if config["add_task_name"] else ""
    definition = ""
    if config["add_task_definition"]:
        first = example["Definition"][0] if isinstance(example["Definition"], list) else example["Definition"]
        definition = with_period("Definition: " + first.strip()) + "\n\n"
    positives, negatives = [], []
    for number, item in enumerate(example["Positive Examples"][: config["num_pos_examples"]], 1):
        block = example_block("Positive", number, item, config["add_explanation"])
        if not fits(definition + " ".join(positives) + block + query):
            break
        positives.append(block)
    for number, item in enumerate(example["Negative Examples"][: config["num_neg_examples"]], 1):
        block = example_block("Negative", number, item, config["add_explanation"])
        if not fits(definition + " ".join(positives) + " ".join(negatives) + block + query):
            break
        negatives.append(block)
    source = name + definition + "".join(positives) + "".join(negatives) + query
    ids = tokenizer(source)["input_ids"]
    if len(ids) <= limit:
        return source, False, len(positives), len(negatives)
    return tokenizer.decode(ids[:limit], skip_special_tokens=True), True, len(positives), len(negatives)


def real_collator_source(tk_instruct: Path, tokenizer, example: dict, config: dict) -> str:
    """The source the real DataCollatorForNI builds, from a checkout of yizhongw/Tk-Instruct."""
    sys.path.insert(0, str(tk_instruct / "src"))
    from ni_collator import DataCollatorForNI  # noqa: E402 (only with --tk-instruct)

    collator = DataCollatorForNI(tokenizer=tokenizer, max_source_length=config["max_source_length"],
                                 add_task_name=config["add_task_name"], add_task_definition=config["add_task_definition"],
                                 num_pos_examples=config["num_pos_examples"], num_neg_examples=config["num_neg_examples"],
                                 add_explanation=config["add_explanation"], tk_instruct=False, text_only=True)
    return collator([example])["inputs"][0]


def load_examples(task_name: str, task_data: dict) -> list[dict]:
    """One example per instance, in file order: the task's keys with "Task" and "Instance" added."""
    shared = {key: value for key, value in task_data.items() if key not in ("Instances", "Instruction Source")}
    return [dict(shared, Task=task_name, Instance=instance) for instance in task_data["Instances"]]


def synthetic_task() -> dict:
    """Edge cases, same schema and key order as the real task files."""
    return {
        "Contributors": ["OPT-IML in Swift fixture (synthetic)"],
        "Source": ["synthetic"],
        "URL": ["https://example.invalid/synthetic"],
        "Categories": ["Text Modification"],
        "Reasoning": [],
        # a plain string (not a list), with surrounding whitespace/newlines, not ending in punctuation
        "Definition": "  \n\tCopy the input text — keep café, naïve, Ærøskøbing, 日本語 and 😀 intact  \n\n",
        "Input_language": ["English", "Japanese"],
        "Output_language": ["English", "Japanese"],
        "Instruction_language": ["English"],
        "Domains": ["Miscellaneous"],
        "Positive Examples": [
            {
                # ends with punctuation after strip; output and explanation do not
                "input": "\n  Is this a question?  \n",
                "output": "  Is this a question  ",
                "explanation": "\tThe output drops the question mark\n",
            },
            {
                # no "explanation" key; "。" is not in string.punctuation, so "." is appended
                "input": "日本語の文です。",
                "output": "日本語の文です。",
            },
            {
                "input": "Smile 😀",
                "output": "(Smile 😀)",
                "explanation": "Parentheses are punctuation!",
            },
        ],
        "Negative Examples": [
            {
                "input": "naïve café 🍵",
                "output": "naive cafe",
                "explanation": "Accents were removed, which is wrong!",
            },
            {
                # no "explanation" key
                "input": "   spaced    out   ",
                "output": "spaced out",
            },
        ],
        "Instances": [
            {
                "id": "task9999-0",
                "input": " Hello, world \n",
                "output": ["Hello, world"],
            },
            {
                "id": "task9999-1",
                "input": "\n\nAlready punctuated...\n",
                "output": ["Already punctuated..."],
            },
            {
                "id": "task9999-2",
                # with max_source_length=128 the cut lands inside the UTF-8 bytes of a CJK
                # character, so the decode ends in U+FFFD (byte-level BPE, errors="replace")
                "input": "Emoji 😀🎉🚀 漢字かなカナ 한국어 😀😀😀 漢字漢字漢字 🎉🎉🎉 «guillemets»",
                "output": ["Emoji 😀🎉🚀"],
            },
            {
                "id": "task9999-3",
                "input": "Line one\n\nLine two with  double  spaces and a tab\tend »\t",
                "output": ["Line one\n\nLine two"],
            },
        ],
        "Instance License": ["CC0"],
    }


def check_real_task(name: str, data: dict) -> None:
    """The raw-dict view equals the `datasets` Features view for this task (see module docstring)."""
    assert isinstance(data["Definition"], list) and len(data["Definition"]) >= 1, name
    for key in ("Positive Examples", "Negative Examples"):
        for ex in data[key]:
            assert set(ex) == {"input", "output", "explanation"}, (name, key, sorted(ex))
            assert all(isinstance(ex[k], str) for k in ex), (name, key)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--niv2-dir", type=Path, default=DEFAULT_NIV2_DIR)
    ap.add_argument("--tk-instruct", type=Path, help="a checkout of yizhongw/Tk-Instruct: also compare with its DataCollatorForNI")
    args = ap.parse_args()

    tasks_dir = OUT_DIR / "tasks"
    tasks_dir.mkdir(parents=True, exist_ok=True)

    task_files: dict[str, dict] = {}
    from_source = args.niv2_dir.is_dir()
    for name in REAL_TASKS:
        if from_source:
            with open(args.niv2_dir / f"{name}.json", encoding="utf-8") as f:
                data = json.load(f)  # accepts the non-JSON NaN some task files hold
            data["Instances"] = data["Instances"][:NUM_INSTANCES]
        else:
            with open(tasks_dir / f"{name}.json", encoding="utf-8") as f:
                data = json.load(f)
        check_real_task(name, data)
        task_files[name] = data
    task_files[SYNTHETIC_TASK] = synthetic_task()

    for name, data in task_files.items():
        if not from_source and name != SYNTHETIC_TASK:
            continue
        with open(tasks_dir / f"{name}.json", "w", encoding="utf-8") as f:
            # allow_nan=False: the copies must be strict JSON (none of the chosen tasks holds NaN)
            json.dump(data, f, ensure_ascii=False, indent=2, allow_nan=False)
            f.write("\n")

    tokenizer = AutoTokenizer.from_pretrained(str(ROOT / TOKENIZER_REL))
    bos = tokenizer("")["input_ids"]
    assert bos == [tokenizer.bos_token_id], bos

    records = []
    for name, data in task_files.items():
        examples = load_examples(name, data)
        for cname, add_name, add_def, npos, nneg, add_expl, max_len in CONFIGS:
            config = {"add_task_name": add_name, "add_task_definition": add_def, "num_pos_examples": npos,
                      "num_neg_examples": nneg, "add_explanation": add_expl, "max_source_length": max_len}
            for ex in examples:
                source, trunc, pos_kept, neg_kept = tk_source(tokenizer, ex, config)
                if args.tk_instruct:
                    reference = real_collator_source(args.tk_instruct, tokenizer, ex, config)
                    if reference != source:
                        sys.exit(f"differs from DataCollatorForNI: {name} {ex['Instance']['id']} {cname}\n"
                                 f"  ours   {source!r}\n  theirs {reference!r}")
                records.append({"task": name, "instance_id": ex["Instance"]["id"], "config_name": cname, "config": config,
                                "source": source, "truncated": trunc, "pos_kept": pos_kept, "neg_kept": neg_kept})

    with open(OUT_DIR / "prompts.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    n_trunc = sum(r["truncated"] for r in records)
    n_dropped = sum(
        r["pos_kept"] < min(r["config"]["num_pos_examples"], len(task_files[r["task"]]["Positive Examples"]))
        or r["neg_kept"] < min(r["config"]["num_neg_examples"], len(task_files[r["task"]]["Negative Examples"]))
        for r in records
    )
    meta = {
        "description": "Reference source strings of Tk-Instruct's DataCollatorForNI (source part only); "
        "see tools/make_tk_prompt_fixtures.py",
        "tk_instruct": PROVENANCE,
        "transformers_version": transformers.__version__,
        "tokenizers_version": tokenizers.__version__,
        "tokenizer_path": TOKENIZER_REL,
        "tokenizer_class": type(tokenizer).__name__,
        "tokenizer_is_fast": bool(getattr(tokenizer, "is_fast", False)),
        "clean_up_tokenization_spaces": tokenizer.clean_up_tokenization_spaces,
        "bos_token": tokenizer.bos_token,
        "bos_token_id": tokenizer.bos_token_id,
        "input_ids_start_with_bos": True,
        "decode_call": "tokenizer.decode(tokenized_source[:max_source_length], skip_special_tokens=True)",
        "instances_per_task": NUM_INSTANCES,
        "tasks": list(task_files),
        "configs": [
            {
                "config_name": c[0],
                "add_task_name": c[1],
                "add_task_definition": c[2],
                "num_pos_examples": c[3],
                "num_neg_examples": c[4],
                "add_explanation": c[5],
                "max_source_length": c[6],
            }
            for c in CONFIGS
        ],
        "records": len(records),
        "truncated_records": n_trunc,
        "records_with_dropped_examples": n_dropped,
    }
    with open(OUT_DIR / "meta.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=2)
        f.write("\n")

    print(f"{len(records)} records, {n_trunc} truncated, {n_dropped} with dropped examples", file=sys.stderr)
    for cname in sorted({r["config_name"] for r in records}):
        sub = [r for r in records if r["config_name"] == cname]
        print(f"  {cname}: {sum(r['truncated'] for r in sub)}/{len(sub)} truncated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
