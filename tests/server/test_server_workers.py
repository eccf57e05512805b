"""``nbregistry server --workers N``: real supervisor and worker processes on one loopback port.

Every worker answers on the one socket (a stopped worker's share goes to the others), registrations
through all of them stay gapless, a worker that dies is started again, one that cannot start stops the
server, and no worker outlives its supervisor."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from server.remote_fixture import STARTUP_TIMEOUT, free_port, http_get

TOKEN = "w-token"


def call(url: str, token: str = TOKEN, timeout: float = 10) -> int:
    return http_get(url, token, timeout)[0]


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def wait_for(predicate, what: str, timeout: float = STARTUP_TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Served:
    def __init__(self, tmp_path: Path, *extra: str, users: bool = True, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/nbregistry/api"
        self.log = tmp_path / "server.log"
        args = ["--workers", str(workers), *extra]
        if users:
            (tmp_path / "users.json").write_text(json.dumps({"wendy": TOKEN}))
            args += ["--users", str(tmp_path / "users.json")]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nbregistry.cli", "server", "--root", str(tmp_path / "registry"),
                 "--ip", "127.0.0.1", "--port", str(self.port), "--allow-root", *args],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NBREGISTRY_URL": ""})

    def wait_serving(self, count: int = 2, token: str = TOKEN) -> list[int]:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}:\n{self.text()[-3000:]}")
            return len(children(self.proc.pid)) == count and self.text().count("Jupyter Server") >= count
        wait_for(up, f"{count} workers")
        wait_for(lambda: call(self.url + "/version", token) == 200, "an answer")
        return children(self.proc.pid)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for pid in children(self.proc.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def served(tmp_path):
    started = []

    def start(*extra, **kwargs):
        s = Served(tmp_path, *extra, **kwargs)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_every_worker_answers_on_the_one_port_and_registrations_through_them_stay_gapless(served, tmp_path):
    from nbregistry.remote import RemoteRegistry

    s = served()
    workers = s.wait_serving()
    assert len(workers) == 2 and "2 workers on 127.0.0.1" in s.text()
    # each worker alone answers the port: the other is stopped (SIGSTOP), so it cannot accept
    for stopped, running in (workers, workers[::-1]):
        os.kill(stopped, signal.SIGSTOP)
        try:
            assert all(call(s.url + "/version", timeout=20) == 200 for _ in range(5))
        finally:
            os.kill(stopped, signal.SIGCONT)
    # 6 clients x 10 registrations on fresh connections: one model, versions 1..60, none lost
    (tmp_path / "m.bin").write_bytes(b"m")
    refs, errors = [], []

    def client(i):
        try:
            for _ in range(10):
                reg = RemoteRegistry(s.url.rsplit("/nbregistry/api", 1)[0], TOKEN)
                refs.append(reg.register(str(tmp_path / "m.bin"), "shared", metrics={"i": i}).ref)
                reg.close()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(int(r.split(":")[1]) for r in refs) == list(range(1, 61))
    reg = RemoteRegistry(s.url.rsplit("/nbregistry/api", 1)[0], TOKEN)
    assert reg.list_versions("shared", limit=100).total == 60 and reg.verify().ok


def test_a_worker_that_dies_is_started_again_and_the_port_keeps_answering(served):
    s = served()
    first, second = s.wait_serving()
    os.kill(first, signal.SIGKILL)
    assert call(s.url + "/version", timeout=20) == 200  # the other worker, meanwhile
    now = wait_for(lambda: (lambda c: c if len(c) == 2 and first not in c else None)(children(s.proc.pid)),
                   "a new worker")
    assert second in now
    assert re.search(rf"worker 1 \(pid {first}\) exited with -9; starting it again", s.text())
    s.wait_serving()
    os.kill(second, signal.SIGSTOP)  # only the new worker can answer now
    try:
        assert call(s.url + "/version", timeout=20) == 200
    finally:
        os.kill(second, signal.SIGCONT)


def test_sigterm_stops_every_worker_and_workers_do_not_outlive_a_killed_supervisor(served):
    s = served()
    workers = s.wait_serving()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(30) == 0
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers),
             "the workers to stop", 30)
    s = served()
    workers = s.wait_serving()
    s.proc.kill()  # no clean-up runs in the supervisor
    s.proc.wait(10)
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and "Z" not in _state(pid) for pid in workers),
             "orphaned workers to stop by themselves", 30)
    assert "the supervisor is gone; this worker stops" in s.text()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_without_a_token_the_workers_share_one_generated_token(served):
    s = served(users=False)
    wait_for(lambda: re.search(r"shared token .*: ([0-9a-f]{48})$", s.text(), re.M), "the token in the log")
    tokens = set(re.findall(r"shared token .*: ([0-9a-f]{48})$", s.text(), re.M))
    assert len(tokens) == 1, tokens
    token = tokens.pop()
    workers = s.wait_serving(token=token)
    for stopped in workers:  # each worker takes that token
        os.kill(stopped, signal.SIGSTOP)
        try:
            assert call(s.url + "/version", token, timeout=20) == 200
            assert call(s.url + "/version", "another", timeout=20) == 401
        finally:
            os.kill(stopped, signal.SIGCONT)
    assert token not in " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in workers)


def test_a_worker_that_cannot_start_stops_the_server(served, tmp_path):
    config = tmp_path / "bad_config.py"
    config.write_text("c.NBRegistry.max_upload_bytes = 'lots'\n")  # a TraitError when a worker applies it
    s = served("--config", str(config))
    assert s.proc.wait(STARTUP_TIMEOUT) == 1
    assert "before it was serving; stopping" in s.text()
    wait_for(lambda: not children(s.proc.pid), "no worker left")


def test_bad_worker_counts_and_a_taken_port_are_one_line_errors(tmp_path, capsys):
    import socket

    from nbregistry.cli import main

    root = str(tmp_path / "r")
    for bad in ("0", "65"):
        assert main(["server", "--root", root, "--workers", bad, "--allow-root"]) == 2
        assert "--workers" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["server", "--root", root, "--workers", "2", "--port", str(port), "--allow-root",
                     "--token", "t"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("nbregistry: error: cannot listen on 127.0.0.1:") and "in use" in err[-1], err
