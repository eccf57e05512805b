"""Several REAL ``nbregistry server`` replicas on one metadata store and one object store.

A :class:`ReplicaSet` starts N server processes (subprocesses, 127.0.0.1, free ports) that serve ONE
registry: today one SQLite file and one blob folder shared by every replica (SQLite in WAL mode with
``BEGIN IMMEDIATE`` writers is a valid multi-process setup), and PostgreSQL + an S3 bucket where that
backend is available (see :data:`BACKENDS`: ``sqlite-folder`` shares one root; ``pg-s3`` gives each
replica a root of its own, so nothing a replica keeps there can be what the others need). Each replica is told the stores by the command line,
as an operator would run them behind a load balancer.

:class:`Spread` is the "load balancer" the tests and bench/load_rest.py use: a client that sends each
call to the next replica in turn (round robin), with one ``RemoteRegistry`` per replica.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from server.remote_fixture import STARTUP_TIMEOUT, free_port


@dataclass
class Backend:
    """Where the replicas keep the registry: ``root(i)`` is replica i's ``--root``; ``args`` the
    store options every replica gets (``--db``, ``--objects``); ``env`` what their environment adds."""

    name: str
    base: Path
    shared_root: bool = True
    args: tuple = ()
    registry_kwargs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)

    def root(self, i: int) -> Path:
        return self.base / ("registry" if self.shared_root else f"replica-{i}")

    def local_registry(self, **kwargs):
        """A core ``Registry`` on the same stores, as an operator's shell would open it (``env``
        must be in this process's environment where it matters: webhook secrets)."""
        from nbregistry import Registry

        return Registry(self.operator_root(), **self.registry_kwargs, **kwargs)

    def operator_root(self) -> Path:
        """The root of a process beside the replicas (an operator's shell, a scoring server)."""
        return self.root(0) if self.shared_root else self.base / "operator"

    def cli_args(self) -> list[str]:
        """``nbregistry`` global options that open these stores: ``--root`` plus ``args``."""
        return [*self.args, "--root", str(self.operator_root())]


def sqlite_folder_backend(base: Path, services=None) -> Backend:
    """Every replica serves the same registry folder: one ``registry.db`` and one ``objects/``."""
    return Backend("sqlite-folder", Path(base))


def pg_s3_backend(base: Path, services) -> Backend:
    """One PostgreSQL database and one S3 bucket; every replica has a root (tmp/, checkouts) of its own,
    and all of them share one webhook key file (core/secret_box.py)."""
    import uuid

    import boto3

    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    postgres, _endpoint = services
    db = postgres.url(postgres.create_database())
    bucket = f"nbr-replicas-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    objects = f"s3://{bucket}/registry"
    return Backend("pg-s3", base, shared_root=False, args=("--db", db, "--objects", objects),
                   registry_kwargs={"db": db, "objects": objects},
                   env={"NBREGISTRY_WEBHOOK_KEY_FILE": str(base / "webhook-secrets.key")})


# name -> (factory(base, services), the pytest fixtures whose values are the services)
BACKENDS = {"sqlite-folder": (sqlite_folder_backend, ()),
            "pg-s3": (pg_s3_backend, ("postgres_server", "s3_endpoint"))}


# What the replica tests run on.
TESTED_BACKENDS = ["sqlite-folder", "pg-s3"]


def backend_for(name: str, base: Path, request) -> Backend:
    """The backend ``name`` in ``base``, its services taken from the test's fixtures."""
    factory, fixtures = BACKENDS[name]
    return factory(base, tuple(request.getfixturevalue(f) for f in fixtures) or None)


class Replica:
    def __init__(self, index: int, root: Path, args: tuple, users_file: Path, log_path: Path, env: dict,
                 workers: int = 1):
        self.index, self.root, self.args, self.workers = index, root, args, workers
        self.users_file, self.log_path, self.env = users_file, log_path, env
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nbregistry.cli", *self.args, "server", "--root", str(self.root),
             "--ip", "127.0.0.1", "--port", str(port), "--allow-root", "--users", str(self.users_file),
             *(["--workers", str(self.workers)] if self.workers > 1 else [])],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()

    def wait_ready(self, token: str) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"replica {self.index} exited with {self.proc.returncode}:\n"
                                   f"{self.log_path.read_text()[-3000:]}")
            try:
                request = urllib.request.Request(self.url + "/nbregistry/api/version",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"replica {self.index} did not answer within {STARTUP_TIMEOUT}s")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the replica."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class ReplicaSet:
    """N ``nbregistry server`` processes serving one registry (``backend``), with personal tokens."""

    def __init__(self, backend: Backend, n: int, users: dict[str, str], *, env: dict | None = None,
                 workers: int = 1):
        self.backend, self.users = backend, dict(users)
        backend.base.mkdir(parents=True, exist_ok=True)
        users_file = backend.base / "users.json"
        users_file.write_text(json.dumps(self.users))
        env = {**os.environ, "NBREGISTRY_URL": "", **backend.env, **(env or {})}
        self.replicas = [Replica(i, backend.root(i), backend.args, users_file, backend.base / f"replica-{i}.log", env,
                                 workers) for i in range(n)]

    def start(self) -> "ReplicaSet":
        token = next(iter(self.users.values()))
        for r in self.replicas:  # started together: on 2 cores the starts overlap their imports
            r.start()
        try:
            for r in self.replicas:
                r.wait_ready(token)
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self, i: int) -> None:
        replica = self.replicas[i]
        replica.stop()
        replica.start()
        replica.wait_ready(next(iter(self.users.values())))

    def stop(self) -> None:
        for r in self.replicas:
            r.stop()

    def __enter__(self) -> "ReplicaSet":  # ``with ReplicaSet(...) as cluster``: started, then stopped
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]

    def client(self, i: int, user: str):
        """A ``RemoteRegistry`` on replica ``i`` acting as ``user``."""
        from nbregistry.remote import RemoteRegistry

        return RemoteRegistry(self.replicas[i].url, self.users[user], author=user)

    def spread(self, user: str, *, start: int = 0) -> "Spread":
        return Spread([self.client(i, user) for i in range(len(self.replicas))], start=start)

    def logs(self) -> str:
        return "\n".join(f"--- replica {r.index}\n{r.log_path.read_text()[-2000:]}" for r in self.replicas)


class Spread:
    """A round-robin "load balancer" on the client side: each call goes to the next replica.

    ``spread.next()`` is the RemoteRegistry for the next call; ``spread.last`` the replica index it used."""

    def __init__(self, clients: list, *, start: int = 0):
        self.clients = clients
        self._i = start
        self.last = start
        self._lock = threading.Lock()

    def next(self):
        with self._lock:
            self.last = self._i % len(self.clients)
            self._i += 1
            return self.clients[self.last]

    def on(self, i: int):
        return self.clients[i]

    def close(self) -> None:
        for c in self.clients:
            c.close()
