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


def cli_runner(root: Path, capsys, monkeypatch=None, default_user: str | None = None):
    """``run("ls", json_out=True)``: the CLI's ``main`` against ``root``, returning (exit code, stdout,
    stderr), or with ``json_out`` the parsed output of a call that must succeed. With ``monkeypatch``,
    each call acts as ``user=`` or else ``default_user``."""
    import json

    from nbregistry.cli import main

    def run(*argv, user=None, json_out=False):
        if user or default_user:
            monkeypatch.setenv("NBREGISTRY_USER", user or default_user)
        if json_out and "--json" not in argv:
            argv = (*argv, "--json")
        code = main(["--root", str(root), *argv])
        out, err = capsys.readouterr()
        if json_out:
            assert code == 0, err
            return json.loads(out)
        return code, out, err

    return run
