"""SQL for versioning, model cards and evaluations: retired model names (renames and deletions),
deleting a whole model, card history and evaluation records. Part of the store layer (see
``store.py``); every function takes the caller's connection, so writes happen inside the caller's
``Store.write()`` transaction.
"""

from __future__ import annotations

import sqlite3

from .store import dumps

DDL = """
CREATE TABLE model_names (name TEXT PRIMARY KEY COLLATE NOCASE, model_id INTEGER, status TEXT NOT NULL
  CHECK (status IN ('renamed', 'deleted')), successor TEXT, time TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT);
CREATE TABLE cards (id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL REFERENCES models(id),
  version INTEGER, body TEXT NOT NULL, written_at TEXT NOT NULL, author TEXT NOT NULL);
CREATE INDEX cards_target ON cards (model_id, version, id);
CREATE TABLE evaluations (id INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
  dataset TEXT NOT NULL, fingerprint TEXT, data TEXT NOT NULL DEFAULT '{}', source TEXT NOT NULL
  CHECK (source IN ('evaluate', 'logged')), created_at TEXT NOT NULL, author TEXT NOT NULL,
  identity TEXT NOT NULL DEFAULT 'local', claimed_by TEXT, code TEXT NOT NULL DEFAULT '{}');
CREATE INDEX evaluations_version ON evaluations (version_id, dataset, id);
CREATE TABLE evaluation_metrics (evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (evaluation_id, key));
CREATE INDEX evaluation_metrics_key ON evaluation_metrics (key, value)
"""


def apply_ddl(db) -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            db.execute(statement)


# -- retired names -----------------------------------------------------------------------------
def retired_name(conn, name: str) -> sqlite3.Row | None:
    """Why ``name`` no longer names a model: renamed (with the model's current name) or deleted."""
    return conn.execute(
        "SELECT n.*, m.name AS current FROM model_names n LEFT JOIN models m ON m.id = n.model_id"
        " WHERE n.name = ?", (name,)).fetchone()


def retire_name(conn, name: str, *, model_id: int | None, status: str, successor: str | None, time_: str,
                actor: str, reason: str | None) -> None:
    conn.execute("INSERT INTO model_names (name, model_id, status, successor, time, actor, reason) VALUES (?,?,?,?,?,?,?)"
                 " ON CONFLICT (name) DO UPDATE SET model_id = excluded.model_id, status = excluded.status,"
                 " successor = excluded.successor, time = excluded.time, actor = excluded.actor,"
                 " reason = excluded.reason", (name, model_id, status, successor, time_, actor, reason))


def release_name(conn, name: str) -> bool:
    return conn.execute("DELETE FROM model_names WHERE name = ?", (name,)).rowcount > 0


def names_of_model(conn, model_id: int) -> list[str]:
    """Earlier names of a model (renames), so its old events stay findable."""
    return [r[0] for r in conn.execute("SELECT name FROM model_names WHERE model_id = ? AND status = 'renamed'",
                                       (model_id,))]


def rename_model(conn, model_id: int, new_name: str) -> None:
    conn.execute("UPDATE models SET name = ? WHERE id = ?", (new_name, model_id))


def delete_model(conn, model_id: int) -> dict:
    """Remove a model and everything hanging off it (events stay: they are the audit trail).
    Returns counts of what went."""
    counts = {}
    version_ids = [r[0] for r in conn.execute("SELECT id FROM versions WHERE model_id = ?", (model_id,))]
    counts["versions"] = len(version_ids)
    for table in ("aliases", "alias_moves", "policies", "cards", "model_tags"):
        counts[table] = conn.execute(f"DELETE FROM {table} WHERE model_id = ?", (model_id,)).rowcount
    comment_ids = [r[0] for r in conn.execute("SELECT id FROM comments WHERE model_id = ?", (model_id,))]
    for i in range(0, len(comment_ids), 500):
        chunk = comment_ids[i:i + 500]
        conn.execute(f"DELETE FROM comment_edits WHERE comment_id IN ({','.join('?' * len(chunk))})", chunk)
    conn.execute("UPDATE comments SET reply_to = NULL WHERE model_id = ?", (model_id,))
    counts["comments"] = conn.execute("DELETE FROM comments WHERE model_id = ?", (model_id,)).rowcount
    conn.execute("DELETE FROM versions WHERE model_id = ?", (model_id,))
    conn.execute("UPDATE model_names SET model_id = NULL WHERE model_id = ?", (model_id,))
    conn.execute("DELETE FROM models WHERE id = ?", (model_id,))
    return counts


# -- cards -------------------------------------------------------------------------------------
def card_row(conn, model_id: int, version: int | None) -> sqlite3.Row | None:
    """The current card of a model (``version`` None) or of one version."""
    if version is None:
        return conn.execute("SELECT * FROM cards WHERE model_id = ? AND version IS NULL ORDER BY id DESC LIMIT 1",
                            (model_id,)).fetchone()
    return conn.execute("SELECT * FROM cards WHERE model_id = ? AND version = ? ORDER BY id DESC LIMIT 1",
                        (model_id, version)).fetchone()


def card_rows(conn, model_id: int, version: int | None) -> list[sqlite3.Row]:
    """Every body the card has had, oldest first."""
    if version is None:
        return conn.execute("SELECT * FROM cards WHERE model_id = ? AND version IS NULL ORDER BY id",
                            (model_id,)).fetchall()
    return conn.execute("SELECT * FROM cards WHERE model_id = ? AND version = ? ORDER BY id",
                        (model_id, version)).fetchall()


def insert_card(conn, *, model_id: int, version: int | None, body: str, when: str, author: str) -> int:
    return conn.execute("INSERT INTO cards (model_id, version, body, written_at, author) VALUES (?,?,?,?,?)",
                        (model_id, version, body, when, author)).lastrowid


# -- evaluations -------------------------------------------------------------------------------
def insert_evaluation(conn, *, version_id: int, dataset: str, fingerprint: str | None, data: dict, source: str,
                      created_at: str, author: str, identity: str, claimed_by: str | None, code: dict,
                      metrics: dict) -> int:
    eid = conn.execute(
        "INSERT INTO evaluations (version_id, dataset, fingerprint, data, source, created_at, author, identity,"
        " claimed_by, code) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (version_id, dataset, fingerprint, dumps(data), source, created_at, author, identity, claimed_by,
         dumps(code))).lastrowid
    conn.executemany("INSERT INTO evaluation_metrics (evaluation_id, key, value) VALUES (?,?,?)",
                     [(eid, k, v) for k, v in metrics.items()])
    return eid


EVALUATION_SELECT = ("SELECT e.*, m.name AS model, v.version FROM evaluations e JOIN versions v ON v.id = e.version_id"
                     " JOIN models m ON m.id = v.model_id")


def evaluation_rows(conn, version_ids: list[int], *, dataset: str | None = None) -> tuple[list, dict]:
    """Evaluations of these versions, oldest first, and ``{evaluation id: {key: value}}``."""
    rows: list = []
    for i in range(0, len(version_ids), 500):
        chunk = version_ids[i:i + 500]
        sql = EVALUATION_SELECT + f" WHERE e.version_id IN ({','.join('?' * len(chunk))})"
        args: list = list(chunk)
        if dataset is not None:
            sql += " AND e.dataset = ?"
            args.append(dataset)
        rows += conn.execute(sql + " ORDER BY e.id", args).fetchall()
    metrics: dict = {r["id"]: {} for r in rows}
    ids = list(metrics)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for r in conn.execute(f"SELECT evaluation_id, key, value FROM evaluation_metrics WHERE evaluation_id IN"
                              f" ({','.join('?' * len(chunk))})", chunk):
            metrics[r[0]][r[1]] = r[2]
    rows.sort(key=lambda r: r["id"])
    return rows, metrics
