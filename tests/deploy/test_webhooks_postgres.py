"""Webhooks with the metadata in PostgreSQL: fan-out and claims run in write transactions under the
advisory lock, so dispatchers in several processes on one database deliver each event once."""

from __future__ import annotations

import threading
import time

from test_webhooks import fast_retries, loopback_receivers_allowed, receiver, wait_status  # noqa: F401

from nbregistry import Registry
from nbregistry.deploy import webhooks


def test_signed_delivery_from_a_postgres_registry(tmp_path, pg_registry_url, receiver, fast_retries):  # noqa: F811
    reg = Registry(tmp_path / "r", db=pg_registry_url, author="alice")
    rec = receiver(secret="s" * 32)
    reg.add_webhook(rec.url, events="alias.*", secret="s" * 32)
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    reg.register(f, "churn")
    reg.set_alias("churn:1", "production")
    [req] = rec.wait_for(1)
    assert req["signature_ok"] and req["json"]["event"]["ref"] == "churn:1"
    [delivery] = wait_status(reg, "delivered")
    assert delivery.attempts == 1
    reg.close()


def test_dispatchers_of_two_registries_on_one_database_deliver_each_event_once(tmp_path, pg_registry_url, receiver,  # noqa: F811
                                                                                 fast_retries):  # noqa: F811
    rec = receiver(secret="z" * 32)
    one = Registry(tmp_path / "r", db=pg_registry_url, author="alice")
    other = Registry(tmp_path / "r", db=pg_registry_url, author="bob")  # another process would open it alike
    one.add_webhook(rec.url, events="alias.*", secret="z" * 32)
    one.store.on_events_committed = None  # no background thread: drive the passes by hand
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    one.register(f, "churn")
    for i in range(5):
        one.set_alias("churn:1", f"a{i}")
    threads = [threading.Thread(target=r.deliver_webhooks) for r in (one, other, one, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.wait_for(5)
    time.sleep(0.2)
    assert sorted(r["json"]["event"]["payload"]["alias"] for r in rec.requests) == [f"a{i}" for i in range(5)]
    assert webhooks.seconds_until_due(one.store) is None  # nothing left pending
    one.close()
    other.close()
