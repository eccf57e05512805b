"""The PostgreSQL engine (psycopg 3; PostgreSQL 15+).

How it keeps SQLite's guarantees:

- **One writer at a time.** Every write transaction begins with ``pg_advisory_xact_lock(WRITE_LOCK)``
  (READ COMMITTED): writers queue on that one lock exactly as SQLite writers queue on
  ``BEGIN IMMEDIATE``, on every replica that shares the database, and each statement after the lock
  sees everything committed before it. So version numbers come out without gaps or duplicates, a gated
  promotion evaluates its gates in the transaction that moves the alias, events commit with their
  change, and gc (which deletes blobs while holding the write lock) never races a registration (which
  checks its blobs under the same lock). A single lock rather than row locks: the registry's write
  transactions are short, several touch many tables (rename, delete, import), and one lock cannot
  deadlock; the lock is released by COMMIT/ROLLBACK, also when a client dies.
- **Consistent reads.** ``snapshot()`` is a REPEATABLE READ, READ ONLY transaction; it never blocks
  writers and never fails with a serialization error.
- **Schema.** The same migrations as SQLite (``core/migrations.py``), their statements rewritten by
  :mod:`.pg_dialect`; applied names in ``nbregistry_migrations``, the count in ``nbregistry_schema``
  (SQLite's ``user_version``). A newer count is refused with :class:`SchemaTooNew`.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .. import migrations
from ..errors import RegistryError, SchemaTooNew, ValidationError
from . import Engine
from .pg_dialect import PRELUDE, inserted_table, translate

WRITE_LOCK = 0x6E62_7265_6700  # "nbreg": the one advisory lock every write transaction holds
SCHEMA_LOCK = WRITE_LOCK + 1    # held while migrating, so two processes never migrate at once
CONNECT_TIMEOUT = 30


class Row(tuple):
    """A result row readable by index and by column name, like ``sqlite3.Row``."""

    __slots__ = ()
    _index: dict = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                return tuple.__getitem__(self, self._index[key.lower()])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


_ROW_TYPES: dict[tuple, type] = {}


def _row_type(names: tuple) -> type:
    kind = _ROW_TYPES.get(names)
    if kind is None:
        index: dict = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        kind = _ROW_TYPES[names] = type("Row", (Row,), {"__slots__": (), "_index": index})
    return kind


def _row_factory(cursor):
    if cursor.description is None:
        return tuple
    kind = _row_type(tuple(c.name for c in cursor.description))
    return lambda values: kind(values)


class Cursor:
    """What ``execute`` returns: rows, ``rowcount`` and (for an INSERT) ``lastrowid``."""

    def __init__(self, cur, lastrowid=None):
        self._cur, self.lastrowid, self.rowcount = cur, lastrowid, cur.rowcount

    def fetchone(self):
        return self._cur.fetchone() if self._cur.description is not None else None

    def fetchall(self):
        return self._cur.fetchall() if self._cur.description is not None else []

    def __iter__(self):
        return iter(self.fetchall())


class Connection:
    """A psycopg connection that speaks the store's SQLite-spelled SQL (see :mod:`.pg_dialect`)."""

    def __init__(self, raw, id_tables: set, reconnect):
        self.raw = raw
        self.id_tables = id_tables
        self._reconnect = reconnect  # a new raw connection, for one that the server dropped

    def run(self, statement: str, params=None):
        """Execute on the raw connection. Outside a transaction, a connection the server dropped
        (a restart, a terminated backend) is replaced and the statement tried once more."""
        import psycopg

        idle = not self.in_transaction
        try:
            return self.raw.execute(statement, params)
        except psycopg.OperationalError:
            if not (idle and self.raw.broken):
                raise
            self.raw = self._reconnect()
            return self.raw.execute(statement, params)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus

        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, args=()):
        statement = translate(sql)
        table = inserted_table(sql)
        returning = table is not None and table in self.id_tables
        if returning:
            statement += " RETURNING id"
        try:
            cur = self.run(statement, tuple(args))  # always params: the rewritten text's %% must become %
        except Exception as exc:
            raise _translate_error(exc) from None
        if returning:
            row = cur.fetchone()
            return Cursor(cur, row[0] if row else None)
        return Cursor(cur)

    def executemany(self, sql: str, rows):
        rows = [tuple(r) for r in rows]
        cur = self.raw.cursor()
        if rows:
            try:
                cur.executemany(translate(sql), rows)
            except Exception as exc:
                raise _translate_error(exc) from None
        return Cursor(cur)

    def close(self) -> None:
        self.raw.close()

    # -- what bundles read from the schema (deploy/bundle.py) ---------------------------------
    def catalog(self) -> list[tuple]:
        """``[(table, columns, primary key, {column: parent table}, [unique column lists])]``."""
        out = []
        tables = [r[0] for r in self.raw.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname")]
        for table in tables:
            oid = self.raw.execute("SELECT %s::regclass::oid", (table,)).fetchone()[0]
            columns = [r[0] for r in self.raw.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped"
                " ORDER BY attnum", (oid,))]
            keys = self.raw.execute(
                "SELECT i.indisprimary, (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(i.indkey)"
                " WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = i.indrelid"
                " AND a.attnum = k.attnum) FROM pg_index i WHERE i.indrelid = %s AND i.indisunique"
                " ORDER BY i.indexrelid", (oid,)).fetchall()
            pk = next((list(cols) for primary, cols in keys if primary), [])
            unique = [list(cols) for primary, cols in keys if not primary]
            fks = {r[0]: r[1] for r in self.raw.execute(
                "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c JOIN pg_attribute a"
                " ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.conrelid = %s AND c.contype = 'f'",
                (oid,))}
            out.append((table, columns, pk, fks, unique))
        return out

    def row_order(self, pk: list[str]) -> str:
        """How an export lists a table's rows (SQLite: insertion order, ``rowid``)."""
        return ", ".join(f'"{c}"' for c in pk) or "1"

    def sync_ids(self, tables) -> None:
        """After rows were inserted with their own ids (an import), the next generated id follows them."""
        for table in tables:
            self.raw.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(COALESCE(MAX(id), 0), 1),"
                f" COALESCE(MAX(id), 0) > 0) FROM \"{table}\"")


def _translate_error(exc: Exception) -> Exception:
    """A value PostgreSQL cannot store, as the bad input it is (as the SQLite engine does)."""
    import psycopg

    if isinstance(exc, UnicodeEncodeError):
        return ValidationError("text holds a lone surrogate: text must be valid Unicode")
    if isinstance(exc, psycopg.errors.NumericValueOutOfRange):
        return ValidationError("a number is too large to store: integers must fit in 64 bits")
    if isinstance(exc, psycopg.DataError) and "0x00" in str(exc):
        return ValidationError("text holds a NUL character (\\x00), which the database cannot store")
    return exc


class PostgresEngine(Engine):
    name = "postgresql"

    def __init__(self, url: str, *, root: Path):
        try:
            import psycopg
        except ImportError:
            raise ValidationError("a postgresql:// database needs psycopg 3: pip install 'nbregistry[postgres]'") from None

        self.url = url
        self.root = Path(root)
        self._psycopg = psycopg
        self.IntegrityError = (psycopg.IntegrityError,)
        self.DatabaseError = (psycopg.DatabaseError,)
        self._local = threading.local()
        self._id_tables: set = set()

    def describe(self) -> str:
        """The URL without its password."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> "Connection":
        return Connection(self._connect_raw(), self._id_tables, self._connect_raw)

    def _connect_raw(self):
        import psycopg
        from psycopg.types.numeric import NumericLoader

        class _Numeric(NumericLoader):  # SUM() of integers is numeric: give ints (or floats) back
            def load(self, data):
                value = super().load(data)
                return int(value) if value == value.to_integral_value() else float(value)

        try:
            raw = psycopg.connect(self.url, autocommit=True, row_factory=_row_factory,
                                  cursor_factory=psycopg.ClientCursor, connect_timeout=CONNECT_TIMEOUT,
                                  application_name="nbregistry")
        except psycopg.OperationalError as exc:
            raise RegistryError(f"cannot connect to the registry database {self.describe()}: "
                                f"{str(exc).strip().splitlines()[0]}") from None
        raw.adapters.register_loader("numeric", _Numeric)
        return raw

    @property
    def conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.raw.closed or conn.raw.broken:
            conn = self._local.conn = self._connect()
        return conn

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def _transaction(self, begin: str, lock: int | None = None) -> Iterator[Connection]:
        conn = self.conn
        conn.run(begin)
        try:
            if lock is not None:
                conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            yield conn
        except BaseException:
            try:
                if not conn.raw.closed and not conn.raw.broken and conn.in_transaction:
                    conn.raw.execute("ROLLBACK")
            except self._psycopg.Error:
                pass  # the connection went away: the server rolled back; the next use reconnects
            raise
        else:
            conn.raw.execute("COMMIT")

    def transaction(self):
        return self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED", WRITE_LOCK)

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") as conn:
            yield conn

    # -- schema --------------------------------------------------------------------------------
    def schema_version(self) -> int:
        row = self.conn.raw.execute("SELECT to_regclass('nbregistry_schema') IS NOT NULL").fetchone()
        if not row[0]:
            return 0
        row = self.conn.raw.execute("SELECT version FROM nbregistry_schema").fetchone()
        return 0 if row is None else row[0]

    def _refuse_newer(self, found: int) -> None:
        if found > migrations.SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.describe()} was written by a newer nbregistry (schema {found}, this one knows up to "
                f"{migrations.SCHEMA_VERSION}); upgrade nbregistry to open it")

    def ensure_schema(self) -> None:
        found = self.schema_version()
        self._refuse_newer(found)
        if found < migrations.SCHEMA_VERSION:
            with self._transaction("BEGIN ISOLATION LEVEL READ COMMITTED", SCHEMA_LOCK) as conn:
                conn.raw.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                self._migrate(conn)
        self._id_tables.update(r[0] for r in self.conn.raw.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'id' AND is_identity = 'YES'"))

    def _migrate(self, conn: Connection) -> None:
        raw = conn.raw
        found = self.schema_version()  # again, under the lock: another process may have just migrated
        self._refuse_newer(found)
        if found == migrations.SCHEMA_VERSION:
            return
        raw.execute(PRELUDE)
        raw.execute("CREATE TABLE IF NOT EXISTS nbregistry_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        raw.execute("CREATE TABLE IF NOT EXISTS nbregistry_schema (version BIGINT NOT NULL)")
        applied = {r[0] for r in raw.execute("SELECT name FROM nbregistry_migrations")}
        context = MigrationContext(conn, self.root)
        for name, step in migrations.steps():
            if name in applied:
                continue
            step(context)
            # The id tables a migration created must return their ids to the next ones.
            self._id_tables.update(r[0] for r in raw.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND column_name = 'id' AND is_identity = 'YES'"))
            raw.execute("INSERT INTO nbregistry_migrations (name, applied_at) VALUES (%s, %s)",
                        (name, datetime.now(timezone.utc).isoformat()))
        raw.execute("DELETE FROM nbregistry_schema")
        raw.execute("INSERT INTO nbregistry_schema (version) VALUES (%s)", (migrations.SCHEMA_VERSION,))

    # -- checks --------------------------------------------------------------------------------
    def check_database(self, *, full: bool) -> list[str]:
        """PostgreSQL checks its own pages; here: that the registry's tables are all there."""
        try:
            missing = [t for t in ("models", "versions", "version_blobs", "aliases", "events")
                       if self.conn.raw.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is None]
        except self._psycopg.Error as exc:
            return [f"{self.describe()} cannot be checked ({str(exc).strip()})"]
        return [f"{self.describe()}: table {t} is missing" for t in missing]

    def explain(self, sql: str, args) -> list[str]:
        return [r[0] for r in self.conn.execute(self.dialect.explain + sql, args)]

    def json_pairs(self) -> str:
        return ("(SELECT value->>0 AS name, CAST(value->>1 AS BIGINT) AS number"
                " FROM jsonb_array_elements(CAST(? AS jsonb)))")

    def reopen(self) -> "PostgresEngine":
        return PostgresEngine(self.url, root=self.root)

    def state(self) -> str:
        try:
            return "ok" if self.schema_version() > 0 else "empty"
        except RegistryError:
            return "ok"  # unreachable: opening the store reports that with its own message

    @property
    def dialect(self):
        from ..search_plan import Dialect

        return _postgres_dialect(Dialect)


_DIALECTS: dict = {}


def _postgres_dialect(base):
    """search_plan's :class:`Dialect` for PostgreSQL: no index hints (the planner picks), plain EXPLAIN."""
    if base not in _DIALECTS:
        class PostgresDialect(base):
            name = "postgresql"
            explain = "EXPLAIN "

            def index_hint(self, index: str) -> str:
                return ""

        _DIALECTS[base] = PostgresDialect()
    return _DIALECTS[base]


class MigrationContext:
    """What a migration step is given on PostgreSQL: ``execute`` (SQLite-spelled DDL, rewritten),
    ``conn`` and ``nbr_root`` — the same names sqlite-utils' ``Database`` offers the step on SQLite."""

    def __init__(self, conn: Connection, root: Path):
        self.conn = conn
        self.nbr_root = root
        self.engine = "postgresql"

    def execute(self, sql: str, args=()):
        return self.conn.execute(sql, args)
