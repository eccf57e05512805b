"""A bounded loopback load test of the REST API: concurrent clients listing, searching and
registering through a real ``nbregistry server``, then a check that nothing was lost.

    .venv/bin/python bench/load_rest.py                      # 32 clients for 20 s
    .venv/bin/python bench/load_rest.py --clients 4 --seconds 10 --max-requests 2000

Each client is a thread with its own ``RemoteRegistry`` and its own user token. Operations are
picked at random with weights (list 45%, search 35%, register 20% by default); registrations
upload a small unique file under one of a few model names, so versions of the same model are
numbered concurrently. The run stops at ``--seconds`` or ``--max-requests``, whichever comes first.

Then every acknowledged registration is read back (right version, author, metrics and file hash),
the version count must equal seeded + acknowledged, ``verify`` must be clean through the API and
again on the folder after the server stopped; only then is "nothing lost" printed (exit 0).
Everything runs on 127.0.0.1 in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the server launcher the tests use

WEIGHTS = {"list": 45, "search": 35, "register": 20}
MODELS = [f"load-{i}" for i in range(5)]


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, or None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_weights(text: str) -> dict:
    """``list=45,search=35,register=20`` -> {op: weight}; an op left out is not run."""
    weights = {}
    for part in text.split(","):
        op, _, weight = part.partition("=")
        if op.strip() not in WEIGHTS or not weight.strip().isdigit():
            raise SystemExit(f"--weights: expected op=N with op in {', '.join(WEIGHTS)}, got {part!r}")
        weights[op.strip()] = int(weight)
    return weights


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--seed-versions", type=int, default=200, help="versions registered before the run")
    parser.add_argument("--file-kb", type=int, default=16, help="size of each registered file")
    parser.add_argument("--weights", type=parse_weights, default=dict(WEIGHTS),
                        help="operation mix, e.g. list=45,search=35,register=20 (an op left out is not run)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="pause of each client between its requests (0: closed loop, every client always waiting)")
    args = parser.parse_args(argv)
    weights_of_run = {op: w for op, w in args.weights.items() if w > 0}

    from nbregistry import Registry
    from nbregistry.remote import RemoteRegistry
    from server.remote_fixture import start_server, stop_server

    work = Path(tempfile.mkdtemp(prefix="nbregistry-load-"))
    root = work / "registry"
    users = {f"client{i}": f"token-{i}-{os.urandom(8).hex()}" for i in range(args.clients)}
    users["checker"] = f"token-checker-{os.urandom(8).hex()}"
    proc = None
    try:
        t0 = time.perf_counter()
        proc, url = start_server(root, users=users, log_path=work / "server.log")
        print(f"server up in {time.perf_counter() - t0:.1f} s at {url}; {args.clients} clients, "
              f"{args.seconds:g} s or {args.max_requests} requests; {os.cpu_count()} CPUs")

        seeder = RemoteRegistry(url, users["checker"])
        files = work / "files"
        files.mkdir()
        for i in range(args.seed_versions):
            path = files / f"seed-{i}.bin"
            path.write_bytes(os.urandom(args.file_kb * 1024))
            seeder.register(str(path), MODELS[i % len(MODELS)], metrics={"auc": random.random()})
        print(f"seeded {args.seed_versions} versions")

        latencies = {op: [] for op in WEIGHTS}
        errors = {op: 0 for op in WEIGHTS}
        acked = []  # (ref, author, auc, file sha256)
        lock = threading.Lock()
        budget = [args.max_requests]
        deadline = time.perf_counter() + args.seconds

        def client(i: int) -> None:
            name = f"client{i}"
            reg = RemoteRegistry(url, users[name])
            rng = random.Random(i)
            ops, weights = list(weights_of_run), list(weights_of_run.values())
            own = files / name
            own.mkdir()
            n = 0
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                op = rng.choices(ops, weights)[0]
                start = time.perf_counter()
                try:
                    if op == "list":
                        reg.list_models(limit=50)
                    elif op == "search":
                        reg.search(f"metrics.auc > {rng.random():.3f}", order_by="metrics.auc desc", limit=20)
                    else:
                        n += 1
                        path = own / f"{n}.bin"
                        data = os.urandom(args.file_kb * 1024)
                        path.write_bytes(data)
                        auc = rng.random()
                        v = reg.register(str(path), rng.choice(MODELS), metrics={"auc": auc})
                        with lock:
                            acked.append((v.ref, name, auc, hashlib.sha256(data).hexdigest()))
                except Exception as exc:  # counted and reported; the check below decides
                    with lock:
                        errors[op] += 1
                    print(f"  {name} {op}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                with lock:
                    latencies[op].append(time.perf_counter() - start)
                if args.think_ms:
                    time.sleep(rng.uniform(0.5, 1.5) * args.think_ms / 1000)
            reg.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started, cpu_before, load_before = time.perf_counter(), process_cpu(proc.pid), os.getloadavg()[0]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        cpu_after, load_after = process_cpu(proc.pid), os.getloadavg()[0]

        print(f"\n{'operation':<10} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
        total = 0
        for op in weights_of_run:
            lat = latencies[op]
            total += len(lat)
            print(f"{op:<10} {len(lat):>9} {errors[op]:>7} {len(lat) / elapsed:>8.1f} "
                  f"{percentile(lat, 50) * 1000:>8.1f} {percentile(lat, 99) * 1000:>8.1f}")
        every = [x for lat in latencies.values() for x in lat]
        print(f"{'all':<10} {total:>9} {sum(errors.values()):>7} {total / elapsed:>8.1f} "
              f"{percentile(every, 50) * 1000:>8.1f} {percentile(every, 99) * 1000:>8.1f}   ({elapsed:.1f} s)")
        if cpu_before is not None and cpu_after is not None and total:
            print(f"server CPU: {cpu_after - cpu_before:.2f} s in all, {(cpu_after - cpu_before) / total * 1000:.2f} ms"
                  f" per request; load average {load_before:.1f} -> {load_after:.1f}"
                  + (f"; clients pause {args.think_ms:g} ms between requests" if args.think_ms else ""))

        # ---- nothing lost: every acknowledged registration is there, intact, and nothing else is
        problems = []
        for ref, author, auc, sha in acked:
            v = seeder.get(ref)
            if v.author != author or v.metrics.get("auc") != auc or v.artifact["files"][0]["sha256"] != sha:
                problems.append(f"{ref}: stored {v.author} {v.metrics} {v.artifact['files'][0]['sha256'][:12]}")
        refs = [ref for ref, *_ in acked]
        if len(set(refs)) != len(refs):
            problems.append("two acknowledged registrations got the same ref")
        stored = sum(seeder.list_versions(m, limit=10_000).total for m in MODELS)
        if stored != args.seed_versions + len(acked):
            problems.append(f"{stored} versions stored, {args.seed_versions} seeded + {len(acked)} acknowledged")
        report = seeder.verify()
        if not report.ok:
            problems.append(f"verify through the API: {report.problems[:3]}")
        stop_server(proc)
        proc = None
        local = Registry(root, author="checker")
        offline = local.verify()
        local.close()
        if not offline.ok:
            problems.append(f"verify on the folder: {offline.problems[:3]}")
        print(f"\nchecked {len(acked)} acknowledged registrations, {stored} versions in total; "
              f"verify: {report.checked_blobs} blobs through the API, {offline.checked_blobs} on disk")
        if problems or sum(errors.values()):
            print("LOST OR DAMAGED:" if problems else "errors during the run (see above)", *problems, sep="\n  ")
            return 1
        print("nothing lost")
        return 0
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
