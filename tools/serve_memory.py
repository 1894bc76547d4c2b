#!/usr/bin/env python3
"""Peak and idle resident memory of `optiml serve` under concurrent long prompts.

    tools/serve_memory.py BINARY MODEL_DIR [--clients 16] [--prompt-tokens 1894] [--max-tokens 16] [-- extra serve args]

Starts the server on a free loopback port, sends `--clients` concurrent completions of
`--prompt-tokens` token ids each, then waits until it is idle and prints its peak RSS (VmHWM) and
its RSS after the work (VmRSS), from /proc/PID/status. Python's standard library only.
"""
import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("model")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--prompt-tokens", type=int, default=1894)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([args.binary, "serve", "--model", args.model, "--port", str(port)] + args.extra, stderr=subprocess.PIPE)
    try:
        for _ in range(600):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        loaded = status(server.pid, "VmRSS")
        statuses = []

        def client(i):
            ids = [2] + [(i * 31 + t * 7) % 40000 + 100 for t in range(args.prompt_tokens - 1)]
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
            c.request("POST", "/v1/completions", json.dumps({"prompt": ids, "max_tokens": args.max_tokens, "temperature": 0}),
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            statuses.append(r.status)

        started = time.time()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.time() - started
        time.sleep(2)  # the engine frees its buffers once idle
        print(f"{args.clients} x {args.prompt_tokens}-token prompts, max_tokens {args.max_tokens}: statuses {sorted(set(statuses))}, {seconds:.1f} s")
        print(f"RSS after loading {loaded} MiB; peak RSS (VmHWM) {status(server.pid, 'VmHWM')} MiB; idle RSS after the work {status(server.pid, 'VmRSS')} MiB")
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
