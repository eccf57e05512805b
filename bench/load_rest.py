"""A bounded loopback load test of the REST API: concurrent clients listing, searching and
registering through real ``nbregistry server`` replicas, then a check that nothing was lost.

    .venv/bin/python bench/load_rest.py                      # 32 clients for 20 s, 1 server
    .venv/bin/python bench/load_rest.py --clients 4 --seconds 10 --max-requests 2000
    .venv/bin/python bench/load_rest.py --replicas 1,2       # 1 server, then 2 replicas: one table

``--replicas 1,2`` runs the same load once per count (and per ``--backends`` entry) on a fresh
registry; with several replicas every client sends each request to the next replica in turn
(round robin, the "load balancer" of tests/server/replicas.py), and all replicas serve one registry
(``sqlite-folder``: one ``registry.db`` and one blob folder; see docs/scale-out.md).

Each client is a thread with its own user token and one ``RemoteRegistry`` per replica. Operations are
picked at random with weights (list 45%, search 35%, register 20% by default); registrations
upload a small unique file under one of a few model names, so versions of the same model are
numbered concurrently. The run stops at ``--seconds`` or ``--max-requests``, whichever comes first.

Then every acknowledged registration is read back (right version, author, metrics and file hash),
the version count must equal seeded + acknowledged, ``verify`` must be clean through the API and
again on the stores after the servers stopped; only then is "nothing lost" printed (exit 0).
Everything runs on 127.0.0.1 in a temporary folder, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import subprocess
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


def run_once(backend_name: str, replicas: int, args, work: Path, services: dict) -> tuple[dict, list[str]]:
    """One load run on a fresh registry served by ``replicas`` servers: ``(stats, problems)``."""
    from nbregistry.remote import RemoteRegistry
    from server.replicas import BACKENDS, ReplicaSet

    factory, _ = BACKENDS[backend_name]
    backend = factory(work / f"{backend_name}-{replicas}", services.get(backend_name))
    users = {f"client{i}": f"token-{i}-{os.urandom(8).hex()}" for i in range(args.clients)}
    users["checker"] = f"token-checker-{os.urandom(8).hex()}"
    t0 = time.perf_counter()
    cluster = ReplicaSet(backend, replicas, users).start()
    try:
        print(f"\n[{backend_name}, {replicas} replica(s)] up in {time.perf_counter() - t0:.1f} s at "
              f"{', '.join(cluster.urls)}; {args.clients} clients, {args.seconds:g} s or {args.max_requests} "
              f"requests; {os.cpu_count()} CPUs")
        seeder = RemoteRegistry(cluster.urls[0], users["checker"])
        files = backend.base / "files"
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
            spread = cluster.spread(name, start=i)  # each request to the next replica
            rng = random.Random(i)
            mix = {op: w for op, w in args.weights.items() if w > 0}
            ops, weights = list(mix), list(mix.values())
            own = files / name
            own.mkdir()
            n = 0
            while time.perf_counter() < deadline:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                op = rng.choices(ops, weights)[0]
                reg = spread.next()
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
                    print(f"  {name} {op} via replica {spread.last}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                with lock:
                    latencies[op].append(time.perf_counter() - start)
                if args.think_ms:
                    time.sleep(rng.uniform(0.5, 1.5) * args.think_ms / 1000)
            spread.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        pids = [r.proc.pid for r in cluster.replicas if r.proc is not None]
        started, load_before = time.perf_counter(), os.getloadavg()[0]
        cpu_before = [process_cpu(pid) for pid in pids]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        cpu_after, load_after = [process_cpu(pid) for pid in pids], os.getloadavg()[0]
        total = sum(len(lat) for lat in latencies.values())
        if None not in cpu_before + cpu_after and total:
            cpu = sum(cpu_after) - sum(cpu_before)
            print(f"server CPU: {cpu:.2f} s in all, {cpu / total * 1000:.2f} ms per request; load average "
                  f"{load_before:.1f} -> {load_after:.1f}"
                  + (f"; clients pause {args.think_ms:g} ms between requests" if args.think_ms else ""))

        # ---- nothing lost: every acknowledged registration is there, intact, and nothing else is
        problems = []
        readers = [RemoteRegistry(url, users["checker"]) for url in cluster.urls]
        for k, (ref, author, auc, sha) in enumerate(acked):
            v = readers[k % len(readers)].get(ref)  # read back through every replica
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
        for reader in readers:
            reader.close()
        seeder.close()
    finally:
        cluster.stop()
    local = backend.local_registry(author="checker")
    offline = local.verify()
    local.close()
    if not offline.ok:
        problems.append(f"verify on the stores: {offline.problems[:3]}")
    print(f"checked {len(acked)} acknowledged registrations, {stored} versions in total; "
          f"verify: {report.checked_blobs} blobs through the API, {offline.checked_blobs} offline")
    if sum(errors.values()):
        problems.append(f"{sum(errors.values())} requests failed (see above)")
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed}, problems


def start_services(backends: list[str], work: Path, stack) -> dict:
    """What each backend needs running (the tests get the same from their fixtures): for ``pg-s3`` a
    throwaway PostgreSQL cluster (tests/pg_cluster.py) and moto's S3 server on loopback."""
    services = {}
    if "pg-s3" in backends:
        from pg_cluster import PostgresCluster

        from backends import AWS_ENV

        pg_base = Path(tempfile.mkdtemp(prefix="nbr-pg-"))  # its own: run as root, it is handed to postgres
        stack.callback(shutil.rmtree, pg_base, ignore_errors=True)
        postgres = PostgresCluster(pg_base)
        postgres.start()
        stack.callback(postgres.stop)
        # moto in a process of its own, as a real S3 endpoint would be: in this process it would
        # share one interpreter lock with the clients and slow every blob request down.
        from server.remote_fixture import free_port

        port = free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(lambda: (moto.terminate(), moto.wait(30)))
        os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
        wait_for_port(port)
        services["pg-s3"] = (postgres, os.environ["AWS_ENDPOINT_URL"])
    return services


def wait_for_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s") from None
            time.sleep(0.1)


def print_table(results: list[tuple[str, int, dict]]) -> None:
    print(f"\n| backend | replicas | operation | requests | errors | req/s | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for backend_name, replicas, stats in results:
        elapsed, latencies, errors = stats["elapsed"], stats["latencies"], stats["errors"]
        rows = [(op, latencies[op], errors[op]) for op in WEIGHTS if latencies[op] or errors[op]]
        rows.append(("all", [x for lat in latencies.values() for x in lat], sum(errors.values())))
        for op, lat, errs in rows:
            print(f"| {backend_name} | {replicas} | {op} | {len(lat)} | {errs} | {len(lat) / elapsed:.1f} | "
                  f"{percentile(lat, 50) * 1000:.1f} | {percentile(lat, 99) * 1000:.1f} |")


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
    parser.add_argument("--replicas", default="1", help="comma-separated replica counts, each run in turn (1,2)")
    parser.add_argument("--backends", default="sqlite-folder",
                        help="comma-separated stores the replicas share (tests/server/replicas.py BACKENDS)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.replicas.split(",") if n.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    from server.replicas import BACKENDS

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not counts or min(counts) < 1:
        parser.error(f"--backends from {', '.join(BACKENDS)}; --replicas counts of at least 1")
    work = Path(tempfile.mkdtemp(prefix="nbregistry-load-"))
    results, failed = [], []
    stack = contextlib.ExitStack()
    try:
        services = start_services(backends, work, stack)
        for backend_name in backends:
            for n in counts:
                stats, problems = run_once(backend_name, n, args, work, services)
                results.append((backend_name, n, stats))
                if problems:
                    failed.append((backend_name, n, problems))
        print_table(results)
        for backend_name, n, problems in failed:
            print(f"\nLOST, DAMAGED OR FAILED ({backend_name}, {n} replica(s)):", *problems, sep="\n  ")
        if failed:
            return 1
        print("\nnothing lost")
        return 0
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
