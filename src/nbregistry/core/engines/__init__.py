"""Where the registry's metadata lives: one SQL database behind a small engine interface.

The store (``core/store*.py``) holds the registry's SQL, written once in the SQLite dialect with ``?``
placeholders. An engine gives it connections and transactions and adapts the few dialect differences:

- :class:`~.sqlite.SqliteEngine` (the default): a ``registry.db`` file in WAL mode, every write inside
  ``BEGIN IMMEDIATE`` (SQLite's single writer);
- :class:`~.postgres.PostgresEngine` (needs psycopg 3): PostgreSQL 15+, every write transaction takes
  one transaction-level advisory lock first, so writers serialize exactly as SQLite's do (see
  docs/scale-out.md); statements are rewritten once per text by :mod:`.pg_dialect`.

Both offer the same surface, :class:`Engine`: ``conn`` (one connection per thread, whose ``execute``
returns rows readable by index and by column name), ``transaction()`` (the write lock), ``snapshot()``
(a consistent read), ``ensure_schema()`` (migrations from ``core/migrations.py``; a schema from a newer
nbregistry raises :class:`~..errors.SchemaTooNew`), ``check_database``, ``explain`` and ``dialect``
(what search plans write differently). :func:`open_engine` picks one from a URL; psycopg is imported
only for a ``postgresql://`` URL.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterator

from ..errors import ValidationError

DB_ENV = "NBREGISTRY_DB"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Engine(ABC):
    """One registry database: connections per thread, transactions, schema, dialect."""

    name = "?"
    url = ""
    local = False  # True: queries answer from this machine (no network round trip to wait on)
    # Exceptions a statement raises when it breaks a UNIQUE/PRIMARY KEY/FOREIGN KEY rule.
    IntegrityError: tuple = ()
    # Exceptions that mean the database itself cannot be read (verify reports them).
    DatabaseError: tuple = ()

    @property
    @abstractmethod
    def conn(self):
        """This thread's connection (opened on first use)."""

    def close(self) -> None:
        """Close this thread's connection (it is reopened when used again). Engines keep their
        per-thread connection in ``self._local.conn``."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @abstractmethod
    def transaction(self) -> Iterator:
        """A write transaction that waits for other writers (context manager yielding the connection)."""

    @abstractmethod
    def snapshot(self) -> Iterator:
        """A consistent snapshot for several SELECTs (context manager yielding the connection)."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create or migrate the schema; raise SchemaTooNew for a newer one."""

    @abstractmethod
    def schema_version(self) -> int:
        """The number of migrations the database has (``migrations.SCHEMA_VERSION`` when current)."""

    @abstractmethod
    def check_database(self, *, full: bool) -> list[str]:
        """The engine's own consistency check: problems, or []."""

    @abstractmethod
    def explain(self, sql: str, args) -> list[str]:
        """The plan of a statement, one line per step."""

    @abstractmethod
    def state(self) -> str:
        """``ok``, ``missing`` or ``empty`` (no registry tables): check_openable refuses an empty
        database beside an object store that holds blobs."""

    @abstractmethod
    def json_pairs(self) -> str:
        """A table ``(name, number)`` of the pairs in one JSON parameter ``[["churn", 3], ...]``
        (many refs resolved by one indexed query)."""

    @abstractmethod
    def reopen(self) -> "Engine":
        """Another engine on the same database (a background thread's own store)."""

    @property
    def dialect(self):
        from ..search_plan import SQLITE

        return SQLITE

    def describe(self) -> str:
        return self.url


def is_postgres_url(spec) -> bool:
    return isinstance(spec, str) and spec.startswith(POSTGRES_SCHEMES)


def open_engine(db: str | os.PathLike | None, *, root: Path) -> Engine:
    """The metadata engine of a registry whose working folder is ``root``.

    ``None`` (or ``""``): ``$NBREGISTRY_DB`` if set, else ``<root>/registry.db``.
    A path or ``sqlite:///abs/path``: that SQLite file. ``postgresql://...`` (or ``postgres://``): PostgreSQL.
    """
    spec = db if db not in (None, "") else os.environ.get(DB_ENV) or None
    if spec is None:
        from .sqlite import SqliteEngine

        return SqliteEngine(Path(root) / "registry.db")
    spec = os.fspath(spec)
    if is_postgres_url(spec):
        from .postgres import PostgresEngine

        return PostgresEngine(spec, root=Path(root))
    if spec.startswith("sqlite://"):
        rest = spec[len("sqlite://"):]
        if not rest.startswith("/"):
            raise ValidationError(f"database URL {spec!r}: use sqlite:///absolute/path/registry.db")
        spec = rest
    elif "://" in spec:
        raise ValidationError(f"unknown database {spec!r}: use a file path, sqlite:///path or postgresql://...")
    from .sqlite import SqliteEngine

    return SqliteEngine(Path(spec).expanduser())
