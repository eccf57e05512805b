"""nbregistry's core timings next to the floor of the same work done with the standard library.

    .venv/bin/python bench/bench_core.py            # full sizes (~3 minutes; MLflow's part ~1.5)
    .venv/bin/python bench/bench_core.py --quick    # smaller sizes, for a quick look

One run prints one table: each row is a piece of work (issue 2's list), nbregistry's time, the
standard-library floor of the same work, their ratio, MLflow's time when ``import mlflow`` works,
the target and whether it is met. Times are medians of repeated runs (the big-file rows: best of
N, see bench_big_file). The register row also shows CPU time, which a busy machine does not
inflate the way it inflates wall time. Work happens in ``.bench-tmp/`` at the repository root (the
same disk a registry there would use), removed at the end.

``--profile ROW`` runs one row's nbregistry work under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import importlib.util
import json
import os
import pickle
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TMP_BASE = REPO / ".bench-tmp"
MiB = 1 << 20

FULL = dict(import_runs=15, register_runs=40, list_versions=2000, small_versions=100, timed_runs=40,
            big_mib=500, big_runs=5)
QUICK = dict(import_runs=5, register_runs=15, list_versions=500, small_versions=100, timed_runs=15,
             big_mib=64, big_runs=2)


# ==================================================================== measuring
def median_time(fn, runs: int, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def median_each(fns: list, warmup: int = 1) -> tuple[float, float]:
    """Median wall time over calls that must each be different (``fns[i]()``), and their mean CPU
    time (this process and its children: on a busy machine, wall time includes waiting for a core)."""
    for fn in fns[:warmup]:
        fn()
    times = []
    cpu0 = cpu_seconds()
    for fn in fns[warmup:]:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (cpu_seconds() - cpu0) / len(times)


def process_time(code: str, runs: int) -> float:
    """Median wall time of a fresh ``python -c code`` (interpreter start included)."""
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, check=True)  # warm the OS caches
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def import_time(module: str, runs: int) -> float:
    """Median time of ``import module`` timed inside fresh processes (immune to interpreter start-up noise)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    argv = [sys.executable, "-c", code]
    subprocess.run(argv, check=True, capture_output=True)  # warm the OS caches
    return statistics.median(float(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)
                             for _ in range(runs))


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (git, cp, ...), user + system."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def disk_bytes(folder: Path) -> int:
    """Bytes allocated on disk under ``folder`` (like ``du``; each inode counted once)."""
    seen, total = set(), 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def mlflow_available() -> bool:
    return importlib.util.find_spec("mlflow") is not None


# ==================================================================== rows
@dataclass
class Row:
    key: str  # matches bench_mlflow.py's output keys
    work: str
    ours: str
    floor: str
    ratio: str
    target: str
    met: str
    mlflow: str = "-"
    previous: str = "-"  # the number before the latest change (bench_scale.PREVIOUS)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


def yes(ok: bool) -> str:
    return "yes" if ok else "NO"


class Bench:
    def __init__(self, sizes: dict, work: Path):
        self.s = sizes
        self.work = work
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.mlflow = "not installed" if not mlflow_available() else None
        self.mlflow_results: dict[str, str] = {}

    def add(self, key: str, work: str, ours: str, floor: str, ratio_: str, target: str, met: str,
            previous: str | None = None) -> None:
        if previous is None:
            from bench_scale import PREVIOUS

            previous = PREVIOUS.get(key, "-")
        row = Row(key, work, ours, floor, ratio_, target, met, previous=previous)
        self.rows.append(row)
        print(f"  {row.work}: {row.ours} (floor {row.floor}; {row.met})", file=sys.stderr, flush=True)

    # ---------------------------------------------------------------- import
    def bench_import(self) -> None:
        runs = self.s["import_runs"]
        bare = process_time("pass", runs)
        whole = process_time("import nbregistry", runs)
        cost = import_time("nbregistry", runs)
        self.add("import", "import nbregistry (fresh process)", ms(cost),
                 f"{ms(bare)} (python -c pass; with the import: {ms(whole)})", "-", "< 100 ms", yes(cost < 0.100))
        if self.mlflow is None:
            self.mlflow_results["import"] = ms(import_time("mlflow", max(3, runs // 5)))

    # ---------------------------------------------------------------- open
    def bench_open(self) -> None:
        from nbregistry import Registry

        root = self.work / "open"
        Registry(root).close()

        def open_close():
            Registry(root).close()

        t = median_time(open_close, self.s["timed_runs"])

        def floor():
            conn = sqlite3.connect(root / "registry.db")
            conn.execute("PRAGMA user_version").fetchone()
            conn.close()

        f = median_time(floor, self.s["timed_runs"])
        self.add("open", "open an existing registry (Registry(root))", ms(t), f"{ms(f)} (sqlite3.connect + 1 query)",
                 ratio(t, f), "milliseconds", yes(t < 0.010))

    # ---------------------------------------------------------------- register a small model
    def small_models(self, n: int):
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True)
        # Different C -> different coefficients -> different bytes: nothing is deduplicated.
        return [LogisticRegression(C=0.5 + i / 10, max_iter=300).fit(X, y) for i in range(n)]

    def bench_register_small(self, reg) -> None:
        runs = self.s["register_runs"]
        models = self.small_models(runs + 3)
        calls = [lambda m=m: reg.register(m, "small", metrics={"acc": 0.95}) for m in models]
        t, cpu = median_each(calls, warmup=3)

        folder = self.work / "floor-small"
        folder.mkdir()
        conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE versions (id INTEGER PRIMARY KEY, name TEXT, version INT, path TEXT)")
        conn.execute("CREATE TABLE metrics (version_id INT, key TEXT, value REAL)")
        counter = iter(range(10 ** 9))

        def floor(m):
            i = next(counter)
            data = pickle.dumps(m, protocol=pickle.HIGHEST_PROTOCOL)
            path = folder / f"m{i}.pkl"
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            conn.execute("BEGIN IMMEDIATE")
            vid = conn.execute("INSERT INTO versions (name, version, path) VALUES (?,?,?)",
                               ("small", i, str(path))).lastrowid
            conn.execute("INSERT INTO metrics VALUES (?,?,?)", (vid, "acc", 0.95))
            conn.execute("COMMIT")

        f, cpu_floor = median_each([lambda m=m: floor(m) for m in models], warmup=3)
        conn.close()
        self.add("register_small", "register a small scikit-learn model (warm process)",
                 f"{ms(t)} (CPU {ms(cpu)})", f"{ms(f)} (CPU {ms(cpu_floor)}; pickle + write + fsync + sqlite insert)",
                 ratio(t, f), "< 10 ms", yes(t < 0.010))

    # ---------------------------------------------------------------- models with many versions
    def seed(self, reg, name: str, count: int, model) -> None:
        """``count`` versions: v1 is a small sklearn model, the rest small files with metrics and params."""
        reg.register(model, name, metrics={"auc": 0.5, "loss": 0.5}, params={"depth": "1", "lr": "0.1"})
        src = self.work / "seed"
        src.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        for i in range(2, count + 1):
            path = src / f"{name}-{i}.bin"
            path.write_bytes(f"{name} weights {i}".encode())
            reg.register(str(path), name, flavor="file",
                         metrics={"auc": 0.5 + (i % 97) / 200, "loss": 1 / i, "f1": (i % 13) / 13},
                         params={"depth": str(i % 10), "lr": str(0.1 / (1 + i % 5)), "seed": str(i)},
                         tags={"batch": str(i // 100)})
            path.unlink()
        per = (time.perf_counter() - t0) / max(1, count - 1)
        self.notes.append(f"setup: registering {count - 1} small files into {name} took {ms(per)} each (median not "
                          "taken; includes fsyncs)")

    def bench_list(self, reg, big: str, n: int) -> None:
        t = median_time(lambda: reg.list_versions(big, limit=n), max(5, self.s["timed_runs"] // 4))
        conn = sqlite3.connect(reg.root / "registry.db")
        model_id = conn.execute("SELECT id FROM models WHERE name = ?", (big,)).fetchone()[0]
        f = median_time(lambda: conn.execute("SELECT * FROM versions WHERE model_id = ? ORDER BY version DESC",
                                             (model_id,)).fetchall(), max(5, self.s["timed_runs"] // 4))
        conn.close()
        self.add("list", f"list {n:,} versions (with metrics, params, tags, aliases)", ms(t),
                 f"{ms(f)} (one plain SELECT of the version rows)", ratio(t, f), "-", "-")

    def bench_alias(self, reg, small: str, big: str, n_small: int, n_big: int) -> None:
        runs = self.s["timed_runs"]

        def mover(name):
            state = {"i": 0}

            def move():
                state["i"] += 1
                reg.set_alias(f"{name}:{1 + state['i'] % 2}", "staging")
            return move

        t_small = median_time(mover(small), runs)
        t_big = median_time(mover(big), runs)

        conn = sqlite3.connect(self.work / "floor-alias.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE aliases (model_id INT, alias TEXT, version INT, PRIMARY KEY (model_id, alias))")
        conn.execute("CREATE TABLE moves (id INTEGER PRIMARY KEY, model_id INT, alias TEXT, version INT, previous INT)")
        counter = iter(range(10 ** 9))

        def floor():
            v = next(counter) % 2 + 1
            conn.execute("BEGIN IMMEDIATE")
            prev = conn.execute("SELECT version FROM aliases WHERE model_id = 1 AND alias = 'staging'").fetchone()
            conn.execute("INSERT OR REPLACE INTO aliases VALUES (1, 'staging', ?)", (v,))
            conn.execute("INSERT INTO moves (model_id, alias, version, previous) VALUES (1, 'staging', ?, ?)",
                         (v, prev[0] if prev else None))
            conn.execute("COMMIT")

        f = median_time(floor, runs)
        conn.close()
        o1 = t_big / t_small
        self.add("alias_small", f"set an alias, model with {n_small:,} versions", ms(t_small),
                 f"{ms(f)} (sqlite upsert + history row)", ratio(t_small, f), "O(1)", "-")
        self.add("alias_big", f"set an alias, model with {n_big:,} versions", ms(t_big), f"{ms(f)}", ratio(t_big, f),
                 f"O(1): <= 1.5x the {n_small} case", f"{yes(o1 <= 1.5)} ({o1:.2f}x)")

    def bench_load(self, reg, small: str, big: str, n_small: int, n_big: int, model) -> None:
        runs = self.s["timed_runs"]
        reg.set_alias(f"{small}:1", "production")
        reg.set_alias(f"{big}:1", "production")
        t_small = median_time(lambda: reg.load(f"{small}@production"), runs)
        t_big = median_time(lambda: reg.load(f"{big}@production"), runs)

        path = self.work / "floor-model.pkl"
        path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()

        def floor():
            data = path.read_bytes()
            assert hashlib.sha256(data).hexdigest() == digest
            pickle.loads(data)

        f = median_time(floor, runs)
        o1 = t_big / t_small
        self.add("load_small", f"load by alias, model with {n_small:,} versions", ms(t_small),
                 f"{ms(f)} (read + sha256 + pickle.loads)", ratio(t_small, f), "O(1)", "-")
        self.add("load_big", f"load by alias, model with {n_big:,} versions", ms(t_big), f"{ms(f)}", ratio(t_big, f),
                 f"O(1): <= 1.5x the {n_small} case", f"{yes(o1 <= 1.5)} ({o1:.2f}x)")
        self.notes.append("load: nbregistry stores scikit-learn models with skops (loads without unpickling); "
                          "the floor is plain pickle, which skops is slower than by design")

    def bench_compare(self, reg, small: str, n: int) -> None:
        t = median_time(lambda: reg.compare(small), self.s["timed_runs"])
        conn = sqlite3.connect(reg.root / "registry.db")
        model_id = conn.execute("SELECT id FROM models WHERE name = ?", (small,)).fetchone()[0]

        def floor():
            conn.execute("SELECT v.version, m.key, m.value FROM versions v JOIN metrics m ON m.version_id = v.id"
                         " WHERE v.model_id = ?", (model_id,)).fetchall()
            conn.execute("SELECT v.version, p.key, p.value FROM versions v JOIN params p ON p.version_id = v.id"
                         " WHERE v.model_id = ?", (model_id,)).fetchall()

        f = median_time(floor, self.s["timed_runs"])
        conn.close()
        self.add("compare", f"compare {n} versions (3 metrics, 3 params each)", ms(t),
                 f"{ms(f)} (SELECT metrics + params rows)", ratio(t, f), "< 10 ms", yes(t < 0.010))

    # ---------------------------------------------------------------- a big file
    def bench_big_file(self) -> None:
        from nbregistry import Registry

        size_mib, runs = self.s["big_mib"], self.s["big_runs"]
        src = self.work / "big.bin"
        chunk = os.urandom(16 * MiB)
        with open(src, "wb") as f:
            for i in range(size_mib // 16):
                f.write(bytes([i % 256]) + chunk[1:])  # distinct chunks, cheap to make
            f.write(os.urandom((size_mib % 16) * MiB))
            f.flush()
            os.fsync(f.fileno())

        def cp():
            dst = self.work / "big-cp.bin"
            os.sync()  # start each measurement without another's dirty pages to write back
            t0 = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            t = time.perf_counter() - t0
            dst.unlink()
            return t

        def cp_sync():
            dst = self.work / "big-cp.bin"
            os.sync()
            t0 = time.perf_counter()
            subprocess.run(["cp", str(src), str(dst)], check=True)
            fd = os.open(dst, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
            t = time.perf_counter() - t0
            dst.unlink()
            return t

        def hash_only():
            t0 = time.perf_counter()
            digest = hashlib.sha256()
            buf = bytearray(MiB)
            view = memoryview(buf)
            with open(src, "rb") as fin:
                while n := fin.readinto(buf):
                    digest.update(view[:n])
            return time.perf_counter() - t0

        def py_copy_hash():
            dst = self.work / "big-py.bin"
            os.sync()
            t0 = time.perf_counter()
            digest = hashlib.sha256()
            buf = bytearray(MiB)
            view = memoryview(buf)
            with open(src, "rb") as fin, open(dst, "wb") as fout:
                while n := fin.readinto(buf):
                    digest.update(view[:n])
                    fout.write(view[:n])
                fout.flush()
                os.fsync(fout.fileno())
            digest.hexdigest()
            t = time.perf_counter() - t0
            dst.unlink()
            return t

        def register():
            root = Path(tempfile.mkdtemp(dir=self.work, prefix="bigreg-"))
            reg = Registry(root)
            os.sync()
            t0 = time.perf_counter()
            reg.register(str(src), "big", flavor="file")
            t = time.perf_counter() - t0
            reg.close()
            shutil.rmtree(root)
            return t

        # Interleaved, so that page cache and disk state drift affects all three alike.
        # Each round runs the methods in a shuffled order, with a pause after each, so that no method
        # always follows the same one (what ran just before, e.g. deleting a large fsynced file, can
        # slow the next one down).
        methods = [cp, cp_sync, hash_only, py_copy_hash, register]
        times: dict = {m: [] for m in methods}
        for i in range(runs):
            order = list(methods)
            random.Random(i).shuffle(order)
            for m in order:
                times[m].append(m())
                os.sync()
                time.sleep(0.3)
        t_cp, t_cps, t_hash, t_py, t_reg = (times[m] for m in methods)
        # Best of N here, not the median: with a few runs of disk-bound work on a shared machine, the
        # median still carries other processes' I/O; the minimum is each method's own cost.
        c, cs, h, p, r = (min(x) for x in (t_cp, t_cps, t_hash, t_py, t_reg))
        label = f"register a {size_mib} MiB file (best of {runs})"
        self.add("big_cp", f"{label} vs `cp`", f"{r:.2f} s", f"{c:.2f} s (cp; cp + fsync: {cs:.2f} s)", ratio(r, c),
                 "<= 3x cp", yes(r <= 3 * c))
        self.notes.append(f"{size_mib} MiB file: sha256 alone (from page cache) takes {h:.2f} s "
                          f"({size_mib / h:.0f} MiB/s); `cp` without fsync leaves the data in the page cache")
        self.add("big_py", f"{label} vs Python copy+sha256", f"{r:.2f} s", f"{p:.2f} s (one pass + fsync)",
                 ratio(r, p), "<= 1.3x", yes(r <= 1.3 * p))

        root = self.work / "twice"
        reg = Registry(root)
        before = disk_bytes(root / "objects")
        reg.register(str(src), "big", flavor="file")
        once = disk_bytes(root / "objects")
        v2 = reg.register(str(src), "big", flavor="file")
        twice = disk_bytes(root / "objects")
        reg.close()
        extra = twice - once
        self.add("twice", f"disk used by registering the {size_mib} MiB file twice (objects/)",
                 f"+{once - before:,} B, then +{extra:,} B", f"{src.stat().st_blocks * 512:,} B (the file)",
                 "-", "0 extra bytes", yes(extra == 0 and v2.deduplicated))
        shutil.rmtree(root)
        self.run_mlflow(src)
        src.unlink()

    def run_mlflow(self, big_file: Path) -> None:
        """MLflow's cells, measured in a separate process (bench_mlflow.py)."""
        if self.mlflow is not None:
            return
        print("measuring MLflow (separate process) ...", file=sys.stderr, flush=True)
        sizes = dict(self.s, mlflow_register_runs=2,  # each takes seconds
                     mlflow_seed_seconds=20 if self.s is FULL else 8)
        os.sync()
        result = subprocess.run([sys.executable, str(Path(__file__).with_name("bench_mlflow.py")), str(self.work),
                                 json.dumps(sizes), str(big_file)], capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["?"])[-1]
            self.notes.append(f"MLflow measurements failed: {tail}")
            self.mlflow = "failed"
            return
        self.mlflow_results.update(json.loads(result.stdout.strip().splitlines()[-1]))
        if "_note" in self.mlflow_results:
            self.notes.append(self.mlflow_results.pop("_note"))
        self.notes.append("MLflow: " + self.mlflow_version() + " with its local file store "
                          "(MLFLOW_ALLOW_FILE_STORE=true; skinny has no SQLAlchemy for sqlite://), separate process")

    @staticmethod
    def mlflow_version() -> str:
        from importlib.metadata import PackageNotFoundError, version

        for dist in ("mlflow", "mlflow-skinny"):
            try:
                return f"{dist} {version(dist)}"
            except PackageNotFoundError:
                continue
        return "?"

    def fill_mlflow(self) -> None:
        for row in self.rows:
            row.mlflow = self.mlflow if self.mlflow is not None else self.mlflow_results.get(row.key, "-")

    # ---------------------------------------------------------------- all of it
    def run(self) -> None:
        from nbregistry import Registry

        s = self.s
        print("measuring import ...", file=sys.stderr, flush=True)
        self.bench_import()
        self.bench_open()
        reg = Registry(self.work / "registry", author="bench")
        print("registering small models ...", file=sys.stderr, flush=True)
        self.bench_register_small(reg)
        model = self.small_models(1)[0]
        small, big = "model-small", "model-big"
        print(f"seeding {s['small_versions']} + {s['list_versions']} versions ...", file=sys.stderr, flush=True)
        self.seed(reg, small, s["small_versions"], model)
        self.seed(reg, big, s["list_versions"], model)
        self.bench_list(reg, big, s["list_versions"])
        self.bench_alias(reg, small, big, s["small_versions"], s["list_versions"])
        self.bench_load(reg, small, big, s["small_versions"], s["list_versions"], model)
        self.bench_compare(reg, small, s["small_versions"])
        reg.close()
        print(f"writing and registering a {s['big_mib']} MiB file ...", file=sys.stderr, flush=True)
        self.bench_big_file()
        self.fill_mlflow()
        import bench_scale  # issue 15's rows: first register, 100k-version reads, environment bytes

        bench_scale.run(self, self.work, quick=self.s is QUICK)


def render(rows: list[Row]) -> str:
    headers = ["work", "nbregistry", "previous", "stdlib floor", "ratio", "MLflow", "target", "met?"]
    cells = [[r.work, r.ours, r.previous, r.floor, r.ratio, r.mlflow, r.target, r.met] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values):
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(c) for c in cells])


def profile(sizes: dict, work: Path, which: str) -> None:
    """cProfile one row's nbregistry work (``register``, ``compare``, ``alias``, ``load``, ``list``, ``big``)."""
    import cProfile
    import pstats

    from nbregistry import Registry

    bench = Bench(sizes, work)
    reg = Registry(work / "registry", author="bench")
    model = bench.small_models(1)[0]
    if which in ("compare", "alias", "load", "list"):
        n = sizes["list_versions"] if which == "list" else sizes["small_versions"]
        bench.seed(reg, "m", n, model)
        reg.set_alias("m:1", "production")
    work_fn = {
        "register": lambda models=bench.small_models(30): [reg.register(m, "small", metrics={"acc": 0.95})
                                                           for m in models],
        "compare": lambda: [reg.compare("m") for _ in range(30)],
        "alias": lambda: [reg.set_alias(f"m:{1 + i % 2}", "staging") for i in range(30)],
        "load": lambda: [reg.load("m@production") for _ in range(30)],
        "list": lambda: [reg.list_versions("m", limit=sizes["list_versions"]) for _ in range(5)],
    }[which]
    work_fn()  # warm: first-use imports (skops, sklearn discovery) are not steady-state costs
    prof = cProfile.Profile()
    prof.enable()
    work_fn()
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
    reg.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (64 MiB file, 500 versions)")
    parser.add_argument("--only-scale", action="store_true",
                        help="only issue 15's rows (bench_scale.py: fresh-kernel register, 100k reads, env bytes)")
    parser.add_argument("--profile", choices=["register", "compare", "alias", "load", "list"],
                        help="cProfile one row's nbregistry work instead of running the table")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    TMP_BASE.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=TMP_BASE, prefix="run-"))
    os.environ["NBREGISTRY_USER"] = "bench"
    started = time.perf_counter()
    try:
        if args.profile:
            profile(sizes, work, args.profile)
            return 0
        bench = Bench(sizes, work)
        if args.only_scale:
            import bench_scale

            bench_scale.run(bench, work, quick=args.quick)
        else:
            bench.run()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        try:
            TMP_BASE.rmdir()  # only when no other run is using it
        except OSError:
            pass
    from nbregistry import __version__

    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"nbregistry {__version__} benchmark, {when}; Python {platform.python_version()}, "
          f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, load average {load}; "
          f"{'--quick' if args.quick else 'full sizes'}; medians (big file: best of N); run took {time.perf_counter() - started:.0f} s")
    print()
    print(render(bench.rows))
    if bench.notes:
        print()
        for note in bench.notes:
            print(f"- {note}")
    failed = [r.work for r in bench.rows if r.met.startswith("NO")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
