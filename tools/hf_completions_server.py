#!/usr/bin/env python3
"""A minimal OpenAI-compatible completions server over transformers, for checking `optiml eval` scores.

Usage: python tools/hf_completions_server.py --model CHECKPOINT [--port 8091]

It answers exactly the two requests `optiml eval --backend openai` sends, as vLLM answers them:
scoring (`echo`, `logprobs`, `max_tokens: 0`: every prompt token's log-probability, `null` for the
first, with `tokens`, `top_logprobs` and `text_offset` in characters of the prompt; the BOS the
tokenizer adds takes no room) and greedy generation (`temperature: 0`, `max_tokens`, `stop`). The
numbers are OPTForCausalLM's in float32, so `optiml eval --backend openai` against it evaluates the
checkpoint in transformers with the very requests the local engine answers; tools/check_eval_parity.py
compares the two runs. Anything else (sampling, several prompts, chat) is refused with 400.
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
from transformers import AutoTokenizer, OPTForCausalLM


class Engine:
    def __init__(self, directory):
        self.name = directory
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        self.model = OPTForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
        self.lock = threading.Lock()  # one forward pass at a time; torch uses every core for it

    def piece(self, token_id):
        return self.tokenizer.decode([token_id])

    def score(self, prompt):
        ids = self.tokenizer(prompt)["input_ids"]
        with self.lock, torch.no_grad():
            logprobs = torch.log_softmax(self.model(input_ids=torch.tensor([ids])).logits[0].double(), dim=-1)
        tokens, values, tops, offsets = [], [None], [None], []
        body = ids[1:] if ids and ids[0] == self.tokenizer.bos_token_id else ids
        start = len(ids) - len(body)
        for i, token in enumerate(ids):
            tokens.append(self.piece(token))
            # Characters of the prompt before this token: its decoded predecessors (BOS none).
            offsets.append(len(self.tokenizer.decode(body[:max(i - start, 0)])))
            if i > 0:
                row = logprobs[i - 1]
                best = int(row.argmax())
                values.append(float(row[token]))
                tops.append({self.piece(token): float(row[token]), self.piece(best): float(row[best])})
        return dict(text=prompt, logprobs=dict(tokens=tokens, token_logprobs=values, top_logprobs=tops, text_offset=offsets),
                    finish_reason="length")

    def generate(self, prompt, max_tokens, stop):
        ids = self.tokenizer(prompt, return_tensors="pt")["input_ids"]
        with self.lock, torch.no_grad():
            out = self.model.generate(ids, max_new_tokens=max_tokens, do_sample=False, eos_token_id=self.tokenizer.eos_token_id,
                                      pad_token_id=self.tokenizer.pad_token_id)[0, ids.shape[1]:].tolist()
        ended = self.tokenizer.eos_token_id in out
        if ended:
            out = out[:out.index(self.tokenizer.eos_token_id)]
        text = self.tokenizer.decode(out)
        cuts = [text.index(s) for s in stop if s in text]
        if cuts:
            return dict(text=text[:min(cuts)], logprobs=None, finish_reason="stop")
        return dict(text=text, logprobs=None, finish_reason="stop" if ended else "length")


def handler(engine):
    class Handler(BaseHTTPRequestHandler):
        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/v1/models":
                return self.reply(200, dict(object="list", data=[dict(id=engine.name, object="model")]))
            self.reply(200 if self.path == "/health" else 404, dict(status="ok"))

        def do_POST(self):
            if self.path != "/v1/completions":
                return self.reply(404, dict(error=dict(message=f"no route {self.path}")))
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            prompt, max_tokens = request.get("prompt"), request.get("max_tokens", 16)
            if not isinstance(prompt, str) or request.get("temperature", 1) != 0:
                return self.reply(400, dict(error=dict(message="only one text prompt at temperature 0 is served")))
            if request.get("echo") and max_tokens == 0:
                choice = engine.score(prompt)
            else:
                choice = engine.generate(prompt, max_tokens, request.get("stop") or [])
            self.reply(200, dict(object="text_completion", model=engine.name, choices=[dict(index=0, **choice)]))

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    server = ThreadingHTTPServer((args.host, args.port), handler(Engine(args.model)))
    print(f"serving {args.model} on http://{args.host}:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
