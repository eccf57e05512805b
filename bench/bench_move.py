"""Moving house, measured: ``Registry.copy_to`` from a seeded SQLite + folder registry to an empty
SQLite + folder, SQLite + S3 (a moto server on loopback) and, with ``--pg URL``, PostgreSQL + S3.

    .venv/bin/python bench/bench_move.py                         # 300 versions + one 64 MiB artifact
    .venv/bin/python bench/bench_move.py --pg auto              # also PostgreSQL: a throwaway cluster
    .venv/bin/python bench/bench_move.py --versions 2000 --big-mib 256 --pg postgresql://user@host/empty_db

Prints one table: rows and bytes moved, seconds for the copy and for the target's full ``verify``,
and peak RSS growth of the process (the move streams: it should not grow with the artifact).
Everything runs in a temporary folder, removed at the end. Each target must start empty.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))


def seed(root: Path, versions: int, big_mib: int):
    import nbregistry as nr

    reg = nr.Registry(root, author="bench")
    for i in range(versions):
        reg.register({"weights": list(range(i % 50))}, f"model-{i % 20}", flavor="pickle",
                     metrics={"auc": 0.5 + (i % 100) / 1000, "loss": 1.0 / (i + 1)}, params={"i": i},
                     tags={"team": f"t{i % 3}"})
        if i % 10 == 0:
            reg.set_alias(f"model-{i % 20}", "production")
            reg.comment(f"model-{i % 20}", f"note {i}")
    big = root.parent / "big.bin"
    with open(big, "wb") as out:
        for _ in range(big_mib):
            out.write(os.urandom(1 << 20))
    reg.register(str(big), "big", flavor="file")
    big.unlink()
    return reg


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def s3_target(base: Path):
    """A moto S3 server in its own process (so its in-memory objects do not count as our RSS)."""
    import socket
    import subprocess

    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError:
        return None, None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + 30
    while True:
        try:
            boto3.client("s3").create_bucket(Bucket=bucket)
            break
        except Exception:  # noqa: BLE001 - not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return server, f"s3://{bucket}/reg"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--big-mib", type=int, default=64)
    parser.add_argument("--pg", default=None, metavar="URL",
                        help="an EMPTY PostgreSQL database to move into, or 'auto' for a throwaway cluster "
                             "(tests/pg_cluster.py: Debian's PostgreSQL 15 binaries)")
    args = parser.parse_args()

    import nbregistry as nr

    base = Path(tempfile.mkdtemp(prefix="nbr-bench-move-"))
    server = cluster = None
    try:
        if args.pg == "auto":
            sys.path.insert(0, str(HERE.parent / "tests"))
            from pg_cluster import PostgresCluster

            cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="nbr-bench-pg-")))
            cluster.start()
            args.pg = cluster.url(cluster.create_database())
        source = seed(base / "source", args.versions, args.big_mib)
        server, s3 = s3_target(base)
        targets = [("sqlite + folder", {})]
        if s3:
            targets.append(("sqlite + s3 (moto)", {"objects": s3}))
            if args.pg:
                targets.append(("postgresql + s3 (moto)", {"objects": s3.replace("/reg", "/pg"), "db": args.pg}))
        lines = [f"source: {args.versions} versions + one {args.big_mib} MiB artifact, sqlite + folder "
                 f"(load average {os.getloadavg()[0]:.2f})",
                 f"{'target':<24} {'rows':>7} {'blobs':>6} {'MiB':>8} {'copy s':>8} {'MiB/s':>7} {'verify s':>9} "
                 f"{'RSS +MiB':>9}"]
        for i, (label, options) in enumerate(targets):
            target = nr.Registry(base / f"target-{i}", author="bench", **options)
            before = peak_rss_mib()
            start = time.perf_counter()
            report = source.copy_to(target)
            copied = time.perf_counter() - start
            start = time.perf_counter()
            verified = target.verify()
            checked = time.perf_counter() - start
            assert verified.ok, verified.problems
            mib = report.bytes_copied / (1 << 20)
            lines.append(f"{label:<24} {report.rows:>7} {report.blobs_copied:>6} {mib:>8.1f} {copied:>8.2f} "
                         f"{mib / copied:>7.1f} {checked:>9.2f} {peak_rss_mib() - before:>9.1f}")
            target.close()
        print("\n".join(lines))
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        if cluster is not None:
            cluster.stop()
            shutil.rmtree(cluster.base, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
