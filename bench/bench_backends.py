"""The embedded registry's core operations on each metadata/blob backend, side by side.

    .venv/bin/python bench/bench_backends.py                 # 200 versions
    .venv/bin/python bench/bench_backends.py --versions 50   # a quick look

Backends: SQLite + folder (the default), PostgreSQL + folder, PostgreSQL + S3. PostgreSQL is a
throwaway cluster started from the Debian binaries (tests/pg_cluster.py; fsync off, as in the tests),
S3 is moto's server on loopback: the numbers compare the registry's own work per backend on one
machine, not a tuned database or a real bucket. Prints one table of medians (ms).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the PostgreSQL cluster the tests use


def timed(fn, repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(reg, work: Path, versions: int) -> dict:
    f = work / "w.bin"
    out = {}

    def register(i):
        f.write_bytes(b"weights %d" % i)
        reg.register(f, f"m{i % 4}", metrics={"auc": (i * 37 % 100) / 100, "loss": (i * 11 % 100) / 100},
                     params={"lr": str(0.01 * (i % 5))}, tags={"team": "a" if i % 2 else "b"})

    out["register a small file"] = timed(register, versions)
    out["set an alias"] = timed(lambda i: reg.set_alias(f"m0:{i % (versions // 4) + 1}", "production"), 50)
    out["get by alias"] = timed(lambda i: reg.get("m0@production"), 100)
    out["list 100 versions"] = timed(lambda i: reg.list_versions("m0", limit=100), 20)
    out["search metrics.auc > 0.5 by auc desc"] = timed(
        lambda i: reg.search("metrics.auc > 0.5", order_by="metrics.auc desc", limit=10), 50)
    out["load by alias"] = timed(lambda i: reg.load("m0@production"), 20)
    out["verify (fast)"] = timed(lambda i: reg.verify(fast=True), 3)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from nbregistry import Registry
    from pg_cluster import PostgresCluster

    base = Path(tempfile.mkdtemp(prefix="nbregistry-backends-"))
    base.chmod(0o755)  # the cluster may run as the postgres user (when we are root)
    cluster = PostgresCluster(base / "pg")
    (base / "pg").mkdir()
    cluster.start()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://{host}:{port}")
    import boto3

    results = {}
    try:
        for label in ("sqlite + folder", "postgresql + folder", "postgresql + s3"):
            work = base / uuid.uuid4().hex[:8]
            work.mkdir()
            db = objects = None
            if label.startswith("postgresql"):
                db = cluster.url(cluster.create_database())
            if label.endswith("s3"):
                bucket = f"bench-{uuid.uuid4().hex[:8]}"
                boto3.client("s3").create_bucket(Bucket=bucket)
                objects = f"s3://{bucket}/reg"
            reg = Registry(work / "registry", db=db, objects=objects, author="bench")
            results[label] = measure(reg, work, args.versions)
            reg.close()
    finally:
        moto.stop()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)

    rows = list(next(iter(results.values())))
    labels = list(results)
    print(f"| operation ({args.versions} versions, median ms) | " + " | ".join(labels) + " |")
    print("| --- |" + " ---: |" * len(labels))
    for row in rows:
        print(f"| {row} | " + " | ".join(f"{results[label][row]:.2f}" for label in labels) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
