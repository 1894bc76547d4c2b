#!/usr/bin/env python3
"""Load test of `optiml serve` on loopback: throughput and latency at several concurrency levels.

Usage: python tools/load_test.py --model DIR [--optiml .build/release/optiml] [--clients 1,8,32]
       [--requests 64] [--max-tokens 32] [--seconds 120] [--port 18123]

Starts the server on 127.0.0.1 (and nothing else), waits for /health, then for each concurrency
level runs `--requests` greedy completions (prompts of ~32 tokens, `--max-tokens` new tokens, EOS
ignored by asking for a stop string that never occurs) from that many client threads, bounded by
`--seconds` per level. Prints a Markdown table: generated tokens/s, requests/s, p50 and p99 latency,
and failures (any non-200 answer or error). Last, it checks graceful shutdown: SIGTERM while a
request is in flight, and that request must still complete. Only Python's standard library is used.
Make a random checkpoint at a real shape first: optiml init-random --like opt-125m --out DIR
"""
import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time

WORDS = "the model answers every question about the city river mountain history science music and art".split()


def prompt(i):
    return " ".join(WORDS[(i + k) % len(WORDS)] for k in range(30)) + f" ({i}):"


def complete(port, body, timeout=300):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        connection.close()


def wait_healthy(port, process, limit=120):
    start = time.time()
    while time.time() - start < limit:
        if process.poll() is not None:
            sys.exit(f"the server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not become healthy")


def level(port, clients, requests, max_tokens, seconds):
    latencies, failures, tokens = [], [], []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.time() + seconds

    def worker():
        while time.time() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            start = time.time()
            try:
                status, body = complete(port, {"prompt": prompt(i), "max_tokens": max_tokens, "temperature": 0, "stop": ["@@@@"]})
                elapsed = time.time() - start
                with lock:
                    if status != 200:
                        failures.append(status)
                    else:
                        latencies.append(elapsed)
                        tokens.append(body["usage"]["completion_tokens"])
            except Exception as error:  # noqa: BLE001 - every failure counts
                with lock:
                    failures.append(repr(error))

    start = time.time()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - start
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))] if latencies else float("nan")
    return dict(clients=clients, done=len(latencies), failed=len(failures), tokens_per_s=sum(tokens) / wall,
                requests_per_s=len(latencies) / wall, p50=statistics.median(latencies) if latencies else float("nan"), p99=p99,
                failures=failures[:3])


def graceful_shutdown(port, process, max_tokens):
    result = {}

    def slow():
        result["answer"] = complete(port, {"prompt": prompt(999), "max_tokens": max_tokens, "temperature": 0, "stop": ["@@@@"]})

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    thread.join(timeout=300)
    code = process.wait(timeout=60)
    status, body = result.get("answer", (None, {}))
    return status == 200 and body.get("usage", {}).get("completion_tokens") == max_tokens, code


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--optiml", default=".build/release/optiml")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--port", type=int, default=18123)
    args = parser.parse_args()
    process = subprocess.Popen([args.optiml, "serve", "--model", args.model, "--host", "127.0.0.1", "--port", str(args.port),
                                "--max-batch", str(args.max_batch)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(args.port, process)
        complete(args.port, {"prompt": "warm up", "max_tokens": 4})
        print(f"| clients | requests done | failed | generated tokens/s | requests/s | p50 s | p99 s |")
        print("|--:|--:|--:|--:|--:|--:|--:|")
        total_failures = 0
        for clients in [int(c) for c in args.clients.split(",")]:
            r = level(args.port, clients, args.requests, args.max_tokens, args.seconds)
            total_failures += r["failed"]
            print(f"| {clients} | {r['done']} | {r['failed']} | {r['tokens_per_s']:.1f} | {r['requests_per_s']:.2f} | {r['p50']:.2f} | {r['p99']:.2f} |", flush=True)
            if r["failures"]:
                print("  failures:", r["failures"])
        completed, code = graceful_shutdown(args.port, process, args.max_tokens)
        print(f"graceful shutdown: in-flight request {'completed' if completed else 'LOST'}; server exited with {code}")
        return 0 if total_failures == 0 and completed and code == 0 else 1
    finally:
        if process.poll() is None:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
