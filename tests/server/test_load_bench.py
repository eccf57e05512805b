"""bench/load_rest.py itself: a short run of every client mode against a 2-worker server ends with
its nothing-lost check passing (tests never look at the times it prints)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "load_rest.py"


def test_load_rest_paced_clients_in_two_processes_against_two_workers_lose_nothing():
    done = subprocess.run([sys.executable, str(BENCH), "--clients", "4", "--seconds", "3", "--seed-versions", "5",
                           "--procs", "2", "--rate", "5", "--workers", "2"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NBREGISTRY_URL": ""})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "nothing lost" in out and "offered 20 req/s (4 clients x 5/s, Poisson)" in out, out
    rows = dict(re.findall(r"\| sqlite-folder \| 1 x 2 \| (\w+) \| (\d+) \| 0 \|", out))
    assert set(rows) == {"list", "search", "register", "all"} and int(rows["register"]) > 0, out
    assert int(rows["all"]) == sum(int(rows[op]) for op in ("list", "search", "register"))
    assert re.search(r"server CPU: [\d.]+ s in all, [\d.]+ ms per request; .*clients' CPU [\d.]+ ms", out), out


def test_load_rest_refuses_contradictory_options():
    done = subprocess.run([sys.executable, str(BENCH), "--rate", "2", "--think-ms", "10"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--rate and --think-ms exclude each other" in done.stderr
