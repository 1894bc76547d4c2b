#!/usr/bin/env python3
"""Regenerates the tokenizer parity fixtures under Tests/Fixtures/tokenizer/.

Usage (from the package root):

    /work/venv/bin/python tools/make_tokenizer_fixtures.py [--gpt2-dir ../shared/data/gpt2-tokenizer]

Needs `tokenizers`, `transformers` and `regex`. Writes:

- trained/              an OPT-style tokenizer trained by bpe_fixture.train_opt_style_bpe
                        (tokenizer.json + vocab.json/merges.txt/tokenizer_config.json/special_tokens_map.json)
- trained_cases.json    test strings with the ids Hugging Face gives for `trained/` (with and
                        without BOS), the decoded text, and decode-only cases (random id runs,
                        emoji split into byte tokens) with their expected text
- gpt2_cases.json       the same strings with ids from the real GPT-2 vocabulary (vocab.json +
                        merges.txt in --gpt2-dir; no BOS); only ids are stored, not the vocabulary
- variant_cases.json    ids for trained-optconfig/ (the same vocabulary with facebook/opt-125m's own
                        tokenizer_config.json and special_tokens_map.json, via GPT2Tokenizer) and
                        trained-options/ (tokenizer.json with "a b" merges and added tokens using
                        lstrip/rstrip/single_word/non-special options, via tokenizers)
- unicode_classes.json  how the `tokenizers` ByteLevel pre-tokenizer (Oniguruma) classifies every
                        code point: L (\\p{L}), N (\\p{N}), S (\\s) or O (anything else), as runs

Every id list is checked across routes before it is written: `tokenizers.Tokenizer` from
tokenizer.json, transformers `AutoTokenizer` on the directory, transformers `GPT2Tokenizer` on a
copy holding only vocab.json + merges.txt + configs, and a pure-Python port of transformers 4's
slow `GPT2Tokenizer` (regex + greedy BPE). The port uses the `regex` module, whose Unicode tables
can be newer than Oniguruma's; strings holding a code point the two classify differently are
exempt from that one comparison (the script reports how many).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bpe_fixture import SPECIAL_TOKENS, train_opt_style_bpe  # noqa: E402

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# Code points assigned in Unicode 17, which Swift 6.3 knows and the Oniguruma inside `tokenizers`
# does not (it treats them as unassigned, i.e. "other"); used in a few hand-written strings.
UNICODE17_SAMPLES = "\u088f\u0c5c\ua7ce\ua7f1\U00010940\U00011de0\U00016ea0\U0001e6c0\U000323b0"

HANDWRITTEN = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "Hello world",
    " Hello world",
    "Hello  world",
    "Hello   world  ",
    "The quick brown fox jumps over the lazy dog.",
    "hello\nworld\n\n\nnew paragraph",
    "a\tb\t\tc\t\t\td",
    "line one\r\nline two\r\n",
    "    indented code\n        more indented\n",
    "trailing spaces   ",
    "   leading spaces",
    " \n \n  \t\n",
    "it's",
    "It's John's book, isn't it? They're here; we've been; I'm; you'll; he'd.",
    "IT'S SHOUTING: THEY'RE WE'VE I'M YOU'LL HE'D 'S 'LL 'Ll",
    "don't 'tis '' ''' 's's 're're rock'n'roll",
    " 's ' s '\ns",
    "12345 67890 3.14159 -42 +7 1e10 0x1F",
    "2023-11-22 12:34:56, 1,234,567.89",
    "٠١٢٣٤٥٦٧٨٩ ०१२३ ０１２３ ²³ ½ ¾ Ⅻ ① ⑳",
    "café naïve façade résumé Ångström",
    "cafe\u0301 nai\u0308ve",  # decomposed accents
    "\u0301\u0308 lone combining marks \u0301",
    "a\u0301\u0302\u0303\u0304\u0305",
    "中文分词测试：今天天气很好。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트 처리",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "English 中文 Русский عربي mixed123 scripts!",
    "😀",
    "😀😃😄😁",
    "emoji 😀 in text 🎉!",
    "👩‍💻 👨‍👩‍👧‍👦 🏳️‍🌈 🧑🏽‍🚀",
    "🇫🇷🇩🇪🇯🇵 🇺🇸",
    "👍🏻👍🏼👍🏽👍🏾👍🏿",
    "1️⃣ #️⃣ *️⃣ ❤️ ☺︎",
    "</s>",
    "<s>",
    "<pad>",
    "<unk>",
    "Hello</s>world",
    "Hello </s> world",
    "</s></s><s><pad><unk>",
    "<</s>> <s/> </s <s>s</s>",
    "text with <unk> and <pad> inside",
    "<|endoftext|>",
    "\x00\x01\x02\x03\x7f",
    "ctrl\x1c\x1d\x1e\x1fchars",
    "bell\x07 backspace\x08 escape\x1b",
    "nbsp\u00a0here and\u2009thin\u200aspace\u3000ideographic",
    "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom",
    "nel\x85line\u2028sep\u2029para",
    "\u180emongolian vowel separator",
    "\ufffd replacement char \ufffe\uffff noncharacters",
    "\ue000\uf8ff private use \U000f0000",
    "\U0001d400\U0001d401 math bold \U0001f600",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕋𝕖𝕩𝕥",
    "ﬁ ﬂ ﬀ ligatures, Ⅷ, ㈱",
    "<html><body><p class=\"x\">Tag &amp; entity</p></body></html>",
    "def f(x):\n    return x ** 2  # comment\n",
    "{\"json\": [1, 2, 3], \"key\": null}",
    "$5.99 €4,50 £3 ¥100 ₹250",
    "a+b=c; x-y*z/w%v^u",
    "!!!???...,,,;;;:::",
    "----====____****",
    "a" * 200,
    "ab" * 150,
    "😀" * 50,
    "word " * 60,
    "\u0000",
    "x\u0000y",
    "Unicode 17: " + UNICODE17_SAMPLES,
    UNICODE17_SAMPLES + "abc",
    "Question: What is 2+2?\nAnswer: 4",
    "Instruction: Summarize.\n\nInput: OPT-IML is instruction tuned.\n\nOutput:",
    "    ",
    "\t\t\n\n  x",
    "x \t\n y",
    "ends with newline\n",
    "a\n\nb",
]

_LETTERS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "éèêëàâäôöûüçñßøåæœÉÀÇ"
    "αβγδεζηθλμπσωΑΒΓΔΩ"
    "абвгдежзийклмнопрстуфхцчшщыэюяАБВГД"
    "אבגדהוזחטיכלמנסעפצקרשת"
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    "कखगघचछजझटठडढणतथदधनपफबभमयरलवशसह"
    "กขคงจฉชซญฎฏฐดตถทธนบปผพฟภมยรลวศษสหอฮ"
    "的一是不了人我在有他这为之大来以个中上们"
    "あいうえおかきくけこアイウエオカキクケコ"
    "가나다라마바사아자차카타파하"
)
_DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９²³¹½¾Ⅰ Ⅱ Ⅲ①②③"
_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»—–…·•°§¶©®™€£¥₹∑√∞≈≠≤≥←→↑↓"
_SPACES = [" ", " ", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x85", "\xa0", "\u1680",
           "\u2000", "\u2005", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
           "\x1c", "\x1d", "\x1e", "\x1f", "\u200b", "\ufeff", "\u180e"]
_EMOJI = ["😀", "🎉", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "❤️", "1️⃣", "🧑🏽‍🚀", "✨",
          "🦄", "🥰", "🤖", "☃", "⚡"]
_PIECES = ["</s>", "<s>", "<pad>", "<unk>", "<", ">", "/s", "'s", "'re", "'ve", "'m", "'ll", "'d",
           "'t", "'LL", "'S", "<|endoftext|>"]
_COMBINING = [chr(c) for c in range(0x300, 0x370)] + ["\u20dd", "\u0e31", "\u093f", "\u094d"]


def _random_code_point(rng: random.Random) -> str:
    """Any scalar value at all (assigned or not, private use, noncharacters), never a surrogate."""
    while True:
        plane = rng.choice([0, 0, 0, 1, 1, 2, 3, 14, 15, 16])
        cp = plane * 0x10000 + rng.randrange(0x10000)
        if not 0xD800 <= cp < 0xE000:
            return chr(cp)


def random_strings(count: int, seed: int = 20240601) -> list[str]:
    """Seeded random strings mixing every kind of character the pre-tokenizer distinguishes."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 30)):
            kind = rng.random()
            if kind < 0.25:
                parts.append("".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 8))))
            elif kind < 0.35:
                parts.append("".join(rng.choice(_DIGITS) for _ in range(rng.randint(1, 5))))
            elif kind < 0.45:
                parts.append("".join(rng.choice(_PUNCT) for _ in range(rng.randint(1, 4))))
            elif kind < 0.62:
                parts.append("".join(rng.choice(_SPACES) for _ in range(rng.randint(1, 4))))
            elif kind < 0.70:
                parts.append(rng.choice(_EMOJI))
            elif kind < 0.77:
                parts.append(rng.choice(_PIECES))
            elif kind < 0.82:
                parts.append(rng.choice(_COMBINING))
            elif kind < 0.85:
                parts.append(chr(rng.randrange(0, 0x20)))
            else:
                parts.append(_random_code_point(rng))
        out.append("".join(parts))
    return out


# ---------------------------------------------------------------------------------------------
# An independent reference: transformers 4's slow GPT2Tokenizer, ported.


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class SlowGPT2Reference:
    """Port of transformers 4.x `GPT2Tokenizer.tokenize` (regex split + greedy lowest-rank BPE)."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], added: list[str],
                 bos_id: int | None):
        import regex

        self.encoder = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pattern = regex.compile(GPT2_PATTERN)
        self.added = sorted(added, key=len, reverse=True)
        self.bos_id = bos_id
        self.cache: dict[str, list[str]] = {}

    def bpe(self, token: str) -> list[str]:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            bigram = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        self.cache[token] = list(word)
        return list(word)

    def _split_added(self, text: str) -> list[tuple[bool, str]]:
        pieces, start, i = [], 0, 0
        while i < len(text):
            match = next((t for t in self.added if text.startswith(t, i)), None)
            if match is None:
                i += 1
                continue
            if start < i:
                pieces.append((False, text[start:i]))
            pieces.append((True, match))
            i += len(match)
            start = i
        if start < len(text):
            pieces.append((False, text[start:]))
        return pieces

    def encode(self, text: str) -> list[int]:
        ids = [] if self.bos_id is None else [self.bos_id]
        for is_added, piece in self._split_added(text):
            if is_added:
                ids.append(self.encoder[piece])
                continue
            for word in self.pattern.findall(piece):
                mapped = "".join(self.byte_encoder[b] for b in word.encode("utf-8"))
                ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids


# ---------------------------------------------------------------------------------------------


def hf_character_classes() -> list[list]:
    """Runs [first, last, class] of how `tokenizers`' ByteLevel regex classifies each code point."""
    from tokenizers import pre_tokenizers

    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)

    def classify(c: str) -> str:
        # "a"+c stays one pre-token only when c is \p{L}; likewise "1"+c for \p{N} and "!"+c for
        # the "other" class; whatever is left is \s.
        if len(pre.pre_tokenize_str("a" + c)) == 1:
            return "L"
        if len(pre.pre_tokenize_str("1" + c)) == 1:
            return "N"
        if len(pre.pre_tokenize_str("!" + c)) == 1:
            return "O"
        return "S"

    runs: list[list] = []
    for cp in range(0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        k = classify(chr(cp))
        if runs and runs[-1][2] == k and runs[-1][1] == cp - 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp, k])
    return runs


def regex_disagreements(runs: list[list]) -> set[int]:
    """Code points the `regex` module classifies differently from Oniguruma (Unicode versions)."""
    import regex

    letter, number, space = regex.compile(r"\p{L}"), regex.compile(r"\p{N}"), regex.compile(r"\s")
    out = set()
    for first, last, k in runs:
        for cp in range(first, last + 1):
            c = chr(cp)
            mine = "L" if letter.match(c) else "N" if number.match(c) else "S" if space.match(c) else "O"
            if mine != k:
                out.add(cp)
    return out


def decode_cases(fast, vocab_size: int, special_ids: list[int], seed: int) -> list[dict]:
    """Id runs whose decoding exercises byte joins, broken UTF-8 and special-token skipping."""
    rng = random.Random(seed)
    byte_token = {b: fast.token_to_id(c) for b, c in bytes_to_unicode().items()}
    assert all(v is not None for v in byte_token.values()), "byte-level vocab lacks a byte token"
    cases = []

    def add(ids):
        cases.append({
            "ids": ids,
            "text": fast.decode(ids, skip_special_tokens=False),
            "text_skip_special": fast.decode(ids, skip_special_tokens=True),
        })

    for text in ["😀", "👩‍💻", "🇫🇷", "中文", "é", "naïve café", "a😀b", "🎉✨🚀"]:
        add([byte_token[b] for b in text.encode("utf-8")])
    emoji = "👩‍💻".encode("utf-8")
    add([byte_token[b] for b in emoji[:2]])                    # truncated 4-byte sequence
    add([byte_token[b] for b in emoji[:3]] + [byte_token[0x61]])
    add([byte_token[b] for b in emoji[1:]])                    # starts with a continuation byte
    add([byte_token[b] for b in b"\xed\xa0\x80"])               # encoded surrogate
    add([byte_token[b] for b in b"\xc0\xaf\xe0\x80\xaf\xf8\x88\x80\x80\x80"])  # overlong/too long
    add([byte_token[b] for b in b"\xf4\x90\x80\x80\xf0\x9f\x98"])  # above U+10FFFF, truncated
    add([byte_token[b] for b in b"\xe2\x82"] + special_ids[:1] + [byte_token[0xac]])
    add(special_ids + [byte_token[0x41]] + special_ids)
    add([])
    for _ in range(40):
        length = rng.randint(1, 24)
        ids = [rng.randrange(vocab_size) for _ in range(length)]
        if rng.random() < 0.5:
            ids = [byte_token[rng.randrange(256)] if rng.random() < 0.6 else i for i in ids]
        add(ids)
    return cases


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpt2-dir", type=Path, default=root.parent / "shared/data/gpt2-tokenizer")
    parser.add_argument("--out", type=Path, default=root / "Tests/Fixtures/tokenizer")
    args = parser.parse_args()

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import AutoTokenizer, GPT2Tokenizer

    out: Path = args.out
    trained = out / "trained"
    if trained.exists():
        shutil.rmtree(trained)
    train_opt_style_bpe(trained, vocab_size=1000)

    strings = HANDWRITTEN + random_strings(80)
    assert len(strings) == len(set(strings)), "duplicate test strings"

    print("classifying all code points with tokenizers' pre-tokenizer ...", flush=True)
    runs = hf_character_classes()
    (out / "unicode_classes.json").write_text(json.dumps({"runs": runs}) + "\n", encoding="utf-8")
    disagree = regex_disagreements(runs)
    print(f"  {len(runs)} runs; `regex` and Oniguruma disagree on {len(disagree)} code points")

    def reference_exempt(text: str) -> bool:
        return any(ord(c) in disagree for c in text)

    # ---- trained OPT-style tokenizer, every loading route ------------------------------------
    fast = Tokenizer.from_file(str(trained / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(str(trained))
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(trained / name, Path(tmp) / name)
        slow_route = GPT2Tokenizer.from_pretrained(tmp)
    vocab = json.loads((trained / "vocab.json").read_text(encoding="utf-8"))
    merges = [tuple(line.split(" ")) for line in
              (trained / "merges.txt").read_text(encoding="utf-8").splitlines()[1:] if line]
    reference = SlowGPT2Reference(vocab, merges, SPECIAL_TOKENS, bos_id=vocab["</s>"])
    special_ids = [vocab[t] for t in SPECIAL_TOKENS]

    exempt = 0
    cases = []
    for text in strings:
        ids = fast.encode(text).ids
        no_bos = fast.encode(text, add_special_tokens=False).ids
        assert ids == [2] + no_bos, (text, ids)
        assert auto(text)["input_ids"] == ids, ("AutoTokenizer", text)
        assert slow_route(text)["input_ids"] == ids, ("GPT2Tokenizer vocab+merges", text)
        if reference_exempt(text):
            exempt += 1
        else:
            assert reference.encode(text) == ids, ("slow reference", text, reference.encode(text), ids)
        decoded = fast.decode(ids, skip_special_tokens=False)
        assert auto.decode(ids) == decoded
        cases.append({
            "text": text,
            "ids": ids,
            "ids_no_bos": no_bos,
            "decoded": decoded,
            "decoded_skip_special": fast.decode(ids, skip_special_tokens=True),
        })
    cleanup = []
    for text in ["Hello , world . Is it ? Yes ! I 'm sure you 're right , it 's fine .",
                 "don 't ' quoted ' can n't we 've", "no cleanup needed"]:
        ids = fast.encode(text, add_special_tokens=False).ids
        # transformers 5 refuses this cleanup for BPE tokenizers; transformers 4 applied it to
        # OPT by default. The expected text is its `clean_up_tokenization` applied to the decode.
        cleanup.append({"ids": ids, "text": auto.clean_up_tokenization(fast.decode(ids))})
    trained_doc = {
        "comment": "Generated by tools/make_tokenizer_fixtures.py; do not edit by hand.",
        "bos_id": 2, "eos_id": 2, "pad_id": 1, "unk_id": 3, "vocab_size": len(auto),
        "cases": cases,
        "decode_cases": decode_cases(fast, fast.get_vocab_size(), special_ids, seed=7),
        "cleanup_cases": cleanup,
    }
    (out / "trained_cases.json").write_text(json.dumps(trained_doc, indent=1) + "\n",
                                            encoding="utf-8")
    print(f"trained: {len(cases)} strings, slow reference skipped on {exempt}")

    # ---- variants: facebook/opt-125m's own config files, and added-token options -------------
    variant_strings = [text for text in HANDWRITTEN if "<" in text or "'" in text][:30] + [
        "Hello <mask> world", "Hello<mask>world", "x   <mask>   y", "<ctx> a <ctx>b a<ctx> <ctx>",
        "word wor sword wor's wor", "中文字 and 中文字中文字", "café é! é!é!", " <mask>\t<ctx>\t",
        "</s> <s> <unk> <pad> <mask>", "",
    ]
    variant_cases = {}
    optconfig = out / "trained-optconfig"
    if optconfig.exists():
        shutil.rmtree(optconfig)
    optconfig.mkdir()
    for name in ["vocab.json", "merges.txt"]:
        shutil.copy(trained / name, optconfig / name)
    # facebook/opt-125m's tokenizer_config.json and special_tokens_map.json, verbatim in content:
    # no added_tokens_decoder, unk is </s>, so only </s> and <pad> are split out literally.
    def opt_token(content):
        return {"content": content, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": True, "__type": "AddedToken"}
    (optconfig / "tokenizer_config.json").write_text(json.dumps({
        "errors": "replace", "unk_token": opt_token("</s>"), "bos_token": opt_token("</s>"),
        "eos_token": opt_token("</s>"), "pad_token": opt_token("<pad>"), "add_prefix_space": False,
        "add_bos_token": True, "special_tokens_map_file": None,
        "name_or_path": "patrickvonplaten/opt-30b"}, indent=2) + "\n", encoding="utf-8")
    (optconfig / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": {k: v for k, v in opt_token("</s>").items() if k != "__type"},
        "eos_token": {k: v for k, v in opt_token("</s>").items() if k != "__type"},
        "unk_token": {k: v for k, v in opt_token("</s>").items() if k != "__type"},
        "pad_token": {k: v for k, v in opt_token("<pad>").items() if k != "__type"}}, indent=2) + "\n",
        encoding="utf-8")
    # AutoTokenizer resolves OPT checkpoints (model_type "opt") to GPT2Tokenizer.
    opt_like = GPT2Tokenizer.from_pretrained(str(optconfig))
    variant_cases["trained-optconfig"] = {
        "bos_id": opt_like.bos_token_id, "eos_id": opt_like.eos_token_id, "pad_id": opt_like.pad_token_id,
        "unk_id": opt_like.unk_token_id, "vocab_size": len(opt_like),
        "cases": [{"text": t, "ids": opt_like(t)["input_ids"],
                   "decoded_skip_special": opt_like.decode(opt_like(t)["input_ids"], skip_special_tokens=True)}
                  for t in variant_strings],
    }

    from tokenizers import AddedToken
    options_dir = out / "trained-options"
    if options_dir.exists():
        shutil.rmtree(options_dir)
    options_dir.mkdir()
    with_options = Tokenizer.from_file(str(trained / "tokenizer.json"))
    with_options.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True),
                                     AddedToken("<ctx>", rstrip=True, single_word=True, special=True)])
    with_options.add_tokens([AddedToken("wor", single_word=True, normalized=True, special=False),
                             AddedToken("中文字", special=False), AddedToken("é!", special=False)])
    # Older `tokenizers` wrote merges as "a b" strings; keep that spelling here so both load.
    options_json = json.loads(with_options.to_str())
    options_json["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m
                                       for m in options_json["model"]["merges"]]
    (options_dir / "tokenizer.json").write_text(json.dumps(options_json, ensure_ascii=False, indent=1) + "\n",
                                                encoding="utf-8")
    reloaded = Tokenizer.from_file(str(options_dir / "tokenizer.json"))
    option_cases = []
    for t in variant_strings:
        ids = reloaded.encode(t).ids
        assert ids == with_options.encode(t).ids
        option_cases.append({"text": t, "ids": ids,
                             "decoded": reloaded.decode(ids, skip_special_tokens=False),
                             "decoded_skip_special": reloaded.decode(ids, skip_special_tokens=True)})
    variant_cases["trained-options"] = {"vocab_size": reloaded.get_vocab_size(), "cases": option_cases}
    (out / "variant_cases.json").write_text(json.dumps(variant_cases, indent=1) + "\n", encoding="utf-8")
    print(f"variants: {len(variant_strings)} strings each")

    # ---- the real GPT-2 vocabulary -----------------------------------------------------------
    gpt2_dir: Path = args.gpt2_dir
    if not (gpt2_dir / "vocab.json").exists():
        print(f"no GPT-2 vocabulary at {gpt2_dir}; gpt2_cases.json not regenerated")
        return
    gpt2 = Tokenizer(models.BPE.from_file(str(gpt2_dir / "vocab.json"), str(gpt2_dir / "merges.txt")))
    gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    gpt2.decoder = decoders.ByteLevel()
    gvocab = json.loads((gpt2_dir / "vocab.json").read_text(encoding="utf-8"))
    gmerges = [tuple(line.split(" ")) for line in
               (gpt2_dir / "merges.txt").read_text(encoding="utf-8").splitlines()[1:] if line]
    greference = SlowGPT2Reference(gvocab, gmerges, [], bos_id=None)
    gcases = []
    exempt = 0
    for text in strings:
        ids = gpt2.encode(text).ids
        if reference_exempt(text):
            exempt += 1
        else:
            assert greference.encode(text) == ids, ("gpt2 slow reference", text)
        gcases.append({
            "text": text,
            "ids": ids,
            "decoded": gpt2.decode(ids),
        })
    gpt2_doc = {
        "comment": "Generated by tools/make_tokenizer_fixtures.py; do not edit by hand. Ids for "
                   "the GPT-2 vocab.json + merges.txt in ../shared/data/gpt2-tokenizer.",
        "vocab_size": gpt2.get_vocab_size(),
        "cases": gcases,
        "decode_cases": decode_cases(gpt2, gpt2.get_vocab_size(), [], seed=11),
    }
    (out / "gpt2_cases.json").write_text(json.dumps(gpt2_doc, indent=1) + "\n", encoding="utf-8")
    print(f"gpt2: {len(gcases)} strings, slow reference skipped on {exempt}")


if __name__ == "__main__":
    main()
