"""Webhooks: registry events POSTed to subscribers, signed, retried with backoff, every attempt logged.

A registry operation only writes its event (in its own transaction). Delivery happens afterwards,
from the ``events`` table, in a :class:`Dispatcher`: a daemon thread started lazily in the process
that wrote (when active subscriptions exist), or ``nbregistry webhooks run`` for a long-running one.
Delivery therefore never blocks nor fails the operation that caused it.

Two steps, each in a write transaction so several processes can dispatch for one registry safely:

1. *fan-out*: events after the cursor become one ``webhook_deliveries`` row per matching
   subscription; the cursor moves past them.
2. *send*: due deliveries are claimed (``claimed_until``), POSTed, and each attempt is recorded in
   ``webhook_attempts``. 2xx = delivered; network errors, 5xx, 408 and 429 are retried after
   ``BACKOFF_SECONDS * 2**(attempt-1)`` up to ``MAX_ATTEMPTS``; other 4xx fail at once.

The request: ``POST <url>`` with a JSON body ``{"webhook": id, "delivery": id, "event": Event}`` and
headers ``X-Nbregistry-Event`` (the action), ``X-Nbregistry-Delivery`` (the delivery id) and
``X-Nbregistry-Signature: sha256=<hex HMAC-SHA256 of the body with the subscription's secret>``.

Every attempt first checks the URL again (``webhook_urls.py``: public addresses only, unless the
registry's ``webhook_networks`` allow more) and connects only to the addresses it checked; a refused
URL fails the delivery for good. Secrets are stored encrypted (``core/secret_box.py``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import logging
import threading
import time
from pathlib import Path

from ..core import secret_box
from ..core import store_webhooks as sql
from ..core.errors import RegistryError
from ..core.store import Store, now_iso
from . import webhook_urls

log = logging.getLogger("nbregistry.webhooks")

SIGNATURE_HEADER = "X-Nbregistry-Signature"
BACKOFF_SECONDS = 2.0
MAX_ATTEMPTS = 6
TIMEOUT_SECONDS = 10.0
CLAIM_SECONDS = 60.0
IDLE_EXIT_SECONDS = 30.0
FANOUT_BATCH = 500
RETRYABLE_4XX = {408, 425, 429}


# ==================================================================== signing and matching
def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: does ``header`` (``X-Nbregistry-Signature``) sign ``body`` with ``secret``?"""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def matches(events_filter: str, model_filter: str | None, action: str, model: str | None) -> bool:
    """``events_filter`` is comma-separated globs over actions (``alias.*,version.registered``, ``*``)."""
    if model_filter and (model is None or not fnmatch.fnmatchcase(model.lower(), model_filter.lower())):
        return False
    return any(fnmatch.fnmatchcase(action, pattern.strip()) for pattern in events_filter.split(",") if pattern.strip())


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return BACKOFF_SECONDS * 2 ** (attempt - 1)


# ==================================================================== one dispatching pass
def fan_out(store: Store) -> int:
    """Turn events after the cursor into deliveries; returns how many deliveries were created."""
    created = 0
    while True:
        with store.write() as conn:
            hooks = sql.active_webhooks(conn)
            cursor = sql.cursor(conn)
            if not hooks:
                last = conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]
                if last != cursor:
                    sql.set_cursor(conn, last)
                return created
            start = max(cursor, min(h["after_event_id"] for h in hooks))
            rows = sql.events_after(conn, start, FANOUT_BATCH)
            # The cursor moves first, and only from the value read: of two dispatchers (replicas)
            # fanning out the same events, one wins; the other has inserted nothing and reads again.
            if rows and not sql.advance_cursor(conn, cursor, rows[-1]["id"]):
                continue
            now = time.time()
            for ev in rows:
                for hook in hooks:
                    if ev["id"] > hook["after_event_id"] and matches(hook["events"], hook["model"], ev["action"], ev["model"]):
                        body = _body(hook["id"], _event_dict(ev))
                        sql.insert_delivery(conn, webhook_id=hook["id"], event_id=ev["id"], action=ev["action"],
                                            body=body, next_attempt_at=now, created_at=now_iso())
                        created += 1
            if len(rows) < FANOUT_BATCH:
                return created


def send_due(store: Store, *, limit: int = 100, allowed: tuple = ()) -> int:
    """Send every due, unclaimed delivery once; returns how many attempts were made. ``allowed``:
    the non-public networks the registry's ``webhook_networks`` setting allows."""
    sent = 0
    while True:
        now = time.time()
        with store.write() as conn:
            rows = sql.claim_due(conn, now, now + CLAIM_SECONDS, limit)
        for row in rows:
            attempt(store, row, allowed=allowed)
            sent += 1
        if len(rows) < limit:
            return sent


def attempt(store: Store, row, *, allowed: tuple = ()) -> dict:
    """Check the URL, POST one claimed delivery and record the attempt. Returns the attempt's log entry."""
    number = row["attempts"] + 1
    body = _with_delivery_id(row["body"], row["id"])
    started = time.monotonic()
    status_code, error, final = None, None, False
    try:
        headers = {"Content-Type": "application/json", "User-Agent": "nbregistry-webhooks",
                   "X-Nbregistry-Event": row["action"], "X-Nbregistry-Delivery": str(row["id"]),
                   SIGNATURE_HEADER: sign(secret_box.unseal(store.root, row["secret"]), body)}
        status_code, reason = webhook_urls.post(row["url"], body, headers, allowed=allowed, timeout=TIMEOUT_SECONDS)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code} {reason}"
    except RegistryError as exc:  # the URL is refused, or the secret cannot be opened: no retry helps
        error, final = f"refused: {exc}", True
    except Exception as exc:  # refused, timeout, DNS, TLS...
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = (time.monotonic() - started) * 1000
    if status_code is not None and 200 <= status_code < 300:
        status, next_at, error = "delivered", None, None
    elif final or (status_code is not None and 400 <= status_code < 500 and status_code not in RETRYABLE_4XX) \
            or number >= MAX_ATTEMPTS:
        status, next_at = "failed", None
    else:
        status, next_at = "pending", time.time() + backoff(number)
    when = now_iso()
    with store.write() as conn:
        sql.record_attempt(conn, delivery_id=row["id"], attempt=number, time_=when, status_code=status_code,
                           error=error, duration_ms=duration_ms, status=status, next_attempt_at=next_at)
    if status != "delivered":
        log.warning("webhook delivery %s to %s: attempt %s %s (%s)", row["id"], row["url"], number,
                    "will be retried" if status == "pending" else "failed for good", error)
    return {"attempt": number, "time": when, "status_code": status_code, "error": error,
            "duration_ms": duration_ms}


def run_once(store: Store, *, allowed: tuple = ()) -> tuple[int, int]:
    """Fan out new events, then send what is due: ``(deliveries created, attempts made)``."""
    return fan_out(store), send_due(store, allowed=allowed)


def seconds_until_due(store: Store) -> float | None:
    due = sql.next_due(store.conn)
    return None if due is None else max(0.0, due - time.time())


# ==================================================================== the background dispatcher
class Dispatcher:
    """A daemon thread delivering webhooks of one registry, woken after writes that add events.

    It exits after ``IDLE_EXIT_SECONDS`` with nothing to do; the next wake-up starts it again.
    """

    def __init__(self, engine, allowed: tuple = ()):
        self.engine = engine  # the registry's database engine; the dispatcher opens its own store on it
        self.db_path = Path(getattr(engine, "path", None) or engine.root)
        self.allowed = tuple(allowed)
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.store: Store | None = None
        self.last_error: str | None = None

    def wake(self) -> None:
        self._wake.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"nbregistry-webhooks:{self.db_path.parent.name}",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        if self.store is None:
            self.store = Store(self.engine.reopen())
        idle_since = time.monotonic()
        while True:
            self._wake.clear()
            try:
                created, sent = run_once(self.store, allowed=self.allowed)
                wait = seconds_until_due(self.store)
                self.last_error = None
            except Exception as exc:  # a locked or vanished database must not kill the process
                log.warning("webhook dispatcher for %s: %s", self.engine.describe(), exc)
                self.last_error = str(exc)
                created, sent, wait = 0, 0, 5.0
            if created or sent:
                idle_since = time.monotonic()
            if wait is None and time.monotonic() - idle_since > IDLE_EXIT_SECONDS:
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None
                        return
            self._wake.wait(timeout=min(wait if wait is not None else IDLE_EXIT_SECONDS, 5.0))


_DISPATCHERS: dict[tuple, Dispatcher] = {}
_DISPATCHERS_LOCK = threading.Lock()


def wake(store: Store, allowed: tuple = ()) -> Dispatcher:
    """Start (or nudge) this process's dispatcher for the registry database of ``store`` delivering
    with the ``allowed`` networks (registries with different settings get different dispatchers)."""
    engine = store.engine
    where = str(Path(engine.path).resolve()) if getattr(engine, "path", None) is not None else engine.url
    key = (where, tuple(allowed))
    with _DISPATCHERS_LOCK:
        dispatcher = _DISPATCHERS.get(key)
        if dispatcher is None:
            dispatcher = _DISPATCHERS[key] = Dispatcher(engine, allowed)
    dispatcher.wake()
    return dispatcher


def run_forever(store: Store, *, poll: float = 1.0, stop: threading.Event | None = None,
                allowed: tuple = ()) -> None:
    """``nbregistry webhooks run``: poll the events table and deliver until ``stop`` is set."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            run_once(store, allowed=allowed)
        except Exception as exc:
            log.warning("webhook dispatcher: %s", exc)
        due = seconds_until_due(store)
        stop.wait(poll if due is None else min(poll, due))


# ==================================================================== helpers
def _event_dict(row) -> dict:
    return {"id": row["id"], "time": row["time"], "actor": row["actor"], "origin": row["origin"],
            "action": row["action"], "model": row["model"], "version": row["version"], "ref": row["ref"],
            "payload": json.loads(row["payload"])}


def _body(webhook_id: int, event: dict) -> str:
    return json.dumps({"webhook": webhook_id, "event": event}, sort_keys=True, separators=(",", ":"))


def _with_delivery_id(body: str, delivery_id: int) -> bytes:
    data = json.loads(body)
    data["delivery"] = delivery_id
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
