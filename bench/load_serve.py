"""Bounded loopback load test of the scoring server (``nbregistry serve``), at 1 and 2 workers, next
to the old standard-library server.

    .venv/bin/python bench/load_serve.py                  # 4 clients, 8 s per phase, workers 1 and 2
    .venv/bin/python bench/load_serve.py --workers 1,2,4 --baseline none
    .venv/bin/python bench/load_serve.py --clients 8 --seconds 5 --max-requests 20000

A throwaway registry gets a small scikit-learn model (logistic regression on iris, two versions);
``nbregistry serve iris@production --workers N`` runs in its own process on 127.0.0.1 and keep-alive
clients (threads of this process) POST a 4-row ``dataframe_split`` as fast as they can. The
baseline (``--baseline REF``; by default the last commit before the ASGI server, ``STDLIB_REF``) is the
``http.server`` scoring server as it was there: its ``src/`` is extracted with ``git archive`` into a
temporary folder and run the same way, on the same registry, in the same run. Two phases each:

1. steady: the alias does not move;
2. alias moves: the alias flips between the two versions every ``--move-every`` seconds while the
   clients run; every answer must be a 200 and must name the version that produced it.

Prints one table: requests, failures, requests/s, p50/p99 latency, versions served, swaps. Traffic
only goes to 127.0.0.1; every loop is bounded by ``--seconds`` and ``--max-requests``. Exit 1 if any
request failed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# the last commit whose ``nbregistry serve`` was the http.server one (its child, 5479337, brought the
# ASGI server); ``main`` serves with uvicorn now, so it is no baseline any more
STDLIB_REF = "3bb261438f915f1e555b05a1142bf6bd1c5c863f"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    ap.add_argument("--max-requests", type=int, default=50_000, help="per phase, across all clients")
    ap.add_argument("--move-every", type=float, default=1.0, help="seconds between alias moves in phase 2")
    ap.add_argument("--poll", type=float, default=0.2, help="the server's watcher interval")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to measure (default 1,2)")
    ap.add_argument("--baseline", default=STDLIB_REF,
                    help=f"git ref whose stdlib server to measure too (default {STDLIB_REF[:10]}, the last "
                         "commit before the ASGI server; 'none' to skip)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nbregistry-load-serve-"))
    server = None
    try:
        configs = []
        if args.baseline != "none":
            configs.append((f"stdlib ({args.baseline[:10]})", 0, extract_baseline(args.baseline, work)))
        configs += [(f"asgi, {n} worker{'s' if n > 1 else ''}", n, None) for n in map(int, args.workers.split(","))]
        rows, status = [], None
        for label, workers, src in configs:
            # each server on a registry its own code wrote (an older nbregistry refuses a newer schema),
            # its alias moved by a helper process running that same code
            root = work / ("registry-baseline" if src else "registry")
            with AliasMover(root, src) as mover:
                body, expected = mover.body, mover.expected
                args.current_workers = workers
                server, host, port = start_server(root, args.poll, workers, src)
                try:
                    for r in (phase("steady", host, port, body, expected, args, None),
                              phase("alias moves", host, port, body, expected, args,
                                    lambda i: mover.move(2 if i % 2 == 0 else 1))):
                        rows.append(dict(r, server=label))
                    status = request(host, port, "GET", "/version")
                finally:
                    server.terminate()
                    server.wait(timeout=60)
        print_table(rows, args, status)
        return 1 if any(r["failed"] for r in rows) else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


MOVER = r"""
import json, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from nbregistry import Registry
root = sys.argv[1]
X, y = load_iris(return_X_y=True, as_frame=True)
reg = Registry(root, author="bench")
if not reg.list_models().total:
    reg.register(LogisticRegression(max_iter=500).fit(X, y), "iris", input_example=X.head(3))
    reg.register(LogisticRegression(C=0.001, max_iter=500).fit(X, y), "iris", input_example=X.head(3))
reg.set_alias("iris:1", "production", reason="load test reset")
sample = X.iloc[[0, 50, 100, 149]]
body = json.dumps({"dataframe_split": {"columns": list(sample.columns), "data": sample.values.tolist()}})
expected = {f"iris:{v}": reg.load(f"iris:{v}").predict(sample).tolist() for v in (1, 2)}
print(json.dumps({"body": body, "expected": expected}), flush=True)
for line in sys.stdin:
    reg.set_alias(f"iris:{int(line)}", "production", reason="load test")
    print("ok", flush=True)
"""


class AliasMover:
    """A process running the server's own nbregistry (``src``, or this one) that makes the registry
    at ``root`` (two iris versions, @production on 1) and moves the alias when told."""

    def __init__(self, root: Path, src: Path | None):
        env = dict(os.environ, NBREGISTRY_USER="bench")
        if src is not None:
            env["PYTHONPATH"] = str(src)
        self.proc = subprocess.Popen([sys.executable, "-c", MOVER, str(root)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)
        ready = json.loads(self.proc.stdout.readline())
        self.body, self.expected = ready["body"], ready["expected"]

    def move(self, version: int) -> None:
        self.proc.stdin.write(f"{version}\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise SystemExit("the alias mover stopped")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def extract_baseline(ref: str, work: Path) -> Path:
    """``src/`` of the git ref ``ref`` in ``work/baseline``, for running the server as it was there."""
    repo = Path(__file__).resolve().parent.parent
    dest = work / "baseline"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(repo), "archive", ref, "src"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def start_server(root: Path, poll: float, workers: int, src: Path | None):
    env = dict(os.environ, NBREGISTRY_USER="bench")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    cmd = [sys.executable, "-m", "nbregistry.deploy.serve", "iris@production", "--root", str(root),
           "--host", "127.0.0.1", "--port", "0", "--poll", str(poll)]
    if workers:
        cmd += ["--workers", str(workers)]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise SystemExit(f"the server exited before it was ready: {' '.join(cmd)}\n{proc.stderr.read()[-3000:]}")
        if "nbregistry serve:" in line and " on http://" in line:
            url = line.split(" on http://")[1].split()[0]
            host, port = url.rsplit(":", 1)
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining its log
            wait_ready(host, int(port), deadline)
            return proc, host, int(port)
    proc.kill()
    raise SystemExit("the server did not start within 300 s")


def wait_ready(host, port, deadline):
    """Until /ping answers 200 (the workers load the model after the socket is bound)."""
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(host, port, timeout=max(1.0, deadline - time.monotonic()))
        try:
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise SystemExit("the server did not get ready")


def request(host, port, method, path, body=None):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def phase(name, host, port, body, expected, args, move):
    latencies, failures, served = [], [], {}
    lock = threading.Lock()
    stop = threading.Event()
    count = [0]
    deadline = time.monotonic() + args.seconds

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine, bad, seen = [], [], {}
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    if count[0] >= args.max_requests:
                        break
                    count[0] += 1
                started = time.perf_counter()
                try:
                    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    payload = json.loads(response.read())
                    version = response.getheader("X-Nbregistry-Version")
                    if response.status != 200 or payload.get("predictions") != expected.get(version):
                        bad.append(f"{response.status} {version} {payload}")
                    seen[version] = seen.get(version, 0) + 1
                except Exception as exc:  # noqa: BLE001 - counted as a failure
                    bad.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                mine.append(time.perf_counter() - started)
        finally:
            conn.close()
            with lock:
                latencies.extend(mine)
                failures.extend(bad)
                for k, v in seen.items():
                    served[k] = served.get(k, 0) + v

    swaps_before = swaps(host, port)
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    moves = 0
    if move is not None:
        while time.monotonic() < deadline - args.move_every / 2 and not all(not t.is_alive() for t in threads):
            time.sleep(args.move_every)
            move(moves)
            moves += 1
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    workers = max(1, args.current_workers)
    settle = time.monotonic() + 5  # let the server pick up a move made in the phase's last moments
    while moves and swaps(host, port) - swaps_before < moves * workers and time.monotonic() < settle:
        time.sleep(0.05)
    latencies.sort()
    return {"phase": name, "requests": len(latencies), "failed": len(failures), "rps": len(latencies) / elapsed,
            "p50": pct(latencies, 50), "p99": pct(latencies, 99), "served": served, "moves": moves,
            "swaps": (swaps(host, port) - swaps_before) / workers, "examples": failures[:3]}


def swaps(host, port) -> float:
    """Swaps so far, over all workers: the Prometheus counter (the stdlib server: /version's count)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        if response.status == 200:
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("nbregistry_swaps_total"))
    finally:
        conn.close()
    return float(request(host, port, "GET", "/version")["swaps"])


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k] * 1000


def print_table(rows, args, status):
    import platform

    print(f"scoring server load test: {args.clients} keep-alive clients, {args.seconds:g} s per phase, "
          f"4-row dataframe_split, logistic regression (iris); Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, server and clients on one machine (127.0.0.1)")
    header = ["server", "phase", "requests", "failed", "req/s", "p50 ms", "p99 ms", "versions served", "alias moves",
              "swaps per worker"]
    table = [[r["server"], r["phase"], str(r["requests"]), str(r["failed"]), f"{r['rps']:.0f}", f"{r['p50']:.2f}",
              f"{r['p99']:.2f}", ", ".join(f"{k}: {v}" for k, v in sorted(r["served"].items())),
              str(r["moves"]), f"{r['swaps']:g}"] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    for r in rows:
        for example in r["examples"]:
            print(f"  failure in {r['phase']}: {example}")
    print(f"final /version: {status['ref']} -> {status['model']}:{status['version']} (last_error {status['last_error']})")


if __name__ == "__main__":
    sys.exit(main())
