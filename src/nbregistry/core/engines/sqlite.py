"""The SQLite engine: ``registry.db`` in WAL mode; every write inside ``BEGIN IMMEDIATE``.

Connections are per thread. Writers wait for each other (``busy_timeout`` plus a retry loop on
``BEGIN IMMEDIATE``), so concurrent kernels never see "database is locked".
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import migrations
from ..errors import RegistryError, SchemaTooNew, ValidationError
from . import Engine

BUSY_TIMEOUT_MS = 30_000
LOCK_WAIT_SECONDS = 300
MMAP_BYTES = 256 * 1024 * 1024  # SQLite-only tuning: here, in the connection set-up, with the other PRAGMAs


def _unstorable(exc: Exception) -> Exception:
    """A value SQLite cannot bind, as the bad input it is (the faces' checks name it earlier)."""
    if isinstance(exc, UnicodeEncodeError):
        return ValidationError("text holds a lone surrogate: text must be valid Unicode")
    return ValidationError("a number is too large to store: integers must fit in 64 bits")


class _Connection(sqlite3.Connection):
    """The registry's SQLite connection: a parameter SQLite cannot bind (a lone surrogate in a name
    someone searched for, a 400-digit id) is a ValidationError, on every read and write alike."""

    def execute(self, *args):
        try:
            return super().execute(*args)
        except (UnicodeEncodeError, OverflowError) as exc:
            raise _unstorable(exc) from None

    def executemany(self, *args):
        try:
            return super().executemany(*args)
        except (UnicodeEncodeError, OverflowError) as exc:
            raise _unstorable(exc) from None


class SqliteEngine(Engine):
    name = "sqlite"
    local = True
    IntegrityError = (sqlite3.IntegrityError,)
    DatabaseError = (sqlite3.DatabaseError,)

    def __init__(self, path: Path):
        self.path = Path(path)
        self.url = str(self.path)
        self._local = threading.local()

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                   check_same_thread=False, factory=_Connection)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Reads map the file instead of copying every page through read(): a big registry's random
            # lookups (a page of versions, its metrics and params) stop paying a syscall and a copy each.
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise RegistryError(f"registry database stayed locked for {LOCK_WAIT_SECONDS}s") from exc
                time.sleep(random.uniform(0.005, 0.05))
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def ensure_schema(self) -> None:
        new = not self.path.exists()
        conn = self.conn
        if new:
            conn.execute("PRAGMA journal_mode = WAL")
        found = self.schema_version()
        if found > migrations.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} was written by a newer nbregistry (schema {found}, this one knows up to "
                f"{migrations.SCHEMA_VERSION}); upgrade nbregistry to open it"
            )
        if found == migrations.SCHEMA_VERSION:
            return
        from ..lineage import own_imports

        with own_imports():  # sqlite-utils is nbregistry's doing, not the user's (lineage.environment)
            import sqlite_utils

        with self.transaction(), own_imports():
            db = sqlite_utils.Database(conn)
            db.nbr_root = self.path.parent  # what data migrations need besides the tables
            migrations.build().apply(db)
            conn.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION}")

    def check_database(self, *, full: bool) -> list[str]:
        """SQLite's own page check (``quick_check``; ``integrity_check`` when ``full``)."""
        pragma = "integrity_check" if full else "quick_check"
        try:
            rows = [r[0] for r in self.conn.execute(f"PRAGMA {pragma}(100)")]
        except sqlite3.DatabaseError as exc:
            return [f"registry.db cannot be checked ({exc}): the database file is damaged"]
        return [] if rows == ["ok"] else [f"registry.db: {line}" for r in rows for line in str(r).splitlines()
                                           if line.strip() and not line.startswith("***")]

    def explain(self, sql: str, args) -> list[str]:
        return [r[3] for r in self.conn.execute(self.dialect.explain + sql, args)]

    def json_pairs(self) -> str:
        return "(SELECT json_extract(value, '$[0]') AS name, json_extract(value, '$[1]') AS number FROM json_each(?))"

    def reopen(self) -> "SqliteEngine":
        return SqliteEngine(self.path)

    def state(self) -> str:
        from ..registry import _database_state

        return _database_state(self.path)
