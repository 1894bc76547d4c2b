#!/usr/bin/env python3
"""Reference fixtures for the Swift re-implementation of PromptSource template rendering.

For each of the 279 templates.yaml files (179 datasets) under shared/data/promptsource/templates this
script makes rows with the dataset's Hugging Face schema (written here by hand: `datasets` features,
ClassLabel as ints, a Sequence of a dict presented as a dict of lists), applies every template with
PromptSource 0.2.3's own `templates.py` (its `Template.apply`, `get_answer_choices_list` and Jinja
environment with its filters; imported from an unpacked source distribution, not copied here) and
writes what it returns.

    python3 -m venv /work/venv-ps && /work/venv-ps/bin/pip install jinja2 pyyaml pandas setuptools
    pip download --no-deps --ignore-requires-python promptsource==0.2.3 -d /tmp/ps && tar -C /tmp/ps -xzf /tmp/ps/promptsource-0.2.3.tar.gz
    /work/venv-ps/bin/python tools/make_promptsource_fixtures.py --promptsource /tmp/ps/promptsource-0.2.3

Outputs (Tests/Fixtures/promptsource/): datasets/<folder>/train.jsonl (rows), datasets/<folder>/features.json
(the schema), expected.jsonl (one line per template and row), README.md (counts).
"""
import argparse
import itertools
import json
import os
import random
import sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20240607

# ----------------------------------------------------------------------------------------------
# Schema mini-language: "string", "int32", "int64", "float32", "float64", "bool", CL([...]) for a
# ClassLabel, Seq(f) for a Sequence, and dicts (ordered) for nested features.
# ----------------------------------------------------------------------------------------------


class CL:
    def __init__(self, names):
        self.names = names if isinstance(names, list) else [str(k) for k in range(names)]

    def to_json(self):
        return {"_type": "ClassLabel", "names": self.names}


class Seq:
    def __init__(self, feature):
        self.feature = feature

    def to_json(self):
        return {"_type": "Sequence", "feature": feat_json(self.feature)}


def feat_json(f):
    if isinstance(f, (CL, Seq)):
        return f.to_json()
    if isinstance(f, dict):
        return OrderedDict((k, feat_json(v)) for k, v in f.items())
    if isinstance(f, list):
        return [feat_json(f[0])]
    return {"_type": "Value", "dtype": f}


S, I, I64, F, B = "string", "int32", "int64", "float32", "bool"

# ----------------------------------------------------------------------------------------------
# Text material: a few small coherent "topics" so that questions, answers and contexts agree.
# ----------------------------------------------------------------------------------------------

TOPICS = [
    dict(title="Amazon rainforest", word="rainforest", entity="Brazil", person="Ana Souza",
         sents=["The Amazon rainforest covers most of the Amazon basin of South America.",
                "About sixty percent of the forest lies within Brazil.",
                "It is home to roughly ten percent of all known species.",
                "Large areas have been cleared for cattle ranching since the 1970s."],
         question="Which country contains most of the Amazon rainforest?", answer="Brazil",
         distractors=["Peru", "Chile", "Mexico"]),
    dict(title="Eiffel Tower", word="tower", entity="Paris", person="Gustave Eiffel",
         sents=["The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
                "It was designed by the company of the engineer Gustave Eiffel.",
                "At first many artists criticised its iron design.",
                "Today it is one of the most visited monuments in the world."],
         question="When was the Eiffel Tower completed?", answer="1889",
         distractors=["1901", "1875", "1923"]),
    dict(title="Photosynthesis", word="sunlight", entity="chlorophyll", person="Jan Ingenhousz",
         sents=["Plants use sunlight to turn water and carbon dioxide into sugar.",
                "The green pigment chlorophyll absorbs the light.",
                "Oxygen is released into the air as a by-product.",
                "Without this process most life on Earth could not exist."],
         question="What do plants use to turn water and carbon dioxide into sugar?", answer="sunlight",
         distractors=["moonlight", "salt", "wind"]),
    dict(title="Marie Curie", word="radium", entity="Warsaw", person="Marie Curie",
         sents=["Marie Curie was born in Warsaw in 1867.",
                "She discovered the elements polonium and radium with her husband Pierre.",
                "She was the first woman to win a Nobel Prize.",
                "She later founded research institutes in Paris and Warsaw."],
         question="Where was Marie Curie born?", answer="Warsaw",
         distractors=["Vienna", "Berlin", "Lyon"]),
    dict(title="Sunday baking", word="bread", entity="Maria", person="Maria",
         sents=["Maria baked two loaves of bread for her neighbours on Sunday morning.",
                "She had bought fresh flour at the market the day before.",
                "The kitchen smelled of yeast and warm butter.",
                "By noon both loaves had been eaten."],
         question="What did Maria bake on Sunday morning?", answer="two loaves of bread",
         distractors=["a cake", "cookies", "a pie"]),
    dict(title="Cup final", word="goal", entity="Leeds", person="Tom Harris",
         sents=["Leeds won the cup final after a late goal by Tom Harris.",
                "The match had been goalless for eighty minutes.",
                "More than forty thousand fans watched in the stadium.",
                "The coach praised the defence after the game."],
         question="Who scored the winning goal in the cup final?", answer="Tom Harris",
         distractors=["the goalkeeper", "the coach", "a defender"]),
]

LONG_TEXT = " ".join(s for t in TOPICS for s in t["sents"])
while len(LONG_TEXT) < 2300:
    LONG_TEXT = LONG_TEXT + " " + LONG_TEXT
LONG_TEXT = LONG_TEXT[:2350].rsplit(" ", 1)[0] + "."

REVIEWS = [
    "I loved this product; it works exactly as described and arrived early.",
    "Terrible quality. It broke after two days and support never answered.",
    "It is okay for the price, but the battery could last longer.",
    "Absolutely fantastic, the best purchase I have made this year!",
    "Not great, not awful. The colour is different from the photos.",
    "The staff were friendly and the food came quickly.",
]


def T(i):
    return TOPICS[i % len(TOPICS)]


def para(i, k=3):
    return " ".join(T(i)["sents"][:k])


def sent(i, j=0):
    return T(i)["sents"][j % 4]


def opts(i, n=4, correct_at=None):
    t = T(i)
    o = list((t["distractors"] + ["the ocean", "a library", "the moon", "a forest"])[: n - 1])
    pos = (i % n) if correct_at is None else correct_at
    o.insert(pos, t["answer"])
    return o, pos


# ----------------------------------------------------------------------------------------------
# Generic filler: value for a feature from the field's name (used where a dataset gives no row
# builder of its own for that field).
# ----------------------------------------------------------------------------------------------

def gen_string(name, i):
    n = name.lower()
    t = T(i)
    if any(k in n for k in ("question", "query")):
        return t["question"]
    if "answer" in n:
        return t["answer"]
    if any(k in n for k in ("title", "headline", "subject")):
        return t["title"]
    if any(k in n for k in ("summary", "highlight", "target", "compression", "explanation")):
        return sent(i, 0)
    if any(k in n for k in ("context", "passage", "article", "text", "document", "story", "plot",
                            "review", "content", "paragraph", "abstract", "support", "body", "dialogue")):
        return para(i)
    if any(k in n for k in ("sentence", "premise", "hypothesis", "claim", "statement", "sent", "goal")):
        return sent(i, i // len(TOPICS))
    if any(k in n for k in ("word", "name", "category", "domain", "topic", "entity", "label")):
        return t["word"]
    if "date" in n:
        return "2020-03-%02d" % (i + 1)
    if "id" in n:
        return "id-%d" % i
    return sent(i, 1)


def gen(feature, name, i, rows_n):
    if isinstance(feature, CL):
        return i % len(feature.names)
    if isinstance(feature, Seq):
        f = feature.feature
        k = 2 + (i % 3)
        if isinstance(f, dict):
            items = [gen(f, name, i + j, rows_n) for j in range(k)]
            return OrderedDict((kk, [it[kk] for it in items]) for kk in f)
        return [gen(f, name, i + j, rows_n) for j in range(k)]
    if isinstance(feature, dict):
        return OrderedDict((k, gen(v, k, i, rows_n)) for k, v in feature.items())
    if isinstance(feature, list):
        return [gen(feature[0], name, i + j, rows_n) for j in range(2)]
    if feature == S:
        return gen_string(name, i)
    if feature in (I, I64):
        return i % 5
    if feature in (F, "float64"):
        return round(0.5 + 1.25 * (i % 4), 2)
    if feature == B:
        return i % 2 == 0
    raise ValueError(feature)


# ----------------------------------------------------------------------------------------------
# Datasets.  DS[folder-pattern] = (features, rows-builder or None, n-rows or None, long-field or None)
# A builder gets (i) and returns a dict of field values that override the generic ones.
# ----------------------------------------------------------------------------------------------

DS = OrderedDict()


def ds(folders, features, build=None, n=None, long=None):
    for f in folders.split():
        DS[f] = (features, build, n, long)

# ---- helpers for common shapes -----------------------------------------------------------------

def squad_like(i, k=None):
    t = T(i)
    ctx = para(i)
    a = t["answer"]
    n = 1 + (i % 3) if k is None else k
    return dict(context=ctx, question=t["question"],
                answers=OrderedDict(text=[a] * n, answer_start=[ctx.find(a)] * n))


SQUAD = OrderedDict(id=S, title=S, context=S, question=S, answers=Seq(OrderedDict(text=S, answer_start=I)))
NLI3 = CL(["entailment", "neutral", "contradiction"])


def nli_rows(i):
    t = T(i)
    hyps = ["%s is mentioned in the text." % t["entity"], "The text was written in 2010.",
            "%s is never mentioned." % t["entity"]]
    return dict(premise=para(i, 2), hypothesis=hyps[i % 3])


def mc_choices(i, labels="ABCD", n=4):
    o, pos = opts(i, n)
    return OrderedDict(text=o, label=list(labels[:n])), labels[pos]


# ---- the datasets ---------------------------------------------------------------------------------

ds("Zaid/coqa_expanded",
   OrderedDict(source=S, story=S, turn_id=I, question=S,
               answer=OrderedDict(input_text=S, answer_start=I, answer_end=I)),
   lambda i: (lambda t, st: dict(story=st, question=t["question"],
                                 answer=OrderedDict(input_text=t["answer"] if i % 3 else "unknown",
                                                    answer_start=st.find(t["answer"]) if i % 3 else -1,
                                                    answer_end=st.find(t["answer"]) + len(t["answer"]) if i % 3 else -1)))(T(i), para(i)),
   n=3, long="story")
ds("Zaid/quac_expanded",
   OrderedDict(dialogue_id=S, context=S, question=S, answer=OrderedDict(texts=Seq(S), answer_starts=Seq(I)), turn_id=I),
   lambda i: dict(context=para(i), question=T(i)["question"],
                  answer=OrderedDict(texts=[T(i)["answer"]], answer_starts=[para(i).find(T(i)["answer"])])))


def acro(i):
    rows = [
        (["The", "World", "Health", "Organization", "(", "WHO", ")", "issued", "new", "guidance", "."],
         [4, 0, 2, 2, 4, 1, 4, 4, 4, 4, 4]),
        (["We", "train", "a", "recurrent", "neural", "network", "(", "RNN", ")", "on", "the", "NLP", "corpus", "."],
         [4, 4, 4, 0, 2, 2, 4, 1, 4, 4, 4, 1, 4, 4]),
        (["Results", "on", "the", "SQuAD", "benchmark", "improve", "with", "BERT", "."],
         [4, 4, 4, 1, 4, 4, 4, 1, 4]),
        (["The", "United", "Nations", "(", "U", ".", "N", ".", ")", "met", "today", "."],
         [4, 0, 2, 4, 1, 3, 3, 3, 4, 4, 4, 4]),
    ]
    tok, lab = rows[i % len(rows)]
    return dict(id=str(i), tokens=tok, labels=lab)


ds("acronym_identification",
   OrderedDict(id=S, tokens=Seq(S), labels=Seq(CL(["B-long", "B-short", "I-long", "I-short", "O"]))), acro, n=4)
ds("ade_corpus_v2/Ade_corpus_v2_classification", OrderedDict(text=S, label=CL(["Not-Related", "Related"])),
   lambda i: dict(text=["Severe rash developed after treatment with amoxicillin.",
                        "The patient was discharged home in stable condition."][i % 2]))
ADE_IDX = OrderedDict(drug=OrderedDict(start_char=I, end_char=I), effect=OrderedDict(start_char=I, end_char=I))
ds("ade_corpus_v2/Ade_corpus_v2_drug_ade_relation",
   OrderedDict(text=S, drug=S, effect=S, indexes=OrderedDict(drug=Seq(OrderedDict(start_char=I, end_char=I)),
                                                             effect=Seq(OrderedDict(start_char=I, end_char=I)))),
   lambda i: [dict(text="Severe rash developed after treatment with amoxicillin.", drug="amoxicillin", effect="rash",
                   indexes=OrderedDict(drug=OrderedDict(start_char=[43], end_char=[54]), effect=OrderedDict(start_char=[7], end_char=[11]))),
              dict(text="Lithium toxicity caused tremor in an elderly woman.", drug="Lithium", effect="tremor",
                   indexes=OrderedDict(drug=OrderedDict(start_char=[0], end_char=[7]), effect=OrderedDict(start_char=[24], end_char=[30])))][i % 2])
ds("ade_corpus_v2/Ade_corpus_v2_drug_dosage_relation",
   OrderedDict(text=S, drug=S, dosage=S, indexes=OrderedDict(drug=Seq(OrderedDict(start_char=I, end_char=I)),
                                                             dosage=Seq(OrderedDict(start_char=I, end_char=I)))),
   lambda i: [dict(text="She received 500 mg of amoxicillin twice daily.", drug="amoxicillin", dosage="500 mg",
                   indexes=OrderedDict(drug=OrderedDict(start_char=[23], end_char=[34]), dosage=OrderedDict(start_char=[13], end_char=[19]))),
              dict(text="Methotrexate 15 mg weekly was started in March.", drug="Methotrexate", dosage="15 mg weekly",
                   indexes=OrderedDict(drug=OrderedDict(start_char=[0], end_char=[12]), dosage=OrderedDict(start_char=[13], end_char=[25])))][i % 2])
ds("adversarial_qa/adversarialQA adversarial_qa/dbert adversarial_qa/dbidaf adversarial_qa/droberta",
   OrderedDict(id=S, title=S, context=S, question=S, answers=Seq(OrderedDict(text=S, answer_start=I)),
               metadata=OrderedDict(split=S, model_in_the_loop=S)),
   lambda i: dict(squad_like(i), metadata=OrderedDict(split=["train", "validation", "test"][i % 3], model_in_the_loop="BERT-Large")),
   n=3)
ds("aeslc", OrderedDict(email_body=S, subject_line=S),
   lambda i: dict(email_body=["Hi team,\nPlease find attached the revised budget for Q3. Let me know if you have comments by Friday.\nThanks,\nJeff",
                              "John,\nThe meeting with the gas traders is moved to 3 pm tomorrow in room 32C.\nRegards, Sara"][i % 2],
                  subject_line=["Revised Q3 budget", "Meeting moved to 3 pm"][i % 2]))
ds("ag_news", OrderedDict(text=S, label=CL(["World", "Sports", "Business", "Sci/Tech"])),
   lambda i: dict(text=["Leaders meet in Geneva to discuss a ceasefire in the region.",
                        "Leeds win the cup final after a late goal by Tom Harris.",
                        "Oil prices rise as investors worry about supply cuts.",
                        "New chip promises faster phones with longer battery life."][i % 4]), long="text")
for sub in ("ARC-Challenge", "ARC-Easy"):
    ds("ai2_arc/" + sub, OrderedDict(id=S, question=S, choices=Seq(OrderedDict(text=S, label=S)), answerKey=S),
       lambda i: (lambda c: dict(question=T(i)["question"], choices=c[0], answerKey=c[1]))(mc_choices(i, "ABCD" if i % 2 == 0 else "1234")))
ds("amazon_polarity", OrderedDict(label=CL(["negative", "positive"]), title=S, content=S),
   lambda i: dict(title=["Broke after two days", "Great little speaker"][i % 2], content=REVIEWS[1 - i % 2 if i % 2 else 1]
                  if False else [REVIEWS[1], REVIEWS[0]][i % 2]))
ds("amazon_reviews_multi/en",
   OrderedDict(review_id=S, product_id=S, reviewer_id=S, stars=I, review_body=S, review_title=S, language=S, product_category=S),
   lambda i: dict(review_id="en_%07d" % i, product_id="product_en_%07d" % (i * 7), reviewer_id="reviewer_en_%07d" % (i * 3),
                  stars=1 + i % 5, review_body=REVIEWS[i % 5], review_title=["Loved it", "Broke fast", "Okay", "Fantastic", "Meh"][i % 5],
                  language="en", product_category=["home", "wireless", "kitchen", "toy", "apparel"][i % 5]), n=5)
ds("amazon_us_reviews/Wireless_v1_00",
   OrderedDict(marketplace=S, customer_id=S, review_id=S, product_id=S, product_parent=S, product_title=S, product_category=S,
               star_rating=I, helpful_votes=I, total_votes=I, vine=CL(["N", "Y"]), verified_purchase=CL(["N", "Y"]),
               review_headline=S, review_body=S, review_date=S),
   lambda i: dict(marketplace="US", customer_id=str(10000 + i), review_id="R%05d" % i, product_id="B00%05d" % i,
                  product_parent=str(500 + i), product_title=["USB-C charging cable, 2 m", "Wireless earbuds with case"][i % 2],
                  product_category="Wireless", star_rating=1 + i % 5, review_headline=["Five Stars", "Stopped working"][i % 2],
                  review_body=REVIEWS[i % 5], review_date="2015-08-%02d" % (i + 1)), n=5)


def ambig(i):
    if i % 2 == 0:
        ann = OrderedDict(type=["singleAnswer"], answer=[["Brazil", "Brasil"]],
                          qaPairs=[OrderedDict(question=[], answer=[])])
        q = "Which country contains most of the Amazon rainforest?"
    else:
        ann = OrderedDict(type=["multipleQAs"], answer=[[]],
                          qaPairs=[OrderedDict(question=["Who won the 2005 cup final?", "Who won the 2006 cup final?"],
                                               answer=[["Leeds", "Leeds United"], ["Hull"]])])
        q = "Who won the cup final?"
    return dict(id=str(i), question=q, annotations=ann)


ds("ambig_qa/light",
   OrderedDict(id=S, question=S, annotations=Seq(OrderedDict(type=S, answer=Seq(S),
                                                            qaPairs=Seq(OrderedDict(question=S, answer=Seq(S)))))), ambig)
ds("anli", OrderedDict(uid=S, premise=S, hypothesis=S, label=NLI3, reason=S), nli_rows, long="premise")
ds("app_reviews", OrderedDict(package_name=S, review=S, date=S, star=I),
   lambda i: dict(package_name=["com.mantz_it.rfanalyzer", "org.wikipedia"][i % 2], review=REVIEWS[i % 5],
                  date="October 12 2016", star=1 + i % 5), n=5)
ds("aqua_rat/raw", OrderedDict(question=S, options=Seq(S), rationale=S, correct=S),
   lambda i: dict(question=["A train travels 60 km in 45 minutes. What is its speed in km/h?",
                            "If 3x + 5 = 20, what is x?"][i % 2],
                  options=[["A)60", "B)75", "C)80", "D)90", "E)100"], ["A)3", "B)4", "C)5", "D)6", "E)7"]][i % 2],
                  rationale=["Speed = 60 / 0.75 = 80 km/h. Answer: C", "3x = 15, so x = 5. Answer: C"][i % 2],
                  correct=["C", "C"][i % 2] if i < 2 else "ABCDE"[i % 5]), n=2)
ds("art", OrderedDict(observation_1=S, observation_2=S, hypothesis_1=S, hypothesis_2=S, label=CL(["0", "1", "2"])),
   lambda i: dict(observation_1="Maria wanted to surprise her neighbours.", observation_2="They thanked her for the warm bread.",
                  hypothesis_1="Maria baked bread and brought it over.", hypothesis_2="Maria moved to another city.",
                  label=1 + i % 2))
ds("asnq", OrderedDict(question=S, sentence=S, label=CL(["neg", "pos"]), sentence_in_long_answer=B, short_answer_in_sentence=B),
   lambda i: dict(question=T(i)["question"].lower().rstrip("?"), sentence=sent(i, 0 if i % 2 else 2),
                  sentence_in_long_answer=True, short_answer_in_sentence=i % 2 == 1))
ds("asset/ratings",
   OrderedDict(original=S, simplification=S, original_sentence_id=I, aspect=CL(["meaning", "fluency", "simplicity"]),
               worker_id=I, rating=I),
   lambda i: dict(original="The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
                  simplification="The Eiffel Tower was finished in 1889.", original_sentence_id=i, worker_id=7 + i,
                  rating=[100, 40, 75][i % 3]), n=3)
ds("asset/simplification", OrderedDict(original=S, simplifications=Seq(S)),
   lambda i: dict(original=sent(i, 1), simplifications=[" ".join(sent(i, 1).split()[:6]) + ".", sent(i, 1) + " Really."]))
ds("banking77", OrderedDict(text=S, label=CL(77)),
   lambda i: dict(text=["I still have not received my new card, when will it arrive?", "Why was I charged a fee for my transfer?",
                        "How do I top up using my credit card?", "My card payment was declined at the shop."][i % 4]))
ds("billsum", OrderedDict(text=S, summary=S, title=S),
   lambda i: dict(text=["SECTION 1. SHORT TITLE. This Act may be cited as the Clean Water Grants Act. SEC. 2. GRANTS. The Administrator shall award grants to States for the repair of drinking water systems.", LONG_TEXT][i % 2],
                  summary="Clean Water Grants Act: directs the Administrator to award grants to States for drinking water repairs.",
                  title="To provide grants for the repair of drinking water systems, and for other purposes."))
ds("bing_coronavirus_query_set",
   OrderedDict(id=I, Date=S, Query=S, IsImplicitIntent=S, Country=S, PopularityScore=I),
   lambda i: dict(id=i, Date="2020-03-%02d" % (10 + i), Query=["coronavirus symptoms", "covid cases in italy"][i % 2],
                  IsImplicitIntent=["True", "False"][i % 2], Country=["United States", "Italy"][i % 2], PopularityScore=[1, 5][i % 2]))
ds("biosses", OrderedDict(sentence1=S, sentence2=S, score=F),
   lambda i: dict(sentence1="The protein binds to the receptor and activates the pathway.",
                  sentence2=["Binding of the protein to the receptor turns on the pathway.", "Mice were fed a high fat diet."][i % 2],
                  score=[3.8, 0.2][i % 2]))
ds("blbooksgenre/title_genre_classifiction",
   OrderedDict(BL_record_id=S, name=S, dates_associated_with_name=S, type_of_name=S, role=S, title=S, date=S, place_of_publication=S,
               publisher=S, edition=S, physical_description=S, language_of_work=S, notes=S, label=CL(["Fiction", "Non-fiction"])),
   lambda i: dict(title=["The Mystery of the Yellow Room. A novel", "A Treatise on the Steam Engine"][i % 2]))
ds("blended_skill_talk",
   OrderedDict(personas=Seq(S), additional_context=S, previous_utterance=Seq(S), context=S, free_messages=Seq(S),
               guided_messages=Seq(S), suggestions=OrderedDict(convai2=Seq(S), empathetic_dialogues=Seq(S), wizard_of_wikipedia=Seq(S)),
               guided_chosen_suggestions=Seq(S), label_candidates=Seq(Seq(S))),
   lambda i: dict(personas=["i like to bake bread.", "i live near paris."], additional_context="Baking",
                  previous_utterance=["I baked bread this morning.", "That sounds lovely, what kind?"], context="wizard_of_wikipedia",
                  free_messages=["Sourdough, it took two days.", "Do you bake too?", "I should try that."][: 2 + i % 2],
                  guided_messages=["Wow, that is patient work.", "Only cakes, sometimes.", "You really should!"][: 2 + i % 2],
                  suggestions=OrderedDict(convai2=["i like cakes", "nice"], empathetic_dialogues=["that is great", "cool"],
                                          wizard_of_wikipedia=["Sourdough uses wild yeast.", "Bread is old."]),
                  guided_chosen_suggestions=["", "convai2"][: 2 + i % 2 - 1] + [""] * 0, label_candidates=[]))

def cbt_row(i):
    t = T(i)
    s = ["Once upon a time a miller lived by the river.", "He had a clever cat and a lazy dog.",
         "One morning the cat went to the king's palace.", "The king was pleased with the gift of a rabbit."]
    opts_ = ["cat", "dog", "king", "miller", "palace", "rabbit", "river", "gift", "morning", "time"]
    ans = opts_[i % 4]
    return dict(sentences=s, question="The XXXXX walked slowly back home after the visit .", answer=ans, options=opts_)


for sub in ("CN", "NE", "P", "V"):
    ds("cbt/" + sub, OrderedDict(sentences=Seq(S), question=S, answer=S, options=Seq(S)), cbt_row)
ds("cbt/raw", OrderedDict(title=S, content=S),
   lambda i: dict(title=["Andrew_Lang_Fairy_Book___The_Cat.txt.out", "Grimm___The_Miller.txt.out"][i % 2], content=[para(4, 4), LONG_TEXT][i % 2]))
ds("cc_news", OrderedDict(title=S, text=S, domain=S, date=S, description=S, url=S, image_url=S),
   lambda i: dict(title=T(i)["title"] + " in the news", text=para(i, 4) if i % 2 == 0 else LONG_TEXT, domain="www.example-news.com",
                  date="2017-12-%02d 10:00:00" % (i + 1), description=sent(i, 0), url="https://www.example-news.com/a/%d" % i,
                  image_url="https://www.example-news.com/img/%d.jpg" % i))
ds("circa",
   OrderedDict(context=S, question_X=S, canquestion_X=S, answer_Y=S, judgements=S,
               goldstandard1=CL(["Yes", "No", "In the middle, neither yes nor no", "Probably yes / sometimes yes", "Probably no",
                                 "Yes, subject to some conditions", "Other", "I am not sure how X will interpret Y’s answer"]),
               goldstandard2=CL(["Yes", "No", "In the middle, neither yes nor no", "Yes, subject to some conditions", "Other"])),
   lambda i: dict(context="X wants to know about Y's food preferences.", question_X=["Do you like spicy food?", "Are you a vegetarian?"][i % 2],
                  canquestion_X=["I like spicy food.", "I am a vegetarian."][i % 2],
                  answer_Y=["I love Thai curries.", "I eat fish sometimes."][i % 2], judgements="Yes#Yes#Yes#Probably yes / sometimes yes#Yes"))
CF_EVID = ["Global mean surface temperature has risen by about 1 degree since 1880.",
           "Sea levels rose by about 20 cm during the twentieth century.",
           "Some regions cooled slightly during the same period.",
           "Arctic sea ice extent has declined in every season.",
           "\"Climate models predict further warming.\""]
ds("climate_fever",
   OrderedDict(claim_id=S, claim=S, claim_label=CL(["SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO", "DISPUTED"]),
               evidences=[OrderedDict(evidence_id=S, evidence_label=CL(["SUPPORTS", "REFUTES", "NOT_ENOUGH_INFO"]), article=S,
                                      evidence=S, entropy=F, votes=Seq(S))]),
   lambda i: dict(claim_id=str(i), claim=["Global warming is driving sea level rise.", "The Earth has been cooling since 1998."][i % 2],
                  evidences=[OrderedDict(evidence_id="Global_warming:%d" % k, evidence_label=(i + k) % 3, article="Global warming",
                                         evidence=CF_EVID[k], entropy=0.69, votes=["SUPPORTS", "NOT_ENOUGH_INFO"]) for k in range(5)]))
ds("cnn_dailymail/3.0.0", OrderedDict(article=S, highlights=S, id=S),
   lambda i: dict(article=["(CNN) -- " + para(i, 4), LONG_TEXT][i % 2], highlights=sent(i, 0) + "\n" + sent(i, 1), id="%040x" % i))
CODAH = OrderedDict(id=I, question_category=CL(["Idioms", "Reference", "Polysemy", "Negation", "Quantitative", "Others"]),
                    question_propmt=S, candidate_answers=Seq(S), correct_answer_idx=I)
for sub in ("codah", "fold_0", "fold_1", "fold_2", "fold_3", "fold_4"):
    ds("codah/" + sub, CODAH,
       lambda i: dict(id=i, question_propmt="Maria opened the oven and", candidate_answers=[
           "took out the bread.", "swam across the oven.", "painted the sky green.", "ate the oven door."][(-(i % 4)) % 4:] + [
           "took out the bread.", "swam across the oven.", "painted the sky green.", "ate the oven door."][:(-(i % 4)) % 4],
           correct_answer_idx=i % 4), n=6)
ds("code_x_glue_tc_text_to_code", OrderedDict(id=I, nl=S, code=S),
   lambda i: dict(id=i, nl=["return the sum of two integers a and b . concode_field_sep int a concode_elem_sep int b",
                            "check if the list is empty . concode_field_sep List items concode_field_sep boolean isEmpty"][i % 2],
                  code=["int function ( int a , int b ) { return a + b ; }", "boolean function ( ) { return items . isEmpty ( ) ; }"][i % 2]))
ds("common_gen", OrderedDict(concept_set_idx=I, concepts=Seq(S), target=S),
   lambda i: dict(concept_set_idx=i, concepts=[["dog", "frisbee", "catch", "throw"], ["bread", "bake", "oven"]][i % 2],
                  target=["A dog leaps to catch a thrown frisbee.", "She bakes bread in the oven."][i % 2]))
ds("commonsense_qa", OrderedDict(id=S, question=S, question_concept=S, choices=Seq(OrderedDict(label=S, text=S)), answerKey=S),
   lambda i: (lambda o, p: dict(question=T(i)["question"], question_concept=T(i)["word"],
                                choices=OrderedDict(label=list("ABCDE"), text=o), answerKey="ABCDE"[p]))(*opts(i, 5)), n=5)

def conv_ai_row(i):
    users = ["Alice", "Bob"]
    thread = [OrderedDict(evaluation=0, text=txt, time=1000 + k, userId=users[k % 2]) for k, txt in
              enumerate(["Hi! Did you read about the Eiffel Tower?", "Yes, it was finished in 1889.", "Impressive for that time."])]
    if i == 2:
        thread = thread[:1]
    ev = [OrderedDict(breadth=3, engagement=[4, 2, 3][i % 3], english=5, quality=4, userId="Alice"),
          OrderedDict(breadth=2, engagement=[2, 4, 3][i % 3], english=4, quality=3, userId="Bob")]
    return dict(id=str(i), dialogId=100 + i, context=para(1, 2), users=[OrderedDict(id="a", userType="Human"), OrderedDict(id="b", userType="Bot")],
                evaluation=ev, thread=thread)


ds("conv_ai", OrderedDict(id=S, dialogId=I, context=S, users=[OrderedDict(id=S, userType=S)],
                          evaluation=[OrderedDict(breadth=I, engagement=I, english=I, quality=I, userId=S)],
                          thread=[OrderedDict(evaluation=I, text=S, time=I, userId=S)]), conv_ai_row, n=3)


def conv_ai_2_row(i):
    dialog = [OrderedDict(id=k, sender="participant_%d" % (1 + k % 2), text=txt, sender_class=["Human", "Bot"][k % 2 if i != 2 else 0])
              for k, txt in enumerate(["hello, how are you today?", "i am fine. i like to bake bread.", "nice, i like football.",
                                       "my favourite team is leeds."])]
    return dict(id=str(i), dialog_id=str(i), dialog=dialog, bot_profile=[list("i like to bake bread."), list("i live in paris.")],
                user_profile=[list("i like football."), list("i have two dogs.")], eval_score=3, profile_match=1)


ds("conv_ai_2", OrderedDict(id=S, dialog_id=S, dialog=[OrderedDict(id=I, sender=S, text=S, sender_class=S)],
                            bot_profile=Seq([S]), user_profile=Seq([S]), eval_score=I, profile_match=I), conv_ai_2_row, n=3)
ds("conv_ai_3",
   OrderedDict(topic_id=I, initial_request=S, topic_desc=S, clarification_need=I, facet_id=S, facet_desc=S, question_id=S, question=S, answer=S),
   lambda i: dict(topic_id=i, initial_request=["Tell me about the Eiffel Tower.", "I'm looking for dinosaurs", "Find jobs in Paris", "How to bake bread"][i % 4],
                  topic_desc="Find information about the topic.", clarification_need=1 + i % 4, facet_id="F%04d" % i,
                  facet_desc="Find its height.", question_id="Q%05d" % i,
                  question=["are you looking for its height", "do you want to see pictures of dinosaurs", "", "do you want a recipe"][i % 4],
                  answer=["yes", "no i want books", "", "yes please"][i % 4]), n=4)


def coqa_row(i):
    t = T(i)
    st = para(i, 3)
    qs = [t["question"], "Is it still important today?", "Why?"][: 2 + i % 2]
    ans = [t["answer"], "yes", "because it is famous"][: len(qs)]
    starts = [st.find(t["answer"]), 0, 0][: len(qs)]
    ends = [starts[0] + len(t["answer"]), 10, 20][: len(qs)]
    return dict(source="wikipedia", story=st if i % 2 == 0 else st + " " + LONG_TEXT, questions=qs,
                answers=OrderedDict(input_text=ans, answer_start=starts, answer_end=ends))


ds("coqa", OrderedDict(source=S, story=S, questions=Seq(S), answers=Seq(OrderedDict(input_text=S, answer_start=I, answer_end=I))), coqa_row)
ds("cord19/metadata", OrderedDict(cord_uid=S, sha=S, source_x=S, title=S, doi=S, abstract=S, publish_time=S, authors=S, journal=S, url=S),
   lambda i: dict(title=["Transmission of SARS-CoV-2 in households", "Early treatment outcomes of COVID-19 patients"][i % 2],
                  abstract=["We studied household transmission and found a secondary attack rate of 17%.",
                            "Outcomes of 200 patients treated early were compared with controls."][i % 2]))
COSE = OrderedDict(id=S, question=S, choices=Seq(S), answer=S, abstractive_explanation=S, extractive_explanation=S)
ds("cos_e/v1.0", COSE, lambda i: (lambda o: dict(question=T(i)["question"], choices=o[0][:3], answer=T(i)["answer"] if o[1] < 3 else o[0][0],
                                                 abstractive_explanation="Because " + sent(i, 0)[0].lower() + sent(i, 0)[1:],
                                                 extractive_explanation=sent(i, 0)))(opts(i, 4, i % 3)))
ds("cos_e/v1.11", COSE, lambda i: (lambda o: dict(question=T(i)["question"], choices=o[0] + ["none of these"], answer=T(i)["answer"],
                                                  abstractive_explanation="Because " + sent(i, 0)[0].lower() + sent(i, 0)[1:],
                                                  extractive_explanation=sent(i, 0)))(opts(i, 4)))
ds("cosmos_qa", OrderedDict(id=S, context=S, question=S, answer0=S, answer1=S, answer2=S, answer3=S, label=I),
   lambda i: dict(context=para(4), question="Why did Maria bake bread?", answer0="She wanted to be kind to her neighbours.",
                  answer1="She was paid to do it.", answer2="She lost a bet.", answer3="None of the above choices .", label=i % 4), n=4)
ds("covid_qa_castorini",
   OrderedDict(category_name=S, question_query=S, keyword_query=S, answers=Seq(OrderedDict(id=S, title=S, exact_answer=S))),
   lambda i: dict(category_name="Transmission", question_query=["How long does the virus survive on surfaces?", "What is the incubation period?"][i % 2],
                  keyword_query=["virus surface survival", "incubation period"][i % 2],
                  answers=OrderedDict(id=["a1", "a2"], title=["Stability of SARS-CoV-2 on surfaces", "Aerosol and surface stability"],
                                      exact_answer=["up to 72 hours", "two to three days"])))
ds("craffel/openai_lambada", OrderedDict(text=S),
   lambda i: dict(text=["Maria took the warm loaves out of the oven and carried them next door to her neighbours, who thanked her for the bread",
                        "The coach praised the defence after the match, saying that nobody had played better than the goalkeeper"][i % 2]))


def craig(i):
    prices = [[-1, 120.0, -1, 150.0], [-1, -1, -1], [-1, 100.0, 140.0], [-1, 100.0]][i % 4]
    return dict(agent_info=OrderedDict(Bottomline=["None", "None"], Role=["buyer", "seller"], Target=[[100.0, 200.0], [90.0, 150.0], [100.0, 140.0], [100.0, 200.0]][i % 4]),
                agent_turn=[0, 1, 0, 1][: len(prices)],
                dialogue_acts=OrderedDict(intent=["intro", "offer", "counter", "accept"][: len(prices)], price=prices),
                utterance=["Hi, is the bike still available?", "Yes it is, I can do 150.", "Would you take 120?", "Deal."][: len(prices)],
                items=OrderedDict(Category=["bike", "bike"], Images=["bike/1.jpg", ""], Price=[175.0, 175.0],
                                  Description=["Lightly used road bike.", ""], Title=["Road bike", ""]))


ds("craigslist_bargains",
   OrderedDict(agent_info=Seq(OrderedDict(Bottomline=S, Role=S, Target=F)), agent_turn=Seq(I),
               dialogue_acts=Seq(OrderedDict(intent=S, price=F)), utterance=Seq(S),
               items=Seq(OrderedDict(Category=S, Images=S, Price=F, Description=S, Title=S))), craig, n=4)
ds("crows_pairs",
   OrderedDict(id=I, sent_more=S, sent_less=S, stereo_antistereo=CL(["stereo", "antistereo"]),
               bias_type=CL(["race-color", "socioeconomic", "gender", "disability", "nationality", "sexual-orientation", "physical-appearance", "religion", "age"]),
               annotations=Seq(Seq(CL(9))), anon_writer=S, anon_annotators=Seq(S)),
   lambda i: dict(id=i, sent_more=["The old man could not understand the phone.", "The poor family could not pay the rent."][i % 2],
                  sent_less=["The young man could not understand the phone.", "The rich family could not pay the rent."][i % 2],
                  annotations=[[8], [8, 1]], anon_writer="a%d" % i, anon_annotators=["b1", "b2"]), n=9)
ds("dbpedia_14", OrderedDict(label=CL(14), title=S, content=S),
   lambda i: dict(title=T(i)["title"], content=" " + para(i, 2)))
DISCO = ["PAIR_ANAPHORA", "PAIR_CONN", "PAIR_CONN_ANAPHORA", "PAIR_NONE", "SINGLE_APPOSITION", "SINGLE_CATAPHORA",
         "SINGLE_CONN_INNER", "SINGLE_CONN_INNER_ANAPHORA", "SINGLE_CONN_START", "SINGLE_RELATIVE", "SINGLE_S_COORD",
         "SINGLE_S_COORD_ANAPHORA", "SINGLE_VP_COORD"]
for sub in ("discofuse-sport", "discofuse-wikipedia"):
    ds("discofuse/" + sub,
       OrderedDict(connective_string=S, discourse_type=S, coherent_second_sentence=S, has_coref_type_pronoun=F,
                   incoherent_first_sentence=S, incoherent_second_sentence=S, has_coref_type_nominal=F, coherent_first_sentence=S),
       lambda i: dict(connective_string=["", "however ,"][i % 2], discourse_type=DISCO[i % len(DISCO)],
                      coherent_first_sentence=["Tom Harris scored late , and Leeds won the cup .", "Leeds led early ."][i % 2],
                      coherent_second_sentence=["", "However , they lost the match ."][i % 2],
                      incoherent_first_sentence="Tom Harris scored late .", incoherent_second_sentence="Leeds won the cup .",
                      has_coref_type_pronoun=float(i % 2), has_coref_type_nominal=0.0), n=len(DISCO))
ds("discovery/discovery", OrderedDict(sentence1=S, sentence2=S, label=CL(174), idx=I),
   lambda i: dict(sentence1=sent(i, 0), sentence2=sent(i, 1), idx=i), n=4)


def docred_row(i):
    sents = [["Marie", "Curie", "was", "born", "in", "Warsaw", "in", "1867", "."],
             ["She", "worked", "at", "the", "University", "of", "Paris", "and", "won", "two", "Nobel", "Prizes", "."]]
    V = [[OrderedDict(name="Marie Curie", sent_id=0, pos=[0, 2], type="PER")],
         [OrderedDict(name="Warsaw", sent_id=0, pos=[5, 6], type="LOC")],
         [OrderedDict(name="1867", sent_id=0, pos=[7, 8], type="TIME")],
         [OrderedDict(name="University of Paris", sent_id=1, pos=[4, 7], type="ORG")],
         [OrderedDict(name="two", sent_id=1, pos=[9, 10], type="NUM")],
         [OrderedDict(name="Nobel Prizes", sent_id=1, pos=[10, 12], type="MISC")]]
    if i % 2:
        V = V[:2] + V[3:4]
    labels = OrderedDict(head=[0, 0], tail=[1, 2], relation_id=["P19", "P569"], relation_text=["place of birth", "date of birth"],
                         evidence=[[0], [0]]) if i % 2 == 0 else OrderedDict(head=[0], tail=[2], relation_id=["P108"],
                                                                                 relation_text=["employer"], evidence=[[1]])
    return dict(title="Marie Curie", sents=sents, vertexSet=V, labels=labels)


ds("docred", OrderedDict(title=S, sents=Seq(Seq(S)), vertexSet=[[OrderedDict(name=S, sent_id=I, pos=Seq(I), type=S)]],
                         labels=Seq(OrderedDict(head=I, tail=I, relation_id=S, relation_text=S, evidence=Seq(I)))), docred_row)
ds("dream", OrderedDict(id=I, dialogue_id=S, dialogue=Seq(S), question=S, choice=Seq(S), answer=S),
   lambda i: dict(id=i, dialogue_id="5-%d" % i, dialogue=["M: Did you bake this bread yourself?", "W: Yes, I baked two loaves this morning.",
                                                         "M: It smells wonderful."][: 2 + i % 2],
                  question="What did the woman do this morning?", choice=["She baked bread.", "She went shopping.", "She slept late."],
                  answer=["She baked bread.", "She baked bread."][i % 2]))
ds("drop", OrderedDict(section_id=S, query_id=S, passage=S, question=S, answers_spans=Seq(OrderedDict(spans=S, types=S))),
   lambda i: dict(passage=para(5, 4), question=["Who scored the winning goal?", "How many minutes was the match goalless?"][i % 2],
                  answers_spans=OrderedDict(spans=[["Tom Harris"], ["80", "eighty"]][i % 2], types=[["span"], ["number", "number"]][i % 2])))
for sub in ("ParaphraseRC", "SelfRC"):
    ds("duorc/" + sub, OrderedDict(plot_id=S, plot=S, title=S, question_id=S, question=S, answers=Seq(S), no_answer=B),
       lambda i: dict(plot=[para(5, 4), LONG_TEXT][i % 2], title="The Cup Final", question=["Who scores the winning goal?", "What is the coach's name?"][i % 2],
                      answers=[["Tom Harris", "Harris"], []][i % 2], no_answer=bool(i % 2)))
ds("e2e_nlg_cleaned", OrderedDict(meaning_representation=S, human_reference=S),
   lambda i: dict(meaning_representation=["name[The Eagle], eatType[coffee shop], food[French], priceRange[moderate], customer rating[3 out of 5], area[riverside], familyFriendly[yes], near[Burger King]",
                                          "name[Zizzi], priceRange[cheap], area[city centre]"][i % 2],
                  human_reference=["The Eagle is a family-friendly French coffee shop by the riverside near Burger King.",
                                   "Zizzi is a cheap place in the city centre."][i % 2]))
ds("ecthr_cases/alleged-violation-prediction",
   OrderedDict(facts=Seq(S), labels=Seq(S), silver_rationales=Seq(I), gold_rationales=Seq(I)),
   lambda i: dict(facts=["1. The applicant was born in 1970 and lives in Warsaw.", "2. He was arrested on 3 May 2001.",
                         "3. He complained that the detention was unlawful."], labels=[["5"], ["5", "6"], ["3", "5", "6"], ["3", "5", "6", "13"]][i % 4],
                  silver_rationales=[[1, 2], []][i % 2], gold_rationales=[]), n=4)
ds("emo", OrderedDict(text=S, label=CL(["others", "happy", "sad", "angry"])),
   lambda i: dict(text=["what are you doing now watching a movie", "i got the job so happy", "i feel so alone today", "stop texting me you idiot"][i % 4]))
ds("emotion", OrderedDict(text=S, label=CL(["sadness", "joy", "love", "anger", "fear", "surprise"])),
   lambda i: dict(text=["i feel so lost without her", "i feel happy with the results", "i feel loved by my family",
                        "i feel angry about the delay", "i feel scared of the dark", "i feel amazed by the view"][i % 6]))
ds("enriched_web_nlg/en",
   OrderedDict(category=S, size=I, eid=S, original_triple_sets=Seq(OrderedDict(otriple_set=Seq(S))),
               modified_triple_sets=Seq(OrderedDict(mtriple_set=Seq(S))), shape=S, shape_type=S,
               lex=Seq(OrderedDict(comment=S, lid=S, text=S, lang=S))),
   lambda i: dict(category="Building", size=2, eid="Id%d" % i,
                  original_triple_sets=OrderedDict(otriple_set=[["Eiffel_Tower | location | Paris"]]),
                  modified_triple_sets=OrderedDict(mtriple_set=[[["Eiffel_Tower | location | Paris", "Eiffel_Tower | completionDate | 1889"],
                                                                 ["Marie_Curie | birthPlace | Warsaw"]][i % 2]]),
                  shape="(X (X) (X))", shape_type="sibling",
                  lex=OrderedDict(comment=["good", "good"], lid=["Id1", "Id2"],
                                  text=[["The Eiffel Tower in Paris was completed in 1889.", "Completed in 1889, the Eiffel Tower stands in Paris."],
                                        ["Marie Curie was born in Warsaw.", "Warsaw is the birthplace of Marie Curie."]][i % 2], lang=["", ""])))
ds("esnli", OrderedDict(premise=S, hypothesis=S, label=NLI3, explanation_1=S, explanation_2=S, explanation_3=S),
   lambda i: dict(nli_rows(i), explanation_1="The premise says so directly.", explanation_2="", explanation_3=""))


def evid_row(i):
    ann = lambda lab, txt: OrderedDict(UserID=[1, 2], PromptID=[10, 10], PMCID=[555, 555], Valid=[True, True],
                                       Label=[lab, lab], Annotations=[txt, txt + " (confirmed)"], Label_Code=[0, 0],
                                       In_Abstract=[True, False], Evidence_Start=[100, 200], Evidence_End=[150, 250])
    return dict(Text=[para(2, 4) + " Patients receiving the drug had lower blood pressure than placebo.", LONG_TEXT][i % 2], PMCID=555 + i,
                Prompts=OrderedDict(PromptID=[10, 11], PMCID=[555, 555], Outcome=["blood pressure", "heart rate"],
                                    Intervention=["the drug", "the drug at high dose"], Comparator=["placebo", "low dose"],
                                    Annotations=[ann("significantly decreased", "Blood pressure was lower in the drug group."),
                                                 ann("no significant difference", "Heart rate did not differ between groups.")]))


for sub in ("1.1", "2.0"):
    ds("evidence_infer_treatment/" + sub,
       OrderedDict(Text=S, PMCID=I, Prompts=Seq(OrderedDict(PromptID=I, PMCID=I, Outcome=S, Intervention=S, Comparator=S,
                                                          Annotations=Seq(OrderedDict(UserID=I, PromptID=I, PMCID=I, Valid=B, Label=S,
                                                                                      Annotations=S, Label_Code=I, In_Abstract=B,
                                                                                      Evidence_Start=I, Evidence_End=I))))), evid_row)
for sub in ("v1.0", "v2.0"):
    ds("fever/" + sub, OrderedDict(id=I, label=S, claim=S, evidence_annotation_id=I, evidence_id=I, evidence_wiki_url=S, evidence_sentence_id=I),
       lambda i: dict(id=i, label=["SUPPORTS", "REFUTES", "NOT ENOUGH INFO"][i % 3],
                      claim=["Marie Curie was born in Warsaw.", "The Eiffel Tower was completed in 1950.", "Tom Harris likes tea."][i % 3],
                      evidence_wiki_url=["Marie_Curie", "Eiffel_Tower", ""][i % 3]), n=3)
ds("financial_phrasebank/sentences_allagree", OrderedDict(sentence=S, label=CL(["negative", "neutral", "positive"])),
   lambda i: dict(sentence=["Operating profit fell to EUR 3.2 mn from EUR 5.1 mn .", "The company is based in Helsinki .",
                            "Net sales increased by 18 % to EUR 60 mn ."][i % 3]))


def fbqa(i):
    return dict(Question_ID="FreebaseQuestions-%d" % i, RawQuestion=["Who designed the tower completed in Paris in 1889?",
                                                                    "Which scientist born in Warsaw discovered radium?"][i % 2],
                ProcessedQuestion="", Parses=OrderedDict(
                    Parse_Id=["P1", "P2"], PotentialTopicEntityMention=["eiffel tower", "tower"],
                    TopicEntityName=["eiffel tower", "the eiffel tower"] if i % 2 == 0 else ["warsaw", "radium"],
                    TopicEntityMid=["m.02j81", "m.02j82"],
                    InferentialChain=["architecture.structure.architect", "base.engineering.designer"] if i % 2 == 0 else ["people.person.place_of_birth", "chemistry.element.discoverer"],
                    Answers=[OrderedDict(AnswersMid=["m.03ls"], AnswersName=[["gustave eiffel"]]),
                             OrderedDict(AnswersMid=["m.03lt"], AnswersName=[["gustave eiffel", "eiffel"]])] if i % 2 == 0 else
                    [OrderedDict(AnswersMid=["m.05mc"], AnswersName=[["marie curie"]]), OrderedDict(AnswersMid=["m.05mc"], AnswersName=[["marie curie"]])]))


ds("freebase_qa", OrderedDict(**{"Question-ID": S}, RawQuestion=S, ProcessedQuestion=S,
                              Parses=Seq(OrderedDict(**{"Parse-Id": S}, PotentialTopicEntityMention=S, TopicEntityName=S, TopicEntityMid=S,
                                                     InferentialChain=S, Answers=Seq(OrderedDict(AnswersMid=S, AnswersName=Seq(S)))))),
   lambda i: (lambda r: {("Question-ID" if k == "Question_ID" else k): (
       OrderedDict((("Parse-Id" if kk == "Parse_Id" else kk), vv) for kk, vv in v.items()) if k == "Parses" else v) for k, v in r.items()})(fbqa(i)))
ds("generated_reviews_enth", OrderedDict(translation=OrderedDict(en=S, th=S), review_star=I, correct=CL(["neg", "pos"])),
   lambda i: dict(translation=OrderedDict(en=REVIEWS[i % 5], th="รีวิว %d" % i), review_star=1 + i % 5), n=5)
ds("gigaword", OrderedDict(document=S, summary=S),
   lambda i: dict(document=["leeds won the cup final on saturday after a late goal by striker tom harris , ending a ten-year wait for a trophy .",
                            "oil prices rose on monday as investors worried about supply cuts by major producers ."][i % 2],
                  summary=["leeds win cup final", "oil prices rise on supply worries"][i % 2]))
# GLUE
ds("glue/ax", OrderedDict(premise=S, hypothesis=S, label=NLI3, idx=I), lambda i: dict(nli_rows(i), idx=i))
ds("glue/cola", OrderedDict(sentence=S, label=CL(["unacceptable", "acceptable"]), idx=I),
   lambda i: dict(sentence=["The book was written by John quickly the.", "The sailors rode the breeze clear of the rocks."][i % 2], idx=i))
for sub in ("mnli", "mnli_matched", "mnli_mismatched"):
    ds("glue/" + sub, OrderedDict(premise=S, hypothesis=S, label=NLI3, idx=I), lambda i: dict(nli_rows(i), idx=i))
ds("glue/mrpc", OrderedDict(sentence1=S, sentence2=S, label=CL(["not_equivalent", "equivalent"]), idx=I),
   lambda i: dict(sentence1=sent(i, 0), sentence2=[sent(i, 1), "In short: " + sent(i, 0)][i % 2], idx=i))
ds("glue/qnli", OrderedDict(question=S, sentence=S, label=CL(["entailment", "not_entailment"]), idx=I),
   lambda i: dict(question=T(i)["question"], sentence=sent(i, i % 2 * 2), idx=i))
ds("glue/qqp", OrderedDict(question1=S, question2=S, label=CL(["not_duplicate", "duplicate"]), idx=I),
   lambda i: dict(question1=T(i)["question"], question2=["How do I learn to bake bread?", T(i)["question"].replace("?", " exactly?")][i % 2], idx=i))
ds("glue/rte", OrderedDict(sentence1=S, sentence2=S, label=CL(["entailment", "not_entailment"]), idx=I),
   lambda i: dict(sentence1=para(i, 2), sentence2=["%s is mentioned." % T(i)["entity"], "Nothing happened in 2010."][i % 2], idx=i))
ds("glue/sst2", OrderedDict(sentence=S, label=CL(["negative", "positive"]), idx=I),
   lambda i: dict(sentence=["a dull , lifeless film ", "a warm and funny story "][i % 2], idx=i))
ds("glue/stsb", OrderedDict(sentence1=S, sentence2=S, label=F, idx=I),
   lambda i: dict(sentence1=sent(i, 0), sentence2=[sent(i, 0), sent(i, 2)][i % 2], label=[4.8, 0.75, 2.5][i % 3], idx=i), n=3)
ds("glue/wnli", OrderedDict(sentence1=S, sentence2=S, label=CL(["not_entailment", "entailment"]), idx=I),
   lambda i: dict(sentence1="The trophy does not fit into the suitcase because it is too big.",
                  sentence2=["The suitcase is too big.", "The trophy is too big."][i % 2], idx=i))
ds("google_wellformed_query", OrderedDict(rating=F, content=S),
   lambda i: dict(rating=[0.2, 0.8, 1.0][i % 3], content=["how tall eiffel tower", "How tall is the Eiffel Tower?", "What is photosynthesis?"][i % 3]), n=3)


def great(i):
    toks = ["#NEWLINE#", "def add(", "a", ",", "b", ")", ":", "#NEWLINE#", "#INDENT#", "total", "=", "a", "+", "a",
            "#NEWLINE#", "return", "total", "#NEWLINE#", "#UNINDENT#"]
    if i % 2 == 0:
        return dict(id=i, source_tokens=toks, has_bug=True, error_location=13, repair_candidates=["2", "4", "9"], bug_kind=1,
                    bug_kind_name="VARIABLE_MISUSE", repair_targets=[4], edges=[], provenances=[])
    toks2 = list(toks)
    toks2[13] = "b"
    toks2[1] = "def plus("
    return dict(id=i, source_tokens=toks2, has_bug=False, error_location=0, repair_candidates=["2", "4", "9"], bug_kind=0,
                bug_kind_name="NONE", repair_targets=[], edges=[], provenances=[])


ds("great_code", OrderedDict(id=I, source_tokens=Seq(S), has_bug=B, error_location=I, repair_candidates=Seq(S), bug_kind=I,
                             bug_kind_name=S, repair_targets=Seq(I),
                             edges=[[OrderedDict(before_index=I, after_index=I, edge_type=I, edge_type_name=S)]],
                             provenances=[OrderedDict(datasetProvenance=OrderedDict(datasetName=S, filepath=S, license=S, note=S))]), great)
for sub in ("cross_genre_1", "cross_topic_1", "cross_topic_4", "cross_topic_7"):
    ds("guardian_authorship/" + sub,
       OrderedDict(author=CL(["catherinebennett", "georgemonbiot", "hugoyoung", "jonathanfreedland", "martinkettle", "maryriddell",
                              "nickcohen", "peterpreston", "pollytoynbee", "royhattersley", "simonhoggart", "willhutton", "zoewilliams"]),
                   topic=CL(["Politics", "Society", "UK", "World", "Books"]), article=S),
       lambda i: dict(article=[para(i, 4), LONG_TEXT][i % 2]))
ds("gutenberg_time", OrderedDict(guten_id=S, hour_reference=S, time_phrase=S, is_ambiguous=B, time_pos_start=I, time_pos_end=I, tok_context=S),
   lambda i: dict(guten_id=str(1000 + i), hour_reference=["9", "21", "0"][i % 3], time_phrase=["nine o'clock", "nine in the evening", "midnight"][i % 3],
                  is_ambiguous=i % 3 == 0, time_pos_start=10, time_pos_end=12,
                  tok_context=["The church bells rang nine o'clock as she left the house .", "At nine in the evening the guests finally arrived .",
                               "It was midnight when the carriage stopped ."][i % 3]), n=3)
ds("hans", OrderedDict(premise=S, hypothesis=S, label=CL(["entailment", "non-entailment"]), parse_premise=S, parse_hypothesis=S,
                       binary_parse_premise=S, binary_parse_hypothesis=S, heuristic=S, subcase=S, template=S),
   lambda i: dict(premise="The doctor near the actor danced .", hypothesis=["The doctor danced .", "The actor danced ."][i % 2],
                  heuristic="lexical_overlap", subcase="ln_preposition", template="temp1"))
ds("hate_speech18", OrderedDict(text=S, user_id=I64, subforum_id=I64, num_contexts=I64, label=CL(["noHate", "hate", "idk/skip", "relation"])),
   lambda i: dict(text=["I went to the park with my kids today .", "Those people should all go back where they came from .",
                        "Not sure what to make of this thread .", "As I said in my previous post , they are the problem ."][i % 4],
                  user_id=570000 + i, subforum_id=1345, num_contexts=i % 2))
ds("head_qa/en", OrderedDict(name=S, year=S, category=S, qid=I, qtext=S, ra=I, image=S, answers=[OrderedDict(aid=I, atext=S)]),
   lambda i: dict(name="Cuaderno_2013_1_B", year="2013", category=["biology", "medicine"][i % 2], qid=i,
                  qtext=["Which pigment absorbs light in plants?", "Which element did Marie Curie discover?"][i % 2], ra=1 + (i % 4), image="",
                  answers=[OrderedDict(aid=k + 1, atext=t) for k, t in enumerate(
                      [["Chlorophyll", "Melanin", "Keratin", "Hemoglobin"], ["Radium", "Helium", "Iron", "Neon"]][i % 2])]), n=4)
ds("health_fact", OrderedDict(claim_id=S, claim=S, date_published=S, explanation=S, fact_checkers=S, main_text=S, sources=S,
                              label=CL(["false", "mixture", "true", "unproven"]), subjects=S),
   lambda i: dict(claim=["Vitamin C cures the common cold.", "Regular exercise lowers blood pressure.",
                         "Drinking coffee causes heart disease.", "A new herb prevents cancer."][i % 4],
                  explanation="Studies show mixed or no evidence for this claim.", main_text=[para(2, 4), LONG_TEXT][i % 2]))
ds("hellaswag", OrderedDict(ind=I, activity_label=S, ctx_a=S, ctx_b=S, ctx=S, endings=Seq(S), source_id=S, split=S, split_type=S, label=S),
   lambda i: dict(ind=i, activity_label=["Baking cookies", "Playing football"][i % 2],
                  ctx_a=["A woman is standing in a kitchen.", "A man kicks a ball across a field."][i % 2],
                  ctx_b=["She", "The goalkeeper"][i % 2],
                  ctx=["A woman is standing in a kitchen. She", "A man kicks a ball across a field. The goalkeeper"][i % 2],
                  endings=["mixes flour and butter in a bowl.", "jumps into a swimming pool.", "paints the ceiling blue.", "sings to the oven."]
                  if i % 2 == 0 else ["dives and catches it.", "eats a sandwich.", "flies away.", "reads a book."],
                  source_id="activitynet~v_%d" % i, split="train", split_type="indomain", label=str(i % 4)), n=4)
ds("hlgd", OrderedDict(timeline_id=CL(10), headline_a=S, headline_b=S, date_a=S, date_b=S, url_a=S, url_b=S, label=CL(["same_event", "different_event"])),
   lambda i: dict(headline_a="Leeds win the cup final", headline_b=["Harris goal hands Leeds the cup", "Oil prices rise on Monday"][i % 2],
                  date_a="2020-05-01", date_b="2020-05-02", url_a="https://a.example/1", url_b="https://b.example/2"))


def hotpot(i):
    ctx = OrderedDict(title=["Marie Curie", "Warsaw"], sentences=[["Marie Curie was a physicist.", " She was born in Warsaw."],
                                                                 ["Warsaw is the capital of Poland.", " It lies on the Vistula river."]])
    return dict(id=str(i), question=["In which country's capital was Marie Curie born?", "Was Marie Curie born in Warsaw?"][i % 2],
                answer=["Poland", "yes"][i % 2], type=["bridge", "comparison"][i % 2], level="medium",
                supporting_facts=OrderedDict(title=["Marie Curie", "Warsaw"], sent_id=[1, 0]), context=ctx)


HOTPOT = OrderedDict(id=S, question=S, answer=S, type=S, level=S, supporting_facts=Seq(OrderedDict(title=S, sent_id=I)),
                     context=Seq(OrderedDict(title=S, sentences=Seq(S))))
ds("hotpot_qa/distractor hotpot_qa/fullwiki", HOTPOT, hotpot)
ds("humicroedit/subtask-1", OrderedDict(id=S, original=S, edit=S, grades=S, meanGrade=F),
   lambda i: dict(id=str(i), original=["Leeds <win/> the cup final after a late goal", "Oil prices <rise/> as investors worry"][i % 2],
                  edit=["eat", "dance"][i % 2], grades=["10000", "32210"][i % 2], meanGrade=[0.2, 1.6][i % 2]))
ds("humicroedit/subtask-2",
   OrderedDict(id=S, original1=S, edit1=S, grades1=S, meanGrade1=F, original2=S, edit2=S, grades2=S, meanGrade2=F,
               label=CL(["equal", "sentence1", "sentence2"])),
   lambda i: dict(id=str(i), original1="Leeds <win/> the cup final after a late goal", edit1="eat", grades1="10000", meanGrade1=0.2,
                  original2="Leeds win the <cup/> final after a late goal", edit2="pizza", grades2="32210", meanGrade2=1.6))
ds("hyperpartisan_news_detection/byarticle", OrderedDict(text=S, title=S, hyperpartisan=B, url=S, published_at=S),
   lambda i: dict(text=["<p>" + para(i, 3) + "</p>", LONG_TEXT][i % 2], title=T(i)["title"], hyperpartisan=i % 2 == 0,
                  url="https://news.example/%d" % i, published_at="2017-10-%02d" % (i + 1)))
ds("hyperpartisan_news_detection/bypublisher", OrderedDict(text=S, title=S, hyperpartisan=B, url=S, published_at=S,
                                                           bias=CL(["right", "right-center", "least", "left-center", "left"])),
   lambda i: dict(text="<p>" + para(i, 3) + "</p>", title=T(i)["title"], hyperpartisan=i % 2 == 0, url="https://news.example/%d" % i,
                  published_at="2017-10-%02d" % (i + 1)))
ds("imdb", OrderedDict(text=S, label=CL(["neg", "pos"])),
   lambda i: dict(text=["A dull, lifeless film with a plot full of holes. I wanted my two hours back.<br /><br />Avoid.",
                        "A warm and funny story with a great cast. I laughed all the way through.", LONG_TEXT][i % 3]), n=3)
ds("jfleg", OrderedDict(sentence=S, corrections=Seq(S)),
   lambda i: dict(sentence=["She go to school every days .", "I has two dog ."][i % 2],
                  corrections=[["She goes to school every day .", "She went to school every day ."], ["I have two dogs ."]][i % 2]))
ds("jigsaw_unintended_bias",
   OrderedDict(target=F, comment_text=S, severe_toxicity=F, obscene=F, identity_attack=F, insult=F, threat=F, toxicity_annotator_count=I),
   lambda i: dict(target=[0.0, 0.8333, 0.4][i % 3], comment_text=["Thanks for the thoughtful article.", "You are a complete idiot.",
                                                                 "This is a stupid idea."][i % 3],
                  severe_toxicity=0.0, obscene=0.0, identity_attack=0.0, insult=[0.0, 0.8, 0.4][i % 3], threat=[0.0, 0.6, 0.0][i % 3],
                  toxicity_annotator_count=[4, 6, 10][i % 3]), n=3)
ds("kelm", OrderedDict(triple=S, sentence=S),
   lambda i: dict(triple=["Eiffel Tower location Paris, completion date 1889.", "Marie Curie place of birth Warsaw."][i % 2],
                  sentence=["The Eiffel Tower in Paris was completed in 1889.", "Marie Curie was born in Warsaw."][i % 2]))
KILT = OrderedDict(id=S, input=S, meta=OrderedDict(left_context=S, mention=S, right_context=S, partial_evidence=[OrderedDict(start_paragraph_id=I)],
                                                   obj_surface=[S], sub_surface=[S], subj_aliases=[S], template_questions=[S]),
                   output=[OrderedDict(answer=S, meta=OrderedDict(score=I), provenance=[OrderedDict(bleu_score=F, start_character=I,
                                                                                                        start_paragraph_id=I, end_character=I,
                                                                                                        end_paragraph_id=I, meta=OrderedDict(fever_page_id=S, fever_sentence_id=I, annotation_id=S, yes_no_answer=S, evidence_span=[S]),
                                                                                                        section=S, title=S, wikipedia_id=S)])])


def kilt(i):
    out = [OrderedDict(answer=a, meta=OrderedDict(score=0), provenance=[]) for a in [["Gustave Eiffel", "Eiffel"], ["Warsaw"]][i % 2]]
    if i % 3 == 2:
        out = []
    return dict(id=str(i), input=["who designed the tower completed in paris in 1889", "where was marie curie born"][i % 2],
                meta=OrderedDict(left_context="", mention="", right_context="", partial_evidence=[], obj_surface=[], sub_surface=[],
                                 subj_aliases=[], template_questions=[]), output=out)


ds("kilt_tasks/hotpotqa kilt_tasks/nq", KILT, kilt, n=3)
ds("lama/trex", OrderedDict(uuid=S, obj_uri=S, obj_label=S, sub_uri=S, sub_label=S, predicate_id=S, sub_surface=S, obj_surface=S,
                            masked_sentence=S, template=S, template_negated=S, label=S, description=S, type=S),
   lambda i: dict(obj_label=["Warsaw", "Paris"][i % 2], sub_label=["Marie Curie", "Eiffel Tower"][i % 2], predicate_id=["P19", "P131"][i % 2],
                  sub_surface=["Marie Curie", "The Eiffel Tower"][i % 2], obj_surface=["Warsaw", "Paris"][i % 2],
                  masked_sentence=["Marie Curie was born in [MASK] in 1867.", "The Eiffel Tower is located in [MASK]."][i % 2],
                  template=["[X] was born in [Y] .", "[X] is located in [Y] ."][i % 2],
                  template_negated=["[X] was not born in [Y] .", "[X] is not located in [Y] ."][i % 2],
                  label=["place of birth", "located in"][i % 2], description="", type="N-1"))
ds("lambada", OrderedDict(text=S, domain=S),
   lambda i: dict(text=["Maria took the warm loaves out of the oven and carried them next door to her neighbours , who thanked her for the bread",
                        "the coach praised the defence after the match , saying that nobody had played better than the goalkeeper"][i % 2], domain=""))
LIAR_PARTIES = ["republican", "democrat", "none", "organization"]
ds("liar", OrderedDict(id=S, label=CL(["false", "half-true", "mostly-true", "true", "barely-true", "pants-fire"]), statement=S, subject=S,
                       speaker=S, job_title=S, state_info=S, party_affiliation=S, barely_true_counts=F, false_counts=F,
                       half_true_counts=F, mostly_true_counts=F, pants_on_fire_counts=F, context=S),
   lambda i: dict(id="%d.json" % (1000 + i), statement=["Says the unemployment rate has doubled in four years.", "Our state has the lowest taxes in the region."][i % 2],
                  subject=["economy,jobs", "taxes"][i % 2], speaker=["john-smith", "mary-jones"][i % 2],
                  job_title=["State Senator", ""][i % 2], state_info=["Texas", "Ohio"][i % 2], party_affiliation=LIAR_PARTIES[i % 4],
                  barely_true_counts=1.0, false_counts=2.0, half_true_counts=0.0, mostly_true_counts=3.0, pants_on_fire_counts=0.0,
                  context=["a television interview", ""][i % 2]))
ds("limit", OrderedDict(id=I, sentence=S, motion=S, motion_entities=[OrderedDict(entity=S, start_index=I)]),
   lambda i: dict(id=i, sentence=["The boy and the dog ran towards the park.", "The house stood on the hill."][i % 2], motion=["yes", "no"][i % 2],
                  motion_entities=[[OrderedDict(entity="the dog", start_index=12), OrderedDict(entity="The boy", start_index=0)], []][i % 2]))
MATHQ = {"algebra__linear_1d": ["Solve -3*k + 12 = 0 for k.\n", "Solve 5*d - 20 = 0 for d.\n"],
         "algebra__linear_1d_composed": ["Let v(a) = a - 3. Let f be v(5). Solve 2*x - f*4 = 0 for x.\n", "Suppose 3*c = 12. Solve c*x + 8 = 0 for x.\n"],
         "algebra__linear_2d": ["Solve 2*m + 3*n = 7, m - n = 1 for m.\n", "Solve -4*a + b = -7, 2*a = 6 for b.\n"],
         "algebra__linear_2d_composed": ["Let q = 2 - 1. Solve q*h + 3*g = 5, h - g = 1 for h.\n", "Suppose 0 = 2*t - 4. Solve t*y + z = 5, y - z = 1 for y.\n"]}
for sub, qs in MATHQ.items():
    ds("math_dataset/" + sub, OrderedDict(question=S, answer=S),
       (lambda qs: lambda i: dict(question=qs[i % 2], answer=["4", "2"][i % 2] + "\n"))(qs))
ds("math_qa", OrderedDict(Problem=S, Rationale=S, options=S, correct=S, annotated_formula=S, linear_formula=S, category=S),
   lambda i: dict(Problem=["a train running at 60 km / hr crosses a pole in 9 seconds . what is the length of the train ?",
                           "what is 25 % of 80 ?"][i % 2], Rationale="\"speed = 60 * 5 / 18 m / s ; length = speed * time = 150 m\"",
                  options=["a ) 120 m , b ) 150 m , c ) 180 m , d ) 200 m , e ) 250 m", "a ) 10 , b ) 15 , c ) 20 , d ) 25 , e ) 30"][i % 2],
                  correct=["b", "c"][i % 2], annotated_formula="multiply(divide(60, 3.6), 9)", linear_formula="divide(n0,const_3_6)|multiply(#0,n1)|",
                  category=["physics", "general"][i % 2]))
ds("mc_taco", OrderedDict(sentence=S, question=S, answer=S, label=CL(["no", "yes"]),
                          category=CL(["Event Duration", "Event Ordering", "Frequency", "Typical Time", "Stationarity"])),
   lambda i: dict(sentence="Maria baked two loaves of bread for her neighbours on Sunday morning.", question="How long did it take to bake the bread?",
                  answer=["about an hour", "ten years"][i % 2]), n=5)


def mdd(sub):
    def f(i):
        if sub == "task1_qa":
            return dict(dialogue_turns=OrderedDict(speaker=[0, 1], utterance=[["who directed the film jaws?", "what films did tom hanks star in?"][i % 2],
                                                                             ["Steven Spielberg", "Big, Cast Away"][i % 2]]))
        if sub == "task2_recs":
            return dict(dialogue_turns=OrderedDict(speaker=[0, 1], utterance=["I liked Jaws and Alien. Any suggestions?", ["The Thing", "Predator"][i % 2]]))
        n = 6
        return dict(dialogue_turns=OrderedDict(speaker=[0, 1, 0, 1, 0, 1][:n], utterance=[
            "I loved Jaws. Who directed it?", "Steven Spielberg", "Can you recommend something similar?", "Try Close Encounters of the Third Kind.",
            "What year was that released?", "1977"][:n]))
    return f


for sub in ("task1_qa", "task2_recs", "task3_qarecs"):
    ds("mdd/" + sub, OrderedDict(dialogue_turns=Seq(OrderedDict(speaker=I, utterance=S))), mdd(sub))
ds("medal", OrderedDict(abstract_id=I, text=S, location=Seq(I), label=Seq(S)),
   lambda i: dict(abstract_id=i, text=["patients with high BP were treated with the drug for six weeks", "the MI patients received aspirin daily"][i % 2],
                  location=[[2], [1]][i % 2], label=[["blood pressure"], ["myocardial infarction"]][i % 2]))
ds("medical_questions_pairs", OrderedDict(dr_id=I, question_1=S, question_2=S, label=CL(["0", "1"])),
   lambda i: dict(dr_id=1, question_1="Can high blood pressure cause headaches?",
                  question_2=["Is a headache a symptom of hypertension?", "How do I lower cholesterol?"][i % 2]))
ds("meta_woz/dialogues", OrderedDict(id=S, user_id=S, bot_id=S, domain=S, task_id=S, turns=Seq(S)),
   lambda i: dict(id=str(i), user_id="u%d" % i, bot_id="b%d" % i, domain=["MOVIE_LISTINGS", "PIZZA_ORDERING"][i % 2], task_id="t%d" % i,
                  turns=["Hello how may I help you?", "Which movies are playing tonight?", "The Cup Final is at 7 pm.", "Great, thanks!"][: 3 + i % 2]))
ds("mocha", OrderedDict(constituent_dataset=S, id=S, context=S, question=S, reference=S, candidate=S, score=F, metadata=OrderedDict(scores=Seq(I), source=S),
                        candidate2=S, score2=F),
   lambda i: dict(constituent_dataset="narrativeqa", id=str(i), context=para(i), question=T(i)["question"], reference=T(i)["answer"],
                  candidate=[T(i)["answer"], T(i)["distractors"][0]][i % 2], score=[5.0, 1.0, 3.0][i % 3],
                  metadata=OrderedDict(scores=[5, 5], source="gpt2"), candidate2=["", T(i)["distractors"][1]][i % 2], score2=[-1.0, 2.0][i % 2]), n=3)
ds("movie_rationales", OrderedDict(review=S, label=CL(["NEG", "POS"]), evidences=Seq(S)),
   lambda i: dict(review=["a dull , lifeless film with a plot full of holes .", "a warm and funny story with a great cast ."][i % 2],
                  evidences=[["dull , lifeless", "full of holes"], ["warm and funny", "great cast"]][i % 2]))
ds("multi_news", OrderedDict(document=S, summary=S),
   lambda i: dict(document=[sent(i, 0) + " ||||| " + sent(i, 1), LONG_TEXT + " ||||| " + sent(i, 2)][i % 2], summary="– " + sent(i, 0)))
ds("multi_nli", OrderedDict(promptID=I, pairID=S, premise=S, premise_binary_parse=S, premise_parse=S, hypothesis=S, hypothesis_binary_parse=S,
                            hypothesis_parse=S, genre=S, label=NLI3),
   lambda i: dict(nli_rows(i), promptID=i, pairID="%de" % i, genre="fiction"))
ds("multi_x_science_sum", OrderedDict(aid=S, mid=S, abstract=S, related_work=S, ref_abstract=Seq(OrderedDict(cite_N=S, mid=S, abstract=S))),
   lambda i: dict(aid="1", mid="m1", abstract=para(2, 2), related_work="Prior work @cite_1 studied light absorption.",
                  ref_abstract=OrderedDict(cite_N=["@cite_1", "@cite_2"], mid=["a", "b"], abstract=[sent(2, 1), sent(2, 2)])))
ds("mwsc", OrderedDict(sentence=S, question=S, options=Seq(S), answer=S),
   lambda i: dict(sentence="The city councilmen refused the demonstrators a permit because they feared violence.",
                  question="Who feared violence?", options=["councilmen", "demonstrators"], answer=["councilmen", "demonstrators"][i % 2]))
ds("narrativeqa", OrderedDict(document=OrderedDict(id=S, kind=S, url=S, file_size=I, word_count=I, start=S, end=S,
                                                   summary=OrderedDict(text=S, tokens=Seq(S), url=S, title=S), text=S),
                              question=OrderedDict(text=S, tokens=Seq(S)), answers=[OrderedDict(text=S, tokens=Seq(S))]),
   lambda i: dict(document=OrderedDict(id=str(i), kind="movie", url="", file_size=1000, word_count=200, start="", end="",
                                       summary=OrderedDict(text=para(5, 3), tokens=[], url="", title="The Cup Final"),
                                       text=[para(5, 4), LONG_TEXT][i % 2]),
                  question=OrderedDict(text="Who scored the winning goal?", tokens=["Who", "scored", "the", "winning", "goal", "?"]),
                  answers=[OrderedDict(text="Tom Harris", tokens=["Tom", "Harris"]), OrderedDict(text="Harris", tokens=["Harris"])]))
NER_T = [["Mutations", "in", "the", "BRCA1", "gene", "cause", "breast", "cancer", "."],
         ["Patients", "with", "cystic", "fibrosis", "were", "treated", "."]]
ds("ncbi_disease", OrderedDict(id=S, tokens=Seq(S), ner_tags=Seq(CL(["O", "B-Disease", "I-Disease"]))),
   lambda i: dict(id=str(i), tokens=NER_T[i % 2], ner_tags=[[0, 0, 0, 0, 0, 0, 1, 2, 0], [0, 0, 1, 2, 0, 0, 0]][i % 2]), n=3)
ds("neural_code_search/evaluation_dataset", OrderedDict(stackoverflow_id=I, question=S, question_url=S, question_author=S, question_author_url=S,
                                                        answer=S, answer_url=S, answer_author=S, answer_author_url=S, examples=Seq(I), examples_url=Seq(S)),
   lambda i: dict(stackoverflow_id=100 + i, question=["How to convert a string to an int in Java?", "How do I reverse a list in Python?"][i % 2],
                  answer=["int x = Integer.parseInt(\"42\");", "items.reverse()"][i % 2], examples=[1, 2], examples_url=["u1", "u2"]))
ds("newspop", OrderedDict(id=I, title=S, headline=S, source=S, topic=S, publish_date=S, facebook=I, google_plus=I, linked_in=I),
   lambda i: dict(id=i, title=["Obama visits Germany", "Microsoft releases new phone", "Economy grows 2 percent", "Palestine talks resume"][i % 4],
                  headline="The talks took place on Monday in the capital.", source="Reuters",
                  topic=["obama", "microsoft", "economy", "palestine"][i % 4], publish_date="2015-11-%02d" % (i + 1), facebook=5, google_plus=1, linked_in=0), n=4)
ds("nlu_evaluation_data", OrderedDict(text=S, scenario=S, label=CL(68)),
   lambda i: dict(text=["wake me up at five am this week", "what is the weather like today", "play some jazz music"][i % 3],
                  scenario=["alarm", "weather", "play"][i % 3]))
ds("nq_open", OrderedDict(question=S, answer=Seq(S)), lambda i: dict(question=T(i)["question"].lower().rstrip("?"), answer=[T(i)["answer"], T(i)["answer"].lower()][: 1 + i % 2]))
ds("numer_sense", OrderedDict(sentence=S, target=S),
   lambda i: dict(sentence=["a bird usually has <mask> legs.", "a week has <mask> days."][i % 2], target=["two", "seven"][i % 2]))
ds("onestop_english", OrderedDict(text=S, label=CL(["ele", "int", "adv"])), lambda i: dict(text="\n" + para(i, 2 + i % 2) + "\n"))
ds("openai_humaneval", OrderedDict(task_id=S, prompt=S, canonical_solution=S, test=S, entry_point=S),
   lambda i: dict(task_id="HumanEval/%d" % i, prompt=["def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n", "def is_even(n):\n    \"\"\"Return True if n is even.\"\"\"\n"][i % 2],
                  canonical_solution=["    return a + b\n", "    return n % 2 == 0\n"][i % 2],
                  test=["\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n", "\n\ndef check(candidate):\n    assert candidate(4) is True\n"][i % 2],
                  entry_point=["add", "is_even"][i % 2]))
ds("openbookqa/additional", OrderedDict(id=S, question_stem=S, choices=Seq(OrderedDict(text=S, label=S)), answerKey=S, fact1=S, humanScore=F,
                                        clarity=F, turkIdAnonymized=S),
   lambda i: (lambda c: dict(question_stem=T(i)["question"], choices=c[0], answerKey=c[1], fact1=sent(i, 0), humanScore=1.0, clarity=2.0,
                             turkIdAnonymized="t%d" % i))(mc_choices(i)), n=4)
ds("openbookqa/main", OrderedDict(id=S, question_stem=S, choices=Seq(OrderedDict(text=S, label=S)), answerKey=S),
   lambda i: (lambda c: dict(question_stem=T(i)["question"], choices=c[0], answerKey=c[1]))(mc_choices(i)), n=4)
PAWS = OrderedDict(id=I, sentence1=S, sentence2=S, label=CL(["0", "1"]))
ds("paws-x/en paws/labeled_final paws/labeled_swap paws/unlabeled_final", PAWS,
   lambda i: dict(id=i, sentence1="The tower was designed by Eiffel and completed in 1889.",
                  sentence2=["The tower was completed by Eiffel and designed in 1889.", "Designed by Eiffel, the tower was completed in 1889."][i % 2]))
ds("piqa", OrderedDict(goal=S, sol1=S, sol2=S, label=CL(["0", "1"])),
   lambda i: dict(goal=["To keep bread fresh longer,", "How do I clean a cast iron pan?"][i % 2],
                  sol1=["Store it in a paper bag at room temperature.", "Scrub it with salt and a little oil."][i % 2],
                  sol2=["Store it in a bucket of water.", "Soak it in water for a week."][i % 2]))
ds("poem_sentiment", OrderedDict(id=I, verse_text=S, label=CL(["negative", "positive", "no_impact", "mixed"])),
   lambda i: dict(id=i, verse_text=["with pale and weary face she wept", "the sun rose bright and glad", "the river runs beside the town",
                                    "sweet is the joy, yet bitter the end"][i % 4]))
ds("pubmed_qa/pqa_labeled", OrderedDict(pubid=I, question=S, context=Seq(OrderedDict(contexts=S, labels=S, meshes=S, reasoning_required_pred=S,
                                                                                      reasoning_free_pred=S)), long_answer=S, final_decision=S),
   lambda i: dict(pubid=1000 + i, question=["Does exercise lower blood pressure in adults?", "Is coffee linked to heart disease?", "Do statins reduce mortality?"][i % 3],
                  context=OrderedDict(contexts=["We enrolled 200 adults.", "Blood pressure fell by 5 mmHg in the exercise group."],
                                      labels=["METHODS", "RESULTS"], meshes=["Adult", "Blood Pressure", "Exercise"],
                                      reasoning_required_pred=["yes", "yes"], reasoning_free_pred=["yes", "no"]),
                  long_answer="Regular exercise lowered blood pressure.", final_decision=["yes", "no", "maybe"][i % 3]), n=3)
ds("qa_srl", OrderedDict(sentence=S, sent_id=S, predicate_idx=I, predicate=S, question=Seq(S), answers=Seq(S)),
   lambda i: dict(sentence="Maria baked two loaves of bread for her neighbours .", sent_id="s%d" % i, predicate_idx=1, predicate="baked",
                  question=[["who", "_", "_", "baked", "something", "_", "_", "?"], ["what", "did", "someone", "bake", "_", "_", "_", "?"]][i % 2],
                  answers=[["Maria"], ["two loaves of bread", "bread"]][i % 2]))
ds("qa_zre", OrderedDict(relation=S, question=S, subject=S, context=S, answers=Seq(S)),
   lambda i: dict(relation=["place of birth", "architect"][i % 2], question=["Where was XXX born?", "Who designed XXX?"][i % 2],
                  subject=["Marie Curie", "the Eiffel Tower"][i % 2], context=para([3, 1][i % 2], 2), answers=[["Warsaw"], []][i % 2]))


def qasc(i):
    t = T(i)
    o = [t["answer"]] + t["distractors"] + ["ice", "sand", "glass", "paper"]
    pos = i % 8
    o = o[1:pos + 1] + [t["answer"]] + o[pos + 1:]
    return dict(id=str(i), question=t["question"], choices=OrderedDict(text=o, label=list("ABCDEFGH")), answerKey="ABCDEFGH"[pos],
                fact1=sent(i, 0).lower(), fact2=sent(i, 1).lower(), combinedfact=sent(i, 0).lower(), formatted_question=t["question"])


ds("qasc", OrderedDict(id=S, question=S, choices=Seq(OrderedDict(text=S, label=S)), answerKey=S, fact1=S, fact2=S, combinedfact=S,
                       formatted_question=S), qasc, n=3)

ds("qed", OrderedDict(example_id=I64, title_text=S, url=S, question=S, paragraph_text=S, sentence_starts=Seq(I),
                      original_nq_answers=[OrderedDict(start=I, end=I, string=S)],
                      annotation=OrderedDict(referential_equalities=[OrderedDict(question_reference=OrderedDict(start=I, end=I, string=S),
                                                                                 sentence_reference=OrderedDict(start=I, end=I, bridge=S, string=S))],
                                             answer=[OrderedDict(sentence_reference=OrderedDict(start=I, end=I, bridge=S, string=S),
                                                                 paragraph_reference=OrderedDict(start=I, end=I, string=S))],
                                             explanation_type=S, selected_sentence=OrderedDict(start=I, end=I, string=S))),
   lambda i: dict(example_id=900 + i, title_text=T(i)["title"], url="https://en.wikipedia.org/wiki/%d" % i,
                  question=T(i)["question"].lower().rstrip("?"), paragraph_text=para(i), sentence_starts=[0, 60],
                  original_nq_answers=[OrderedDict(start=10, end=16, string=T(i)["answer"])],
                  annotation=OrderedDict(referential_equalities=[], answer=[], explanation_type=["single_sentence", "none"][i % 2],
                                         selected_sentence=OrderedDict(start=0, end=60, string=[sent(i, 0), ""][i % 2]))))
ds("quac", OrderedDict(dialogue_id=S, wikipedia_page_title=S, background=S, section_title=S, context=S, turn_ids=Seq(S), questions=Seq(S),
                       followups=Seq(CL(["y", "n", "m"])), yesnos=Seq(CL(["y", "n", "x"])),
                       answers=Seq(OrderedDict(texts=Seq(S), answer_starts=Seq(I))),
                       orig_answers=OrderedDict(texts=Seq(S), answer_starts=Seq(I))),
   lambda i: dict(dialogue_id=str(i), wikipedia_page_title=T(i)["title"], background=sent(i, 0), section_title="History",
                  context=para(i, 4) + " CANNOTANSWER", turn_ids=["t0", "t1", "t2"][: 2 + i % 2],
                  questions=[T(i)["question"], "What else is known?", "Anything interesting?"][: 2 + i % 2],
                  followups=[0, 1, 2][: 2 + i % 2], yesnos=[2, 2, 0][: 2 + i % 2],
                  answers=OrderedDict(texts=[[T(i)["answer"], T(i)["answer"] + "."], ["CANNOTANSWER"], [sent(i, 2)]][: 2 + i % 2],
                                      answer_starts=[[0, 0], [0], [0]][: 2 + i % 2]),
                  orig_answers=OrderedDict(texts=[T(i)["answer"], "CANNOTANSWER", sent(i, 2)][: 2 + i % 2], answer_starts=[0, 0, 0][: 2 + i % 2])))
ds("quail", OrderedDict(id=S, context_id=S, question_id=S, domain=S, metadata=OrderedDict(author=S, title=S, url=S), context=S, question=S,
                        question_type=S, answers=Seq(S), correct_answer_id=I),
   lambda i: dict(id="f%d" % i, context_id="f%d" % i, question_id="q%d" % i, domain="fiction", metadata=OrderedDict(author="A", title="T", url="U"),
                  context=[para(4, 4), LONG_TEXT][i % 2], question="Why did Maria bake bread?", question_type="Causality",
                  answers=["To be kind to her neighbours", "She was paid", "She lost a bet", "not enough information"], correct_answer_id=i % 4), n=4)
ds("quarel", OrderedDict(id=S, answer_index=I, logical_forms=Seq(S), logical_form_pretty=S,
                         world_literals=Seq(OrderedDict(world1=S, world2=S)), question=S),
   lambda i: dict(id=str(i), answer_index=i % 2, logical_forms=["(infer ...)"], logical_form_pretty="qrel(speed, higher, world1)",
                  world_literals=OrderedDict(world1=["carpet", "the road"][i % 2: i % 2 + 1], world2=["tile floor", "the mud"][i % 2: i % 2 + 1]),
                  question="A ball rolls further on a tile floor than on carpet. Which surface has more friction? (A) carpet (B) tile floor"))
ds("quartz", OrderedDict(id=S, question=S, choices=Seq(OrderedDict(text=S, label=S)), answerKey=S, para=S, para_id=S,
                         para_anno=OrderedDict(effect_prop=S, cause_dir_str=S, effect_dir_str=S, cause_dir_sign=S, effect_dir_sign=S, cause_prop=S),
                         question_anno=OrderedDict(more_effect_dir=S, less_effect_dir=S, less_cause_prop=S, more_effect_prop=S, less_effect_prop=S,
                                                   less_cause_dir=S)),
   lambda i: dict(question=["If Tom moves closer to the fire, he will feel _____ heat.", "Would a thicker blanket keep you warmer or colder?"][i % 2],
                  choices=OrderedDict(text=[["more", "less"], ["warmer", "colder"]][i % 2], label=["A", "B"]), answerKey=["A", "A"][i % 2] if i < 2 else "B",
                  para="The closer you are to a heat source, the more heat you feel.", para_id="p%d" % i,
                  para_anno=OrderedDict(effect_prop="heat", cause_dir_str="closer", effect_dir_str="more", cause_dir_sign="MORE", effect_dir_sign="MORE", cause_prop="distance"),
                  question_anno=OrderedDict(more_effect_dir="", less_effect_dir="", less_cause_prop="", more_effect_prop="", less_effect_prop="", less_cause_dir="")), n=3)
ds("quora", OrderedDict(questions=Seq(OrderedDict(id=I, text=S)), is_duplicate=B),
   lambda i: dict(questions=OrderedDict(id=[2 * i, 2 * i + 1], text=[T(i)["question"], [T(i)["question"].replace("?", " exactly?"), "How do I bake bread?"][i % 2]]),
                  is_duplicate=i % 2 == 0))
ds("quoref", OrderedDict(id=S, question=S, context=S, title=S, url=S, answers=Seq(OrderedDict(answer_start=I, text=S))),
   lambda i: dict(id=str(i), question="What is the first name of the person who scored the winning goal?", context=para(5, 4), title="Cup Final",
                  url="https://en.wikipedia.org/wiki/Cup", answers=OrderedDict(answer_start=[31, 31][: 1 + i % 2], text=["Tom", "Tom"][: 1 + i % 2])))
for sub in ("all", "high", "middle"):
    ds("race/" + sub, OrderedDict(example_id=S, article=S, answer=S, question=S, options=Seq(S)),
       lambda i: dict(example_id="high%d.txt" % i, article=[para(4, 4), LONG_TEXT][i % 2], answer="ABCD"[i % 4],
                      question=["What did Maria bake on Sunday morning?", "Maria baked bread for her _ ."][i % 2],
                      options=["bread", "a cake", "cookies", "a pie"] if i % 2 == 0 else ["neighbours", "teacher", "parents", "friends"]), n=4)
ds("riddle_sense", OrderedDict(answerKey=S, question=S, choices=Seq(OrderedDict(label=S, text=S))),
   lambda i: dict(answerKey="ABCDE"[i % 5], question=["What has keys but can't open locks?", "What gets wetter the more it dries?"][i % 2],
                  choices=OrderedDict(label=list("ABCDE"), text=[["piano", "door", "car", "map", "house"], ["towel", "rain", "sea", "sponge", "cloud"]][i % 2])), n=5)
ds("ropes", OrderedDict(id=S, background=S, situation=S, question=S, answers=Seq(OrderedDict(text=S))),
   lambda i: dict(id=str(i), background="The closer you are to a heat source, the more heat you feel.",
                  situation="Tom sat near the fire while Ann sat by the door.", question="Who felt more heat?",
                  answers=OrderedDict(text=[["Tom"], []][i % 2])))
ds("rotten_tomatoes", OrderedDict(text=S, label=CL(["neg", "pos"])),
   lambda i: dict(text=["a dull , lifeless film with a plot full of holes .", "a warm and funny story with a great cast ."][i % 2]))
ds("samsum", OrderedDict(id=S, dialogue=S, summary=S),
   lambda i: dict(id=str(i), dialogue=["Maria: I baked bread!\r\nTom: Save me a slice please.\r\nMaria: Sure :)", "Ann: Are you coming to the match?\r\nBen: Yes, see you at 7."][i % 2],
                  summary=["Maria baked bread and will save Tom a slice.", "Ben is coming to the match at 7."][i % 2]))
for sub in ("addprim_jump", "addprim_turn_left", "filler_num0", "filler_num1", "filler_num2", "filler_num3", "length", "simple",
            "template_around_right", "template_jump_around_right", "template_opposite_right", "template_right"):
    ds("scan/" + sub, OrderedDict(commands=S, actions=S),
       lambda i: dict(commands=["jump twice", "walk left and look right", "run opposite left"][i % 3],
                      actions=["I_JUMP I_JUMP", "I_TURN_LEFT I_WALK I_TURN_RIGHT I_LOOK", "I_TURN_LEFT I_TURN_LEFT I_RUN"][i % 3]), n=3)
ds("scicite", OrderedDict(string=S, sectionName=S, label=CL(["method", "background", "result"]), citingPaperId=S, citedPaperId=S,
                          excerpt_index=I, isKeyCitation=B, label2=CL(["supportive", "not_supportive", "cant_determine", "none"]),
                          citeEnd=I, citeStart=I, source=CL(["properNoun", "andPhrase", "acronym", "etAlPhrase", "explicit", "acronymParen", "nan"]),
                          label_confidence=F, label2_confidence=F, id=S),
   lambda i: dict(string=["We used the method of Smith et al. (2010) to measure absorption.", "Photosynthesis has been widely studied (Jones 2005).",
                          "Our results agree with those of Lee (2012)."][i % 3], sectionName=["Methods", "", "Discussion"][i % 3],
                  label2=3, source=6, label_confidence=1.0, label2_confidence=0.0))
for sub in ("arxiv", "pubmed"):
    ds("scientific_papers/" + sub, OrderedDict(article=S, abstract=S, section_names=S),
       lambda i: dict(article=[" " + "\n".join(T(2)["sents"] + T(3)["sents"][:2]) + " ", LONG_TEXT][i % 2], abstract=" " + sent(2, 0) + "\n" + sent(2, 1) + " ",
                      section_names="introduction\nmethods\nresults\n"))
ds("sciq", OrderedDict(question=S, distractor3=S, distractor1=S, distractor2=S, correct_answer=S, support=S),
   lambda i: dict(question=T(i)["question"], distractor1=T(i)["distractors"][0], distractor2=T(i)["distractors"][1],
                  distractor3=T(i)["distractors"][2], correct_answer=T(i)["answer"], support=[para(i), ""][i % 2]))
ds("scitail/snli_format", OrderedDict(sentence1_binary_parse=S, sentence1_parse=S, sentence1=S, sentence2_parse=S, sentence2=S,
                                      annotator_labels=Seq(S), gold_label=S),
   lambda i: dict(sentence1=sent(2, 0), sentence2=["Plants use sunlight to make sugar.", "Plants make salt at night."][i % 2],
                  annotator_labels=[["entailment"], ["neutral"]][i % 2], gold_label=["entailment", "neutral"][i % 2]))
ds("scitail/tsv_format", OrderedDict(premise=S, hypothesis=S, label=S),
   lambda i: dict(premise=sent(2, 0), hypothesis=["Plants use sunlight to make sugar.", "Plants make salt at night."][i % 2],
                  label=["entails", "neutral"][i % 2]))
ds("scitldr/Abstract", OrderedDict(source=Seq(S), source_labels=Seq(CL(["non-oracle", "oracle"])), rouge_scores=Seq(F), paper_id=S, target=Seq(S)),
   lambda i: dict(source=T(2)["sents"][:3], source_labels=[0, 1, 0], rouge_scores=[0.1, 0.6, 0.2], paper_id="p%d" % i,
                  target=[["Plants turn light into sugar.", "A study of photosynthesis."], ["Chlorophyll absorbs light."]][i % 2]))
ds("selqa/answer_selection_analysis",
   OrderedDict(section=S, question=S, article=S, is_paraphrase=B, topic=CL(["MUSIC", "TV", "TRAVEL", "ART", "SPORT", "COUNTRY", "MOVIES", "HISTORICAL EVENTS", "SCIENCE", "FOOD"]),
               answers=Seq(I), candidates=Seq(S), q_types=Seq(CL(["what", "why", "when", "who", "where", "how", ""]))),
   lambda i: dict(section="History", question=T(i)["question"], article=T(i)["title"], is_paraphrase=i % 2 == 0,
                  answers=[[1], [0, 2]][i % 2], candidates=T(i)["sents"][:3] + [" "], q_types=[0]))
ds("sem_eval_2010_task_8", OrderedDict(sentence=S, relation=CL(19)),
   lambda i: dict(sentence=["The <e1>bread</e1> came from the <e2>oven</e2>.", "The <e1>fire</e1> caused the <e2>damage</e2>."][i % 2]))
ds("sem_eval_2014_task_1", OrderedDict(sentence_pair_id=I64, premise=S, hypothesis=S, relatedness_score=F,
                                       entailment_judgment=CL(["NEUTRAL", "ENTAILMENT", "CONTRADICTION"])),
   lambda i: dict(sentence_pair_id=i, premise="A man is playing football in the park.",
                  hypothesis=["A person plays a sport outdoors.", "A man is kicking a ball.", "Nobody is playing football."][i % 3],
                  relatedness_score=[3.46, 4.5, 3.9][i % 3]))
ds("sent_comp", OrderedDict(graph=OrderedDict(id=S, sentence=S, node=Seq(OrderedDict(form=S, type=S, mid=S, word=Seq(OrderedDict(id=I, form=S, stem=S, tag=S)),
                                                                                       gender=I, head_word_index=I)),
                                              edge=Seq(OrderedDict(parent_id=I, child_id=I, label=S)), entity_mention=Seq(OrderedDict(start=I, end=I, head=I, name=S, type=S, mid=S, is_proper_name_entity=B, gender=I))),
                            compression=OrderedDict(text=S, edge=Seq(OrderedDict(parent_id=I, child_id=I))), headline=S, compression_ratio=F,
                            doc_id=S, source_tree=OrderedDict(id=S, sentence=S, node=Seq(OrderedDict(form=S, type=S, mid=S, word=Seq(OrderedDict(id=I, form=S, stem=S, tag=S)), gender=I, head_word_index=I)),
                                                                edge=Seq(OrderedDict(parent_id=I, child_id=I, label=S)), entity_mention=Seq(OrderedDict(start=I, end=I, head=I, name=S, type=S, mid=S, is_proper_name_entity=B, gender=I))),
                            compression_untransformed=OrderedDict(text=S, edge=Seq(OrderedDict(parent_id=I, child_id=I)))),
   lambda i: (lambda g: dict(graph=g, compression=OrderedDict(text=["Leeds won the cup final.", "Oil prices rose on Monday."][i % 2], edge=OrderedDict(parent_id=[], child_id=[])),
                             headline=["Leeds win cup", "Oil prices rise"][i % 2], compression_ratio=0.5, doc_id=str(i), source_tree=g,
                             compression_untransformed=OrderedDict(text="", edge=OrderedDict(parent_id=[], child_id=[]))))(
       OrderedDict(id=str(i), sentence=["Leeds won the cup final on Saturday after a late goal by Tom Harris.", "Oil prices rose on Monday as investors worried about supply."][i % 2],
                   node=OrderedDict(form=[], type=[], mid=[], word=[], gender=[], head_word_index=[]),
                   edge=OrderedDict(parent_id=[], child_id=[], label=[]),
                   entity_mention=OrderedDict(start=[], end=[], head=[], name=[], type=[], mid=[], is_proper_name_entity=[], gender=[]))))
ds("sick", OrderedDict(id=S, sentence_A=S, sentence_B=S, label=NLI3, relatedness_score=F, entailment_AB=S, entailment_BA=S,
                       sentence_A_original=S, sentence_B_original=S, sentence_A_dataset=S, sentence_B_dataset=S),
   lambda i: dict(id=str(i), sentence_A="A man is playing football in the park.",
                  sentence_B=["A person plays a sport outdoors.", "A man is kicking a ball.", "Nobody is playing football."][i % 3],
                  relatedness_score=[3.46, 4.5, 3.9][i % 3], entailment_AB=["A_entails_B", "A_neutral_B", "A_contradicts_B"][i % 3],
                  entailment_BA=["B_neutral_A", "B_neutral_A", "B_contradicts_A"][i % 3]))
ds("sms_spam", OrderedDict(sms=S, label=CL(["ham", "spam"])),
   lambda i: dict(sms=["Are we still meeting for lunch today?\n", "WINNER!! You have won a 1000 prize. Call 09061701461 now!\n"][i % 2]))
ds("snips_built_in_intents", OrderedDict(text=S, label=CL(["ComparePlaces", "RequestRide", "GetWeather", "SearchPlace", "GetPlaceDetails",
                                                           "ShareCurrentLocation", "GetTrafficInformation", "BookRestaurant", "GetDirections", "ShareETA"])),
   lambda i: dict(text=["Is the museum or the park closer?", "Get me a taxi to the airport", "Will it rain tomorrow?", "Find a pizza place nearby",
                        "What time does the bakery open?", "Send my location to Tom", "Is there traffic on the bridge?",
                        "Book a table for two at 7", "How do I get to the station?", "Tell Ann when I will arrive"][i % 10]))
ds("snli", OrderedDict(premise=S, hypothesis=S, label=NLI3), nli_rows)
ds("social_i_qa", OrderedDict(context=S, question=S, answerA=S, answerB=S, answerC=S, label=S),
   lambda i: dict(context="Maria baked bread for her neighbours on Sunday.", question="Why did Maria do this?",
                  answerA="to be kind", answerB="to sell it", answerC="to eat it alone", label=str(1 + i % 3)), n=3)
ds("species_800", OrderedDict(id=S, tokens=Seq(S), ner_tags=Seq(CL(["O", "B", "I"]))),
   lambda i: dict(id=str(i), tokens=[["Infection", "of", "Escherichia", "coli", "in", "mice", "."], ["Yeast", "cells", "were", "grown", "."]][i % 2],
                  ner_tags=[[0, 0, 1, 2, 0, 1, 0], [1, 0, 0, 0, 0]][i % 2], ), n=3)
ds("squad squad_adversarial/AddSent", SQUAD, lambda i: dict(squad_like(i), title=T(i)["title"].replace(" ", "_")))
ds("squad_v2", SQUAD, lambda i: dict(squad_like(i), title=T(i)["title"].replace(" ", "_")) if i % 2 == 0 else
   dict(squad_like(i, 0), title=T(i)["title"].replace(" ", "_"), question="What colour is the moon?"))
for sub in ("amazon", "new_wiki", "nyt"):
    ds("squadshifts/" + sub, SQUAD, lambda i: dict(squad_like(i), title=T(i)["title"]))
ds("sst/default", OrderedDict(sentence=S, label=F, tokens=S, tree=S),
   lambda i: dict(sentence=["A dull , lifeless film .", "A warm and funny story .", "It is a film ."][i % 3], label=[0.125, 0.875, 0.5][i % 3],
                  tokens="A|dull|,|lifeless|film|.", tree="7|7|8|8|9|9|0"), n=3)
ds("story_cloze/2016", OrderedDict(story_id=S, input_sentence_1=S, input_sentence_2=S, input_sentence_3=S, input_sentence_4=S,
                                   sentence_quiz1=S, sentence_quiz2=S, answer_right_ending=I),
   lambda i: dict(story_id=str(i), input_sentence_1="Maria wanted to thank her neighbours.", input_sentence_2="She decided to bake bread.",
                  input_sentence_3="She baked two loaves on Sunday.", input_sentence_4="She carried them next door.",
                  sentence_quiz1=["The neighbours were delighted.", "The neighbours threw the bread away."][i % 2],
                  sentence_quiz2=["The neighbours threw the bread away.", "The neighbours were delighted."][i % 2], answer_right_ending=1 + i % 2))
ds("stsb_multi_mt/en", OrderedDict(sentence1=S, sentence2=S, similarity_score=F),
   lambda i: dict(sentence1=sent(i, 0), sentence2=[sent(i, 0), sent(i, 2), sent(i, 1)][i % 3], similarity_score=[5.0, 0.5, 2.75][i % 3]), n=3)
SUBJ_DOM = {"books": "books", "electronics": "electronics", "grocery": "grocery", "movies": "movies", "restaurants": "restaurants", "tripadvisor": "tripadvisor"}
for sub in SUBJ_DOM:
    ds("subjqa/" + sub,
       OrderedDict(domain=S, nn_mod=S, nn_asp=S, query_mod=S, query_asp=S, q_reviews_id=S, question_subj_level=I, ques_subj_score=F, is_ques_subjective=B,
                   review_id=S, id=S, title=S, context=S, question=S,
                   answers=Seq(OrderedDict(text=S, answer_start=I, answer_subj_level=I, ans_subj_score=F, is_ans_subjective=B))),
       (lambda sub: lambda i: dict(domain=sub, nn_mod="great", nn_asp="story", query_mod="good", query_asp="plot", q_reviews_id="r%d" % i,
                                   question_subj_level=1 + i % 5, ques_subj_score=0.5, is_ques_subjective=i % 2 == 0, review_id="rv%d" % i,
                                   id="x%d" % i, title="B00%d" % i, context="The story is great and the characters feel real. ANSWERNOTFOUND",
                                   question=["How is the story?", "Is the plot good?"][i % 2],
                                   answers=OrderedDict(text=[["The story is great"], []][i % 2], answer_start=[[0], []][i % 2],
                                                       answer_subj_level=[[2], []][i % 2], ans_subj_score=[[0.6], []][i % 2],
                                                       is_ans_subjective=[[True], []][i % 2])))(sub), n=5)
ds("super_glue/axb", OrderedDict(sentence1=S, sentence2=S, idx=I, label=CL(["entailment", "not_entailment"])),
   lambda i: dict(sentence1=para(i, 1), sentence2=["%s is mentioned." % T(i)["entity"], "Nothing happened."][i % 2], idx=i))
ds("super_glue/axg", OrderedDict(premise=S, hypothesis=S, idx=I, label=CL(["entailment", "not_entailment"])),
   lambda i: dict(premise="The nurse called the doctor because she needed advice.", hypothesis=["The nurse needed advice.", "The doctor needed advice."][i % 2], idx=i))
ds("super_glue/boolq", OrderedDict(question=S, passage=S, idx=I, label=CL(["False", "True"])),
   lambda i: dict(question=["is the eiffel tower in paris", "was marie curie born in paris"][i % 2], passage=[para(1, 4), LONG_TEXT][i % 2], idx=i))
ds("super_glue/cb", OrderedDict(premise=S, hypothesis=S, idx=I, label=NLI3), lambda i: dict(nli_rows(i), idx=i))
ds("super_glue/copa", OrderedDict(premise=S, choice1=S, choice2=S, question=S, idx=I, label=CL(["choice1", "choice2"])),
   lambda i: dict(premise=["The man broke his toe.", "I poured water on the fire."][i % 2], choice1=["He dropped a hammer on his foot.", "The fire went out."][i % 2],
                  choice2=["He got a hole in his sock.", "The fire grew larger."][i % 2], question=["cause", "effect"][i % 2], idx=i), n=4)
ds("super_glue/multirc", OrderedDict(paragraph=S, question=S, answer=S, idx=OrderedDict(paragraph=I, question=I, answer=I), label=CL(["False", "True"])),
   lambda i: dict(paragraph=para(i, 4), question=T(i)["question"], answer=[T(i)["distractors"][0], T(i)["answer"]][i % 2],
                  idx=OrderedDict(paragraph=0, question=0, answer=i)))
ds("super_glue/record", OrderedDict(passage=S, query=S, entities=Seq(S), answers=Seq(S), idx=OrderedDict(passage=I, query=I)),
   lambda i: dict(passage=["(CNN) Leeds won the cup final after a late goal by Tom Harris.\n@highlight\nHarris scored in the 85th minute\n@highlight\nLeeds end ten-year wait",
                           LONG_TEXT + "\n@highlight\nA long passage"][i % 2],
                  query=["@placeholder praised the defence after the game.", "The tower in @placeholder was completed in 1889."][i % 2],
                  entities=[["Leeds", "Tom Harris", "CNN"], ["Paris", "Eiffel"]][i % 2], answers=[["Tom Harris"], ["Paris"]][i % 2],
                  idx=OrderedDict(passage=i, query=i)))
ds("super_glue/rte", OrderedDict(premise=S, hypothesis=S, idx=I, label=CL(["entailment", "not_entailment"])),
   lambda i: dict(premise=para(i, 2), hypothesis=["%s is mentioned." % T(i)["entity"], "Nothing happened in 2010."][i % 2], idx=i))
ds("super_glue/wic", OrderedDict(word=S, sentence1=S, sentence2=S, start1=I, start2=I, end1=I, end2=I, idx=I, label=CL(["False", "True"])),
   lambda i: dict(word="bank", sentence1="He sat on the bank of the river.", sentence2=["She deposited cash at the bank.", "The river bank was muddy."][i % 2],
                  start1=14, start2=[26, 10][i % 2], end1=18, end2=[30, 14][i % 2], idx=i))
ds("super_glue/wsc.fixed", OrderedDict(text=S, span1_index=I, span2_index=I, span1_text=S, span2_text=S, idx=I, label=CL(["False", "True"])),
   lambda i: dict(text="The city councilmen refused the demonstrators a permit because they feared violence.", span1_index=[1, 5][i % 2], span2_index=9,
                  span1_text=["The city councilmen", "the demonstrators"][i % 2], span2_text="they", idx=i))
ds("swag/regular", OrderedDict(video_id=S, fold_ind=S, startphrase=S, sent1=S, sent2=S, gold_source=S, ending0=S, ending1=S, ending2=S, ending3=S,
                               label=CL(["0", "1", "2", "3"])),
   lambda i: dict(video_id="anetv_%d" % i, fold_ind=str(i), startphrase="A woman is standing in a kitchen. She", sent1="A woman is standing in a kitchen.",
                  sent2="She", gold_source="gold", ending0="mixes flour and butter in a bowl.", ending1="jumps into a swimming pool.",
                  ending2="paints the ceiling blue.", ending3="sings to the oven."))
ds("tab_fact/tab_fact", OrderedDict(id=I, table_id=S, table_text=S, table_caption=S, statement=S, label=CL(["refuted", "entailed"])),
   lambda i: dict(id=i, table_id="1-1000-1.html.csv", table_text="team#goals#points\nleeds#12#30\nhull#8#22\n", table_caption="2005 cup season",
                  statement=["hull scored more goals than leeds", "leeds scored 12 goals"][i % 2]))
ds("tmu_gfm_dataset", OrderedDict(source=S, output=S, grammer=Seq(I), fluency=Seq(F), meaning=Seq(I), system=S, ave_g=F, ave_f=F, ave_m=F),
   lambda i: dict(source=["She go to school every days .", "I has two dog ."][i % 2], output=["She goes to school every day .", "I have two dogs ."][i % 2],
                  grammer=[4, 3, 4], fluency=[3.5, 4.0, 3.0], meaning=[4, 4, 3], system="sys%d" % i, ave_g=[3.667, 2.5][i % 2],
                  ave_f=[3.5, 2.25][i % 2], ave_m=[3.667, 4.0][i % 2]))
TREC_FINE = ["manner", "cremat", "animal", "exp", "ind", "gr", "title", "def", "date", "reason", "event", "state", "desc", "count", "other",
             "letter", "religion", "food", "country", "color", "termeq", "city", "body", "dismed", "mount", "money", "product", "period",
             "substance", "sport", "plant", "techmeth", "volsize", "instru", "abb", "speed", "word", "lang", "perc", "code", "dist", "temp",
             "symbol", "ord", "veh", "weight", "currency"]
TREC_COARSE_OF = {0: 0, 7: 0, 9: 0, 12: 0, 34: 2, 3: 2, 5: 3, 4: 3, 6: 3, 21: 5, 18: 5, 24: 5, 11: 5, 14: 5,
                  39: 4, 13: 4, 8: 4, 40: 4, 25: 4, 43: 4, 27: 4, 38: 4, 35: 4, 41: 4, 32: 4, 45: 4}
TREC_EXTRA = [(14, 1), (14, 4), (12, 3)]
ds("trec", OrderedDict(text=S, label_coarse=CL(["DESC", "ENTY", "ABBR", "HUM", "NUM", "LOC"]), label_fine=CL(TREC_FINE)),
   lambda i: (lambda fc: dict(text=["How did serfdom develop in and then leave Russia ?", "What films featured the character Popeye Doyle ?",
                                    "Who designed the Eiffel Tower ?", "Where was Marie Curie born ?", "When was the Eiffel Tower completed ?",
                                    "What does NASA stand for ?"][fc[1]], label_fine=fc[0], label_coarse=fc[1]))(
       (i, TREC_COARSE_OF.get(i, 1)) if i < 47 else TREC_EXTRA[i - 47]), n=50)
ds("trivia_qa/unfiltered", OrderedDict(question=S, question_id=S, question_source=S,
                                       entity_pages=Seq(OrderedDict(doc_source=S, filename=S, title=S, wiki_context=S)),
                                       search_results=Seq(OrderedDict(description=S, filename=S, rank=I, title=S, url=S, search_context=S)),
                                       answer=OrderedDict(aliases=Seq(S), normalized_aliases=Seq(S), matched_wiki_entity_name=S,
                                                          normalized_matched_wiki_entity_name=S, normalized_value=S, type=S, value=S)),
   lambda i: dict(question=T(i)["question"], question_id="tc_%d" % i, question_source="http://www.quizballs.com/",
                  entity_pages=OrderedDict(doc_source=[], filename=[], title=[], wiki_context=[]),
                  search_results=OrderedDict(description=[], filename=[], rank=[], title=[], url=[], search_context=[]),
                  answer=OrderedDict(aliases=[T(i)["answer"], T(i)["answer"].upper()][: 1 + i % 2], normalized_aliases=[T(i)["answer"].lower()],
                                     matched_wiki_entity_name="", normalized_matched_wiki_entity_name="", normalized_value=T(i)["answer"].lower(),
                                     type="WikipediaEntity", value=T(i)["answer"])))
ds("turk", OrderedDict(original=S, simplifications=Seq(S)),
   lambda i: dict(original=sent(i, 1), simplifications=[" ".join(sent(i, 1).split()[:6]) + ".", " ".join(sent(i, 1).split()[:5]) + "."]))
TWEET = {"emoji": 20, "emotion": 4, "hate": 2, "irony": 2, "offensive": 2, "sentiment": 3,
         "stance_abortion": 3, "stance_atheism": 3, "stance_climate": 3, "stance_feminist": 3, "stance_hillary": 3}
TWEETS = ["Sunny day at the beach with my favourite people", "I can't believe they cancelled the match again #annoyed",
          "Just finished baking bread, the kitchen smells amazing", "Nobody should be treated like that. Ever. #SemST",
          "Oh great, another Monday. Just what I needed", "@user thanks for the support, see you on Friday"]
for sub, k in TWEET.items():
    ds("tweet_eval/" + sub, OrderedDict(text=S, label=CL(k)), lambda i: dict(text=TWEETS[i % len(TWEETS)]))
ds("tydiqa/primary_task",
   OrderedDict(passage_answer_candidates=Seq(OrderedDict(plaintext_start_byte=I, plaintext_end_byte=I)), question_text=S, document_title=S,
               language=S, annotations=Seq(OrderedDict(passage_answer_candidate_index=I, minimal_answers_start_byte=I, minimal_answers_end_byte=I,
                                                       yes_no_answer=S)), document_plaintext=S, document_url=S),
   lambda i: dict(passage_answer_candidates=OrderedDict(plaintext_start_byte=[0, 80], plaintext_end_byte=[79, 160]),
                  question_text=["is the eiffel tower in paris", "where was marie curie born", "does the amazon lie in brazil", "quand la tour a-t-elle été construite"][i % 4],
                  document_title=["Eiffel Tower", "Marie Curie", "Amazon rainforest", "Tour Eiffel"][i % 4],
                  language=["english", "english", "english", "french"][i % 4],
                  annotations=OrderedDict(passage_answer_candidate_index=[0, 0], minimal_answers_start_byte=[-1, 30], minimal_answers_end_byte=[-1, 36],
                                          yes_no_answer=[["YES", "YES"], ["NONE", "NONE"], ["NO", "NO"], ["YES", "YES"]][i % 4]),
                  document_plaintext=[para(1, 4), para(3, 4), LONG_TEXT, para(1, 2)][i % 4], document_url="https://example.org/%d" % i), n=4)
ds("tydiqa/secondary_task", SQUAD,
   lambda i: dict(squad_like(i), id=["english-%d" % i, "arabic-%d" % i, "english-%d-x" % i][i % 3], title=T(i)["title"]), n=3)
ds("web_questions", OrderedDict(url=S, question=S, answers=Seq(S)),
   lambda i: dict(url="http://www.freebase.com/view/en/x%d" % i, question=T(i)["question"].lower(), answers=[[T(i)["answer"]], [T(i)["answer"], T(i)["distractors"][0]]][i % 2]))
ds("wiki_bio", OrderedDict(input_text=OrderedDict(table=Seq(OrderedDict(column_header=S, row_number=I, content=S)), context=S), target_text=S),
   lambda i: dict(input_text=OrderedDict(table=OrderedDict(column_header=["name", "birth_date", "birth_place", "article_title", "occupation"],
                                                           row_number=[1, 1, 1, 1, 1],
                                                           content=[["marie curie", "7 november 1867", "warsaw , poland", "marie curie", "physicist , chemist"],
                                                                    ["tom harris", "3 may 1990", "leeds , england", "tom harris", "footballer"]][i % 2]),
                                         context=["marie curie\n", "tom harris\n"][i % 2]),
                  target_text=["marie curie -lrb- 7 november 1867 -- 4 july 1934 -rrb- was a polish physicist and chemist .\n",
                               "tom harris -lrb- born 3 may 1990 -rrb- is an english footballer .\n"][i % 2]))
WH_Q = ["place_of_birth marie curie", "country_of_citizenship tom harris", "place_of_death marie curie", "located_in_the_administrative_territorial_entity eiffel tower"]
for sub in ("masked", "original"):
    ds("wiki_hop/" + sub, OrderedDict(id=S, question=S, answer=S, candidates=Seq(S), supports=Seq(S),
                                      annotations=Seq(Seq(S))),
       (lambda sub: lambda i: dict(id="WH_train_%d" % i, question=WH_Q[i % 4],
                                   answer=(["warsaw", "england", "passy", "paris"][i % 4] if sub == "original" else "___MASK%d___" % (i % 3)),
                                   candidates=(["warsaw", "paris", "england", "passy"] if sub == "original" else ["___MASK0___", "___MASK1___", "___MASK2___"]),
                                   supports=[sent(3, 0), sent(3, 3)], annotations=[]))(sub), n=4)
ds("wiki_qa", OrderedDict(question_id=S, question=S, document_title=S, answer=S, label=CL(["0", "1"])),
   lambda i: dict(question_id="Q%d" % i, question=T(i)["question"].lower(), document_title=T(i)["title"], answer=sent(i, [2, 0][i % 2])))
ds("wiki_split", OrderedDict(complex_sentence=S, simple_sentence_1=S, simple_sentence_2=S),
   lambda i: dict(complex_sentence=["Marie Curie , who was born in Warsaw , won two Nobel Prizes .", "Leeds won the cup , and the fans celebrated ."][i % 2],
                  simple_sentence_1=["Marie Curie was born in Warsaw .", "Leeds won the cup ."][i % 2],
                  simple_sentence_2=["She won two Nobel Prizes .", "The fans celebrated ."][i % 2]))
WB = [(["The", "developer", "argued", "with", "the", "designer", "because", "she", "did", "not", "like", "the", "design", "."], ["1", "1", "7", "7"]),
      (["The", "mechanic", "gave", "the", "clerk", "a", "present", "because", "he", "won", "the", "lottery", "."], ["1", "1", "8", "8"])]
for sub in ("type1_anti", "type1_pro", "type2_anti", "type2_pro"):
    ds("wino_bias/" + sub, OrderedDict(document_id=S, part_number=S, word_number=Seq(I), tokens=Seq(S), pos_tags=Seq(I), parse_bit=Seq(S),
                                       predicate_lemma=Seq(S), predicate_framenet_id=Seq(S), word_sense=Seq(F), speaker=Seq(S),
                                       ner_tags=Seq(I), verbal_predicates=Seq(S), coreference_clusters=Seq(S)),
       lambda i: dict(document_id="%s_%d" % ("train", i), part_number="0", word_number=list(range(len(WB[i % 2][0]))), tokens=WB[i % 2][0],
                      pos_tags=[], parse_bit=[], predicate_lemma=[], predicate_framenet_id=[], word_sense=[], speaker=[], ner_tags=[],
                      verbal_predicates=[], coreference_clusters=WB[i % 2][1]))
WSC = OrderedDict(text=S, pronoun=S, pronoun_loc=I, quote=S, quote_loc=I, options=Seq(S), label=CL(["0", "1"]), source=S)
for sub in ("wsc273", "wsc285"):
    ds("winograd_wsc/" + sub, WSC,
       lambda i: dict(text=["The city councilmen refused the demonstrators a permit because they feared violence.",
                            "The trophy doesn't fit into the brown suitcase because it is too large."][i % 2],
                      pronoun=["they", "it"][i % 2], pronoun_loc=[63, 50][i % 2], quote=["they feared violence", "it is too large"][i % 2],
                      quote_loc=[63, 50][i % 2], options=[["The city councilmen", "The demonstrators"], ["the trophy", "the suitcase"]][i % 2],
                      source="Hector Levesque"))
for sub in ("winogrande_debiased", "winogrande_l", "winogrande_m", "winogrande_s", "winogrande_xl", "winogrande_xs"):
    ds("winogrande/" + sub, OrderedDict(sentence=S, option1=S, option2=S, answer=S),
       lambda i: dict(sentence=["Sarah was a much better surgeon than Maria so _ always got the harder cases.",
                                "The trophy doesn't fit into the suitcase because the _ is too small."][i % 2],
                      option1=["Sarah", "trophy"][i % 2], option2=["Maria", "suitcase"][i % 2], answer=["1", "2"][i % 2]))
ds("wiqa", OrderedDict(question_stem=S, question_para_step=Seq(S), answer_label=S, answer_label_as_choice=S,
                       choices=Seq(OrderedDict(text=S, label=S)), metadata_question_id=S, metadata_graph_id=S, metadata_para_id=S,
                       metadata_question_type=S, metadata_path_len=I),
   lambda i: dict(question_stem=["suppose more sunlight reaches the leaves happens, how will it affect MORE sugar being made?",
                                 "suppose the soil is dry happens, how will it affect LESS oxygen released?",
                                 "suppose it rains on the market happens, how will it affect more bread baked?"][i % 3],
                  question_para_step=["Sunlight reaches the leaves", "Chlorophyll absorbs the light", "Water and carbon dioxide are turned into sugar",
                                      "Oxygen is released", ""][: 4 + i % 2],
                  answer_label=["more", "less", "no_effect"][i % 3], answer_label_as_choice="ABC"[i % 3],
                  choices=OrderedDict(text=["more", "less", "no effect"], label=["A", "B", "C"]), metadata_question_id="q%d" % i,
                  metadata_graph_id="g%d" % i, metadata_para_id="p%d" % i,
                  metadata_question_type=["INPARA_EFFECT", "EXOGENOUS_EFFECT", "OUTOFPARA_DISTRACTOR"][i % 3], metadata_path_len=[1, 2, 0][i % 3]), n=3)
ds("xnli/en", OrderedDict(premise=S, hypothesis=S, label=NLI3), nli_rows)
ds("xquad/xquad.en", OrderedDict(id=S, context=S, question=S, answers=Seq(OrderedDict(text=S, answer_start=I))), lambda i: squad_like(i))
ds("xquad_r/en", OrderedDict(id=S, context=S, question=S, answers=Seq(OrderedDict(text=S, answer_start=I))), lambda i: squad_like(i))
ds("xsum", OrderedDict(document=S, summary=S, id=S),
   lambda i: dict(document=[para(i, 4), LONG_TEXT][i % 2], summary=sent(i, 0), id=str(30000000 + i)))
YAHOO_CATS = ["Society & Culture", "Science & Mathematics", "Health", "Education & Reference", "Computers & Internet", "Sports",
              "Business & Finance", "Entertainment & Music", "Family & Relationships", "Politics & Government"]
ds("yahoo_answers_qa", OrderedDict(id=S, question=S, answer=S, nbestanswers=Seq(S), main_category=S),
   lambda i: dict(id=str(i), question=["How do I keep bread fresh longer?", "Why is the sky blue?"][i % 2],
                  answer=["Store it in a paper bag at room temperature.", "Because air scatters blue light more than red light."][i % 2],
                  nbestanswers=[["Store it in a paper bag at room temperature.", "Freeze it."], ["Because air scatters blue light more than red light."]][i % 2],
                  main_category=YAHOO_CATS[i % 10]))
ds("yahoo_answers_topics", OrderedDict(id=I, topic=CL(YAHOO_CATS), question_title=S, question_content=S, best_answer=S),
   lambda i: dict(id=i, question_title=T(i)["question"], question_content=["", "I always wondered about this."][i % 2], best_answer=sent(i, 0)))
ds("yelp_polarity", OrderedDict(text=S, label=CL(["1", "2"])), lambda i: dict(text=[REVIEWS[1], REVIEWS[5], LONG_TEXT][i % 3]), n=3)
ds("yelp_review_full", OrderedDict(label=CL(["1 star", "2 star", "3 stars", "4 stars", "5 stars"]), text=S),
   lambda i: dict(text=[REVIEWS[1], REVIEWS[4], REVIEWS[2], REVIEWS[5], REVIEWS[3]][i % 5]))
ds("zest", OrderedDict(context=S, question=S, answer=Seq(S), all_answers=Seq(S), domain=S),
   lambda i: dict(domain=["national_parks", "animals", "lakes"][i % 3], context=para(i, 3), question=["Is this national park in Brazil?", "What animals live here?", "Does it have a lake?"][i % 3],
                  answer=[["Yes"], ["jaguars|monkeys"], ["n/a"]][i % 3], all_answers=[]), n=3)


# ----------------------------------------------------------------------------------------------
# Rows
# ----------------------------------------------------------------------------------------------

def n_rows(features, n):
    k = max(2, n or 0)
    for f in features.values():
        if isinstance(f, CL):
            k = max(k, len(f.names))
    return k


def make_rows(folder):
    features, build, n, long = DS[folder]
    rows = []
    for i in range(n_rows(features, n)):
        over = build(i) if build else {}
        unknown = set(over) - set(features)
        if unknown:
            raise KeyError("%s: fields %s not in schema" % (folder, sorted(unknown)))
        row = OrderedDict()
        for k, f in features.items():
            row[k] = over[k] if k in over else gen(f, k, i, None)
        if long and i == 1 and len(row[long]) < 2100:
            row[long] = LONG_TEXT
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------
# Rendering with PromptSource's own code
# ----------------------------------------------------------------------------------------------

def load_promptsource(path):
    sys.path.insert(0, path)
    from promptsource import templates as pst  # noqa: E402  (PromptSource 0.2.3's own templates.py)
    return pst


def random_filters_used(pst, tmpl):
    from jinja2 import nodes
    used = set()
    for src in (tmpl.jinja, tmpl.answer_choices):
        if src:
            for node in pst.env.parse(src).find_all(nodes.Filter):
                if node.name in ("choice", "random"):
                    used.add(node.name)
    return used


class Enumerator:
    """Replaces the random filters by a chooser that follows a given list of indices (0 past its end) and
    records each call's number of options, so that every combination can be walked through."""

    def __init__(self):
        self.path, self.sizes, self.pos = [], [], 0

    def pick(self, seq):
        seq = list(seq)
        if not seq:
            raise IndexError("Cannot choose from an empty sequence")
        k = self.path[self.pos] if self.pos < len(self.path) else 0
        self.sizes.append(len(seq))
        self.pos += 1
        return seq[k]


def all_results(pst, tmpl, row, cap=256):
    """Every distinct result of tmpl.apply(row) over all combinations of the random filters' picks
    (depth-first; at most `cap` renders). Returns (results, truncated); a result is ["ok", parts] or ["error", msg]."""
    from jinja2.utils import pass_context
    saved = dict(pst.env.filters)
    results, seen = [], set()
    en = Enumerator()
    try:
        pst.env.filters["choice"] = en.pick
        pst.env.filters["random"] = pass_context(lambda ctx, seq: en.pick(seq))
        stack, tried = [[]], 0
        while stack and tried < cap:
            path = stack.pop()
            en.path, en.sizes, en.pos = path, [], 0
            tried += 1
            try:
                res = ["ok", tmpl.apply(row)]
            except Exception as e:  # noqa: BLE001
                res = ["error", "%s: %s" % (type(e).__name__, e)]
            key = json.dumps(res)
            if key not in seen:
                seen.add(key)
                results.append(res)
            for d in range(len(en.sizes) - 1, len(path) - 1, -1):
                for k in range(en.sizes[d] - 1, 0, -1):
                    stack.append(path + [0] * (d - len(path)) + [k])
        truncated = bool(stack)
    finally:
        pst.env.filters.clear()
        pst.env.filters.update(saved)
    return results, truncated


def folder_to_names(pst, folder):
    parts = folder.split("/")
    if parts[0] in pst.INCLUDED_USERS:
        return "/".join(parts[:2]), (parts[2] if len(parts) > 2 else None)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def template_folders(templates_dir):
    out = []
    for dirpath, _, files in os.walk(templates_dir):
        if "templates.yaml" in files:
            out.append(os.path.relpath(dirpath, templates_dir).replace(os.sep, "/"))
    return sorted(out)


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promptsource", required=True, help="unpacked promptsource-0.2.3 source distribution")
    ap.add_argument("--templates", default=os.path.join(ROOT, "..", "shared", "data", "promptsource", "templates"))
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "promptsource"))
    ap.add_argument("--diagnose", action="store_true", help="render with StrictUndefined and list what rows lack; writes nothing")
    ap.add_argument("--only", default=None, help="only folders starting with this")
    args = ap.parse_args()

    pst = load_promptsource(args.promptsource)
    templates_dir = os.path.abspath(args.templates)
    pst.TEMPLATES_FOLDER_PATH = templates_dir
    folders = template_folders(templates_dir)
    missing = [f for f in folders if f not in DS]
    extra = [f for f in DS if f not in folders]
    if missing or extra:
        sys.exit("schemas missing for %s; schemas without templates: %s" % (missing, extra))
    if args.only:
        folders = [f for f in folders if f.startswith(args.only)]

    if args.diagnose:
        from jinja2 import StrictUndefined
        pst.env.undefined = StrictUndefined
        for folder in folders:
            rows = [json.loads(dumps(r)) for r in make_rows(folder)]
            dt = pst.DatasetTemplates(*folder_to_names(pst, folder))
            for tid, t in dt.templates.items():
                for ri, row in enumerate(rows):
                    random.seed(SEED)
                    try:
                        parts = t.apply(row)
                        if len(parts) < 2 or not parts[-1]:
                            print("EMPTY  %s | %s | row %d: %d parts" % (folder, t.name, ri, len(parts)))
                    except Exception as e:  # noqa: BLE001
                        print("ERROR  %s | %s | row %d: %s: %s" % (folder, t.name, ri, type(e).__name__, str(e)[:150]))
        return

    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "datasets"), exist_ok=True)
    stats = dict(folders=0, datasets=set(), templates=0, rows=0, renders=0, single_part=0, empty_target=0,
                 uses_choice=0, uses_random=0, choice_renders=0, truncated_alternatives=0, errors=0, ac_errors=0)
    errors = []
    per_template_rows = {}
    with open(os.path.join(out, "expected.jsonl"), "w", encoding="utf-8") as exp:
        for folder in folders:
            features = DS[folder][0]
            rows = make_rows(folder)
            ddir = os.path.join(out, "datasets", folder)
            os.makedirs(ddir, exist_ok=True)
            with open(os.path.join(ddir, "train.jsonl"), "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(dumps(r) + "\n")
            with open(os.path.join(ddir, "features.json"), "w", encoding="utf-8") as fh:
                fh.write(json.dumps(feat_json(features), indent=1) + "\n")
            # What the renderer sees is exactly what the fixture file holds.
            with open(os.path.join(ddir, "train.jsonl"), encoding="utf-8") as fh:
                rows = [json.loads(line, object_pairs_hook=OrderedDict) for line in fh]
            stats["folders"] += 1
            stats["datasets"].add(folder.split("/")[0])  # top-level templates folders, as PromptSource counts them
            stats["rows"] += len(rows)
            dt = pst.DatasetTemplates(*folder_to_names(pst, folder))
            for tid, t in dt.templates.items():
                stats["templates"] += 1
                used = random_filters_used(pst, t)
                if "choice" in used:
                    stats["uses_choice"] += 1
                if "random" in used:
                    stats["uses_random"] += 1
                for ri, row in enumerate(rows):
                    rec = OrderedDict(templates=folder, template=tid, name=t.name, row=ri)
                    random.seed(SEED)
                    try:
                        parts = t.apply(row)
                        rec["parts"] = parts
                        if len(parts) < 2:
                            stats["single_part"] += 1
                        elif parts[-1] == "":
                            stats["empty_target"] += 1
                    except Exception as e:  # noqa: BLE001
                        rec["error"] = "%s: %s" % (type(e).__name__, e)
                        stats["errors"] += 1
                        errors.append((folder, t.name, ri, rec["error"]))
                    random.seed(SEED)
                    try:
                        rec["answer_choices"] = t.get_answer_choices_list(row)
                    except Exception as e:  # noqa: BLE001
                        rec["answer_choices"] = None
                        rec["answer_choices_error"] = "%s: %s" % (type(e).__name__, e)
                        stats["ac_errors"] += 1
                    rec["uses_choice"] = "choice" in used
                    if "random" in used:
                        rec["uses_random_filter"] = True
                    if used:
                        stats["choice_renders"] += 1
                        results, truncated = all_results(pst, t, row)
                        rec["alternatives"] = [r[1] for r in results if r[0] == "ok"]
                        alt_errors = [r[1] for r in results if r[0] == "error"]
                        if alt_errors:
                            rec["alternative_errors"] = alt_errors
                        if truncated:
                            rec["alternatives_truncated"] = True
                            stats["truncated_alternatives"] += 1
                    exp.write(dumps(rec) + "\n")
                    stats["renders"] += 1
                    per_template_rows[(folder, tid)] = per_template_rows.get((folder, tid), 0) + 1
    stats["datasets"] = len(stats["datasets"])
    stats["min_rows_per_template"] = min(per_template_rows.values())
    size = 0
    for dirpath, _, files in os.walk(out):
        for f in files:
            if f != "README.md":
                size += os.path.getsize(os.path.join(dirpath, f))
    stats["bytes"] = size
    write_readme(out, stats, errors)
    print(json.dumps(stats, indent=1))
    for e in errors:
        print("ERROR", *e)


def write_readme(out, st, errors):
    err_lines = "\n".join("- `%s` / %s / row %d: `%s`" % (f, n, r, e[:200]) for f, n, r, e in errors) or "none"
    text = f"""# PromptSource rendering fixtures

Reference results of PromptSource 0.2.3's own `Template.apply` (default `truncate=True`, which rewrites every
`}}}}` of the Jinja source to ` | string | truncate(2048) }}}}` before rendering) and
`Template.get_answer_choices_list`, for every template of `shared/data/promptsource/templates` over rows made
here with each dataset's Hugging Face schema. Made by `tools/make_promptsource_fixtures.py`, which holds the
hand-written schemas and the deterministic row builders (seed {SEED}) and imports PromptSource's `templates.py`
from its source distribution (its real `Template`, Jinja `Environment` and filters; nothing of it is copied here).

## Regenerate

```
python3 -m venv /work/venv-ps && /work/venv-ps/bin/pip install jinja2 pyyaml pandas setuptools
mkdir -p /tmp/ps && cd /tmp/ps && /work/venv-ps/bin/pip download --no-deps --ignore-requires-python promptsource==0.2.3 -d . \\
  && tar xzf promptsource-0.2.3.tar.gz
cd /work/main && /work/venv-ps/bin/python tools/make_promptsource_fixtures.py --promptsource /tmp/ps/promptsource-0.2.3
```

(`--diagnose` renders with Jinja's `StrictUndefined` and lists the fields rows lack; it writes nothing.)
Made with Jinja2 3.1.6, PyYAML 6.0.

## Layout

- `datasets/<folder>/train.jsonl`: the rows, one JSON object a line, keys in schema order. `<folder>` is the
  templates.yaml's folder relative to `templates/` (`ag_news`, `glue/mrpc`, `Zaid/coqa_expanded`). A
  ClassLabel is its integer; a `Sequence` of a dict is a dict of lists (squad's `answers` =
  `{{"text": [...], "answer_start": [...]}}`); a plain-list feature (`[{{...}}]`, e.g. conv_ai's `thread`) is a
  list of dicts. Every ClassLabel value appears in some row.
- `datasets/<folder>/features.json`: the schema used (`Value`/`ClassLabel`/`Sequence`, lists as `[feature]`).
- `expected.jsonl`: one line per (template, row): `templates` (folder), `template` (id), `name`, `row` (0-based),
  `parts` (what `apply` returned; or `error` with `"<ExceptionType>: <message>"` where it raised),
  `answer_choices` (`get_answer_choices_list`, or null), `uses_choice` (the template calls PromptSource's
  random `choice` filter). Where the template calls `choice` or Jinja's own `random` filter
  (`uses_random_filter: true`), `parts` is the result with Python's `random` seeded with {SEED} before the
  call, and `alternatives` lists every distinct result over all combinations of picks (at most 256 renders;
  `alternatives_truncated: true` where that cap was reached); `alternative_errors` lists exceptions some
  combinations raise. A re-implementation with its own RNG checks membership in `alternatives`.

## Counts

| what | count |
| --- | --- |
| datasets | {st['datasets']} |
| templates.yaml files (dataset/subset folders) | {st['folders']} |
| templates covered | {st['templates']} |
| rows (all folders) | {st['rows']} |
| fewest rows for one template | {st['min_rows_per_template']} |
| renders (template × row lines) | {st['renders']} |
| renders with a single part (no target part) | {st['single_part']} |
| renders with an empty target | {st['empty_target']} |
| templates using `choice` | {st['uses_choice']} |
| templates using Jinja's `random` | {st['uses_random']} |
| renders with `alternatives` | {st['choice_renders']} |
| renders whose alternatives were capped | {st['truncated_alternatives']} |
| renders where `apply` raised | {st['errors']} |
| renders where `get_answer_choices_list` raised | {st['ac_errors']} |
| fixture bytes (without this README) | {st['bytes']} |

Single-part and empty-target renders are mostly templates whose whole body sits in an `{{% if %}}` that the
row does not meet (e.g. a test-split guard, `label != -1`, a language filter), as PromptSource itself gives.

## Errors

{err_lines}
"""
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
