"""Webhooks with several replicas: every replica runs a dispatcher on the same delivery table, and
each event still reaches a subscriber ONCE (the fan-out cursor and the delivery claims live in the
database, tests/server/replicas.py starts the replicas)."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest
from webhook_receiver import Receiver

from nbregistry.core import webhooks
from server.replicas import TESTED_BACKENDS, ReplicaSet, backend_for

USERS = {name: f"{name}-hook-token-{os.urandom(4).hex()}" for name in ("alice", "bob", "checker")}
SECRET = "replica-shared-secret"


@pytest.fixture(params=TESTED_BACKENDS)
def cluster(request, tmp_path, monkeypatch):
    monkeypatch.setenv("NBREGISTRY_WEBHOOK_ALLOW", "127.0.0.0/8")  # the receiver is on loopback
    backend = backend_for(request.param, tmp_path / "cluster", request)
    for key, value in backend.env.items():  # the operator's registry below opens the same key file
        monkeypatch.setenv(key, value)
    with ReplicaSet(backend, 3, USERS, env={"NBREGISTRY_WEBHOOK_ALLOW": "127.0.0.0/8"}) as replicas:
        yield replicas


def test_events_written_through_3_replicas_are_delivered_once_each(cluster, tmp_path):
    receiver = Receiver(secret=SECRET, delay=0.02)  # sends overlap
    # Subscriptions are made on a server machine, not over the API (docs/deploy.md): the operator's
    # registry opens the same stores the replicas serve.
    admin = cluster.backend.local_registry(author="alice")
    hook = admin.add_webhook(receiver.url, events="version.registered,alias.*", model="hooked", secret=SECRET)
    path = tmp_path / "m.bin"
    path.write_bytes(b"hooked")
    stop = threading.Event()

    def nudger(i: int) -> None:
        # Dispatchers besides the replicas' own (``nbregistry webhooks run`` on three machines),
        # racing them for the same deliveries.
        operator = cluster.backend.local_registry(author="alice")
        while not stop.is_set():
            operator.deliver_webhooks()
        operator.close()

    nudgers = [threading.Thread(target=nudger, args=(i,)) for i in range(3)]
    for t in nudgers:
        t.start()
    spread = cluster.spread("bob")
    try:
        for i in range(30):
            v = spread.next().register(str(path), "hooked", metrics={"i": i})
            if i % 5 == 4:
                spread.next().set_alias(v.ref, "staging")
    finally:
        spread.close()
    expected = [e.id for e in admin.events(limit=10_000)
                if e.model == "hooked" and (e.action == "version.registered" or e.action.startswith("alias."))]
    assert len(expected) == 36
    deadline = time.monotonic() + 120
    while True:  # until the log says every delivery is done; delivered ones are never sent again
        log = list(admin.webhook_deliveries(hook.id, limit=1000))
        if len(log) == len(expected) and all(d.status == "delivered" for d in log):
            break
        assert time.monotonic() < deadline, (len(log), Counter(d.status for d in log), cluster.logs())
        time.sleep(0.1)
    stop.set()
    for t in nudgers:
        t.join(60)
    receiver.close()
    assert sorted(d.event_id for d in log) == expected  # one delivery per event
    assert [d.attempts for d in log] == [1] * len(expected)  # each sent once
    got = Counter(b["event"]["id"] for b in receiver.bodies)
    assert sorted(got) == expected and set(got.values()) == {1}, got  # and received once
    assert receiver.bad_signatures == 0
    assert len({b["delivery"] for b in receiver.bodies}) == len(expected)
    admin.close()


def test_events_left_by_a_writer_that_never_dispatched_are_delivered_by_the_replicas(cluster, tmp_path,
                                                                                     monkeypatch):
    receiver = Receiver(secret=SECRET)
    # This process writes but never dispatches, like a CLI process or a replica that died right after
    # its commit: only the replicas' periodic sweep can deliver what it wrote.
    monkeypatch.setattr(webhooks, "wake", lambda *args, **kwargs: None)
    operator = cluster.backend.local_registry(author="alice")
    hook = operator.add_webhook(receiver.url, events="version.registered", model="orphaned", secret=SECRET)
    path = tmp_path / "m.bin"
    path.write_bytes(b"orphaned")
    versions = [operator.register(str(path), "orphaned", metrics={"i": i}).version for i in range(3)]
    deadline = time.monotonic() + 60
    while True:
        log = list(operator.webhook_deliveries(hook.id, limit=100))
        if len(log) == 3 and all(d.status == "delivered" for d in log):
            break
        assert time.monotonic() < deadline, (log, cluster.logs())
        time.sleep(0.2)
    assert sorted(b["event"]["version"] for b in receiver.bodies) == versions
    assert [d.attempts for d in log] == [1, 1, 1]
    receiver.close()
    operator.close()
