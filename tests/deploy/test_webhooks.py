"""Webhooks against a real loopback receiver: signatures, retries with backoff, the delivery log, and
that a registry operation never waits for (nor fails because of) a delivery."""

from __future__ import annotations

import threading
import time

import pytest

from nbregistry.core.errors import NotFound, ValidationError
from nbregistry.core import webhooks
from webhook_receiver import Receiver


@pytest.fixture(autouse=True)
def loopback_receivers_allowed(monkeypatch):
    """These receivers listen on 127.0.0.1, which webhooks refuse unless the registry's setting
    allows it (see tests/security/test_webhooks_ssrf.py): every registry here, and the
    ``nbregistry webhooks run`` process, opts in through NBREGISTRY_WEBHOOK_ALLOW."""
    monkeypatch.setenv("NBREGISTRY_WEBHOOK_ALLOW", "127.0.0.0/8")


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(webhooks, "BACKOFF_SECONDS", 0.05)
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 4)


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs):
        r = Receiver(**kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def wait_status(reg, status: str, n: int = 1, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in reg.webhook_deliveries() if d.status == status]
        if len(found) >= n:
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {n} {status} deliveries: {reg.webhook_deliveries()}")


def test_signed_delivery_of_matching_events_only(local_reg, iris_model, receiver, fast_retries):
    hook = local_reg.add_webhook("http://127.0.0.1:9/placeholder", events="alias.*")
    local_reg.remove_webhook(hook.id)
    rec = receiver(secret="s" * 32)
    hook = local_reg.add_webhook(rec.url, events="alias.*", secret="s" * 32, description="deploy bot")
    assert hook.secret == "s" * 32
    assert all(h.secret is None for h in local_reg.list_webhooks())  # never listed again

    local_reg.register(iris_model, "churn")  # version.registered: not matched
    local_reg.set_alias("churn:1", "production")
    got = rec.wait_for(1)
    time.sleep(0.3)
    assert len(rec.requests) == 1
    req = got[0]
    assert req["signature_ok"]
    assert req["headers"]["X-Nbregistry-Event"] == "alias.set"
    assert req["json"]["event"]["action"] == "alias.set"
    assert req["json"]["event"]["payload"]["alias"] == "production"
    assert req["json"]["event"]["ref"] == "churn:1"
    assert req["json"]["webhook"] == hook.id
    assert req["headers"]["X-Nbregistry-Delivery"] == str(req["json"]["delivery"])
    # a tampered body or another secret does not verify
    assert not webhooks.verify_signature("s" * 32, req["body"] + b" ", req["headers"][webhooks.SIGNATURE_HEADER])
    assert not webhooks.verify_signature("t" * 32, req["body"], req["headers"][webhooks.SIGNATURE_HEADER])

    [delivery] = wait_status(local_reg, "delivered")
    assert delivery.attempts == 1 and delivery.log[0]["status_code"] == 200


def test_failures_are_retried_with_backoff_and_logged(local_reg, iris_model, receiver, fast_retries):
    rec = receiver(secret="k" * 32, statuses=[500, 503])
    local_reg.add_webhook(rec.url, events="version.*", secret="k" * 32)
    local_reg.register(iris_model, "churn")
    got = rec.wait_for(3)
    assert [r["status"] for r in got] == [500, 503, 200]
    assert all(r["signature_ok"] for r in got)
    assert len({r["headers"]["X-Nbregistry-Delivery"] for r in got}) == 1  # one delivery, three attempts
    [delivery] = wait_status(local_reg, "delivered")
    assert delivery.attempts == 3
    assert [a["status_code"] for a in delivery.log] == [500, 503, 200]
    assert delivery.log[0]["error"] == "HTTP 500 Internal Server Error"
    assert delivery.log[2]["error"] is None
    # backoff: the gaps between attempts grow (0.05 s, then 0.1 s at least)
    times = [a["time"] for a in delivery.log]
    assert times == sorted(times)


def test_gives_up_after_max_attempts_and_4xx_is_final(local_reg, iris_model, receiver, fast_retries):
    down = receiver(secret="d" * 32, statuses=[500] * 10)
    gone = receiver(secret="g" * 32, statuses=[410])
    local_reg.add_webhook(down.url, events="version.registered", secret="d" * 32)
    local_reg.add_webhook(gone.url, events="version.registered", secret="g" * 32)
    local_reg.register(iris_model, "churn")
    failed = wait_status(local_reg, "failed", n=2)
    by_hook = {d.webhook_id: d for d in failed}
    assert sorted(d.attempts for d in by_hook.values()) == [1, webhooks.MAX_ATTEMPTS]
    assert len(down.requests) == webhooks.MAX_ATTEMPTS and len(gone.requests) == 1
    listed = {h.url: h for h in local_reg.list_webhooks()}
    assert listed[down.url].failed == 1 and listed[down.url].pending == 0


def test_delivery_never_blocks_or_fails_the_operation(local_reg, iris_model, receiver, fast_retries, monkeypatch):
    slow = receiver(secret="x" * 32, delay=1.5)
    local_reg.add_webhook(slow.url, secret="x" * 32)
    local_reg.add_webhook("http://127.0.0.1:9/refused", secret="y" * 32)  # nothing listens on port 9
    started = time.monotonic()
    local_reg.register(iris_model, "churn")
    local_reg.set_alias("churn:1", "staging")
    assert time.monotonic() - started < 1.0  # the slow receiver did not hold the registry up
    slow.wait_for(2, timeout=30)
    log = local_reg.webhook_deliveries()
    refused = [d for d in log if d.webhook_id == 2]
    assert refused and all(a["status_code"] is None and a["error"] for d in refused for a in d.log)

    # even a broken dispatcher cannot fail a registry write
    def boom(*args, **kwargs):
        raise RuntimeError("dispatcher exploded")

    monkeypatch.setattr(webhooks, "wake", boom)
    assert local_reg.set_alias("churn:1", "production").version == 1


def test_webhook_test_ping_and_model_filter(local_reg, iris_model, receiver, fast_retries):
    rec = receiver(secret="p" * 32)
    hook = local_reg.add_webhook(rec.url, events="*", model="churn*", secret="p" * 32)
    delivery = local_reg.test_webhook(hook.id)
    assert delivery.status == "delivered" and delivery.action == "webhook.test"
    assert rec.requests[0]["json"]["event"]["action"] == "webhook.test" and rec.requests[0]["signature_ok"]
    local_reg.register(iris_model, "fraud")      # another model: not delivered
    local_reg.register(iris_model, "churn-eu")   # matches churn*
    rec.wait_for(3)
    time.sleep(0.3)
    assert [r["json"]["event"]["model"] for r in rec.requests[1:]] == ["churn-eu", "churn-eu"]
    assert {r["json"]["event"]["action"] for r in rec.requests[1:]} == {"model.created", "version.registered"}
    with pytest.raises(NotFound):
        local_reg.test_webhook(999)
    with pytest.raises(ValidationError):
        local_reg.add_webhook("ftp://example.com/x")
    with pytest.raises(ValidationError):
        local_reg.add_webhook(rec.url, secret="short")


def test_two_processes_dispatching_deliver_each_event_once(local_reg, iris_model, receiver, fast_retries, tmp_path):
    """Fan-out and claims happen in write transactions: a second dispatcher (another Registry on the
    same folder, as another process would be) never duplicates a delivery."""
    from nbregistry import Registry

    rec = receiver(secret="z" * 32)
    local_reg.add_webhook(rec.url, events="alias.*", secret="z" * 32)
    other = Registry(local_reg.root, author="bob")
    local_reg.store.on_events_committed = None  # no background thread: drive both passes by hand
    local_reg.register(iris_model, "churn")
    for i in range(5):
        local_reg.set_alias("churn:1", f"a{i}")
    threads = [threading.Thread(target=r.deliver_webhooks) for r in (local_reg, other, local_reg, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rec.wait_for(5)
    time.sleep(0.2)
    assert sorted(r["json"]["event"]["payload"]["alias"] for r in rec.requests) == [f"a{i}" for i in range(5)]
    other.close()


def test_webhooks_run_delivers_for_short_lived_writers(local_reg, iris_model, receiver):
    """`nbregistry webhooks run` in its own process sends what a writer that did not dispatch left."""
    import os
    import signal
    import subprocess
    import sys

    rec = receiver(secret="r" * 32)
    local_reg.add_webhook(rec.url, events="version.registered", secret="r" * 32)
    local_reg.store.on_events_committed = None  # this process stands for a CLI call that exits at once
    local_reg.register(iris_model, "churn")
    time.sleep(0.5)
    assert rec.requests == []
    proc = subprocess.Popen([sys.executable, "-m", "nbregistry.cli", "--root", str(local_reg.root), "webhooks", "run",
                             "--poll", "0.1"], env=dict(os.environ), stderr=subprocess.DEVNULL)
    try:
        got = rec.wait_for(1, timeout=60)
        wait_status(local_reg, "delivered", timeout=60)  # the receiver's answer recorded, not only its request
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert got[0]["signature_ok"] and got[0]["json"]["event"]["ref"] == "churn:1"
    assert proc.returncode == 0
    assert [d.status for d in local_reg.webhook_deliveries()] == ["delivered"]


def test_a_dispatcher_whose_database_keeps_failing_says_so_once_and_stops(local_reg, monkeypatch, caplog):
    """A registry whose database went away (a dropped test database, a deleted file) must not leave a
    thread behind that warns every 5 s for the rest of the process."""
    import logging

    def gone(store, allowed=()):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(webhooks, "run_once", gone)
    monkeypatch.setattr(webhooks, "IDLE_EXIT_SECONDS", 0.3)
    dispatcher = webhooks.Dispatcher(local_reg.store.engine)
    with caplog.at_level(logging.WARNING, logger=webhooks.log.name):
        dispatcher.wake()
        deadline = time.monotonic() + 20
        while dispatcher._thread is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert dispatcher._thread is None  # it ended, as an idle one does
    said = [r for r in caplog.records if "the database is gone" in r.getMessage()]
    assert len(said) == 1 and dispatcher.last_error == "the database is gone"
