"""Two and three REAL server replicas on one registry: version numbers without gaps, serialized
gated promotions, reads that see every replica's writes at once, the events feed, and a replica
SIGKILLed mid-upload that loses nothing acknowledged (tests/server/replicas.py starts them)."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time

import pytest

from nbregistry.core import errors
from server.replicas import TESTED_BACKENDS, ReplicaSet, backend_for

USERS = {name: f"{name}-replica-token-{os.urandom(4).hex()}" for name in
         ("alice", "bob", "carol", "checker", *(f"client{i}" for i in range(8)))}


@pytest.fixture(scope="module", params=TESTED_BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture(scope="module")
def three(backend_name, tmp_path_factory, request):
    """Three replicas for the module (each test uses model names of its own)."""
    backend = backend_for(backend_name, tmp_path_factory.mktemp(f"replicas-{backend_name}"), request)
    with ReplicaSet(backend, 3, USERS) as cluster:
        yield cluster


def _small_file(folder, name: str, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.slow
def test_8_clients_x_100_registrations_over_3_replicas_number_1_to_800_without_gaps(three, tmp_path):
    acked: list[tuple[int, str, str, int]] = []  # (version, author, sha256, replica)
    failures: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        name = f"client{i}"
        spread = three.spread(name, start=i)
        folder = tmp_path / name
        folder.mkdir()
        try:
            for n in range(100):
                data = f"{name}:{n}:".encode() + os.urandom(64)
                path = _small_file(folder, f"{n}.bin", data)
                remote = spread.next()
                try:
                    v = remote.register(str(path), "numbered", metrics={"n": n})
                except Exception as exc:  # noqa: BLE001 - every failure fails the test below
                    with lock:
                        failures.append(f"{name} #{n} via replica {spread.last}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    acked.append((v.version, name, hashlib.sha256(data).hexdigest(), spread.last))
        finally:
            spread.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert sorted(v for v, *_ in acked) == list(range(1, 801))  # no gaps, no duplicates
    assert {r for *_, r in acked} == {0, 1, 2}  # every replica took registrations
    # Every replica reads all 800, each as acknowledged (author and content).
    for i in range(3):
        reader = three.client(i, "checker")
        stored = {v.version: v for v in reader.list_versions("numbered", limit=1000)}
        reader.close()
        assert sorted(stored) == list(range(1, 801))
        for number, author, sha, _ in acked:
            assert stored[number].author == author
            assert stored[number].artifact["files"][0]["sha256"] == sha
    checker = three.client(0, "checker")
    report = checker.verify()
    checker.close()
    assert report.ok, report.problems


@pytest.mark.slow
def test_40_racing_gated_promotions_through_3_replicas_serialize_with_the_right_previous_holders(three, tmp_path):
    alice = three.client(0, "alice")
    path = _small_file(tmp_path, "m.bin", b"model")
    aucs = {}
    for n in range(1, 41):
        aucs[n] = round(0.5 + n / 100, 2)  # a later version is better
        alice.register(str(path), "gated", metrics={"auc": aucs[n]})
    alice.set_policy("gated", "production", {"gates": [{"type": "metric",
                                                         "expr": "metrics.auc > current.metrics.auc"}]})
    order = list(range(1, 41))
    random.Random(11).shuffle(order)
    start = threading.Barrier(8)
    outcomes: dict[int, object] = {}
    lock = threading.Lock()

    def promoter(k: int) -> None:
        spread = three.spread("bob", start=k)
        start.wait()
        for number in order[k::8]:
            remote = spread.next()
            try:
                result = remote.promote(f"gated:{number}", "production", reason=f"racer {k}")
            except errors.PolicyRefused as exc:
                result = exc
            except Exception as exc:  # noqa: BLE001 - anything else fails the test
                result = RuntimeError(f"{type(exc).__name__}: {exc}")
            with lock:
                outcomes[number] = result
        spread.close()

    threads = [threading.Thread(target=promoter, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [o for o in outcomes.values() if isinstance(o, RuntimeError)], outcomes
    assert len(outcomes) == 40
    accepted = {n for n, o in outcomes.items() if not isinstance(o, Exception)}
    refused = {n for n, o in outcomes.items() if isinstance(o, errors.PolicyRefused)}
    assert accepted | refused == set(range(1, 41)) and 40 in accepted
    assert refused, "every promotion passed its gate: the race judged nothing"

    # The alias history is one chain: each move's previous holder is the version the move before it
    # set, every accepted promotion appears once, and each beat the holder it replaced.
    moves = list(three.client(1, "checker").history("gated", "production"))
    moves.sort(key=lambda m: m.id)
    assert [m.version for m in moves] and {m.version for m in moves} == accepted and len(moves) == len(accepted)
    previous = None
    for m in moves:
        assert m.previous == previous, (m, previous)
        if previous is not None:
            assert aucs[m.version] > aucs[previous]
        previous = m.version
    # ... and each answer a promoter got names the holder it actually replaced.
    for m in moves:
        assert outcomes[m.version].previous == m.previous
    # A refused promotion was judged against a holder at least as good.
    for n in refused:
        report = outcomes[n].report
        assert not report.allowed
    final = three.client(2, "checker").get("gated@production")
    assert final.version == 40
    alice.close()


def test_a_write_on_one_replica_is_read_at_once_on_the_others(three, tmp_path):
    a, b, c = (three.client(i, "alice") for i in range(3))
    path = _small_file(tmp_path, "m.bin", b"first")
    for i in range(5):
        v = a.register(str(path), "fresh", metrics={"i": i})
        assert b.get(f"fresh:{v.version}").metrics == {"i": i}  # no wait, no retry
        c.set_alias(v.ref, "staging")
        assert a.get("fresh@staging").version == v.version
        b.tag(v.ref, {"seen": "b"})
        assert c.get(v.ref).tags == {"seen": "b"}
    assert [m.name for m in c.list_models("fresh")] == ["fresh"]
    assert c.search("metrics.i >= 3", limit=10).total >= 2
    for client in (a, b, c):
        client.close()


def test_the_events_feed_polled_on_one_replica_sees_writes_through_the_others(three, tmp_path):
    watcher = three.client(2, "checker")
    since = watcher.last_event_id()  # what the app's live refresh does: start from now ...
    spread = three.spread("alice")
    path = _small_file(tmp_path, "m.bin", b"evented")
    written = []
    for i in range(6):
        remote = spread.next()
        v = remote.register(str(path), "evented", metrics={"i": i})
        written.append((spread.last, v.version))
    spread.next().set_alias("evented:3", "production")
    seen, cursor = [], since
    while True:  # ... then polls after the newest id it has
        page = watcher.events(since=cursor, limit=4)
        if not page:
            break
        seen += [e for e in page if e.model == "evented"]
        cursor = page[-1].id
    assert [e.version for e in seen if e.action == "version.registered"] == [v for _, v in written]
    assert {r for r, _ in written} == {0, 1, 2}
    assert [e.action for e in seen][-1].startswith("alias.")
    ids = [e.id for e in seen]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    watcher.close()
    spread.close()


@pytest.mark.slow
def test_a_replica_killed_mid_upload_loses_nothing_acknowledged_and_verify_is_clean(backend_name, tmp_path, request):
    backend = backend_for(backend_name, tmp_path / "cluster", request)
    cluster = ReplicaSet(backend, 2, USERS).start()
    try:
        big = tmp_path / "big.bin"
        with open(big, "wb") as f:
            for _ in range(48):
                f.write(os.urandom(1 << 20))
        uploading = threading.Event()
        big_result: list = []

        def progress(n: int) -> None:
            uploading.set()  # bytes are on their way to replica 0 ...
            time.sleep(0.02)  # ... slowly enough that the kill lands mid-upload on any machine

        def upload_big() -> None:
            remote = cluster.client(0, "alice")
            try:
                big_result.append(remote.register(str(big), "big", progress=progress))
            except Exception as exc:  # noqa: BLE001 - expected: the replica dies under it
                big_result.append(exc)
            remote.close()

        acked: list[tuple[str, str]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def small_writer(k: int) -> None:
            spread = cluster.spread(f"client{k}", start=k)
            folder = tmp_path / f"w{k}"
            folder.mkdir()
            n = 0
            while not stop.is_set():
                n += 1
                data = os.urandom(256)
                path = _small_file(folder, f"{n}.bin", data)
                try:
                    v = spread.next().register(str(path), "steady", metrics={"k": k, "n": n})
                except Exception:  # noqa: BLE001 - unacknowledged: it may or may not exist
                    continue
                with lock:
                    acked.append((v.ref, hashlib.sha256(data).hexdigest()))
            spread.close()

        writers = [threading.Thread(target=small_writer, args=(k,)) for k in range(3)]
        for t in writers:
            t.start()
        uploader = threading.Thread(target=upload_big)
        uploader.start()
        assert uploading.wait(120), cluster.logs()
        cluster.replicas[0].kill()
        uploader.join(120)
        # The other replica keeps serving: writers go on acknowledging through it.
        with lock:
            before = len(acked)
        while True:
            with lock:
                if len(acked) >= before + 5:
                    break
            time.sleep(0.05)
        stop.set()
        for t in writers:
            t.join(120)
        assert isinstance(big_result[0], Exception), "the big upload finished before the kill: nothing was tested"

        survivor = cluster.client(1, "checker")
        for ref, sha in acked:
            assert survivor.get(ref).artifact["files"][0]["sha256"] == sha
        numbers = sorted(v.version for v in survivor.list_versions("steady", limit=10_000))
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) >= len(acked)
        with pytest.raises(errors.NotFound):
            survivor.get("big")
        report = survivor.verify()
        assert report.ok, report.problems
        # The killed replica comes back on the same stores and sees the same registry.
        cluster.restart(0)
        back = cluster.client(0, "checker")
        assert sorted(v.version for v in back.list_versions("steady", limit=10_000)) == numbers
        back.close()
        survivor.close()
    finally:
        cluster.stop()
    offline = backend.local_registry(author="checker")
    try:
        assert offline.verify().ok
        offline.gc(grace=0)  # the killed upload's leftovers go; nothing acknowledged does
        assert offline.verify().ok
        assert {offline.get(ref).artifact["files"][0]["sha256"] for ref, _ in acked} == {sha for _, sha in acked}
    finally:
        offline.close()
