"""Revert, evaluations and dataset-aware compare: what they cost.

    .venv/bin/python bench/bench_versioning.py           # 200 MiB artifact, 300 versions
    .venv/bin/python bench/bench_versioning.py --quick   # 20 MiB, 60 versions

Prints one table: registering a big file (the bytes are hashed and written) next to reverting to
it (no bytes copied: only rows), the bytes the revert added to the object store, and compare over
many versions with and without evaluations (one SQL statement either way). Work happens in
``.bench-tmp/`` at the repository root, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import median_time  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def store_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "objects").rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    size, versions = (20 * MiB, 60) if args.quick else (200 * MiB, 300)
    from nbregistry import Registry

    tmp = REPO / ".bench-tmp" / "versioning"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        reg = Registry(tmp / "registry", author="bench")
        big = tmp / "big.bin"
        big.write_bytes(os.urandom(size))
        registered = median_time(lambda: reg.register(big, "big", flavor="file"), runs=3, warmup=0)
        before = store_bytes(tmp / "registry")
        reverted = median_time(lambda: reg.revert("big:1"), runs=5, warmup=1)
        added = store_bytes(tmp / "registry") - before
        small = tmp / "small.txt"
        for i in range(versions):
            small.write_text(str(i))
            reg.register(small, "many", flavor="file", metrics={"auc": i / versions})
        plain = median_time(lambda: reg.compare("many"), runs=5)
        for i in range(1, versions + 1):
            reg.log_metrics(f"many:{i}", {"auc": i / versions, "f1": 0.5}, dataset="holdout", fingerprint="a" * 64)
        with_evals = median_time(lambda: reg.compare("many"), runs=5)
        rows = [
            (f"register a {size // MiB} MiB file", f"{registered * 1000:.1f} ms", "hashes and writes every byte"),
            ("revert to it", f"{reverted * 1000:.1f} ms", f"{added} bytes added to the object store"),
            (f"compare {versions} versions", f"{plain * 1000:.1f} ms", "registration metrics only"),
            (f"compare {versions} versions + 1 evaluation each", f"{with_evals * 1000:.1f} ms",
             "same statement, evaluations joined"),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'work':<{width}}  {'median':>10}  note")
        for work, t, note in rows:
            print(f"{work:<{width}}  {t:>10}  {note}")
        reg.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
