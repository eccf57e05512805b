"""Concurrency and crash safety of a local registry, with real processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from nbregistry import Registry


def _register_many(root: str, worker: int, count: int, queue) -> None:
    reg = Registry(root, author=f"worker{worker}")
    errors = []
    for i in range(count):
        try:
            reg.register({"worker": worker, "i": i}, "shared", flavor="pickle", metrics={"i": i})
        except Exception as exc:  # reported to the parent, which fails the test
            errors.append(repr(exc))
    queue.put(errors)


def test_four_processes_register_200_versions_without_gaps_or_lock_errors(tmp_path):
    root = str(tmp_path / "registry")
    Registry(root).close()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_register_many, args=(root, w, 50, queue)) for w in range(4)]
    for p in procs:
        p.start()
    errors = [e for _ in procs for e in queue.get(timeout=300)]
    for p in procs:
        p.join(timeout=60)
    assert errors == []
    reg = Registry(root)
    versions = reg.list_versions("shared", limit=1000)
    assert sorted(v.version for v in versions) == list(range(1, 201))
    assert versions.total == 200
    by_worker = {}
    for v in versions:
        by_worker.setdefault(v.author, []).append(v)
    assert {k: len(v) for k, v in by_worker.items()} == {f"worker{w}": 50 for w in range(4)}
    assert reg.verify().ok
    registered = [e for e in reg.events(limit=10_000) if e.action == "version.registered"]
    assert len(registered) == 200


CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    import nbregistry as nr
    reg = nr.Registry(sys.argv[1], author="crash")
    payload = os.urandom(int(sys.argv[2]))
    i = 0
    while True:
        i += 1
        path = os.path.join(sys.argv[3], f"a{i % 3}.bin")
        with open(path, "wb") as f:
            f.write(payload[: len(payload) - i % 1000] + i.to_bytes(8, "little"))
        reg.register(path, "crashy", metrics={"i": i}, data={"p": path})
        print(i, flush=True)
""")


@pytest.mark.slow
def test_sigkill_at_random_points_never_leaves_a_dangling_version(tmp_path):
    root = tmp_path / "registry"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    Registry(root).close()
    rng = random.Random(1234)
    kills = 0
    for _ in range(30):
        proc = subprocess.Popen([sys.executable, str(script), str(root), str(2 << 20), str(scratch)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # wait until the process is registering in a loop, then kill it at a random instant
        assert proc.stdout.readline(), proc.stderr.read().decode()
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        reg = Registry(root)
        report = reg.verify()
        assert report.ok, f"after kill {kills}: {report.problems}"
        # every committed version loads completely
        for v in reg.list_versions("crashy", limit=10_000) if reg.list_models().total else []:
            assert v.artifact["size"] > 0
        reg.close()
    reg = Registry(root)
    count = reg.list_versions("crashy", limit=10_000).total
    assert count > 0, "the crash loop never committed a version: the test exercised nothing"
    numbers = sorted(v.version for v in reg.list_versions("crashy", limit=10_000))
    assert numbers == list(range(1, count + 1))
    last = reg.load(f"crashy:{count}")
    assert last.stat().st_size > (2 << 20) - 1000
    # Staging files of killed writers are swept by gc; nothing referenced is removed.
    reg.gc(grace=0)
    assert reg.verify().ok
    conn = sqlite3.connect(root / "registry.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
