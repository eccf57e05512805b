"""Costs added by issue 14's model kinds and sources, next to their floor.

    .venv/bin/python bench/bench_kinds.py            # 256 MiB download, 16 MB fit-hook dataset
    .venv/bin/python bench/bench_kinds.py --quick    # 32 MiB, 8 MB

Rows:
- register from http://127.0.0.1 (a loopback server in this process) vs registering the same
  file from disk vs the floor (urllib reading the body and sha256 over it, nothing written);
- the fit hook's cost for a cell that calls fit on a DataFrame (fingerprinting it) and for a cell
  that does not (parsing skipped);
- analysing a 200-line cell (the execution-order analysis).
Times are medians of repeated runs. Work happens in ``.bench-tmp/`` at the repository root.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    size = (32 if args.quick else 256) * MiB
    rows = 64_000 if args.quick else 128_000  # x 16 float64 columns = 8 MB / 16 MB (the hook's limit)
    sys.path.insert(0, str(REPO / "src"))
    from nbregistry import Registry
    from nbregistry.notebook import fit_watch
    from nbregistry.notebook.cellnames import analyze

    (REPO / ".bench-tmp").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=REPO / ".bench-tmp", prefix="kinds-"))
    try:
        blob = tmp / "model.bin"
        with open(blob, "wb") as f:
            for _ in range(size // MiB):
                f.write(os.urandom(MiB))

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(tmp), **kw)

            def log_message(self, *a):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/model.bin"
        results = []

        def floor():
            digest = hashlib.sha256()
            with urllib.request.urlopen(url) as resp:
                while chunk := resp.read(MiB):
                    digest.update(chunk)

        n = 0

        def from_url():
            nonlocal n
            n += 1
            reg = Registry(tmp / f"reg-url-{n}", author="bench")
            reg.register(url, "m")
            reg.close()

        def from_disk():
            nonlocal n
            n += 1
            reg = Registry(tmp / f"reg-disk-{n}", author="bench")
            reg.register(str(blob), "m")
            reg.close()

        results.append((f"register {size // MiB} MiB from http://127.0.0.1", median_time(from_url, 3),
                        median_time(floor, 3), "urllib read + sha256"))
        results.append((f"register {size // MiB} MiB from disk (for scale)", median_time(from_disk, 3), None, ""))
        server.shutdown()

        import numpy as np
        import pandas as pd

        ns = {"X": pd.DataFrame(np.random.default_rng(0).normal(size=(rows, 16))), "model": object()}
        mb = ns["X"].memory_usage().sum() / 1e6
        results.append((f"fit hook, cell fitting a {mb:.0f} MB DataFrame", median_time(
            lambda: fit_watch.record(ns, "model.fit(X, y)", 1), 5), None, "(a fit on it takes far longer)"))
        results.append(("fit hook, cell without fit", median_time(
            lambda: fit_watch.record(ns, "summary = X.describe()\nsummary", 2), 50), None, ""))
        cell = "\n".join(f"v{i} = [x * {i} for x in range(10) if x]\nfor j in range(3):\n    v{i} += [j]"
                         for i in range(67))
        results.append(("analyse a 200-line cell", median_time(lambda: analyze(cell), 20), None, ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'work':52} {'nbregistry':>12} {'floor':>10}  note")
    for name, t, f, note in results:
        floor_text = f"{f * 1000:8.1f}ms" if f is not None else ""
        print(f"{name:52} {t * 1000:10.1f}ms {floor_text:>10}  {note}")


if __name__ == "__main__":
    main()
