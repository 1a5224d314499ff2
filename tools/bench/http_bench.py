#!/usr/bin/env python3
"""Throughput and latency of pbnode's HTTP gateway (--http), on loopback.

Starts its own pbnode (a fresh genesis from pbtool, a temp datadir, free
ports, not mining), then for each route runs CONNECTIONS keep-alive clients
(one thread each, Python's http.client) for SECONDS and prints requests/s
and the latency percentiles. Stops the node and removes the temp dir.

    /usr/bin/python3 tools/bench/http_bench.py [--bin build/bin]
        [--connections 4] [--seconds 5]

The client is Python, on the same cores as the node: the figures are a
floor for the gateway, not its ceiling.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROUTES = [
    ("GET /v1/info", "GET", "/v1/info"),
    ("GET /v1/blocks/0", "GET", "/v1/blocks/0"),
    ("GET /v1/mempool", "GET", "/v1/mempool"),
    ("GET / (explorer page)", "GET", "/"),
    ("GET /v1/nope (404)", "GET", "/v1/nope"),
]


def run_route(port, method, path, connections, seconds):
    latencies = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        bad = 0
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                conn.request(method, path)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 500:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    return latencies, errors[0]


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))
    return sorted_values[i] * 1000.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin"))
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    pbnode = os.path.join(args.bin, "pbnode")
    pbtool = os.path.join(args.bin, "pbtool")
    for b in (pbnode, pbtool):
        if not os.access(b, os.X_OK):
            sys.exit(f"http_bench: {b} is missing; build first (cmake --build build)")

    tmp = tempfile.mkdtemp(prefix="pbchain-http-bench-")
    node = None
    try:
        genesis = os.path.join(tmp, "genesis.json")
        subprocess.run([pbtool, "genesis", "--out", genesis], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = open(os.path.join(tmp, "node.log"), "w")
        node = subprocess.Popen(
            [pbnode, "--listen=127.0.0.1:0", "--datadir=" + os.path.join(tmp, "d"),
             "--genesis=" + genesis, "--http=127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = node.stdout.readline()
            if not line:
                break
            m = re.search(r"http gateway listening on [0-9.]+:([0-9]+)", line)
            if m:
                port = int(m.group(1))
        if port is None:
            sys.exit("http_bench: pbnode did not report its HTTP port; see " + log.name)

        print(f"pbnode HTTP gateway on 127.0.0.1:{port}; {args.connections} "
              f"keep-alive connections, {args.seconds:g} s per route")
        print(f"{'route':<26} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        for name, method, path in ROUTES:
            lat, errors = run_route(port, method, path, args.connections, args.seconds)
            rate = len(lat) / args.seconds
            print(f"{name:<26} {rate:>9.0f} {pct(lat, 50):>8.2f} {pct(lat, 99):>8.2f} "
                  f"{(lat[-1] * 1000 if lat else float('nan')):>8.2f} {errors:>7}")
    finally:
        if node is not None:
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
