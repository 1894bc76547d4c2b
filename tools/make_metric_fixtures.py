#!/usr/bin/env python3
"""Regenerates the evaluation-metric fixtures under Tests/Fixtures/eval/.

Usage (from the package root):

    python tools/make_metric_fixtures.py \
        [--niv2-dir ../shared/data/niv2/tasks] [--gpt2-dir ../shared/data/gpt2-tokenizer]

Needs `rouge-score` (with its `nltk` dependency) and `transformers` (+ `tokenizers`). The output is
deterministic: a fixed seed, files read in sorted order, JSON written with sorted, stable content.

Writes (see Tests/Fixtures/eval/README.md):

- metric_pairs.jsonl     English (prediction, references) pairs with exact_match, rougeL, token_f1
- xlingual_pairs.jsonl   non-English pairs with the cross-lingual (GPT-2 token) ROUGE-L
- porter_stems.json      words and their stems under the three nltk PorterStemmer modes
- e2e/references.jsonl, e2e/predictions.jsonl, e2e/expected.json
                         an end-to-end run of the Super-NI evaluation script's main logic
- meta.json              package versions and the provenance below

Where the reference values come from
------------------------------------
- ROUGE-L: the real `rouge_score` package, `rouge_scorer.RougeScorer(['rougeL'], use_stemmer=True)`
  (English) and `RougeScorer(['rougeL'], tokenizer=GPTTokenizer())` (cross-lingual), exactly as
  Super-NI's `eval/automatic/evaluation.py` builds them. rouge_score's default tokenizer uses
  `nltk.stem.porter.PorterStemmer()` in its default NLTK_EXTENSIONS mode.
- Exact match, the per-track/per-category/per-task grouping and the output keys: this project's own
  implementation of the behaviour of allenai/natural-instructions `eval/automatic/evaluation.py`
  (read at commit 8540acd3faaea51b4a379570b542e9123904cac2; its code is not copied here), with the
  pip package `rouge_score` for the `rouge` folder that script imports, the GPT-2 tokenizer loaded
  from --gpt2-dir instead of the hub, and a track without instances left out (the script would
  divide by zero; the fixture always has both tracks).
- Token F1: this project's own implementation of the official SQuAD v1.1 normalization and F1
  (read in huggingface/evaluate `metrics/squad/compute_score.py` at commit
  b6e7c3b0ed02444f1b3f4f1eb48a39f27af321ec).
"""

import argparse
import collections
import glob
import importlib.metadata
import json
import os
import random
import re
import string
import sys
import unicodedata

import nltk
import tokenizers
import transformers
from nltk.stem import porter
from rouge_score import rouge_scorer
from transformers import GPT2TokenizerFast

SEED = 20240611
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "eval")

NI_COMMIT = "8540acd3faaea51b4a379570b542e9123904cac2"
SQUAD_COMMIT = "b6e7c3b0ed02444f1b3f4f1eb48a39f27af321ec"

parser = argparse.ArgumentParser()
parser.add_argument("--niv2-dir", default=os.path.join(ROOT, "..", "shared", "data", "niv2", "tasks"))
parser.add_argument("--gpt2-dir", default=os.path.join(ROOT, "..", "shared", "data", "gpt2-tokenizer"))
ARGS = parser.parse_args()


# ---------------------------------------------------------------------------------------------
# The Super-NI evaluation's behaviour (eval/automatic/evaluation.py), in this project's own code
# ---------------------------------------------------------------------------------------------

class GPTTokenizer:
    """Cross-lingual ROUGE tokens: GPT-2 BPE pieces with the leading-space marker removed."""

    def __init__(self, directory):
        self.tokenizer = GPT2TokenizerFast.from_pretrained(directory, max_length=1e5)

    def tokenize(self, text):
        return [piece.lstrip("\u0120") for piece in self.tokenizer.tokenize(text)]


default_rouge_scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
xlingual_rouge_scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=GPTTokenizer(ARGS.gpt2_dir))
PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    """Super-NI's EM normalization: lowercase, drop ASCII punctuation, collapse whitespace (articles stay)."""
    return " ".join("".join(ch for ch in text.lower() if ch not in PUNCTUATION).split())


def exact_match(prediction, reference, xlingual=False):
    return normalize_answer(prediction) == normalize_answer(reference)


def rouge(prediction, reference, xlingual=False):
    scorer = xlingual_rouge_scorer if xlingual else default_rouge_scorer
    return scorer.score(prediction=prediction, target=reference)["rougeL"].fmeasure


def metric_max_over_ground_truths(metric, prediction, references, xlingual=False):
    return max(metric(prediction, reference, xlingual=xlingual) for reference in references)


def track_metrics(predictions, references, xlingual):
    """Mean EM and ROUGE-L in percent, each rounded to 4 decimals with Python's round."""
    count = len(references)
    em = sum(metric_max_over_ground_truths(exact_match, p, r, xlingual) for p, r in zip(predictions, references))
    rl = sum(metric_max_over_ground_truths(rouge, p, r, xlingual) for p, r in zip(predictions, references))
    return {"exact_match": round(100.0 * em / count, 4), "rougeL": round(100.0 * rl / count, 4)}


def grouped_metrics(predictions, references, groups, xlingual):
    """`<metric>_for_<group>` for each group, groups in order of first appearance."""
    members = {}
    for prediction, reference, group in zip(predictions, references, groups):
        members.setdefault(group, []).append((prediction, reference))
    results = {}
    for group, pairs in members.items():
        for metric, value in track_metrics([p for p, _ in pairs], [r for _, r in pairs], xlingual).items():
            results[f"{metric}_for_{group}"] = value
    return results


def evaluation_main(prediction_file, reference_file):
    """The script's results for a predictions file and a references file (JSONL each).

    References without a `track` are in the default track; a later line with the same id replaces
    an earlier one (in the earlier one's place); an instance without a prediction scores "";
    predictions of unknown ids are ignored. Per track: overall metrics, then per category (names
    lowercased, whitespace runs turned into "_") and per task, each only when the track's first
    reference carries that key. A track without instances is left out (the script would divide by zero).
    """
    references_by_id = {}
    with open(reference_file) as f:
        for line in f:
            record = json.loads(line)
            record.setdefault("track", "default")
            references_by_id[record["id"]] = record
    predictions_by_id = {}
    with open(prediction_file) as f:
        for line in f:
            record = json.loads(line)
            predictions_by_id[record["id"]] = record["prediction"]
    results = {}
    for track in ("default", "xlingual"):
        ids = [key for key, record in references_by_id.items() if record["track"] == track]
        if not ids:
            continue
        xlingual = track == "xlingual"
        references = [references_by_id[key]["references"] for key in ids]
        predictions = [predictions_by_id.get(key, "") for key in ids]
        for metric, value in track_metrics(predictions, references, xlingual).items():
            results[f"{metric}_{track}_track"] = value
        first = references_by_id[ids[0]]
        if "task_category" in first:
            categories = ["_".join(references_by_id[key]["task_category"].lower().split()) for key in ids]
            for metric, value in grouped_metrics(predictions, references, categories, xlingual).items():
                results[f"{metric}_{track}_track"] = value
        if "task_id" in first:
            tasks = [references_by_id[key]["task_id"] for key in ids]
            for metric, value in grouped_metrics(predictions, references, tasks, xlingual).items():
                results[f"{metric}_{track}_track"] = value
    return results


# ---------------------------------------------------------------------------------------------
# SQuAD v1.1 token F1, in this project's own code
# ---------------------------------------------------------------------------------------------

ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text):
    """SQuAD's normalization: lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    without_punctuation = "".join(ch for ch in text.lower() if ch not in PUNCTUATION)
    return " ".join(ARTICLES.sub(" ", without_punctuation).split())


def squad_f1_score(prediction, reference):
    predicted, expected = squad_normalize(prediction).split(), squad_normalize(reference).split()
    shared = sum((collections.Counter(predicted) & collections.Counter(expected)).values())
    if shared == 0:
        return 0
    precision, recall = shared / len(predicted), shared / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_metric_max_over_ground_truths(metric, prediction, references):
    return max(metric(prediction, reference) for reference in references)


# ---------------------------------------------------------------------------------------------
# Fixture construction (this project's own code)
# ---------------------------------------------------------------------------------------------

def load_tasks():
    tasks = []
    for path in sorted(glob.glob(os.path.join(ARGS.niv2_dir, "task*.json"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # Some official files hold `"URL": [NaN]`; Python's json accepts it.
        tasks.append((os.path.basename(path)[:-5], json.loads(text)))
    if not tasks:
        sys.exit(f"no task*.json under {ARGS.niv2_dir}")
    return tasks


def words(text):
    return text.split(" ")


def perturb(kind, text, other, rng):
    """A prediction made from reference `text` (and another output `other`) by `kind`."""
    w = words(text)
    if kind == "exact":
        return text
    if kind == "other":
        return other
    if kind == "lower":
        return text.lower()
    if kind == "upper":
        return text.upper()
    if kind == "title":
        return text.title()
    if kind == "strip_punct":
        return "".join(ch for ch in text if ch not in string.punctuation)
    if kind == "add_punct":
        return rng.choice(['"', "(", "¿", "'", "- "]) + text + rng.choice([".", "!!", "?", ")", "...", " ."])
    if kind == "truncate":
        return " ".join(w[: max(1, len(w) // 2)])
    if kind == "drop_word":
        if len(w) > 1:
            del w[rng.randrange(len(w))]
        return " ".join(w)
    if kind == "shuffle":
        rng.shuffle(w)
        return " ".join(w)
    if kind == "articles":
        out = []
        for x in w:
            if rng.random() < 0.4:
                out.append(rng.choice(["the", "a", "an", "The", "A", "An", "THE"]))
            out.append(x)
        return " ".join(out)
    if kind == "whitespace":
        return rng.choice(["  ", "\t", "\n", " \u00a0"]).join(w) + rng.choice(["", " ", "\n", "\u3000"])
    if kind == "inflect":
        out = []
        for x in w:
            if x.isalpha() and len(x) > 2 and rng.random() < 0.6:
                x = x + rng.choice(["s", "es", "ing", "ed", "ly", "ness", "ational", "ies", "ful"])
            out.append(x)
        return " ".join(out)
    if kind == "concat":
        return text + " " + other
    if kind == "accents":
        table = str.maketrans({"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ", "c": "ç"})
        return "".join(ch.translate(table) if rng.random() < 0.3 else ch for ch in text)
    raise ValueError(kind)


KINDS = ["exact", "other", "lower", "upper", "title", "strip_punct", "add_punct", "truncate",
         "drop_word", "shuffle", "articles", "whitespace", "inflect", "concat", "accents", "exact"]

# Words exercising every step of the Porter algorithm (the paper's examples and the nltk
# extensions), used in the stem fixture and in hand-written pairs.
PORTER_EXAMPLES = """
caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized
hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational
valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization
predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti
sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival
allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment
dependent adoption homologou communism activate angulariti homologous effective bowdlerize
probate rate cease controll roll generalizations generalization general generous oscillators
flies dies died spied cried lying dying tying news innings inning outings outing cannings canning
howe proceed exceed succeed skies enjoy enjoyment spy fly try tried fulli beautifulli archaeology
geology theology philology analogi analogies fully abli ably capably nationally rationally
sensational traditional optional additional irrational emotional yyyy yyyyy y ys by toy syzygy
oats trees ivy troubles private oaten orrery tree trouble tr ee ab abc abcd aaaa 1990s 2000s
abc123 123 covid19 crying worrying buying saying playing days keys monkeys boys guys toys
generously dangerously seriously happily easily hurriedly merrily bus gas yes this his was
is ass bass pass glass sses ies s ss ed ing eed ied ing
agreement agreements measurement settlements government governments environment environmental
international organization organizations civilization realization specialization authorization
beautiful wonderful helpfulness carefulness thankfulness awfulness effectiveness attentiveness
productiveness responsiveness conscious consciousness dangerous famous nervous previous various
relativity activity sensitivity creativity probability ability capability possibility
electricity authenticity elasticity publicity simplicity catholicism criticism mechanism
nationalism socialism capitalism realism tourism optimism animal central local royal natural
assurance performance appearance conference difference reference preference existence presence
player teacher computer farmer manager arithmetic electric public magic traffic music
comfortable suitable reasonable valuable available terrible possible horrible responsible visible
assistant important significant abundant relevant element achievement statement argument
payment moment different excellent intelligent patient absent recent decision vision division
question suggestion action position collection protection section attention direction
location nation station education creation information situation relation generation operation
exaggerate activate separate innovate demonstrate dedicate calculate accumulate graduate
positive negative active native creative massive passive extensive competitive sensitive
organize recognize realize criticize summarize apologize emphasize minimize maximize prize
finalize hospitalize generalize optimize moralize
"""


def porter_words(tasks):
    seen = []
    for w in PORTER_EXAMPLES.split():
        if w not in seen:
            seen.append(w)
    # Vocabulary of the real task texts: lowercase alphanumeric tokens as rouge_score sees them.
    vocab = collections.Counter()
    for _, task in tasks:
        for inst in task["Instances"]:
            for text in [inst["input"]] + inst["output"]:
                for tok in re.split(r"[^a-z0-9]+", text.lower()):
                    if tok:
                        vocab[tok] += 1
    rng = random.Random(SEED + 1)
    pool = sorted(t for t in vocab if t not in seen)
    rng.shuffle(pool)
    seen += sorted(pool[:700])
    # Words the stemmer sees outside rouge_score: capitals (stem lowercases) and non-ASCII.
    seen += ["Caresses", "HAPPY", "Relational", "SKY", "Skies", "NEWS", "Dying", "İnning", "café",
             "naïve", "résumés", "fiancée", "niño", "straße", "über", "ΣΟΦΟΣ", "ποταμός", "Über",
             "KELVIN", "\u212aelvin", "Ĳsland", "ﬁnding", "a", "i", "yy", "ay", "oy"]
    return seen


def porter_fixture(wordlist):
    modes = [porter.PorterStemmer.NLTK_EXTENSIONS, porter.PorterStemmer.MARTIN_EXTENSIONS,
             porter.PorterStemmer.ORIGINAL_ALGORITHM]
    stemmers = [porter.PorterStemmer(mode=m) for m in modes]
    rows = [[w] + [s.stem(w) for s in stemmers] for w in wordlist]
    return {"modes": modes, "words": rows}


HAND_PAIRS = [
    # (prediction, references)
    ("", [""]),
    ("", ["yes"]),
    ("yes", [""]),
    ("   ", [""]),
    ("!!!", [""]),
    ("...", ["---"]),
    ("", ["", "a"]),
    ("The answer", ["answer"]),
    ("a", ["an"]),
    ("the the the", [""]),
    ("An apple a day", ["apple day"]),
    ("Theory of the Anne", ["theory of anne"]),
    ("the_end", ["theend"]),
    ("the-end", ["the end"]),
    ("the1 1the a1", ["the1 1the a1"]),
    ("the\u0301 cafe\u0301", ["the cafe"]),
    ("café", ["cafe"]),
    ("café", ["cafe\u0301"]),
    ("cafe\u0301", ["café"]),
    ("naïve résumé", ["naive resume"]),
    ("İstanbul", ["istanbul"]),
    ("İİİ", ["i i i"]),
    ("\u212aelvin", ["kelvin"]),
    ("ΟΔΟΣ", ["οδος"]),
    ("ΟΔΟΣ", ["οδοσ"]),
    ("ΣΑΣ ΣΑΣ.", ["σας σας"]),
    ("Σ", ["σ"]),
    ("straße", ["STRASSE"]),
    ("ẞ", ["ß"]),
    ("ǅemal", ["ǆemal"]),
    ("ﬁnding", ["finding"]),
    ("ＡＢＣ １２３", ["ａｂｃ １２３"]),
    ("ＡＢＣ", ["abc"]),
    ("don’t stop", ["dont stop"]),
    ("don't stop", ["dont stop"]),
    ("“quoted” text", ['"quoted" text']),
    ("em—dash", ["em dash"]),
    ("em-dash", ["emdash"]),
    ("snake_case_word", ["snakecaseword"]),
    ("a\u00a0b\u3000c\u2003d", ["a b c d"]),
    ("a\x1cb\x1dc\x1ed\x1fe", ["a b c d e"]),
    ("a\u200bb", ["ab"]),
    ("a\u200bb", ["a b"]),
    ("zero\ufeffwidth", ["zerowidth"]),
    ("line\nbreak\r\nwindows\ttab\x0bvt\x0cff", ["line break windows tab vt ff"]),
    ("a\x85b", ["a b"]),
    ("1,000", ["1000"]),
    ("3.14", ["314"]),
    ("3.14", ["3 14"]),
    ("10%", ["10"]),
    ("-5", ["5"]),
    ("1990s", ["1990"]),
    ("12th of May, 2021", ["May 12, 2021"]),
    ("0", ["0"]),
    ("0", ["1"]),
    ("007", ["7"]),
    ("[1, 2, 3]", ["1 2 3"]),
    ("[1, 2, 3]", ["[3, 2, 1]"]),
    ("Yes", ["yes", "Yes.", "YES!"]),
    ("No", ["yes", "maybe", "no."]),
    ("positive", ["negative", "neutral", "mixed"]),
    ("cat dog", ["dog cat", "cat", "dog"]),
    ("dog dog dog", ["dog"]),
    ("dog", ["dog dog dog"]),
    ("the cat sat on the mat", ["the cat sat on the mat", "a cat sat on a mat", "cats sitting on mats"]),
    ("caresses ponies ties caress cats", ["caress poni ti caress cat"]),
    ("feed agreed plastered bled motoring sing", ["feed agree plaster bled motor sing"]),
    ("conflated troubled sized hopping tanned falling hissing fizzed failing filing",
     ["conflate trouble size hop tan fall hiss fizz fail file"]),
    ("happy sky skies", ["happi sky sky"]),
    ("relational conditional rational valenci hesitanci digitizer conformabli radicalli",
     ["relate condition rational valence hesitance digitize conformable radical"]),
    ("differentli vileli analogousli vietnamization predication operator feudalism",
     ["different vile analogous vietnamize predicate operate feudal"]),
    ("decisiveness hopefulness callousness formaliti sensitiviti sensibiliti",
     ["decisive hopeful callous formal sensitive sensible"]),
    ("triplicate formative formalize electriciti electrical hopeful goodness",
     ["triplic form formal electric electric hope good"]),
    ("revival allowance inference airliner gyroscopic adjustable defensible irritant",
     ["reviv allow infer airlin gyroscop adjust defens irrit"]),
    ("replacement adjustment dependent adoption homologou communism activate",
     ["replac adjust depend adopt homolog commun activ"]),
    ("angulariti homologous effective bowdlerize probate rate cease controll roll",
     ["angular homolog effect bowdler probat rate ceas control roll"]),
    ("generalizations", ["generalization", "general", "generous"]),
    ("dying lying tying news innings outings cannings howe proceed exceed succeed",
     ["die lie tie news inning outing canning howe proceed exceed succeed"]),
    ("flies dies died spied cried", ["fly die dead spy cry"]),
    ("geology theology archaeology", ["geologi theologi archaeologi"]),
    ("yyyy yyyyy syzygy", ["yyyi syzygi"]),
    ("it's", ["it s", "its"]),
    ("U.S.A.", ["usa"]),
    ("U.S.A.", ["u s a"]),
    ("e-mail", ["email"]),
    ("Hello, World!", ["hello world"]),
    ("HELLO world", ["hello WORLD"]),
    ("Mr. Smith's dog", ["mr smiths dog"]),
    ("日本語のテキスト", ["日本語のテキスト"]),
    ("日本語 text", ["text 日本語"]),
    ("Привет мир", ["привет мир"]),
    ("مرحبا بالعالم", ["مرحبا بالعالم"]),
    ("emoji 😀 here", ["emoji here"]),
    ("emoji😀here", ["emoji here"]),
    ("👍🏽", ["👍"]),
    ("x" * 40, ["x" * 40]),
    ("word " * 300, ["word " * 299 + "words"]),
]


def hand_long_pairs(tasks, rng):
    """Long texts: task definitions and long inputs against each other."""
    out = []
    by_name = dict(tasks)
    for name in ["task1572_samsum_summary", "task1557_jfleg_answer_generation", "task957_e2e_nlg_text_generation_generate",
                 "task1409_dart_text_generation", "task530_europarl_en_es_translation", "task121_zest_text_modification"]:
        task = by_name.get(name)
        if not task:
            continue
        definition = " ".join(task["Definition"]) if isinstance(task["Definition"], list) else task["Definition"]
        inputs = sorted((i["input"] for i in task["Instances"]), key=len, reverse=True)
        longest = "\n".join(inputs[:8])[:3000]
        out.append((definition[:2500], [longest]))
        out.append((longest, [perturb("drop_word", longest, "", rng), perturb("inflect", longest, "", rng)]))
    return out


def english_pairs(tasks):
    rng = random.Random(SEED)
    pairs = []
    for name, task in tasks:
        instances = task["Instances"]
        step = max(1, len(instances) // 16)
        chosen = instances[::step][:16]
        all_outputs = [o for inst in instances for o in inst["output"]]
        for k, inst in enumerate(chosen):
            refs = list(inst["output"])
            kind = KINDS[k % len(KINDS)]
            other = rng.choice(all_outputs)
            pred = perturb(kind, refs[0], other, rng)
            if k % 5 == 2:  # more references: other outputs of the same task
                extra = [o for o in rng.sample(all_outputs, min(3, len(all_outputs))) if o not in refs]
                refs = refs + extra
            pairs.append({"source": f"{name}:{inst['id']}:{kind}", "prediction": pred, "references": refs})
    for i, (pred, refs) in enumerate(HAND_PAIRS):
        pairs.append({"source": f"hand:{i}", "prediction": pred, "references": refs})
    for i, (pred, refs) in enumerate(hand_long_pairs(tasks, rng)):
        pairs.append({"source": f"long:{i}", "prediction": pred, "references": refs})
    for p in pairs:
        pred, refs = p["prediction"], p["references"]
        p["exact_match"] = int(metric_max_over_ground_truths(exact_match, pred, refs))
        p["rougeL"] = metric_max_over_ground_truths(rouge, pred, refs)
        p["token_f1"] = float(squad_metric_max_over_ground_truths(squad_f1_score, pred, refs))
        # Direct cross-check of the ROUGE value against rouge_score's own multi-reference helper.
        multi = default_rouge_scorer.score_multi(refs, pred)["rougeL"].fmeasure
        assert abs(multi - p["rougeL"]) < 1e-12, (pred, refs)
    return pairs


CJK_SENTENCES = [
    "我们今天去公园散步。", "这个问题的答案是四十二。", "北京是中国的首都。", "请把窗户关上，谢谢。",
    "他每天早上喝一杯咖啡。", "机器学习是人工智能的一个分支。", "今天天气很好，我们出去玩吧！",
    "東京は日本の首都です。", "私は毎朝コーヒーを飲みます。", "この本はとても面白かったです。",
    "すみません、駅はどこですか？", "猫が窓の外を見ている。", "서울은 한국의 수도입니다.",
    "오늘 날씨가 정말 좋네요.", "저는 매일 아침 커피를 마셔요.", "이 문제는 생각보다 어렵다.",
    "人工知能の研究は急速に進んでいる。", "我喜欢读书和听音乐。", "한국어를 배우는 것은 재미있어요.",
    "图书馆在学校的东边。",
]

OTHER_SENTENCES = [
    "Привет, как дела? Всё хорошо.", "Москва — столица России.", "Καλημέρα, τι κάνεις;",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.", "مرحبا، كيف حالك؟", "القاهرة هي عاصمة مصر.",
    "नमस्ते, आप कैसे हैं?", "दिल्ली भारत की राजधानी है।", "Bonjour, comment ça va ?",
    "Ich heiße Jürgen und wohne in München.", "Olá, tudo bem? Sim, tudo ótimo.",
    "İstanbul Türkiye'nin en büyük şehridir.", "Đây là một câu tiếng Việt.", "שלום עולם",
    "emoji 😀🎉 mixed with text", "tabs\tand\nnewlines\n\nhere", "many     spaces    between",
    "  leading and trailing  ", "<|endoftext|>", "before<|endoftext|>after", "a <|endoftext|> b",
    "", " ", "\n", "ĠĠ literal G-dot", "123 456 7890", "¿Qué? ¡Sí!",
]


def xlingual_pairs(tasks):
    rng = random.Random(SEED + 2)
    by_name = dict(tasks)
    pairs = []
    task = by_name["task530_europarl_en_es_translation"]
    outputs = [o for inst in task["Instances"] for o in inst["output"]]
    xkinds = ["exact", "other", "lower", "upper", "strip_punct", "add_punct", "truncate", "drop_word",
              "shuffle", "whitespace", "concat", "accents", "title"]
    for k, inst in enumerate(task["Instances"]):
        for j in range(5):
            kind = xkinds[(k * 5 + j) % len(xkinds)]
            refs = list(inst["output"])
            pred = perturb(kind, refs[0], rng.choice(outputs), rng)
            if j == 3:
                refs = refs + rng.sample(outputs, 2)
            pairs.append({"source": f"task530:{inst['id']}:{kind}", "prediction": pred, "references": refs})
        # English source against the Spanish reference (a model that did not translate).
        pairs.append({"source": f"task530:{inst['id']}:untranslated", "prediction": inst["input"], "references": list(inst["output"])})
    def chars_perturb(text, kind):
        c = list(text)
        if kind == "drop" and len(c) > 1:
            del c[rng.randrange(len(c))]
        elif kind == "swap" and len(c) > 2:
            i = rng.randrange(len(c) - 1)
            c[i], c[i + 1] = c[i + 1], c[i]
        elif kind == "half":
            c = c[: max(1, len(c) // 2)]
        elif kind == "space":
            c = list(" ".join(c))
        return "".join(c)
    for sentences, tag in [(CJK_SENTENCES, "cjk"), (OTHER_SENTENCES, "other")]:
        for i, s in enumerate(sentences):
            for kind in ["same", "drop", "swap", "half", "space"]:
                pred = s if kind == "same" else chars_perturb(s, kind)
                other = sentences[(i + 1) % len(sentences)]
                refs = [s] if kind != "swap" else [other, s]
                pairs.append({"source": f"{tag}:{i}:{kind}", "prediction": pred, "references": refs})
    for p in pairs:
        p["rougeL"] = metric_max_over_ground_truths(rouge, p["prediction"], p["references"], xlingual=True)
        p["exact_match"] = int(metric_max_over_ground_truths(exact_match, p["prediction"], p["references"], xlingual=True))
    return pairs


E2E_TASKS = [
    # (task, track, how many instances)
    ("task1344_glue_entailment_classification", "default", 5),
    ("task190_snli_classification", "default", 4),
    ("task391_causal_relationship", "default", 4),
    ("task1390_wscfixed_coreference", "default", 3),
    ("task1342_amazon_us_reviews_title", "default", 4),
    ("task1557_jfleg_answer_generation", "default", 4),
    ("task036_qasc_topic_word_to_generate_related_fact", "default", 3),
    ("task530_europarl_en_es_translation", "xlingual", 6),
]


def e2e(tasks):
    rng = random.Random(SEED + 3)
    by_name = dict(tasks)
    refs, preds = [], []
    for name, track, count in E2E_TASKS:
        task = by_name[name]
        outputs = [o for inst in task["Instances"] for o in inst["output"]]
        for k, inst in enumerate(task["Instances"][:count]):
            record = {"id": inst["id"], "references": inst["output"], "task_id": name,
                      "task_category": task["Categories"][0], "track": track}
            if track == "default" and k == 1:
                del record["track"]  # defaults to the default track
            refs.append(record)
            kind = ["exact", "other", "lower", "drop_word", "add_punct", "inflect"][k % 6]
            preds.append({"id": inst["id"], "prediction": perturb(kind, inst["output"][0], rng.choice(outputs), rng)})
    # A synthetic xlingual task with CJK outputs and a category whose name needs normalizing.
    for i, s in enumerate(CJK_SENTENCES[:5]):
        refs.append({"id": f"zh-{i}", "references": [s], "task_id": "task9999_synthetic_cjk",
                     "task_category": "  Question   Answering ", "track": "xlingual"})
        preds.append({"id": f"zh-{i}", "prediction": s if i % 2 == 0 else s[:-2]})
    # Missing predictions (scored as ""), an unknown prediction id (ignored), a duplicated
    # prediction (the last wins) and a duplicated reference (the last wins, first position kept).
    missing = {refs[3]["id"], refs[-7]["id"]}
    preds = [p for p in preds if p["id"] not in missing]
    preds.append({"id": "not-a-reference", "prediction": "whatever"})
    preds.insert(0, {"id": refs[0]["id"], "prediction": "overwritten later"})
    dup = dict(refs[5])
    dup["references"] = ["a replaced reference"] + list(dup["references"])
    refs.append(dup)
    return refs, preds


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def main():
    tasks = load_tasks()
    os.makedirs(os.path.join(OUT, "e2e"), exist_ok=True)

    pairs = english_pairs(tasks)
    write_jsonl(os.path.join(OUT, "metric_pairs.jsonl"), pairs)
    xpairs = xlingual_pairs(tasks)
    write_jsonl(os.path.join(OUT, "xlingual_pairs.jsonl"), xpairs)
    with open(os.path.join(OUT, "porter_stems.json"), "w", encoding="utf-8") as f:
        json.dump(porter_fixture(porter_words(tasks)), f, ensure_ascii=False, indent=0)
        f.write("\n")

    refs, preds = e2e(tasks)
    ref_path = os.path.join(OUT, "e2e", "references.jsonl")
    pred_path = os.path.join(OUT, "e2e", "predictions.jsonl")
    write_jsonl(ref_path, refs)
    write_jsonl(pred_path, preds)
    results = evaluation_main(pred_path, ref_path)
    with open(os.path.join(OUT, "e2e", "expected.json"), "w") as fout:
        json.dump(results, fout, indent=2)  # as the script writes --output_file

    meta = {
        "generator": "tools/make_metric_fixtures.py",
        "seed": SEED,
        "rouge_score": importlib.metadata.version("rouge-score"),
        "nltk": nltk.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "super_ni_evaluation": f"allenai/natural-instructions@{NI_COMMIT} eval/automatic/evaluation.py",
        "squad_evaluation": f"huggingface/evaluate@{SQUAD_COMMIT} metrics/squad/compute_score.py",
        "gpt2_tokenizer": "../shared/data/gpt2-tokenizer (GPT2TokenizerFast, vocab.json + merges.txt)",
        "counts": {"metric_pairs": len(pairs), "xlingual_pairs": len(xpairs),
                   "porter_words": len(porter_words(tasks)), "e2e_references": len(refs),
                   "e2e_predictions": len(preds), "e2e_keys": len(results)},
    }
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(json.dumps(meta["counts"]))


if __name__ == "__main__":
    main()
