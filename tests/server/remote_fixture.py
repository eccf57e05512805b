"""The ``remote`` registry kind: a RemoteRegistry talking to a REAL ``nbregistry server`` process.

tests/conftest.py imports this module and adds ``"remote"`` to the ``reg`` fixture's kinds, so the
whole behavioural suite runs against the REST API too.

Design (measured on the 2-core test machine): starting a registry server takes ~6 s from a fresh
interpreter and ~1.5 s even when forked from a process that already imported jupyter-server, so a
server per test would add minutes. Instead ONE server process serves the whole session, and each
test starts from an empty registry: before the test, the fixture empties the server's registry
folder the way an operator could, from outside the server — it deletes every row of every data
table in one SQLite transaction (the server's connections simply see an empty database, as after
any other committed write) and removes the stored blobs. Schema and migration bookkeeping are kept.
Nothing in the server knows about tests: there is no test-only endpoint. Between tests no request
is in flight (the client is synchronous), and the fixture checks through the API that the registry
it hands out is empty. Measured: tests/core's 136 behavioural tests take 18 s against a local
registry and 40 s against the remote one, 9 s of which is the one server start (a server per test
would have cost 136 x 1.5-6 s = 3.5-14 minutes).

Users: the server knows personal tokens (``--users``) for :data:`TOKENS`; the registry acts as
alice, and ``reg.author = "bob"`` switches to bob's token (so ``as_user`` changes the identity the
server records, not just a label).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

REMOTE_KINDS = ["remote"]
TOKENS = {name: f"{name}-remote-token" for name in ("alice", "bob", "carol", "dave", "erin", "tester")}
STARTUP_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, token: str, timeout: float = 10) -> tuple[int, str]:
    """GET with ``Authorization: token ...`` on a NEW connection (urllib keeps none): ``(status, body)``."""
    import urllib.error

    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def start_server(root, *, users: dict | None = None, token: str | None = None, log_path,
                 extra_args=()) -> tuple[subprocess.Popen, str]:
    """Start ``nbregistry server`` on a free loopback port (personal tokens ``users`` and/or a shared
    ``token``); return the process and its URL once it answers."""
    args = []
    if users:
        users_file = root.parent / f"{root.name}-users.json"
        users_file.write_text(json.dumps(users))
        args += ["--users", str(users_file)]
    if token:
        args += ["--token", token]
    port = free_port()
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbregistry.cli", "server", "--root", str(root), "--ip", "127.0.0.1",
         "--port", str(port), "--allow-root", *args, *extra_args],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NBREGISTRY_URL": ""})
    url = f"http://127.0.0.1:{port}"
    token = token or next(iter(users.values()))
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(f"nbregistry server exited with {proc.returncode}:\n{open(log_path).read()[-3000:]}")
        try:
            request = urllib.request.Request(url + "/nbregistry/api/version", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"nbregistry server did not answer within {STARTUP_TIMEOUT}s")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def empty_registry(root) -> None:
    """Delete every row of every data table and every blob: an empty registry, same schema."""
    conn = sqlite3.connect(root / "registry.db", timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE '\\_%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL%'")]
        for table in tables:
            conn.execute(f'DELETE FROM "{table}"')
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
            conn.execute("DELETE FROM sqlite_sequence")
        conn.execute("COMMIT")
    finally:
        conn.close()
    for folder in ("objects", "tmp"):
        for child in (root / folder).iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()


_SESSION_SERVER: dict = {}


def session_server(request, tmp_path_factory) -> tuple[str, object]:
    """One ``nbregistry server`` for the whole session, started on first use: ``(url, root)``.

    (tests/conftest.py imports only ``remote_registry``, so the session server is kept here and
    stopped by a session clean-up rather than by a session fixture.)"""
    if not _SESSION_SERVER:
        base = tmp_path_factory.mktemp("remote-server")
        root = base / "registry"
        proc, url = start_server(root, users=TOKENS, log_path=base / "server.log")
        request.config.add_cleanup(lambda: (stop_server(proc), _SESSION_SERVER.clear()))
        _SESSION_SERVER.update(url=url, root=root)
    return _SESSION_SERVER["url"], _SESSION_SERVER["root"]


@pytest.fixture
def remote_registry(request, tmp_path_factory):
    """An EMPTY registry on the session's server, acting as alice (see the module docstring)."""
    from nbregistry.remote import RemoteRegistry

    url, root = session_server(request, tmp_path_factory)
    empty_registry(root)
    reg = RemoteRegistry(url, TOKENS["alice"], tokens=TOKENS, author="alice")
    assert reg.list_models(archived=True).total == 0 and not reg.events()
    yield reg
    reg.close()
