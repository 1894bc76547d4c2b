#!/usr/bin/env python3
"""A bounded abuse and load session against `optiml serve` on loopback.

    tools/abuse_serve.py BINARY MODEL_DIR [--clients 32] [--timeout 120] [--max-memory 2G] [-- extra serve args]

Starts the server on a free port, then runs, in order: hostile requests (malformed JSON, trailing
commas, wrong Content-Type, huge Content-Length, bad fields, unknown model, negative and huge
max_tokens, invalid token ids), slow clients (partial headers, partial bodies), clients that
disconnect mid-stream, long prompts, and a load of concurrent clients. It prints every failure (a
5xx, a connection the server dropped without answering, a request that hung past the timeout, a
server that died), latency percentiles of the load phase, and the server's peak RSS (VmHWM of
/proc/PID/status). Exit status 1 when anything failed. Python's standard library only.
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

failures = []
failures_lock = threading.Lock()


def fail(what):
    with failures_lock:
        failures.append(what)
    print(f"FAIL: {what}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Server:
    def __init__(self, binary, model, extra):
        self.port = free_port()
        self.log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"abuse_serve_{self.port}.log"), "w+")
        self.proc = subprocess.Popen([binary, "serve", "--model", model, "--port", str(self.port), "--read-timeout", "5"] + extra,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode} before answering; log: {self.log.name}")
            try:
                status, _ = self.request("GET", "/health", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not answer /health within 300 s")

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            fail("the server did not stop within 30 s of SIGTERM")
            self.proc.kill()
            self.proc.wait()


def check(server, name, method, path, body=None, headers=None, expect=None, timeout=60):
    """One request: a 5xx, a dropped connection or a hang is a failure, as is a status outside `expect`."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    started = time.time()
    try:
        status, data = server.request(method, path, body, hdrs, timeout)
    except socket.timeout:
        fail(f"{name}: no answer within {timeout} s")
        return None, None, time.time() - started
    except (OSError, http.client.HTTPException) as error:
        fail(f"{name}: {type(error).__name__}: {error}")
        return None, None, time.time() - started
    elapsed = time.time() - started
    if status >= 500:
        fail(f"{name}: {status} {data[:200]!r}")
    elif expect is not None and status not in expect:
        fail(f"{name}: expected {sorted(expect)}, got {status} {data[:200]!r}")
    return status, data, elapsed


def hostile(server, vocab):
    c = "/v1/completions"
    cases = [
        ("malformed JSON", c, '{"prompt": "hi", "max_tokens": ', None, {400}),
        ("trailing comma", c, '{"prompt": "hi", "max_tokens": 2,}', None, {400}),
        ("trailing comma in a list", c, '{"prompt": ["a", "b",], "max_tokens": 2}', None, {400}),
        ("not an object", c, '[1, 2, 3]', None, {400}),
        ("empty body", c, '', None, {400}),
        ("invalid UTF-8", c, b'{"prompt": "\xff\xfe", "max_tokens": 2}', None, {400}),
        ("wrong Content-Type", c, '{"prompt": "hi"}', {"Content-Type": "text/plain"}, {415}),
        ("form Content-Type", c, 'prompt=hi', {"Content-Type": "application/x-www-form-urlencoded"}, {415}),
        ("prompt of the wrong type", c, {"prompt": 5, "max_tokens": 2}, None, {400}),
        ("unknown model", c, {"model": "gpt-4", "prompt": "hi", "max_tokens": 2}, None, {404}),
        ("negative max_tokens", c, {"prompt": "hi", "max_tokens": -1}, None, {400}),
        ("huge max_tokens", c, {"prompt": "hi", "max_tokens": 10 ** 12}, None, {400}),
        ("max_tokens not an integer", c, {"prompt": "hi", "max_tokens": 2.5}, None, {400}),
        ("max_tokens as a string", c, {"prompt": "hi", "max_tokens": "2"}, None, {400}),
        ("negative temperature", c, {"prompt": "hi", "max_tokens": 2, "temperature": -1}, None, {400}),
        ("NaN-like temperature", c, '{"prompt": "hi", "max_tokens": 2, "temperature": 1e999}', None, {400}),
        ("top_p out of range", c, {"prompt": "hi", "max_tokens": 2, "top_p": 7}, None, {400}),
        ("n of a million", c, {"prompt": "hi", "max_tokens": 2, "n": 10 ** 6}, None, {400}),
        ("logprobs of 1000", c, {"prompt": "hi", "max_tokens": 2, "logprobs": 1000}, None, {400}),
        ("token id past the vocabulary", c, {"prompt": [2, vocab + 5], "max_tokens": 2}, None, {400}),
        ("negative token id", c, {"prompt": [2, -3], "max_tokens": 2}, None, {400}),
        ("token id of 2^63", c, '{"prompt": [2, 9223372036854775808], "max_tokens": 2}', None, {400}),
        ("empty prompt list", c, {"prompt": [], "max_tokens": 2}, None, {400}),
        ("five stop strings", c, {"prompt": "hi", "max_tokens": 2, "stop": ["a", "b", "c", "d", "e"]}, None, {400}),
        ("messages missing", "/v1/chat/completions", {"max_tokens": 2}, None, {400}),
        ("message of a bad role", "/v1/chat/completions", {"messages": [{"role": "robot", "content": "hi"}]}, None, {400}),
        ("deeply nested JSON", c, '{"prompt": ' + "[" * 5000 + "]" * 5000 + "}", None, {400}),
    ]
    for name, path, body, headers, expect in cases:
        check(server, name, "POST", path, body, headers, expect)
    check(server, "unknown path", "GET", "/v1/nothing", expect={404})
    check(server, "GET on a POST endpoint", "GET", "/v1/completions", expect={404, 405})
    # A body far past the limit, declared: refused at once, without reading it.
    raw(server, "huge Content-Length", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999999\r\n\r\n{", expect_status=413)
    raw(server, "Content-Length that is not a number", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        expect_status=400)
    raw(server, "garbage request line", b"\x00\x01\x02 NOT HTTP\r\n\r\n", expect_status=400)


def raw(server, name, payload, expect_status=None, timeout=30):
    """Sends bytes as they are; the server must answer (any status under 500) or close, never hang or crash."""
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
            # No half-close after it: the server reads a closed inbound side as a client gone (499).
            s.sendall(payload)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    except socket.timeout:
        fail(f"{name}: no answer within {timeout} s")
        return
    except OSError as error:
        # A reset is an acceptable answer to garbage; the server must still be alive (checked after).
        data = b""
        print(f"  {name}: {type(error).__name__} ({error})")
    status = int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else None
    if status is not None and status >= 500:
        fail(f"{name}: {status}")
    elif expect_status is not None and status is not None and status != expect_status:
        fail(f"{name}: expected {expect_status}, got {status}")


def slow_clients(server, read_timeout):
    """Partial headers and bodies: the server closes them after its read timeout and serves others meanwhile."""
    sockets = []
    for i in range(8):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout + 30)
        if i % 2 == 0:
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Ty")
        else:
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\":")
        sockets.append(s)
    # Others are served while the slow ones hang on.
    check(server, "a request beside slow clients", "POST", "/v1/completions", {"prompt": "hi", "max_tokens": 2}, expect={200})
    started = time.time()
    for i, s in enumerate(sockets):
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            fail(f"slow client {i}: not closed within {read_timeout + 30} s")
        except OSError:
            pass
        s.close()
    print(f"  slow clients closed after {time.time() - started:.1f} s (read timeout {read_timeout} s)")


def disconnects(server):
    """Clients that leave mid-stream or before the answer: their sequences are cancelled, the server goes on."""
    body = json.dumps({"prompt": "Once upon a time", "max_tokens": 200, "stream": True, "temperature": 0}).encode()
    for i in range(12):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\n\r\n" + body)
        if i % 3:
            try:
                s.recv(100 + 50 * i)  # part of the stream, then gone
            except OSError:
                pass
        s.close()
    # Not streamed, gone before the answer.
    for _ in range(4):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        payload = json.dumps({"prompt": "Hello", "max_tokens": 100}).encode()
        s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        s.close()


def load(server, clients, requests_each, long_prompt_tokens, timeout):
    """`clients` threads, each sending requests (some long prompts, some streamed); returns latencies."""
    latencies, lock = [], threading.Lock()

    def client(index):
        for r in range(requests_each):
            if (index + r) % 4 == 0:
                body = {"prompt": [2] + [(7 * i + index) % 1000 + 10 for i in range(long_prompt_tokens)], "max_tokens": 8}
            else:
                body = {"prompt": f"Client {index} request {r}: tell me about", "max_tokens": 16, "temperature": 0.7, "seed": index}
            if r % 3 == 2:
                body["stream"] = True
            status, _, elapsed = check(server, f"load client {index} request {r}", "POST", "/v1/completions", body,
                                       expect={200, 429}, timeout=timeout)
            if status == 200:
                with lock:
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.time() - started


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary")
    parser.add_argument("model")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests-each", type=int, default=4)
    parser.add_argument("--long-prompt", type=int, default=1500, help="tokens of the long prompts")
    parser.add_argument("--timeout", type=float, default=300, help="seconds a request may take before it counts as hung")
    parser.add_argument("extra", nargs="*", help="more `optiml serve` arguments (after --)")
    args = parser.parse_args()
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    long_prompt = min(args.long_prompt, config["max_position_embeddings"] - 20)

    server = Server(args.binary, args.model, args.extra)
    print(f"server pid {server.proc.pid} on port {server.port}", flush=True)
    try:
        phases = [("hostile requests", lambda: hostile(server, config["vocab_size"])),
                  ("slow clients", lambda: slow_clients(server, 5)),
                  ("disconnects mid-stream", lambda: disconnects(server))]
        for name, phase in phases:
            print(f"== {name}", flush=True)
            phase()
            if not server.alive():
                fail(f"the server died during {name} (exit {server.proc.returncode})")
                break
            check(server, f"health after {name}", "GET", "/health", expect={200})
        latencies, seconds = [], 0
        if server.alive():
            print(f"== load: {args.clients} clients x {args.requests_each} requests (a quarter with {long_prompt}-token prompts)", flush=True)
            latencies, seconds = load(server, args.clients, args.requests_each, long_prompt, args.timeout)
            if not server.alive():
                fail(f"the server died under load (exit {server.proc.returncode})")
        status, metrics, _ = check(server, "metrics", "GET", "/metrics", expect={200}) if server.alive() else (None, None, None)
        peak = peak_rss_kib(server.proc.pid)
    finally:
        if server.alive():
            server.stop()
        elif server.proc.returncode is not None and server.proc.returncode != 0:
            fail(f"the server exited with {server.proc.returncode}; log: {server.log.name}")

    print("== summary")
    if latencies:
        print(f"load: {len(latencies)} answered in {seconds:.1f} s; latency p50 {percentile(latencies, 50):.2f} s, "
              f"p95 {percentile(latencies, 95):.2f} s, p99 {percentile(latencies, 99):.2f} s")
    if metrics:
        for line in metrics.decode().splitlines():
            if line.startswith(("optiml_requests_total", "optiml_batch_size_count", "optiml_generated_tokens_total")):
                print(f"  {line}")
    print(f"server peak RSS (VmHWM): {peak / 1024:.0f} MiB" if peak else "server peak RSS: unknown")
    print(f"failures: {len(failures)}")
    for f in failures:
        print(f"  {f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
