"""What a bundle holds and how the registry's tables relate, read from the database itself.

A bundle is a tar archive (gzip-compressed when its name ends in ``.gz``/``.tgz``)::

    nbregistry-bundle.json        manifest: format, scope, schema, tables (columns, row counts), blobs
    tables/<table>.jsonl          one JSON array per row, values in the manifest's column order
    blobs/<ab>/<sha256>           every blob the exported versions need, named by its hash

Every table of the registry is included generically (so tables added by later migrations travel
too), except SQLite's and sqlite-utils' own, virtual tables, and the webhook tables (deployment
configuration with secrets, not model history). Relations come from the schema: declared foreign
keys, plus ``<thing>_id`` columns naming a table ``<thing>s`` (``alias_moves.event_id``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from ..core.store_webhooks import WEBHOOK_TABLES

BUNDLE_FORMAT = "nbregistry.bundle/1"
MANIFEST_NAME = "nbregistry-bundle.json"
SKIPPED_TABLES = {"_sqlite_migrations", *WEBHOOK_TABLES}


@dataclass
class TableInfo:
    name: str
    columns: list[str]
    pk: list[str]                                     # primary-key columns, in key order
    fks: dict[str, str] = field(default_factory=dict)    # column -> parent table (declared)
    soft_fks: dict[str, str] = field(default_factory=dict)  # column -> parent table (by naming)
    unique: list[list[str]] = field(default_factory=list)   # unique keys other than the id

    @property
    def has_id(self) -> bool:
        return self.pk == ["id"]

    @property
    def all_fks(self) -> dict[str, str]:
        return {**self.soft_fks, **self.fks}


def table_infos(conn: sqlite3.Connection) -> dict[str, TableInfo]:
    """The exportable tables of a registry database, parents before children."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL")]
    names = [r[0] for r in rows
             if not r[0].startswith("sqlite_") and r[0] not in SKIPPED_TABLES and r[0] not in virtual
             and not any(r[0].startswith(v + "_") for v in virtual)]
    infos: dict[str, TableInfo] = {}
    for name in names:
        cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = [c[1] for c in cols]
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        fks = {r[3]: r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        unique = []
        for idx in conn.execute(f'PRAGMA index_list("{name}")'):
            if idx[2] and idx[3] != "pk":
                unique.append([r[2] for r in conn.execute(f'PRAGMA index_info("{idx[1]}")')])
        infos[name] = TableInfo(name, columns, pk, fks, unique=unique)
    for info in infos.values():
        for col in info.columns:
            if col.endswith("_id") and col not in info.fks and col != "id":
                parent = col[:-3] + "s"
                if parent in infos and parent != info.name:
                    info.soft_fks[col] = parent
    return {name: infos[name] for name in _parents_first(infos)}


def _parents_first(infos: dict[str, TableInfo]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple) -> None:
        if name in seen or name in path:
            return
        for parent in infos[name].all_fks.values():
            if parent in infos and parent != name:
                visit(parent, path + (name,))
        seen.add(name)
        order.append(name)

    for name in sorted(infos):
        visit(name, ())
    return order
