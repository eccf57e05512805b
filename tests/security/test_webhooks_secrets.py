"""Attack: reading webhook URLs and signing secrets out of the registry. They never appear in
``/events``, the activity feed or bundles, and the secret is stored encrypted with a key kept outside
the database (``webhook-secrets.key``, mode 0600), so a copy of ``registry.db`` does not sign."""

from __future__ import annotations

import json
import sqlite3
import stat
import tarfile

import pytest

from nbregistry import Registry
from nbregistry.core.migrations import SCHEMA_VERSION
from security.rest_attacks import api, jp_server_config, limits_config, registry_root  # noqa: F401
from webhook_receiver import Receiver

SECRET = "a-very-secret-signing-key-0123456789"
URL_MARK = "internal-hook-path-xyz"


@pytest.fixture
def rec():
    receiver = Receiver(secret=SECRET)
    yield receiver
    receiver.close()


def db_bytes(root) -> bytes:
    return b"".join(p.read_bytes() for p in root.glob("registry.db*"))


def with_hook(reg, url):
    reg.webhook_networks = ["127.0.0.0/8"]
    reg.store.on_events_committed = None
    hook = reg.add_webhook(url, secret=SECRET)
    reg.test_webhook(hook.id)
    return hook


def test_the_secret_is_not_in_the_database_and_deliveries_still_verify(local_reg, rec):
    hook = with_hook(local_reg, rec.url + "/" + URL_MARK)
    assert rec.requests and rec.requests[0]["signature_ok"]
    local_reg.close()
    assert SECRET.encode() not in db_bytes(local_reg.root)  # before the fix: stored as plain text
    key = local_reg.root / "webhook-secrets.key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert all(h.secret is None for h in local_reg.list_webhooks())
    assert local_reg.get_webhook(hook.id).secret is None


def test_a_copied_database_without_the_key_cannot_sign(local_reg, rec, tmp_path):
    with_hook(local_reg, rec.url)
    local_reg.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    for p in local_reg.root.glob("registry.db*"):
        (copy / p.name).write_bytes(p.read_bytes())
    thief = Registry(copy, author="mallory")
    thief.webhook_networks = ["127.0.0.0/8"]
    delivery = thief.test_webhook(1)
    assert delivery.status == "failed" and "key" in delivery.log[0]["error"]
    assert len(rec.requests) == 1  # only the genuine ping


def test_urls_and_secrets_stay_out_of_events_activity_and_bundles(local_reg, rec, iris_model, tmp_path):
    hook = with_hook(local_reg, rec.url + "/" + URL_MARK)
    local_reg.register(iris_model, "churn")
    local_reg.remove_webhook(hook.id)
    events = json.dumps([e.to_dict() for e in local_reg.events()])
    activity = json.dumps([a if isinstance(a, dict) else a.to_dict() for a in local_reg.activity()], default=str)
    for text in (events, activity):
        assert URL_MARK not in text and SECRET not in text and "127.0.0.1" not in text
    assert {"webhook.added", "webhook.removed"} <= {e.action for e in local_reg.events()}
    bundle = tmp_path / "all.tar"
    local_reg.export(None, bundle)
    with tarfile.open(bundle) as tar:
        data = b"".join(tar.extractfile(m).read() for m in tar if m.isfile())
        names = tar.getnames()
    assert URL_MARK.encode() not in data and SECRET.encode() not in data
    assert not [n for n in names if "webhook" in n or n.endswith(".key")]


async def test_the_rest_events_and_activity_show_no_webhook_url(api, registry_root, rec):
    reg = Registry(registry_root, author="alice")
    with_hook(reg, rec.url + "/" + URL_MARK)
    for path in ("/events", "/activity"):
        r = await api("GET", path)
        assert r.status == 200 and URL_MARK.encode() not in r.raw and SECRET.encode() not in r.raw, r
    reg.close()


def test_migration_encrypts_plaintext_secrets_and_scrubs_urls_of_older_registries(local_reg, rec):
    """A registry written before m007: secrets in plain text, URLs in event payloads."""
    with_hook(local_reg, rec.url + "/" + URL_MARK)
    local_reg.close()
    root = local_reg.root
    (root / "webhook-secrets.key").unlink()
    conn = sqlite3.connect(root / "registry.db", isolation_level=None)
    conn.execute("UPDATE webhooks SET secret = ?", (SECRET,))
    conn.execute("UPDATE events SET payload = ? WHERE action = 'webhook.added'",
                 (json.dumps({"id": 1, "url": rec.url + "/" + URL_MARK, "events": "*", "model": None}),))
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm007_webhook_secrets'")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.close()
    assert SECRET.encode() in db_bytes(root)

    reg = Registry(root, author="alice")  # migrates
    reg.webhook_networks = ["127.0.0.0/8"]
    assert reg.test_webhook(1).status == "delivered" and rec.requests[-1]["signature_ok"]
    reg.close()
    conn = sqlite3.connect(root / "registry.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert SECRET.encode() not in db_bytes(root)
    payloads = [r[0] for r in sqlite3.connect(root / "registry.db").execute("SELECT payload FROM events")]
    assert not [p for p in payloads if URL_MARK in p]
