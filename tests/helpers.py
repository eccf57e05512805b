"""Small helpers for tests: snapshots of a registry's whole state to prove a refused call changed nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def db_snapshot(root: Path) -> dict:
    """Every row of every table (except sqlite internals), as sorted tuples."""
    conn = sqlite3.connect(Path(root) / "registry.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {t: sorted(map(tuple, conn.execute(f'SELECT * FROM "{t}"')), key=repr) for t in tables}
    finally:
        conn.close()


def objects_snapshot(root: Path) -> dict:
    objects = Path(root) / "objects"
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in objects.rglob("*") if p.is_file()}


def state(root: Path) -> tuple:
    return db_snapshot(root), objects_snapshot(root)
