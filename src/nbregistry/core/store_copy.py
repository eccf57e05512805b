"""The SQL of moving a registry (``core/moving.py``): every table's rows, read in key order and
written with their ids, on whichever engine holds them.

Reading and writing are plain statements in the store's one dialect (``?`` placeholders, which the
engine adapts). What differs between engines is asked of the engine's connection here: which tables
exist and how they depend on each other (read from the source), and moving the id counters on (so
that the target never hands out an id the source already used, even one whose row was deleted).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Iterator

# The engines' own bookkeeping: every target has its own, written by its migrations.
ENGINE_TABLES = {"_sqlite_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4", "nbregistry_schema",
                 "nbregistry_migrations"}


@dataclass
class Table:
    name: str
    columns: list[str]
    key: list[str]                                   # the primary key's columns (row order of the copy)
    parents: set[str] = field(default_factory=set)   # tables its foreign keys point to

    @property
    def has_id(self) -> bool:
        return self.key == ["id"]


def _is_sqlite(conn) -> bool:
    return isinstance(conn, sqlite3.Connection)  # else PostgreSQL's (core/engines/postgres.py)


def tables(conn) -> list[Table]:
    """The registry's tables on this connection, each after the tables it references."""
    found = _sqlite_tables(conn) if _is_sqlite(conn) else _postgres_tables(conn)
    by_name = {t.name: t for t in found}
    order: list[Table] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple) -> None:
        if name in seen or name in path or name not in by_name:
            return
        for parent in sorted(by_name[name].parents):
            if parent != name:
                visit(parent, path + (name,))
        seen.add(name)
        order.append(by_name[name])

    for name in sorted(by_name):
        visit(name, ())
    return order


def _sqlite_tables(conn) -> list[Table]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL")]
    out = []
    for name, _sql in rows:
        if name in ENGINE_TABLES or name.startswith("sqlite_") or name in virtual \
                or any(name.startswith(v + "_") for v in virtual):
            continue
        cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        key = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        parents = {r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        out.append(Table(name, [c[1] for c in cols], key, parents))
    return out


def _postgres_tables(conn) -> list[Table]:
    """From the engine's own reading of the catalog (``Connection.catalog``, core/engines/postgres.py)."""
    return [Table(name, columns, key, set(fks.values())) for name, columns, key, fks, _unique in conn.catalog()
            if name not in ENGINE_TABLES]


def first_filled(conn, names: list[str]) -> str | None:
    """The first of these tables that holds a row, or ``None`` when all are empty."""
    for name in names:
        if conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None:
            return name
    return None


def count(conn, name: str) -> int:
    return conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]


def read_rows(conn, table: Table, batch: int) -> Iterator[list[tuple]]:
    """The table's rows in key order (a parent comment before its replies), ``batch`` at a time:
    each batch is one keyset query (``WHERE key > last``), so memory stays bounded on any engine."""
    columns = ", ".join(f'"{c}"' for c in table.columns)
    key = ", ".join(f'"{c}"' for c in table.key)
    if not table.key:  # every registry table has a primary key; this is for the unexpected one
        yield [tuple(r) for r in conn.execute(f'SELECT {columns} FROM "{table.name}"').fetchall()]
        return
    at = [table.columns.index(c) for c in table.key]
    last = None
    while True:
        after = "" if last is None else f" WHERE ({key}) > ({', '.join('?' for _ in at)})"
        rows = [tuple(r) for r in conn.execute(f'SELECT {columns} FROM "{table.name}"{after} ORDER BY {key} '
                                               f"LIMIT {int(batch)}", last or ()).fetchall()]
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last = tuple(rows[-1][i] for i in at)


def write_rows(conn, table: Table, rows: list[tuple]) -> None:
    columns = ", ".join(f'"{c}"' for c in table.columns)
    marks = ", ".join("?" for _ in table.columns)
    conn.executemany(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', rows)


def last_ids(conn, names: list[str]) -> dict[str, int]:
    """The highest id each table has handed out (its counter: deleted rows count too)."""
    out = {name: conn.execute(f'SELECT MAX(id) FROM "{name}"').fetchone()[0] or 0 for name in names}
    if _is_sqlite(conn):
        for name, seq in conn.execute("SELECT name, seq FROM sqlite_sequence"):
            if name in out:
                out[name] = max(out[name], seq or 0)
    else:
        for name in names:
            seq = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (name,)).fetchone()[0]
            if seq:
                value = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
                if value[1]:
                    out[name] = max(out[name], value[0])
    return out


def continue_ids(conn, counters: dict[str, int]) -> None:
    """Make each table's next id come after ``counters[table]`` (the source's counter)."""
    if _is_sqlite(conn):
        autoincrement = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")}
        for name, last in counters.items():
            if name in autoincrement and last:
                conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, last))
        return  # plain INTEGER PRIMARY KEY tables continue after their highest row by themselves
    for name, last in counters.items():
        seq = conn.execute("SELECT pg_get_serial_sequence(?, 'id')", (name,)).fetchone()[0]
        if seq and last:
            conn.execute("SELECT setval(CAST(? AS regclass), ?)", (seq, last))
