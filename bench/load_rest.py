"""A bounded loopback load test of the REST API: concurrent clients listing, searching and
registering through real ``nbregistry server`` replicas, then a check that nothing was lost.

    .venv/bin/python bench/load_rest.py                      # 32 clients for 20 s, 1 server
    .venv/bin/python bench/load_rest.py --clients 4 --seconds 10 --max-requests 2000
    .venv/bin/python bench/load_rest.py --replicas 1,2       # 1 server, then 2 replicas: one table
    .venv/bin/python bench/load_rest.py --procs 4 --rate 4   # 32 clients in 4 processes, 4 req/s each
    .venv/bin/python bench/load_rest.py --workers 2          # the server with 2 processes on one port

``--replicas 1,2`` runs the same load once per count (and per ``--backends`` entry) on a fresh
registry; with several replicas every client sends each request to the next replica in turn
(round robin, the "load balancer" of tests/server/replicas.py), and all replicas serve one registry
(``sqlite-folder``: one ``registry.db`` and one blob folder; see docs/scale-out.md).

Each client is a thread with its own user token and one ``RemoteRegistry`` per replica; ``--procs``
spreads the threads over that many processes (in one, 32 threads queue on one interpreter lock and
that wait is counted as the server's latency). By default the loop is closed: a client sends its next
request once the last is answered, so the run measures the most the server does (throughput) and
latency is clients / throughput. ``--rate R`` paces every client at R requests/s (Poisson, open loop,
latency counted from when a request was due), which measures latency at a chosen load. Operations are
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
import gc
import hashlib
import multiprocessing
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


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, or None where /proc is missing."""
    fields = _stat(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float | None:
    """CPU seconds of a server: the process and its live children (the workers of ``--workers``)."""
    own = process_cpu(pid)
    if own is None:
        return None
    pids = (int(path.parent.name) for path in Path("/proc").glob("[0-9]*/stat"))
    kids = [kid for kid in pids if (_stat(kid) or [None, None])[1] == str(pid)]
    return own + sum(process_cpu(kid) or 0.0 for kid in kids)


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


def drive(indices: list[int], cluster, files: Path, args, deadline: float, budget) -> dict:
    """Run clients ``indices`` (one thread each) until ``deadline`` or the shared request ``budget``
    is spent: ``{"latencies": {op: [s]}, "errors": {op: n}, "acked": [...], "late": n}``.

    Closed loop by default: a client sends its next request when the last one is answered (plus
    ``--think-ms``). With ``--rate`` each client follows its own Poisson schedule of ``rate``
    requests/s, and a request's latency runs from when it was due, not from when the client got round
    to sending it, so a slow answer also counts against the requests it held up (no coordinated
    omission)."""
    latencies = {op: [] for op in WEIGHTS}
    errors = {op: 0 for op in WEIGHTS}
    acked, late = [], [0]  # acked: (ref, author, auc, file sha256)
    lock = threading.Lock()

    def client(i: int) -> None:
        name = f"client{i}"
        spread = cluster.spread(name, start=i)  # each request to the next replica
        rng = random.Random(i)
        mix = {op: w for op, w in args.weights.items() if w > 0}
        ops, weights = list(mix), list(mix.values())
        own = files / name
        own.mkdir()
        n = 0
        due = time.monotonic() + (rng.expovariate(args.rate) if args.rate else 0)
        while True:
            if args.rate:
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                elif now - due > 0.001:
                    with lock:
                        late[0] += 1
            if time.monotonic() >= deadline:
                break
            with budget.get_lock():
                if budget.value <= 0:
                    break
                budget.value -= 1
            op = rng.choices(ops, weights)[0]
            reg = spread.next()
            start = due if args.rate else time.monotonic()
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
            except Exception as exc:  # counted and reported; the check decides
                with lock:
                    errors[op] += 1
                print(f"  {name} {op} via replica {spread.last}: {type(exc).__name__}: {exc}", file=sys.stderr)
            else:
                with lock:
                    latencies[op].append(time.monotonic() - start)
            if args.rate:
                due += rng.expovariate(args.rate)
            elif args.think_ms:
                time.sleep(rng.uniform(0.5, 1.5) * args.think_ms / 1000)
        spread.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in indices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors, "acked": acked, "late": late[0]}


def run_processes(groups: list, cluster, files: Path, args, deadline: float, budget) -> tuple[list, float | None]:
    """:func:`drive` each group of clients in a forked process of its own: ``(results, their CPU s)``."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.SimpleQueue()

    def child(indices):
        result = drive(indices, cluster, files, args, deadline, budget)
        queue.put((result, process_cpu(os.getpid())))

    procs = [ctx.Process(target=child, args=(g,)) for g in groups]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]  # before join: a child exits once its result is read
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        raise SystemExit(f"a client process failed: exit codes {[p.exitcode for p in procs]}")
    cpus = [cpu for _, cpu in results]
    return [r for r, _ in results], (None if None in cpus else sum(cpus))


def run_once(backend_name: str, replicas: int, args, work: Path, services: dict) -> tuple[dict, list[str]]:
    """One load run on a fresh registry served by ``replicas`` servers: ``(stats, problems)``."""
    from nbregistry.remote import RemoteRegistry
    from server.replicas import BACKENDS, ReplicaSet

    factory, _ = BACKENDS[backend_name]
    backend = factory(work / f"{backend_name}-{replicas}", services.get(backend_name))
    users = {f"client{i}": f"token-{i}-{os.urandom(8).hex()}" for i in range(args.clients)}
    users["checker"] = f"token-checker-{os.urandom(8).hex()}"
    t0 = time.perf_counter()
    cluster = ReplicaSet(backend, replicas, users, workers=args.workers).start()
    try:
        print(f"\n[{backend_name}, {replicas} replica(s) x {args.workers} worker(s)] up in "
              f"{time.perf_counter() - t0:.1f} s at {', '.join(cluster.urls)}; {args.clients} clients, {args.seconds:g} s or {args.max_requests} "
              f"requests; {os.cpu_count()} CPUs")
        seeder = RemoteRegistry(cluster.urls[0], users["checker"])
        files = backend.base / "files"
        files.mkdir()
        for i in range(args.seed_versions):
            path = files / f"seed-{i}.bin"
            path.write_bytes(os.urandom(args.file_kb * 1024))
            seeder.register(str(path), MODELS[i % len(MODELS)], metrics={"auc": random.random()})
        print(f"seeded {args.seed_versions} versions")
        # The clients' own full garbage collections (tens of ms, every thread waiting) would be
        # counted as the server's latency: what this process holds by now is frozen out of them.
        gc.collect()
        gc.freeze()

        deadline = time.monotonic() + args.seconds
        budget = multiprocessing.get_context("fork").Value("q", args.max_requests)
        groups = [list(range(args.clients))[k::args.procs] for k in range(min(args.procs, args.clients))]
        pids = [r.proc.pid for r in cluster.replicas if r.proc is not None]
        started, load_before = time.monotonic(), os.getloadavg()[0]
        cpu_before = [server_cpu(pid) for pid in pids]
        if len(groups) == 1:
            own_before = process_cpu(os.getpid())
            parts = [drive(groups[0], cluster, files, args, deadline, budget)]
            own_after = process_cpu(os.getpid())
            client_cpu = None if None in (own_before, own_after) else own_after - own_before
        else:  # one process per group: 32 client threads in one interpreter would queue on its lock
            parts, client_cpu = run_processes(groups, cluster, files, args, deadline, budget)
        elapsed = time.monotonic() - started
        cpu_after, load_after = [server_cpu(pid) for pid in pids], os.getloadavg()[0]
        latencies = {op: [x for part in parts for x in part["latencies"][op]] for op in WEIGHTS}
        errors = {op: sum(part["errors"][op] for part in parts) for op in WEIGHTS}
        acked = [x for part in parts for x in part["acked"]]
        late = sum(part["late"] for part in parts)
        total = sum(len(lat) for lat in latencies.values())
        if None not in cpu_before + cpu_after and total:
            cpu = sum(cpu_after) - sum(cpu_before)
            print(f"server CPU: {cpu:.2f} s in all, {cpu / total * 1000:.2f} ms per request; load average "
                  f"{load_before:.1f} -> {load_after:.1f}"
                  + (f"; clients' CPU {client_cpu / total * 1000:.2f} ms per request" if client_cpu else "")
                  + (f"; clients pause {args.think_ms:g} ms between requests" if args.think_ms else ""))
        if args.rate:
            print(f"offered {args.rate * args.clients:.0f} req/s ({args.clients} clients x {args.rate:g}/s, Poisson), "
                  f"served {total / elapsed:.1f} req/s; {late} requests started late (latency counted from "
                  f"when they were due)")

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


def print_table(results: list[tuple[str, int, dict]], workers: int = 1) -> None:
    print("\n| backend | replicas x workers | operation | requests | errors | req/s | p50 ms | p90 ms | p99 ms "
          "| max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for backend_name, replicas, stats in results:
        elapsed, latencies, errors = stats["elapsed"], stats["latencies"], stats["errors"]
        rows = [(op, latencies[op], errors[op]) for op in WEIGHTS if latencies[op] or errors[op]]
        rows.append(("all", [x for lat in latencies.values() for x in lat], sum(errors.values())))
        for op, lat, errs in rows:
            print(f"| {backend_name} | {replicas} x {workers} | {op} | {len(lat)} | {errs} | {len(lat) / elapsed:.1f} | "
                  f"{percentile(lat, 50) * 1000:.1f} | {percentile(lat, 90) * 1000:.1f} | "
                  f"{percentile(lat, 99) * 1000:.1f} | {max(lat, default=float('nan')) * 1000:.1f} |")


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
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests/s of each client, on a Poisson schedule (open loop; 0: closed loop)")
    parser.add_argument("--procs", type=int, default=1,
                        help="client processes the clients are spread over (1: all threads in this process)")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes of each server (nbregistry server --workers N; 1: one process)")
    parser.add_argument("--replicas", default="1", help="comma-separated replica counts, each run in turn (1,2)")
    parser.add_argument("--backends", default="sqlite-folder",
                        help="comma-separated stores the replicas share (tests/server/replicas.py BACKENDS)")
    args = parser.parse_args(argv)
    if args.rate < 0 or args.procs < 1 or args.workers < 1 or (args.rate and args.think_ms):
        parser.error("--rate must be positive, --procs and --workers at least 1; --rate and --think-ms exclude "
                     "each other")
    counts = [int(n) for n in args.replicas.split(",") if n.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    from server.replicas import BACKENDS

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not counts or min(counts) < 1:
        parser.error(f"--backends from {', '.join(BACKENDS)}; --replicas counts of at least 1")
    work = Path(tempfile.mkdtemp(prefix="nbregistry-load-"))
    # The clients register from the temporary folder, outside any git repository: from a checkout,
    # every registration would run `git status` on it (lineage), which is the user's machine's work,
    # not the server's, and here took CPU from the server on the same cores.
    home = os.getcwd()
    os.chdir(work)
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
        print_table(results, args.workers)
        for backend_name, n, problems in failed:
            print(f"\nLOST, DAMAGED OR FAILED ({backend_name}, {n} replica(s)):", *problems, sep="\n  ")
        if failed:
            return 1
        print("\nnothing lost")
        return 0
    finally:
        stack.close()
        os.chdir(home)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
