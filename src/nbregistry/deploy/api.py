"""``DeployMixin``: the deployment capabilities of the core ``Registry`` (exports, imports, webhooks).

Mixed into ``Registry`` so they are ordinary registry methods every face calls (and a
``RemoteRegistry`` can mirror). This module stays import-light: the work is done in
``export.py``, ``importer.py``, ``import_mlflow.py`` and ``webhooks.py``, imported on first use.
"""

from __future__ import annotations

import logging
import os
import secrets as _secrets

log = logging.getLogger("nbregistry.deploy")

EXPORT_FORMATS = ("bundle", "mlflow", "docker", "hf")


class DeployMixin:
    """Exports, imports and webhooks. Expects ``self.store``, ``self.objects``, ``self.author``."""

    # ================================================================ export and import
    def export(self, ref_or_model: str | None, dest: str | os.PathLike, *, format: str = "bundle",
               trust: bool = False, port: int = 8080, serialization: str = "cloudpickle"):
        """Write a version, a model or (``None``) the whole registry somewhere else.

        ``format="bundle"``: a lossless archive (``dest`` = a ``.tar``/``.tar.gz`` file) of the whole
        registry, one model (``"churn"``) or one version (``"churn:3"``, ``"churn@production"``):
        rows of every table with ids, blobs with hashes. ``format="mlflow"``: an MLflow model
        directory for one version. ``format="docker"``: a Docker build context serving one version.
        ``format="hf"``: a Hugging Face-style folder (artifact files, README.md card with YAML front matter).
        Every format carries the model card as README.md.
        The mlflow format re-serializes sklearn models with ``serialization`` (``cloudpickle``, which
        every MLflow loads, or ``skops`` to copy the stored skops file as is), so pickle-based versions
        by others need ``trust``. ``port`` is the port the Docker image serves on.
        """
        from ..core.errors import ValidationError
        from . import export as ex

        if format == "bundle":
            return ex.export_bundle(self, ref_or_model, dest)
        if ref_or_model is None:
            raise ValidationError(f"--format {format} exports one version: give a ref such as churn:3")
        if format == "mlflow":
            from .export_mlflow import export_mlflow

            return export_mlflow(self, ref_or_model, dest, trust=trust, serialization=serialization)
        if format == "docker":
            return ex.export_docker(self, ref_or_model, dest, port=port)
        if format == "hf":
            from .export_card import export_hf

            return export_hf(self, ref_or_model, dest)
        raise ValidationError(f"unknown export format {format!r}; use one of: {', '.join(EXPORT_FORMATS)}")

    def import_bundle(self, path: str | os.PathLike):
        """Restore a bundle written by :meth:`export`. Idempotent: rows and blobs already here are
        recognised (by their natural keys and hashes) and skipped, so importing twice adds nothing.
        A version that exists here with different content is refused (nothing is imported)."""
        from .importer import import_bundle

        return import_bundle(self, path)

    def import_mlflow(self, uri: str, *, models: list[str] | None = None):
        """Copy registered models from an MLflow registry (``sqlite:///...``, a tracking URI) with their
        versions (same numbers), aliases, tags and the metrics/params of the runs that made them."""
        from .import_mlflow import import_mlflow

        return import_mlflow(self, uri, models=models)

    # ================================================================ batch scoring
    def predict(self, ref: str, data, *, method: str = "predict", chunk_size: int = 10_000, trust: bool = False,
                positional: bool = False, progress=None):
        """Score ``data`` (a DataFrame, an array, or an iterable of DataFrames) with the version ``ref``
        names now, in chunks of ``chunk_size`` rows, with the scoring server's checks (columns by name,
        safe casts, the recorded output schema). Returns a DataFrame of predictions whose
        ``attrs["nbregistry"]`` names the version used. ``progress``: a tqdm bar or ``f(rows)``."""
        from .batch import predict

        return predict(self, ref, data, method=method, chunk_size=chunk_size, trust=trust, positional=positional,
                       progress=progress)

    # ================================================================ webhooks
    @property
    def webhook_networks(self) -> tuple:
        """Non-public networks (CIDRs) webhooks may reach from this registry; by default none, or
        those in ``NBREGISTRY_WEBHOOK_ALLOW`` (comma-separated). Public addresses are always allowed.
        Checked when a webhook is added and before every delivery (see deploy/webhook_urls.py)."""
        from .webhook_urls import default_networks

        if "_webhook_networks" not in self.__dict__:
            self.__dict__["_webhook_networks"] = default_networks()
        return self.__dict__["_webhook_networks"]

    @webhook_networks.setter
    def webhook_networks(self, networks) -> None:
        from .webhook_urls import parse_networks

        self.__dict__["_webhook_networks"] = parse_networks(networks)

    def add_webhook(self, url: str, *, events: str = "*", model: str | None = None, secret: str | None = None,
                    description: str = ""):
        """Subscribe ``url`` to events whose action matches ``events`` (comma-separated globs such as
        ``alias.*,version.registered``), optionally of one ``model`` (a glob). Returns the
        :class:`Webhook` with its ``secret`` (generated when not given): the only time it is shown.
        The URL must reach public addresses only, unless :attr:`webhook_networks` allows more. The
        secret is stored encrypted (core/secret_box.py); events record neither it nor the URL."""
        from ..core import secret_box
        from ..core import store_webhooks as sql
        from ..core.errors import ValidationError
        from ..core.store import now_iso
        from .webhook_urls import check_url

        check_url(url, self.webhook_networks)
        if not isinstance(events, str) or not events.strip():
            raise ValidationError("events must be a non-empty filter such as '*' or 'alias.*,version.registered'")
        secret = secret or _secrets.token_hex(32)
        if not isinstance(secret, str) or len(secret) < 16:
            raise ValidationError("a webhook secret must be a string of at least 16 characters")
        sealed = secret_box.seal(self.store.root, secret)
        with self.store.write() as conn:
            hook_id = sql.insert_webhook(conn, url=url, events=events, model=model, secret=sealed, created_at=now_iso(),
                                         created_by=self.author, description=description)
            event_id = self._event(conn, "webhook.added", None, payload={"id": hook_id, "events": events,
                                                                         "model": model})
            sql.start_after(conn, hook_id, event_id)  # a new subscription hears what happens from now on
        hook = self.get_webhook(hook_id)
        hook.secret = secret
        return hook

    def get_webhook(self, webhook_id: int):
        """One subscription (without its secret); :class:`NotFound` when there is none with that id."""
        from ..core.errors import NotFound

        for hook in self.list_webhooks():
            if hook.id == webhook_id:
                return hook
        raise NotFound(f"no webhook #{webhook_id}")

    def list_webhooks(self):
        """Subscriptions (without secrets), with counts of pending and failed deliveries."""
        from ..core import store_webhooks as sql
        from ..core.entities import Results
        from .entities import Webhook

        rows = sql.webhook_rows(self.store.conn)
        return Results([Webhook(id=r["id"], url=r["url"], events=r["events"], model=r["model"],
                                active=bool(r["active"]), created_at=r["created_at"], created_by=r["created_by"],
                                description=r["description"], pending=r["pending"], failed=r["failed"])
                        for r in rows], title="webhooks")

    def remove_webhook(self, webhook_id: int) -> int:
        """Delete a subscription and its delivery log."""
        from ..core import store_webhooks as sql
        from ..core.errors import NotFound

        with self.store.write() as conn:
            row = sql.webhook_row(conn, webhook_id)
            if row is None:
                raise NotFound(f"no webhook #{webhook_id}")
            sql.delete_webhook(conn, webhook_id)
            self._event(conn, "webhook.removed", None, payload={"id": webhook_id})
        return webhook_id

    def test_webhook(self, webhook_id: int):
        """Send a ``webhook.test`` ping to one subscription now (signed, logged like any delivery;
        retried later if it fails). Returns the :class:`WebhookDelivery` after the first attempt."""
        import json
        import time

        from ..core import store_webhooks as sql
        from ..core.errors import NotFound
        from ..core.store import now_iso
        from . import webhooks

        when = now_iso()
        with self.store.write() as conn:
            row = sql.webhook_row(conn, webhook_id)
            if row is None:
                raise NotFound(f"no webhook #{webhook_id}")
            event = {"id": None, "time": when, "actor": self.author, "origin": self.origin, "action": "webhook.test",
                     "model": None, "version": None, "ref": None, "payload": {"id": webhook_id}}
            body = json.dumps({"webhook": webhook_id, "event": event}, sort_keys=True, separators=(",", ":"))
            delivery_id = sql.insert_delivery(conn, webhook_id=webhook_id, event_id=None, action="webhook.test",
                                              body=body, next_attempt_at=time.time(), created_at=when)
            claimed = conn.execute("SELECT d.*, w.url, w.secret FROM webhook_deliveries d JOIN webhooks w"
                                   " ON w.id = d.webhook_id WHERE d.id = ?", (delivery_id,)).fetchone()
            conn.execute("UPDATE webhook_deliveries SET claimed_until = ? WHERE id = ?",
                         (time.time() + webhooks.CLAIM_SECONDS, delivery_id))
        webhooks.attempt(self.store, claimed, allowed=self.webhook_networks)
        return self.webhook_deliveries(webhook_id, limit=1)[0]

    def webhook_deliveries(self, webhook_id: int | None = None, *, limit: int = 100):
        """The delivery log, newest first: each delivery with every attempt (time, HTTP status, error)."""
        from ..core import store_webhooks as sql
        from ..core.entities import Results
        from .entities import WebhookDelivery

        conn = self.store.conn
        rows = sql.delivery_rows(conn, webhook_id=webhook_id, limit=limit)
        attempts = sql.attempt_rows(conn, [r["id"] for r in rows])
        return Results([WebhookDelivery(
            id=r["id"], webhook_id=r["webhook_id"], event_id=r["event_id"], action=r["action"], status=r["status"],
            attempts=r["attempts"], created_at=r["created_at"], finished_at=r["finished_at"],
            next_attempt_at=r["next_attempt_at"] if r["status"] == "pending" else None,
            log=[{"attempt": a["attempt"], "time": a["time"], "status_code": a["status_code"], "error": a["error"],
                  "duration_ms": round(a["duration_ms"], 3)} for a in attempts[r["id"]]])
            for r in rows], title="webhook deliveries")

    def deliver_webhooks(self) -> dict:
        """One dispatching pass in the caller's thread: fan out new events, send what is due."""
        from . import webhooks

        created, sent = webhooks.run_once(self.store, allowed=self.webhook_networks)
        return {"created": created, "attempts": sent}

    def _dispatch_pending_webhooks(self) -> bool:
        """Wake this process's webhook dispatcher when work is waiting: events not fanned out yet, or
        a delivery due (and not claimed by a live dispatcher). Server replicas call this every few
        seconds, so that what a process left when it died (or never dispatched) is still delivered,
        once (the claims are in the database). Returns whether it woke the dispatcher."""
        import time

        from ..core import store_webhooks as sql

        with self.store.read() as conn:
            if not sql.any_active(conn):
                return False
            behind = sql.cursor(conn) < self.store.last_event_id(conn)
            due = sql.next_due(conn)
        if behind or (due is not None and due <= time.time()):
            self._events_committed()
            return True
        return False

    def _events_committed(self) -> None:
        """Store hook after a write that added events: wake the webhook dispatcher when anyone listens.
        Costs one indexed ``SELECT`` when nobody does; never raises into the registry operation."""
        try:
            from ..core import store_webhooks as sql

            if sql.any_active(self.store.conn):
                from . import webhooks

                webhooks.wake(self.store, self.webhook_networks)
        except Exception as exc:  # noqa: BLE001 - webhooks must never fail the operation that caused them
            log.warning("could not wake the webhook dispatcher: %s", exc)
