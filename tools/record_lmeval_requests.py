#!/usr/bin/env python3
"""Regenerates Tests/Fixtures/serve/lmeval_requests.jsonl: what lm-evaluation-harness's
`local-completions` model sends to an OpenAI-compatible server, and the numbers it should get back.

Usage: python tools/record_lmeval_requests.py   (needs lm-eval, torch, transformers; no network)

lm-eval's own `local-completions` class runs a few `loglikelihood` and `generate_until` requests
against a stub server on loopback, once per setting of `--model_args` below. The stub answers as
vLLM's /v1/completions does, computed with transformers' OPTForCausalLM on the fixture model: a
text prompt is tokenized with the tokenizer's special tokens (OPT's BOS `</s>`), a token-id prompt
is taken as given, the echoed prompt's first token has a null log-probability, generation is greedy
and ends at EOS or a stop string. Each line of the fixture holds one request lm-eval sent: the
setting, the request, the JSON payload as sent, the context length lm-eval slices the answer with
(`token_logprobs[ctxlen:-1]`), what lm-eval made of the stub's answer (`expected`), and what lm-eval's
`hf` backend gives for the same request on the same model (`hf`). OPTServeTests replays the payloads
against `optiml serve` and parses the answers as lm-eval does.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.api.registry import get_model  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402
from transformers import AutoTokenizer, OPTForCausalLM  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# Relative to the repository root, as a user would pass it; the test resolves it the same way.
MODEL = "Tests/Fixtures/models/tiny-preln-safetensors-sharded"
OUT = os.path.join(ROOT, "Tests", "Fixtures", "serve", "lmeval_requests.jsonl")

# name: the --model_args after model= and base_url= (README's "lm-evaluation-harness" settings are `ids+bos`).
SETTINGS = {
    "text": "tokenizer_backend=huggingface,tokenized_requests=False",
    "ids": "tokenizer_backend=huggingface",
    "ids+bos": "tokenizer_backend=huggingface,tokenized_requests=True,add_bos_token=True",
}

LOGLIKELIHOOD = [
    ("The capital of France is", " Paris"),
    ("The capital of France is ", "Paris"),  # lm-eval moves the trailing space to the continuation
    ("Q: Is the sky blue?\nA:", " no, it is green today"),
    ("", "Hello there"),  # empty context: lm-eval puts BOS (its prefix token) in front
    ("Héllo wörld —", " 東京 🙂"),
]
GENERATE = [
    ("Translate to German: cat ->", {"until": ["\n"], "max_gen_toks": 8}),
    ("The capital of France is", {"until": ["."], "max_gen_toks": 12}),
]


class VLLMStandIn:
    """vLLM's /v1/completions answers, computed with transformers."""

    def __init__(self, directory):
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = OPTForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()

    def logprobs_at(self, row, token, top):
        values = torch.log_softmax(row.double(), dim=-1)
        best = torch.topk(values, top).indices.tolist() if top > 0 else []
        # vLLM lists the chosen token and the top ones, each under its decoded text.
        tops = {self.tokenizer.decode(i): values[i].item() for i in [token] + best}
        return values[token].item(), tops

    @torch.no_grad()
    def complete(self, payload):
        prompts = payload["prompt"]
        if isinstance(prompts, str) or (prompts and isinstance(prompts[0], int)):
            prompts = [prompts]
        top = payload.get("logprobs")
        choices = []
        for prompt in prompts:
            if isinstance(prompt, str):
                ids = self.tokenizer(prompt, add_special_tokens=payload.get("add_special_tokens", True)).input_ids
                text = prompt
            else:
                ids, text = list(prompt), self.tokenizer.decode(prompt)
            sequence, values = list(ids), [None]
            for t in range(1, len(ids)):
                logits = self.model(torch.tensor([ids[:t]])).logits[0, -1]
                values.append(self.logprobs_at(logits, ids[t], top or 0))
            generated = []
            for _ in range(payload.get("max_tokens", 16)):
                logits = self.model(torch.tensor([sequence])).logits[0, -1]
                token = int(torch.argmax(logits))
                values.append(self.logprobs_at(logits, token, top or 0))
                if token == self.tokenizer.eos_token_id:
                    break
                sequence.append(token)
                generated.append(token)
            output = self.tokenizer.decode(generated, skip_special_tokens=True)
            stops = [s for s in payload.get("stop") or [] if s in output]
            if stops:
                output = output[: min(output.index(s) for s in stops)]
            if payload.get("echo"):
                tokens, output = ids + generated, text + output
            else:
                tokens, values = generated, values[len(ids):]
            choice = {"index": len(choices), "text": output, "finish_reason": "length", "logprobs": None}
            if top is not None:
                choice["logprobs"] = {
                    "tokens": [self.tokenizer.decode(t) for t in tokens],
                    "token_logprobs": [v[0] if v else None for v in values[: len(tokens)]],
                    "top_logprobs": [v[1] if v else None for v in values[: len(tokens)]],
                }
            choices.append(choice)
        return {"object": "text_completion", "model": payload.get("model"), "choices": choices}


def serve(stand_in, sent):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/completions":
                self.send_error(404)
                return
            sent.append(body)
            data = json.dumps(stand_in.complete(body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    os.chdir(ROOT)
    stand_in = VLLMStandIn(MODEL)
    sent = []
    server = serve(stand_in, sent)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"

    hf = HFLM(pretrained=MODEL, device="cpu", batch_size=1)
    ll_instances = [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(LOGLIKELIHOOD)]
    hf_ll = hf.loglikelihood(ll_instances)
    hf_gen = hf.generate_until([Instance("generate_until", {}, (c, dict(k)), i) for i, (c, k) in enumerate(GENERATE)])

    lines, report = [], {}
    for name, settings in SETTINGS.items():
        model_args = f"model={MODEL},base_url={base_url},{settings}"
        lm = get_model("local-completions").create_from_arg_string(model_args)
        ctxlens = []
        parse_logprobs = lm.parse_logprobs

        def spy(parse=parse_logprobs, **kwargs):
            ctxlens.append(kwargs["ctxlens"][0])
            return parse(**kwargs)

        lm.parse_logprobs = spy
        diffs, differing = [], 0
        # One request at a time, so that each payload, context length and answer belong together.
        for instance, reference in zip(ll_instances, hf_ll):
            before = len(sent)
            [result] = lm.loglikelihood([instance])
            assert len(sent) == before + 1
            diffs.append(abs(result[0] - reference[0]))
            lines.append({
                "setting": name, "request": "loglikelihood", "arguments": list(instance.args),
                "payload": sent[-1], "ctxlen": ctxlens[-1],
                "expected": {"logprob": result[0], "is_greedy": result[1]},
                "hf": {"logprob": reference[0], "is_greedy": reference[1]},
            })
        for (context, kwargs), reference in zip(GENERATE, hf_gen):
            [text] = lm.generate_until([Instance("generate_until", {}, (context, dict(kwargs)), 0)])
            lines.append({
                "setting": name, "request": "generate_until", "arguments": [context, kwargs],
                "payload": sent[-1], "expected": {"text": text}, "hf": {"text": reference},
            })
            differing += text != reference
        report[name] = (max(diffs), differing)
    server.shutdown()

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    for name, (diff, differing) in report.items():
        print(f"{name:8s} loglikelihood: max |local-completions - hf| = {diff:.3g}; generations unlike hf's: "
              f"{differing} of {len(GENERATE)}   ({SETTINGS[name]})")
    # The README's settings are the ones that must give the hf backend's numbers.
    diff, differing = report["ids+bos"]
    if diff > 1e-4 or differing:
        sys.exit("ids+bos does not reproduce the hf backend")
    print(f"wrote {len(lines)} requests to {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
