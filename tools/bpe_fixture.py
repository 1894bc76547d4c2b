"""Train a small OPT-style byte-level BPE tokenizer for test fixtures.

`train_opt_style_bpe(out_dir, vocab_size)` writes a directory that looks like a Hugging Face OPT
checkpoint's tokenizer (facebook/opt-125m conventions: `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3,
BOS `</s>` prepended, no prefix space) in both formats found in the wild:

- `tokenizer.json` (the `tokenizers` fast format), and
- `vocab.json` + `merges.txt` + `tokenizer_config.json` + `special_tokens_map.json` (the files
  `GPT2Tokenizer` reads).

Importing this module has no side effects; training is deterministic (fixed corpus, fixed seed),
so regenerating a fixture gives byte-identical files for the same `tokenizers` version.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

#: OPT's fairseq dictionary puts these four first, in this order.
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>"]
BOS_TOKEN = "</s>"  # OPT prepends `</s>` (id 2), not `<s>`.
EOS_TOKEN = "</s>"
PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"

_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged that we'll need more tests; they're cheap and we've time.",
    "I'm sure you'd agree: don't ship what you haven't measured.",
    "Question: What is the capital of France?\nAnswer: Paris is the capital of France.",
    "Instruction: Translate the sentence into German.\nInput: Good morning!\nOutput: Guten Morgen!",
    "In 2023, 1,234 models were trained on 3.5 trillion tokens at 99.9% uptime.",
    "def encode(text):\n    return [vocab[t] for t in text.split()]\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "<html><body><p class=\"note\">Hello &amp; welcome</p></body></html>",
    "Le cœur a ses raisons que la raison ne connaît point. À bientôt, garçon!",
    "Über allen Gipfeln ist Ruh. Straße, Größe, Mädchen, schön.",
    "¿Dónde está la biblioteca? El niño comió una piña en España.",
    "A língua portuguesa é falada em Portugal, no Brasil e em Angola. Não há pressa.",
    "La vita è bella; perché no? Città, università, caffè.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "الثعلب البني السريع يقفز فوق الكلب الكسول.",
    "השועל החום המהיר קופץ מעל הכלב העצלן.",
    "तेज़ भूरी लोमड़ी आलसी कुत्ते के ऊपर कूदती है।",
    "敏捷的棕色狐狸跳过了懒狗。我们今天学习自然语言处理。",
    "素早い茶色の狐がのろまな犬を飛び越える。東京は日本の首都です。",
    "빠른 갈색 여우가 게으른 개를 뛰어넘는다. 안녕하세요, 세계!",
    "สุนัขจิ้งจอกสีน้ำตาลกระโดดข้ามสุนัขขี้เกียจ",
    "Con cáo nâu nhanh nhẹn nhảy qua con chó lười biếng.",
    "Hızlı kahverengi tilki tembel köpeğin üzerinden atlar. Çok güzel, ğüşıöç.",
    "Szybki brązowy lis przeskoczył nad leniwym psem. Zażółć gęślą jaźń.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Emoji: 😀 😂 🥰 👍🏽 👩‍💻 🇫🇷 🇯🇵 ❤️ 🎉✨ 🚀",
    "Math: ∑ x² + √y ≈ π · ∞ ≤ ∀ε>0 ∃δ; α β γ δ.",
    "Tabs\tand  double  spaces,   triple   spaces\n\nand blank lines\r\nwindows line ends.",
    "Prices: $5.99, €4,50, £3, ¥100, ₹250. Call +1 (555) 123-4567.",
    "OPT-IML is an instruction-tuned version of OPT; OPT was released by Meta AI.",
    "Hugging Face tokenizers: byte-level BPE with merges ranked by frequency.",
    "THE SHOUTING CASE. The Title Case. the lower case. We'LL SEE WHAT'S NEXT.",
]

_SYLLABLES = [
    "ka", "to", "ri", "mu", "sen", "lo", "na", "pe", "shi", "ven", "dra", "qu", "ix", "or", "ell",
    "é", "ü", "ñ", "ø", "ł", "ç", "ş", "ğ", "ая", "ов", "ни", "ко", "στ", "ερ", "ال", "ون",
    "的", "是", "人", "の", "に", "は", "한", "국", "어", "ก", "า", "न", "ी", "😀", "🙂",
]


def _synthetic_lines(seed: int = 1234, lines: int = 400) -> list[str]:
    """Seeded pseudo-words so there are enough distinct pairs for a few thousand merges."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        words = []
        for _ in range(rng.randint(4, 12)):
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.2:
                word = word.capitalize()
            if rng.random() < 0.1:
                word += rng.choice([".", ",", "!", "?", "'s", "'re", "'ll"])
            if rng.random() < 0.1:
                word = str(rng.randint(0, 99999))
            words.append(word)
        out.append(" ".join(words))
    return out


def training_corpus() -> list[str]:
    """The built-in corpus: fixed multilingual sentences, repeated, plus seeded synthetic lines."""
    return _SENTENCES * 3 + _synthetic_lines()


def train_opt_style_bpe(out_dir, vocab_size: int = 1000) -> Path:
    """Trains a byte-level BPE on the built-in corpus and saves an OPT-style tokenizer to `out_dir`.

    Writes tokenizer.json, vocab.json, merges.txt, tokenizer_config.json and
    special_tokens_map.json. Loadable with `tokenizers.Tokenizer.from_file` and with transformers'
    `AutoTokenizer` / `GPT2Tokenizer`; `encode` prepends `</s>` (id 2) as OPT does.
    Returns the output directory as a Path.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_corpus(), trainer=trainer)
    for index, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == index, f"{token} should have id {index}"
    bos_id = tokenizer.token_to_id(BOS_TOKEN)
    # OPT's converted tokenizer prepends BOS with a TemplateProcessing post-processor.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN}:0 $A:0",
        pair=f"{BOS_TOKEN}:0 $A:0 {BOS_TOKEN}:1 $B:1",
        special_tokens=[(BOS_TOKEN, bos_id)],
    )
    tokenizer.save(str(out / "tokenizer.json"), pretty=True)

    # The slow-format files are derived from the saved tokenizer.json so both routes share one
    # vocabulary and one merge order.
    model = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda item: item[1]))
    merges = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    with open(out / "merges.txt", "w", encoding="utf-8", newline="\n") as handle:
        handle.write("#version: 0.2\n")
        for left, right in merges:
            handle.write(f"{left} {right}\n")

    def added_token(content: str) -> dict:
        return {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }

    config = {
        "add_bos_token": True,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(i): added_token(t) for i, t in enumerate(SPECIAL_TOKENS)},
        "bos_token": BOS_TOKEN,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TOKEN,
        "errors": "replace",
        "model_max_length": 2048,
        "pad_token": PAD_TOKEN,
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": UNK_TOKEN,
    }
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    # OPT's special_tokens_map.json stores AddedToken dicts for some entries and plain strings for
    # others; keep both spellings so loaders are exercised on each.
    special_map = {
        "bos_token": {"content": BOS_TOKEN, "lstrip": False, "normalized": True, "rstrip": False,
                      "single_word": False},
        "eos_token": {"content": EOS_TOKEN, "lstrip": False, "normalized": True, "rstrip": False,
                      "single_word": False},
        "pad_token": PAD_TOKEN,
        "unk_token": UNK_TOKEN,
    }
    (out / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n",
                                                 encoding="utf-8")
    return out
