"""SQL for webhooks: subscriptions, the fan-out cursor, deliveries and every delivery attempt.

Part of the store layer (see ``store.py``). Writes take the caller's connection inside a
``Store.write()`` transaction, so that two processes dispatching for the same registry never fan
out the same event twice nor send the same delivery at the same time (a delivery is *claimed* for a
while before it is sent).
"""

from __future__ import annotations

import sqlite3

WEBHOOKS_DDL = """
CREATE TABLE webhooks (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL,
  events TEXT NOT NULL DEFAULT '*', model TEXT, secret TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
  after_event_id INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, created_by TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '');
CREATE TABLE webhook_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), last_event_id INTEGER NOT NULL);
CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE, event_id INTEGER,
  action TEXT NOT NULL, body TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, claimed_until REAL,
  created_at TEXT NOT NULL, finished_at TEXT);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
CREATE TABLE webhook_attempts (id INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt INTEGER NOT NULL, time TEXT NOT NULL, status_code INTEGER, error TEXT, duration_ms REAL NOT NULL);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
"""

# Tables that hold deployment configuration (URLs, secrets) and delivery state, not model history:
# bundles leave them out.
WEBHOOK_TABLES = ("webhooks", "webhook_cursor", "webhook_deliveries", "webhook_attempts")


def apply_ddl(db) -> None:
    for statement in WEBHOOKS_DDL.split(";"):
        if statement.strip():
            db.execute(statement)


# -- subscriptions -----------------------------------------------------------------------------
def insert_webhook(conn, *, url: str, events: str, model: str | None, secret: str, created_at: str,
                   created_by: str, description: str) -> int:
    last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
    cur = conn.execute(
        "INSERT INTO webhooks (url, events, model, secret, after_event_id, created_at, created_by, description)"
        " VALUES (?,?,?,?,?,?,?,?)", (url, events, model, secret, last, created_at, created_by, description))
    return cur.lastrowid


def start_after(conn, webhook_id: int, event_id: int) -> None:
    conn.execute("UPDATE webhooks SET after_event_id = ? WHERE id = ?", (event_id, webhook_id))


def webhook_row(conn, webhook_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()


def webhook_rows(conn) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT w.*, (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending')"
        " AS pending, (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND"
        " d.status = 'failed') AS failed FROM webhooks w ORDER BY w.id").fetchall()


def delete_webhook(conn, webhook_id: int) -> None:
    conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))


def any_active(conn) -> bool:
    return conn.execute("SELECT EXISTS (SELECT 1 FROM webhooks WHERE active = 1)").fetchone()[0] == 1


# -- fan-out: events -> deliveries -------------------------------------------------------------
def cursor(conn) -> int:
    row = conn.execute("SELECT last_event_id FROM webhook_cursor WHERE id = 1").fetchone()
    return 0 if row is None else row[0]


def set_cursor(conn, last_event_id: int) -> None:
    conn.execute("INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, ?)"
                 " ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id", (last_event_id,))


def advance_cursor(conn, old: int, new: int) -> bool:
    """Move the fan-out cursor from ``old`` to ``new``; False when another dispatcher moved it first
    (then this one must not fan out the same events: its transaction is rolled back)."""
    conn.execute("INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, ?) ON CONFLICT (id) DO NOTHING", (old,))
    cur = conn.execute("UPDATE webhook_cursor SET last_event_id = ? WHERE id = 1 AND last_event_id = ?", (new, old))
    return cur.rowcount == 1


def events_after(conn, event_id: int, limit: int) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (event_id, limit)).fetchall()


def active_webhooks(conn) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM webhooks WHERE active = 1 ORDER BY id").fetchall()


def insert_delivery(conn, *, webhook_id: int, event_id: int | None, action: str, body: str,
                    next_attempt_at: float, created_at: str) -> int:
    cur = conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event_id, action, body, next_attempt_at, created_at)"
        " VALUES (?,?,?,?,?,?)", (webhook_id, event_id, action, body, next_attempt_at, created_at))
    return cur.lastrowid


# -- sending -----------------------------------------------------------------------------------
def claim_due(conn, now: float, claim_until: float, limit: int) -> list[sqlite3.Row]:
    """Deliveries due now and not claimed by another dispatcher; claims them until ``claim_until``."""
    rows = conn.execute(
        "SELECT d.*, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.claimed_until IS NULL OR d.claimed_until < ?)"
        " ORDER BY d.next_attempt_at, d.id LIMIT ?", (now, now, limit)).fetchall()
    # Each claim is conditional: on a database whose transactions do not serialize (PostgreSQL's
    # READ COMMITTED), a dispatcher on another replica may have claimed the row since the SELECT;
    # the UPDATE then waits for it, re-reads the row and changes nothing, and the row is not ours.
    claimed = []
    for r in rows:
        cur = conn.execute("UPDATE webhook_deliveries SET claimed_until = ? WHERE id = ? AND status = 'pending'"
                           " AND (claimed_until IS NULL OR claimed_until < ?)", (claim_until, r["id"], now))
        if cur.rowcount == 1:
            claimed.append(r)
    return claimed


def next_due(conn) -> float | None:
    """When the next pending delivery may be sent: its attempt time, or the end of another
    dispatcher's claim on it (so nobody polls a claimed delivery in a loop)."""
    return conn.execute(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at THEN claimed_until"
        " ELSE next_attempt_at END) FROM webhook_deliveries WHERE status = 'pending'").fetchone()[0]


def record_attempt(conn, *, delivery_id: int, attempt: int, time_: str, status_code: int | None,
                   error: str | None, duration_ms: float, status: str, next_attempt_at: float | None) -> int:
    cur = conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, attempt, time, status_code, error, duration_ms)"
        " VALUES (?,?,?,?,?,?)", (delivery_id, attempt, time_, status_code, error, duration_ms))
    conn.execute(
        "UPDATE webhook_deliveries SET attempts = ?, status = ?, claimed_until = NULL,"
        " next_attempt_at = COALESCE(?, next_attempt_at),"
        " finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END WHERE id = ?",
        (attempt, status, next_attempt_at, status, time_, delivery_id))
    return cur.lastrowid


# -- the log -----------------------------------------------------------------------------------
def delivery_rows(conn, *, webhook_id: int | None, limit: int) -> list[sqlite3.Row]:
    sql = "SELECT * FROM webhook_deliveries"
    args: list = []
    if webhook_id is not None:
        sql += " WHERE webhook_id = ?"
        args.append(webhook_id)
    return conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()


def attempt_rows(conn, delivery_ids: list[int]) -> dict[int, list[sqlite3.Row]]:
    out: dict[int, list] = {i: [] for i in delivery_ids}
    for i in range(0, len(delivery_ids), 500):
        chunk = delivery_ids[i:i + 500]
        for r in conn.execute(f"SELECT * FROM webhook_attempts WHERE delivery_id IN ({','.join('?' * len(chunk))})"
                              " ORDER BY id", chunk):
            out[r["delivery_id"]].append(r)
    return out


# -- m007: secrets at rest, URLs out of the audit trail -------------------------------------------
def seal_stored_secrets(conn, root) -> int:
    """Encrypt every secret still stored in plain text (registries from before m007)."""
    from . import secret_box

    rows = conn.execute("SELECT id, secret FROM webhooks").fetchall()
    plain = [(r[0], r[1]) for r in rows if not str(r[1]).startswith(secret_box.PREFIX)]
    for hook_id, secret in plain:
        conn.execute("UPDATE webhooks SET secret = ? WHERE id = ?", (secret_box.seal(root, secret), hook_id))
    return len(plain)


def scrub_event_urls(conn) -> int:
    """Drop the ``url`` that webhook events (and test pings) recorded before m007."""
    import json

    changed = 0
    for table, column, action_col in (("events", "payload", "action"), ("webhook_deliveries", "body", "action")):
        for row_id, text in conn.execute(
                f"SELECT id, {column} FROM {table} WHERE {action_col} LIKE 'webhook.%'").fetchall():
            data = json.loads(text)
            payload = data if table == "events" else (data.get("event") or {}).get("payload") or {}
            if isinstance(payload, dict) and "url" in payload:
                payload.pop("url")
                conn.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?",
                             (json.dumps(data, sort_keys=True, separators=(",", ":")), row_id))
                changed += 1
    return changed
