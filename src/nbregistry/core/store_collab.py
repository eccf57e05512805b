"""SQL for collaboration: comments and their edit history, per-alias policies, alias time travel and the
activity feed. Part of the store layer (see ``store.py``); every function takes the caller's connection,
so writes happen inside the caller's ``Store.write()`` transaction.
"""

from __future__ import annotations

import json
import sqlite3

from .store import dumps

COMMENT_SELECT = ("SELECT c.*, m.name AS model FROM comments c JOIN models m ON m.id = c.model_id")


# -- comments ----------------------------------------------------------------------------------
def insert_comment(conn, *, model_id: int, version: int | None, author: str, body: str, anchor: str | None,
                   reply_to: int | None, verdict: str | None, created_at: str, identity: str = "local",
                   claimed_by: str | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO comments (model_id, version, author, body, anchor, reply_to, verdict, created_at, identity,"
        " claimed_by) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (model_id, version, author, body, anchor, reply_to, verdict, created_at, identity, claimed_by))
    return cur.lastrowid


def comment_row(conn, comment_id: int) -> sqlite3.Row | None:
    return conn.execute(COMMENT_SELECT + " WHERE c.id = ?", (comment_id,)).fetchone()


def comment_rows(conn, model_id: int, version: int | None) -> list[sqlite3.Row]:
    """The comments on a model (``version`` None: model-level only) or on one version, oldest first."""
    if version is None:
        return conn.execute(COMMENT_SELECT + " WHERE c.model_id = ? AND c.version IS NULL ORDER BY c.id",
                            (model_id,)).fetchall()
    return conn.execute(COMMENT_SELECT + " WHERE c.model_id = ? AND c.version = ? ORDER BY c.id",
                        (model_id, version)).fetchall()


def review_rows(conn, model_id: int, version: int) -> list[sqlite3.Row]:
    """Live (not deleted) reviews of a version, oldest first."""
    return conn.execute(
        "SELECT id, author, verdict, created_at, identity, claimed_by FROM comments WHERE model_id = ? AND version = ?"
        " AND verdict IS NOT NULL AND deleted = 0 ORDER BY id", (model_id, version)).fetchall()


def edit_comment(conn, comment_id: int, *, old_body: str, written_at: str, body: str, when: str,
                 editor: str) -> None:
    """Keep the body being replaced in ``comment_edits``, then store the new one."""
    conn.execute("INSERT INTO comment_edits (comment_id, body, written_at, replaced_at, editor) VALUES (?,?,?,?,?)",
                 (comment_id, old_body, written_at, when, editor))
    conn.execute("UPDATE comments SET body = ?, edited_at = ? WHERE id = ?", (body, when, comment_id))


def tombstone_comment(conn, comment_id: int) -> None:
    """Empty the body and forget earlier bodies: a deleted comment keeps only its place in the thread."""
    conn.execute("DELETE FROM comment_edits WHERE comment_id = ?", (comment_id,))
    conn.execute("UPDATE comments SET body = '', deleted = 1 WHERE id = ?", (comment_id,))


def comment_edits(conn, comment_id: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT body, written_at, replaced_at, editor FROM comment_edits WHERE comment_id = ?"
                        " ORDER BY id", (comment_id,)).fetchall()


def comment_snippets(conn, comment_ids: list[int]) -> dict[int, sqlite3.Row]:
    """Current body, anchor and state of comments named by activity events."""
    out = {}
    for i in range(0, len(comment_ids), 500):
        chunk = comment_ids[i:i + 500]
        for r in conn.execute(f"SELECT id, body, anchor, deleted FROM comments WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk):
            out[r["id"]] = r
    return out


# -- policies ----------------------------------------------------------------------------------
def policy(conn, model_id: int, alias: str) -> dict | None:
    row = conn.execute("SELECT policy FROM policies WHERE model_id = ? AND alias = ?", (model_id, alias)).fetchone()
    return None if row is None else json.loads(row[0])


def set_policy(conn, model_id: int, alias: str, policy: dict, *, actor: str, when: str) -> None:
    conn.execute(
        "INSERT INTO policies (model_id, alias, policy, updated_at, updated_by) VALUES (?,?,?,?,?)"
        " ON CONFLICT (model_id, alias) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        (model_id, alias, dumps(policy), when, actor))


# -- alias time travel -------------------------------------------------------------------------
def alias_holder_at(conn, model_id: int, alias: str, at: str) -> sqlite3.Row | None:
    """The last move of ``alias`` at or before ``at`` (ISO text), or None if it had never moved by then."""
    return conn.execute(
        "SELECT version, time, id FROM alias_moves WHERE model_id = ? AND alias = ? AND time <= ?"
        " ORDER BY id DESC LIMIT 1", (model_id, alias, at)).fetchone()


def latest_version_at(conn, model_id: int, at: str) -> int | None:
    """The highest active version number registered at or before ``at``."""
    return conn.execute("SELECT MAX(version) FROM versions WHERE model_id = ? AND status = 'active'"
                        " AND created_at <= ?", (model_id, at)).fetchone()[0]


def version_created_at(conn, model_id: int, number: int) -> str | None:
    row = conn.execute("SELECT created_at FROM versions WHERE model_id = ? AND version = ?",
                       (model_id, number)).fetchone()
    return None if row is None else row[0]


