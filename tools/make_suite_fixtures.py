#!/usr/bin/env python3
"""Regenerates the evaluation-suite fixtures: what lm-evaluation-harness's own `hf` backend computes for
MMLU, BIG-Bench Hard and the OPT paper's 14 tasks on small local data, request by request.

Usage: HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 python tools/make_suite_fixtures.py
           [--only model,data,mmlu,bbh,probe,configs,opt14] [--models tiny-random-2048,nano]
       (needs lm-eval 0.4.x, torch, transformers, datasets; no network; a few minutes on 2 CPU cores)

Writes, under the repository root:
- Tests/Fixtures/models/tiny-random-2048/: a random OPT (hidden 32, 2 layers, 4 heads, ffn 64, 2048 positions,
  vocab 1008, seed 0) in one float32 model.safetensors, with tiny-preln-safetensors-sharded's tokenizer files.
- Tests/Fixtures/suites/data/: the data the fixtures use, small and committed —
  `mmlu/data/{dev,test}/{subject}_{dev,test}.csv` (the official header-less layout) and the same rows as
  `mmlu-jsonl/test.jsonl` (the shared schema, each subject's 5 dev rows then its 8 test rows);
  `bbh/bbh/{task}.json` (first 6 official examples) and `bbh/cot-prompts/{task}.txt` (unchanged);
  `opt14/{task}/{split}.jsonl`: rows in each dataset's Hugging Face schema, made from shared sentences.
- Tests/Fixtures/suites/lmeval/{model}__{task}__{k}shot.json: one file per (model, lm-eval task, shots) with
  every request lm-eval made (context, continuation or until/max_gen_toks, its answer), every sample (target,
  chosen answer, per-sample metrics) and the task metrics; `{model}__mmlu_groups__{k}shot.json`: lm-eval's
  MMLU group aggregation (categories and overall, weight_by_size) over the fixture subjects;
  `bbh_exact_match_probe.json`: hand-written generations through lm-eval's bbh filters and exact_match;
  `opt14_configs.json`: each opt14 task's config fields, splits and few-shot draw. README.md there is by hand.

Why: optiml's suites (`optiml eval --suite mmlu|bbh|...`) must give the numbers lm-eval gives. lm-eval is run
with its installed task configs — prompts, few-shot samplers, filters and metrics are lm-eval's, only the
dataset location is overridden (`dataset_path: json` with `data_files`) — so a Swift test can replay each
request and compare contexts, log-likelihoods, generations, predictions and metrics exactly.
"""
import argparse
import csv
import json
import os
import random
import re
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"
TINY = "Tests/Fixtures/models/tiny-random-2048"
TOKENIZER_FROM = "Tests/Fixtures/models/tiny-preln-safetensors-sharded"
MODELS = {"tiny-random-2048": TINY, "nano": "Models/nano"}
DATA = "Tests/Fixtures/suites/data"
OUT = "Tests/Fixtures/suites/lmeval"

# One subject per category (lm-eval's mmlu_stem / mmlu_social_sciences / mmlu_humanities).
MMLU_SUBJECTS = ["abstract_algebra", "high_school_geography", "world_religions"]
MMLU_DEV, MMLU_TEST = 5, 8
BBH_TASKS = ["boolean_expressions", "date_understanding", "web_of_lies"]
BBH_COT_TASK = "boolean_expressions"
BBH_EXAMPLES = 6
MAX_GEN_TOKS = 32  # bbh's configs leave it to HFLM's default (256; cot_fewshot says 1024); capped for speed
FEWSHOT_SEED = 1234  # lm-eval's default fewshot_random_seed, passed explicitly
# HFLM arguments for both models; add_bos_token is left at lm-eval's default (None: the tokenizer decides,
# and OPT's GPT2Tokenizer has add_bos_token=true with bos_token "</s>", id 2).
HFLM_ARGS = dict(batch_size=1, dtype="float32", device="cpu")

# opt14: lm-eval task name -> (directory, evaluated split, few-shot split or None, k for the k-shot case)
OPT14 = {
    "piqa": ("piqa", "validation", "train", 2),
    "arc_easy": ("arc_easy", "test", "train", 2),
    "arc_challenge": ("arc_challenge", "test", "train", 2),
    "openbookqa": ("openbookqa", "test", "train", 2),
    "boolq": ("boolq", "validation", "train", 2),
    "cb": ("cb", "validation", "train", 2),
    "copa": ("copa", "validation", "train", 2),
    "sglue_rte": ("rte", "validation", "train", 2),
    "wic": ("wic", "validation", "train", 2),
    "wsc": ("wsc", "validation", "train", 2),
    "hellaswag": ("hellaswag", "validation", "train", 2),
    "winogrande": ("winogrande", "validation", "train", 2),
    "storycloze_2016": ("storycloze_2016", "test", "validation", 2),
    "wsc273": ("wsc273", "test", None, 2),  # test only: lm-eval draws few-shot examples from test itself
}


def rel(path):
    return os.path.relpath(path, ROOT)


def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------- model
def make_model():
    from transformers import OPTConfig, OPTForCausalLM

    out = os.path.join(ROOT, TINY)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    torch.manual_seed(0)
    config = OPTConfig(vocab_size=1008, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, ffn_dim=64,
                       max_position_embeddings=2048, word_embed_proj_dim=32, do_layer_norm_before=True,
                       pad_token_id=1, bos_token_id=2, eos_token_id=2, dropout=0.0, attention_dropout=0.0,
                       activation_dropout=0.0, tie_word_embeddings=True)
    model = OPTForCausalLM(config).to(torch.float32).eval()
    model.save_pretrained(out, safe_serialization=True, max_shard_size="100MB")
    for name in ["merges.txt", "vocab.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
        shutil.copyfile(os.path.join(ROOT, TOKENIZER_FROM, name), os.path.join(out, name))
    assert os.path.exists(os.path.join(out, "model.safetensors"))


# ----------------------------------------------------------------------------------------------- data
def mmlu_rows():
    """Per subject: the first 5 rows of the shared test.jsonl (file order) as dev, the next 8 as test."""
    rows = read_jsonl(os.path.join(SHARED, "mmlu", "test.jsonl"))
    split = {}
    for subject in MMLU_SUBJECTS:
        mine = [r for r in rows if r["topic"] == subject.replace("_", " ")]
        split[subject] = (mine[:MMLU_DEV], mine[MMLU_DEV:MMLU_DEV + MMLU_TEST])
    return split


def write_mmlu():
    base = os.path.join(ROOT, DATA, "mmlu", "data")
    shutil.rmtree(os.path.join(ROOT, DATA, "mmlu"), ignore_errors=True)
    jsonl = []
    for subject, (dev, test) in mmlu_rows().items():
        for name, rows in (("dev", dev), ("test", test)):
            os.makedirs(os.path.join(base, name), exist_ok=True)
            # As the official CSVs: no header, minimal quoting. Line ends are the csv module default (\r\n);
            # a reader should take \n too. Quoted fields may hold newlines.
            with open(os.path.join(base, name, f"{subject}_{name}.csv"), "w", newline="") as f:
                writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
                for r in rows:
                    writer.writerow([r["question"], r["answer_a"], r["answer_b"], r["answer_c"], r["answer_d"],
                                     r["correct_answer"]])
        jsonl += dev + test
    write_jsonl(os.path.join(ROOT, DATA, "mmlu-jsonl", "test.jsonl"), jsonl)


def write_bbh():
    shutil.rmtree(os.path.join(ROOT, DATA, "bbh"), ignore_errors=True)
    for task in BBH_TASKS:
        with open(os.path.join(SHARED, "bbh", "bbh", f"{task}.json")) as f:
            full = json.load(f)
        small = {"canary": full["canary"], "examples": full["examples"][:BBH_EXAMPLES]}
        path = os.path.join(ROOT, DATA, "bbh", "bbh", f"{task}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(small, f, indent=4, ensure_ascii=False)
            f.write("\n")
        os.makedirs(os.path.join(ROOT, DATA, "bbh", "cot-prompts"), exist_ok=True)
        shutil.copyfile(os.path.join(SHARED, "bbh", "cot-prompts", f"{task}.txt"),
                        os.path.join(ROOT, DATA, "bbh", "cot-prompts", f"{task}.txt"))


# Winograd-style sentences written for these fixtures: (text, candidate 1, candidate 2, pronoun, answer 1|2).
WINOGRAD = [
    ("The lawyer asked the witness a question, but he was reluctant to answer it.", "lawyer", "witness", "he", 2),
    ("Anna thanked Maria because she had helped with the homework.", "Anna", "Maria", "she", 2),
    ("The teacher scolded the student because he was late again.", "teacher", "student", "he", 2),
    ("The doctor called the nurse because she needed the chart.", "doctor", "nurse", "she", 1),
    ("The farmer sold the horse to the trader because it was getting old.", "farmer", "horse", "it", 2),
    ("The mayor met the reporter after he published the article.", "mayor", "reporter", "he", 2),
    ("The bottle did not fit in the bag because it was too big.", "bottle", "bag", "it", 1),
    ("The painter admired the sculptor because his statue had won the prize.", "painter", "sculptor", "his", 2),
    ("Sarah called Emma because she wanted to borrow a book.", "Sarah", "Emma", "she", 1),
    ("The dog chased the cat until it climbed a tree.", "dog", "cat", "it", 2),
    ("The coach praised the player because he scored twice.", "coach", "player", "he", 2),
    ("The table would not fit through the door because it was too narrow.", "table", "door", "it", 2),
    ("The student asked the professor a question because she did not understand the proof.", "student",
     "professor", "she", 1),
]


def sentence_pool():
    """Short declarative sentences and short answers from the shared MMLU file, in file order."""
    rows = read_jsonl(os.path.join(SHARED, "mmlu", "test.jsonl"))
    sentences, answers, questions = [], [], []
    for r in rows:
        q = r["question"].strip()
        if "\n" in q or "_" in q or "[" in q or "|" in q or "$" in q:
            continue
        for s in re.split(r"(?<=[.?])\s+", q):
            if 40 <= len(s) <= 140 and s[0].isupper() and s.endswith(".") and s.count(" ") >= 6:
                sentences.append(s)
        if q.endswith("?") and 30 <= len(q) <= 120:
            questions.append(r)
        for key in ("answer_a", "answer_b", "answer_c", "answer_d"):
            a = r[key].strip()
            if 12 <= len(a) <= 60 and "\n" not in a and "|" not in a and a[0].isalpha():
                answers.append(a)
    return sentences, answers, questions


def opt14_rows():
    """{task dir: {split: rows}} in each Hugging Face dataset's schema; 8 evaluated rows, 5 few-shot rows."""
    sentences, answers, questions = sentence_pool()
    rng = random.Random(0)
    sent = iter(rng.sample(sentences, 600))
    ans = iter(rng.sample(answers, 600))
    ques = iter(rng.sample(questions, 200))
    out = {}

    class Mixed:
        """randrange(n) that cycles through shuffled rounds of 0..n-1, so each task's labels are mixed."""

        def __init__(self, name):
            self.rng, self.pending = random.Random(name), {}

        def randrange(self, n):
            if not self.pending.get(n):
                self.pending[n] = self.rng.sample(range(n), n)
            return self.pending[n].pop()

    def splits(name, make):
        _, evaluated, fewshot, _ = next(v for v in OPT14.values() if v[0] == name)
        labels = Mixed(name)
        tables = {evaluated: [make(i, labels) for i in range(8)]}
        if fewshot:
            tables[fewshot] = [make(100 + i, labels) for i in range(5)]
        out[name] = tables

    def lower_first(s):
        return s[0].lower() + s[1:]

    splits("piqa", lambda i, lab: {"goal": next(ques)["question"], "sol1": next(ans), "sol2": next(ans),
                                   "label": lab.randrange(2)})

    def arc(prefix):
        def make(i, lab):
            q = next(ques)
            texts = [q["answer_a"], q["answer_b"], q["answer_c"], q["answer_d"]]
            keys = ["A", "B", "C", "D"]
            if i % 4 == 1:  # some ARC rows label their choices 1-4
                keys = ["1", "2", "3", "4"]
            if i % 4 == 2:  # and some have 3 choices
                texts, keys = texts[:3], keys[:3]
            return {"id": f"{prefix}_{i}", "question": q["question"],
                    "choices": {"text": texts, "label": keys}, "answerKey": keys[lab.randrange(len(keys))]}
        return make

    splits("arc_easy", arc("Mercury_SC"))
    splits("arc_challenge", arc("MCAS_2000"))

    def obqa(i, lab):
        q = next(ques)
        stem = q["question"].rstrip("?")
        return {"id": f"{7000 + i}-{i % 10}", "question_stem": lower_first(stem) if i % 3 == 0 else stem,
                "choices": {"text": [q["answer_a"], q["answer_b"], q["answer_c"], q["answer_d"]],
                            "label": ["A", "B", "C", "D"]},
                "answerKey": "ABCD"[lab.randrange(4)]}

    splits("openbookqa", obqa)
    splits("boolq", lambda i, lab: {"question": lower_first(next(sent)).rstrip("."),
                                    "passage": next(sent) + " " + next(sent), "idx": i, "label": lab.randrange(2)})
    splits("cb", lambda i, lab: {"premise": next(sent) + " " + next(sent), "hypothesis": next(sent).rstrip("."),
                                 "idx": i, "label": lab.randrange(3)})

    def copa(i, lab):
        return {"premise": next(sent), "choice1": next(sent), "choice2": next(sent),
                "question": "cause" if lab.randrange(2) else "effect", "idx": i, "label": lab.randrange(2)}

    splits("copa", copa)
    splits("rte", lambda i, lab: {"premise": next(sent) + " " + next(sent), "hypothesis": next(sent),
                                  "idx": i, "label": lab.randrange(2)})

    def wic(i, lab):
        while True:  # a word that two pool sentences share
            s1 = next(sent)
            words = [m for m in re.finditer(r"[a-z]{5,}", s1)]
            for m in words:
                w = m.group(0)
                others = [s for s in sentences if s != s1 and re.search(r"\b%s\b" % w, s)]
                if others:
                    s2 = others[(i * 7) % len(others)]
                    m2 = re.search(r"\b%s\b" % w, s2)
                    return {"word": w, "sentence1": s1, "sentence2": s2, "start1": m.start(), "end1": m.end(),
                            "start2": m2.start(), "end2": m2.end(), "idx": i, "label": lab.randrange(2)}

    splits("wic", wic)

    def word_index(text, word):
        return next(j for j, t in enumerate(text.split()) if t.strip(".,") == word)

    def wsc(i, lab):
        text, c1, c2, pronoun, answer = WINOGRAD[i % 100 + (8 if i >= 100 else 0)]
        label = lab.randrange(2)
        noun = (c1, c2)[answer - 1] if label else (c1, c2)[2 - answer]
        return {"text": text, "span1_index": word_index(text, noun), "span1_text": noun,
                "span2_index": word_index(text, pronoun), "span2_text": pronoun, "idx": i, "label": label}

    splits("wsc", wsc)

    def hellaswag(i, lab):
        topic = next(ques)["topic"]
        ctx_a = next(sent)
        ctx_b = lower_first(" ".join(next(sent).split()[:5]))
        if i % 3 == 0:  # WikiHow rows carry [title] / [step] markers that lm-eval's preprocess removes
            ctx_a = ctx_a[:-1] + " [title] " + next(sent)[:-1] + ". [step] " + ctx_a.split()[0].lower() + "."
        endings = [lower_first(next(ans)) + "." for _ in range(4)]
        if i % 4 == 2:
            endings[1] = "[header] " + endings[1]
        return {"ind": 4000 + i, "activity_label": topic.capitalize(), "ctx_a": ctx_a, "ctx_b": ctx_b,
                "ctx": ctx_a + " " + ctx_b, "endings": endings, "source_id": f"fixture~{i}",
                "split": "val" if i < 100 else "train", "split_type": "indomain" if i % 2 else "zeroshot",
                "label": str(lab.randrange(4))}

    splits("hellaswag", hellaswag)

    def winogrande(i, lab):
        text, c1, c2, pronoun, right = WINOGRAD[i % 100 + (8 if i >= 100 else 0)]
        named = c1[0].isupper()
        blank = "_" if named else "the _"
        if pronoun == "his":
            blank = "the _'s"
        words = text.split()
        j = next(j for j, t in enumerate(words) if t == pronoun)
        sentence = " ".join(words[:j] + [blank] + words[j + 1:])
        if blank.startswith("the") and j == 0:
            sentence = sentence[0].upper() + sentence[1:]
        options = [c1, c2] if lab.randrange(2) else [c2, c1]
        answer = "1" if options[0] == (c1, c2)[right - 1] else "2"
        return {"sentence": sentence, "option1": options[0], "option2": options[1], "answer": answer}

    splits("winogrande", winogrande)

    def storycloze(i, lab):
        return {"story_id": f"fixture-{i:04d}", "input_sentence_1": next(sent), "input_sentence_2": next(sent),
                "input_sentence_3": next(sent), "input_sentence_4": next(sent), "sentence_quiz1": next(sent),
                "sentence_quiz2": next(sent), "answer_right_ending": 1 + lab.randrange(2)}

    splits("storycloze_2016", storycloze)

    def wsc273(i, lab):
        text, c1, c2, pronoun, answer = WINOGRAD[i]
        loc = re.search(r"\b%s\b" % pronoun, text).start()
        options = [("The " + c if c.islower() else c) for c in (c1, c2)]
        return {"text": text, "pronoun": pronoun, "pronoun_loc": loc, "quote": text[loc:].rstrip("."),
                "quote_loc": loc, "options": options, "label": answer - 1, "source": "fixture"}

    splits("wsc273", wsc273)
    return out


def write_opt14():
    shutil.rmtree(os.path.join(ROOT, DATA, "opt14"), ignore_errors=True)
    for name, tables in opt14_rows().items():
        for split, rows in tables.items():
            write_jsonl(os.path.join(ROOT, DATA, "opt14", name, f"{split}.jsonl"), rows)


# -------------------------------------------------------------------------------------------- lm-eval
class Runner:
    def __init__(self):
        from lm_eval.tasks import TaskManager

        self.tm = TaskManager()
        self.models = {}
        self.tmp = tempfile.mkdtemp(prefix="suite-fixtures-")
        os.environ.setdefault("HF_DATASETS_CACHE", os.path.join(self.tmp, "hf-datasets"))

    def model(self, name):
        from lm_eval.models.huggingface import HFLM

        if name not in self.models:
            self.models[name] = HFLM(pretrained=os.path.join(ROOT, MODELS[name]), **HFLM_ARGS)
        return self.models[name]

    def config(self, task, **overrides):
        """The installed YAML config of `task` (includes and !function resolved) with `overrides` on top."""
        from lm_eval.tasks._yaml_loader import load_yaml

        entry = self.tm.task_index[task]
        cfg = dict(load_yaml(entry.yaml_path, resolve_func=True))
        cfg.pop("include", None)
        cfg.update(overrides)
        cfg["task"] = task
        return cfg

    def evaluate(self, model, tasks, shots, task_manager=None):
        import lm_eval

        return lm_eval.simple_evaluate(model=self.model(model), tasks=tasks, num_fewshot=shots, log_samples=True,
                                       task_manager=task_manager or self.tm, bootstrap_iters=0, random_seed=0,
                                       numpy_random_seed=0, torch_random_seed=0, fewshot_random_seed=FEWSHOT_SEED,
                                       apply_chat_template=False)


def plain(x):
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def case_record(model, task, shots, settings, results, lm):
    """The fixture object for one task of one simple_evaluate result; `lm` (the HFLM) counts tokens as it does."""
    samples = sorted(results["samples"][task], key=lambda s: s["doc_id"])
    cfg = results["configs"][task]
    requests, out_samples = [], []
    for s in samples:
        record = {"doc_id": s["doc_id"], "target": plain(s["target"])}
        lls = []
        for idx, (args, resp, filtered) in enumerate(zip(s["arguments"], s["resps"], s["filtered_resps"])):
            req = {"doc_id": s["doc_id"], "idx": idx, "context": args[0]}
            if cfg["output_type"] == "generate_until":
                gen = plain(args[1])
                n = len(lm.tok_encode(args[0]))
                keep = lm.max_length - gen.get("max_gen_toks", lm.max_gen_toks)
                req.update(until=gen.get("until"), max_gen_toks=gen.get("max_gen_toks"),
                           generation=resp[0], filtered=filtered, n_context_tokens=n,
                           left_truncated_to=keep if n > keep else None)
            else:
                ctx, cont = lm._encode_pair(args[0], args[1])
                over = len(ctx) + len(cont) - (lm.max_length + 1)
                req.update(continuation=args[1], loglikelihood=float(resp[0][0]), is_greedy=bool(resp[0][1]),
                           n_context_tokens=len(ctx), n_continuation_tokens=len(cont),
                           left_truncated_tokens=max(over, 0))
                lls.append(float(resp[0][0]))
            requests.append(req)
        if lls:
            record["chosen"] = int(np.argmax(lls))
        for metric in cfg["metric_list"]:
            name = metric["metric"]
            if name in s:
                record[name] = plain(s[name])
        if "acc_norm" in record:
            record["chosen_norm"] = int(np.argmax(np.array(lls) / np.array(
                [float(len(r["continuation"])) - len(cfg.get("target_delimiter", " ")) for r in requests[-len(lls):]])))
        out_samples.append(record)
    metrics = {}
    for key, value in results["results"][task].items():
        if "," in key and "stderr" not in key:
            metric, filt = key.split(",", 1)
            metrics[metric if filt == "none" else key] = plain(value)
    return {"model": model, "lm_eval_task": task, "shots": shots, "settings": settings, "requests": requests,
            "samples": out_samples, "metrics": metrics, "n_samples": plain(results["n-samples"][task])}


def base_settings(model, shots):
    return {"model": "hf", "pretrained": MODELS[model], **HFLM_ARGS, "add_bos_token": None,
            "add_bos_token_note": "lm-eval default (None): the tokenizer's own setting applies; OPT's GPT2Tokenizer "
                                  "prepends BOS '</s>' (id 2) to every encoded context",
            "num_fewshot": shots, "fewshot_random_seed": FEWSHOT_SEED, "apply_chat_template": False,
            "max_length": 2048 if model == "tiny-random-2048" else 512,
            "lm_eval_version": __import__("lm_eval").__version__}


def write_case(record):
    name = f"{record['model']}__{record['lm_eval_task']}__{record['shots']}shot.json"
    dump(os.path.join(ROOT, OUT, name), record)
    print(f"wrote {name}: {len(record['requests'])} requests, {record['metrics']}", flush=True)


def run_mmlu(runner, models):
    from lm_eval.tasks._yaml_loader import load_yaml

    data = os.path.join(runner.tmp, "mmlu-cais")
    files = {}
    for subject, (dev, test) in mmlu_rows().items():
        for split, rows in (("dev", dev), ("test", test)):
            path = os.path.join(data, subject, f"{split}.jsonl")
            write_jsonl(path, [{"question": r["question"], "subject": subject,
                                "choices": [r["answer_a"], r["answer_b"], r["answer_c"], r["answer_d"]],
                                "answer": "ABCD".index(r["correct_answer"])} for r in rows])
            files.setdefault(subject, {})[split] = path
    # lm-eval's mmlu group structure restricted to the fixture subjects: category groups, then mmlu.
    mmlu_dir = os.path.dirname(runner.tm.task_index["mmlu"].yaml_path)
    by_category = {}
    for subject in MMLU_SUBJECTS:
        tag = runner.config(f"mmlu_{subject}")["tag"]  # e.g. mmlu_stem_tasks
        by_category.setdefault(tag[:-len("_tasks")], []).append(subject)
    # An inline group dict given to simple_evaluate passes its own keys on to its tasks (lm-eval 0.4.13), so
    # the group goes through a YAML file on an include_path, as a user's custom group would.
    import yaml
    from lm_eval.tasks import TaskManager

    groups = []
    for category, subjects in sorted(by_category.items()):
        gcfg = load_yaml(os.path.join(mmlu_dir, f"_{category}.yaml"))
        tasks = [{"task": f"mmlu_{subject}", "dataset_path": "json", "dataset_name": None,
                  "dataset_kwargs": {"data_files": files[subject]}} for subject in subjects]
        groups.append({"group": category + "_fixture", "task": tasks,
                       "aggregate_metric_list": gcfg["aggregate_metric_list"]})
    top = load_yaml(os.path.join(mmlu_dir, "_mmlu.yaml"))
    include = os.path.join(runner.tmp, "mmlu-group")
    os.makedirs(include)
    with open(os.path.join(include, "mmlu_fixture.yaml"), "w") as f:
        yaml.safe_dump({"group": "mmlu_fixture", "task": groups,
                        "aggregate_metric_list": top["aggregate_metric_list"]}, f, sort_keys=True)
    tm = TaskManager(include_path=include)
    for model in models:
        for shots in (0, 5):
            spec = "mmlu_fixture"
            results = runner.evaluate(model, [spec], shots, tm)
            settings = base_settings(model, shots)
            for subject in MMLU_SUBJECTS:
                task = f"mmlu_{subject}"
                s = dict(settings, dataset_override={
                    "dataset_path": "json", "dataset_name": None,
                    "data_files": f"{DATA}/mmlu/data/{{dev,test}}/{subject}_{{dev,test}}.csv converted to cais/mmlu's "
                                  "schema (question, subject, choices[4], answer 0-3) as JSON lines"})
                write_case(case_record(model, task, shots, s, results, runner.model(model)))
            agg = {}
            for key, value in results["results"].items():
                if key.startswith("mmlu_fixture") or key.endswith("_fixture"):
                    name = key.split("::")[-1].replace("_fixture", "")  # lm-eval's own group names
                    agg[name] = {k: plain(v) for k, v in value.items() if k != "alias"}
            dump(os.path.join(ROOT, OUT, f"{model}__mmlu_groups__{shots}shot.json"), {
                "model": model, "shots": shots, "settings": settings, "subjects": MMLU_SUBJECTS,
                "categories": {k: [f"mmlu_{s}" for s in v] for k, v in sorted(by_category.items())},
                "aggregation": "lm-eval's group aggregation, weight_by_size: true, as mmlu's _mmlu*.yaml configure it "
                               "(each category: mean of its subjects' acc weighted by their sample counts; mmlu: "
                               "mean of the categories weighted by their sample counts)",
                "results": agg, "raw_keys": sorted(results["results"].keys())})
            print(f"wrote {model}__mmlu_groups__{shots}shot.json: {agg}", flush=True)


def run_bbh(runner, models):
    bbh = os.path.join(ROOT, DATA, "bbh", "bbh")
    data = os.path.join(runner.tmp, "bbh")
    files = {}
    for task in BBH_TASKS:  # the official file holds {"canary", "examples"}; lm-eval's json loader needs rows
        with open(os.path.join(bbh, f"{task}.json")) as f:
            path = os.path.join(data, f"{task}.jsonl")
            write_jsonl(path, json.load(f)["examples"])
            files[task] = path
    cases = [(m, "fewshot", t) for m in models for t in BBH_TASKS]
    if "tiny-random-2048" in models:
        cases.append(("tiny-random-2048", "cot_fewshot", BBH_COT_TASK))
    for model, variant, task in cases:
        name = f"bbh_{variant}_{task}"
        base = runner.config(name)
        gen = dict(base["generation_kwargs"])
        configured = gen.get("max_gen_toks")
        gen["max_gen_toks"] = MAX_GEN_TOKS
        cfg = runner.config(name, dataset_path="json", dataset_name=None,
                            dataset_kwargs={"data_files": {"test": files[task]}}, generation_kwargs=gen)
        results = runner.evaluate(model, [cfg], 3)
        settings = dict(base_settings(model, 3), generation_kwargs=gen,
                        max_gen_toks_note=f"config says {configured!r} (None: HFLM's default 256); capped at "
                                          f"{MAX_GEN_TOKS} for speed",
                        dataset_override={"dataset_path": "json", "dataset_name": None,
                                          "data_files": f"{DATA}/bbh/bbh/{task}.json's examples as JSON lines"})
        write_case(case_record(model, name, 3, settings, results, runner.model(model)))


# Generations a model might give, run through lm-eval's own filters and exact_match for the bbh answer-only and
# CoT configs: what counts as right (the fixture models never answer right, so the rule is shown apart).
PROBE_TARGET = "False"
PROBE_GENERATIONS = ["False", " False", "False ", " False\n", "false", " (False)", "False.",
                     " not ( True ) is False. So the answer is False.", " So the answer is False.",
                     " So the answer is False", " So the answer is False.\n", " so the answer is False.",
                     " So the answer is (A).", ""]


def run_bbh_probe(runner):
    from lm_eval.api.instance import Instance

    data = os.path.join(runner.tmp, "probe.jsonl")
    write_jsonl(data, [{"input": "not ( True ) and ( True ) is", "target": PROBE_TARGET}])
    out = {"about": "each generation (as HFLM.generate_until returns it: the decoded continuation cut before the first "
                    "stop string) through the task's filter_list, then its exact_match; from lm-eval's own code "
                    "(Task._filters, Task.process_results), no model involved", "target": PROBE_TARGET, "tasks": {}}
    for name in (f"bbh_fewshot_{BBH_COT_TASK}", f"bbh_cot_fewshot_{BBH_COT_TASK}"):
        cfg = runner.config(name, dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": {"test": data}})
        task = runner.tm.load([cfg])["tasks"][name]
        doc = task.test_docs()[0]
        rows = []
        for generation in PROBE_GENERATIONS:
            for ensemble in task._filters:
                inst = Instance(request_type="generate_until", doc=doc, arguments=("", {}), idx=0)
                inst.resps = [generation]
                ensemble.apply([inst])
                filtered = inst.filtered_resps[ensemble.name]
                metrics = task.process_results(doc, [filtered])
                rows.append({"generation": generation, "filter": ensemble.name, "filtered": filtered,
                             **{k: plain(v) for k, v in metrics.items()}})
        out["tasks"][name] = rows
    dump(os.path.join(ROOT, OUT, "bbh_exact_match_probe.json"), out)
    print("wrote bbh_exact_match_probe.json", flush=True)


def run_opt14_configs(runner):
    """lm-eval's config fields for each opt14 task, as the YAML says them (functions by module path)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    tasks_dir = os.path.dirname(os.path.dirname(runner.tm.task_index["piqa"].yaml_path))
    keys = ["doc_to_text", "doc_to_target", "doc_to_choice", "process_docs", "target_delimiter",
            "fewshot_delimiter", "fewshot_split", "fewshot_config", "training_split", "validation_split",
            "test_split", "description", "metric_list", "output_type", "dataset_path", "dataset_name"]
    out = {}
    for task, (directory, evaluated, fewshot, k) in OPT14.items():
        path = runner.tm.task_index[task].yaml_path
        raw = load_yaml(path, resolve_func=False)
        resolved = runner.config(task)
        entry = {}
        for key in keys:
            value = raw.get(key)
            if isinstance(value, str) and value.startswith(tasks_dir):
                value = "!function " + os.path.relpath(value, tasks_dir)
            entry[key] = value
        entry["yaml"] = os.path.relpath(path, tasks_dir)
        entry["target_delimiter"] = resolved.get("target_delimiter", " ")
        entry["fewshot_delimiter"] = resolved.get("fewshot_delimiter", "\n\n")
        entry["evaluated_split"] = evaluated
        entry["fewshot_docs_from"] = fewshot or evaluated
        entry["sampler"] = (resolved.get("fewshot_config") or {}).get("sampler", "default")
        # lm-eval passes the evaluated doc to the sampler (to leave it out) when fewshot_split == test_split,
        # which is also the case when both are unset; the default sampler then draws k + 1.
        same = (resolved.get("fewshot_split") or None) == (resolved.get("test_split") or None)
        entry["sampler_draw"] = (f"random.Random({FEWSHOT_SEED}) once per task; per doc in doc_id order: "
                                 + ("sample(pool, k + 1), drop docs equal to the evaluated doc, keep the first k"
                                    if same else "sample(pool, k)"))
        entry["fixture_data"] = f"{DATA}/opt14/{directory}"
        entry["kshot_case"] = k
        out[task] = entry
    dump(os.path.join(ROOT, OUT, "opt14_configs.json"), out)
    print("wrote opt14_configs.json", flush=True)


def run_opt14(runner, models):
    for task, (directory, evaluated, fewshot, k) in OPT14.items():
        data = os.path.join(ROOT, DATA, "opt14", directory)
        files = {s[:-len(".jsonl")]: os.path.join(data, s) for s in sorted(os.listdir(data))}
        cfg = runner.config(task, dataset_path="json", dataset_name=None, dataset_kwargs={"data_files": files})
        runs = [(m, 0) for m in models] + ([("tiny-random-2048", k)] if "tiny-random-2048" in models else [])
        for model, shots in runs:
            results = runner.evaluate(model, [cfg], shots)
            settings = dict(base_settings(model, shots), dataset_override={
                "dataset_path": "json", "dataset_name": None,
                "data_files": {s: rel(p) for s, p in files.items()}})
            write_case(case_record(model, task, shots, settings, results, runner.model(model)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="model,data,mmlu,bbh,probe,opt14")
    parser.add_argument("--models", default="tiny-random-2048,nano")
    args = parser.parse_args()
    only = set(args.only.split(","))
    models = args.models.split(",")
    if "model" in only:
        make_model()
    if "data" in only:
        write_mmlu()
        write_bbh()
        write_opt14()
    if only & {"mmlu", "bbh", "probe", "configs", "opt14"}:
        runner = Runner()
        try:
            if "mmlu" in only:
                run_mmlu(runner, models)
            if "bbh" in only:
                run_bbh(runner, models)
            if "probe" in only:
                run_bbh_probe(runner)
            if "opt14" in only or "configs" in only:
                run_opt14_configs(runner)
            if "opt14" in only:
                run_opt14(runner, models)
        finally:
            shutil.rmtree(runner.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
