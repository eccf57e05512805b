"""A throwaway PostgreSQL cluster for the tests: ``initdb`` + ``pg_ctl`` in a temp dir, on a free
loopback port, started once per session and stopped at its end.

PostgreSQL refuses to run as root, and CI runs the tests as root: then the cluster's folder is handed
to the ``postgres`` OS user and the server binaries run as that user (``runuser -u postgres --``).
The cluster trusts loopback connections (``-A trust``), so URLs carry a user but no password.

Fixtures:
- ``postgres_server`` (session): the running cluster, a :class:`PostgresCluster`.
- ``pg_url`` (function): a fresh empty database on it, as a ``postgresql://`` URL, dropped after the test.
- ``pg_registry_url`` (function): a fresh database that already holds the registry's schema, copied
  from a template migrated once per session (``CREATE DATABASE ... TEMPLATE``: ~0.1 s instead of
  running every migration for every test).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
SUPERUSER = "nbregistry"


def _pg_bin() -> Path:
    env = os.environ.get("NBREGISTRY_TEST_PG_BIN")
    for candidate in ([env] if env else []) + list(PG_BIN_CANDIDATES):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("no PostgreSQL server binaries (initdb) found: install postgresql-15 "
                       "(Debian: apt-get install postgresql-15) or set NBREGISTRY_TEST_PG_BIN")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One running PostgreSQL server owned by the test session."""

    def __init__(self, base: Path):
        self.bin = _pg_bin()
        self.base = base
        self.data = base / "data"
        self.sockets = base / "sockets"
        self.log = base / "server.log"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.user = SUPERUSER
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    # -- running the server binaries ---------------------------------------------------------
    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self._as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.base)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stderr.strip()}\n{log}")
        return result

    def start(self) -> None:
        self.sockets.mkdir(parents=True, exist_ok=True)
        if self._as_root:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
            os.chmod(self.base, 0o755)
        self._run("initdb", "-D", str(self.data), "-U", self.user, "-A", "trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses={self.host} -c port={self.port} "
                   f"-c unix_socket_directories={self.sockets} -c fsync=off -c synchronous_commit=off "
                   f"-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass

    # -- databases ---------------------------------------------------------------------------
    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction on the maintenance database (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the whole session."""
    base = Path(tempfile.mkdtemp(prefix="nbr-pg-"))
    cluster = PostgresCluster(base)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server):
    """A fresh empty database for this test, as a ``postgresql://`` URL; dropped afterwards."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def pg_template(postgres_server, tmp_path_factory):
    """A database migrated to this nbregistry's schema, used only as a template."""
    from nbregistry.core.engines.postgres import PostgresEngine

    name = postgres_server.create_database()
    engine = PostgresEngine(postgres_server.url(name), root=tmp_path_factory.mktemp("pg-template"))
    engine.ensure_schema()
    engine.close()
    return name


@pytest.fixture
def pg_registry_url(postgres_server, pg_template):
    """A fresh database holding the registry's (empty) schema, as a ``postgresql://`` URL."""
    name = postgres_server.create_database(template=pg_template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)
