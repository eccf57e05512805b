"""Moving house: ``Registry.copy_to`` / ``nbregistry move`` copies a whole registry to an empty one on
another backend, losslessly (every row with its id, every blob, id counters, usable webhook secrets),
refuses a target that holds anything, and can be re-run after an interruption."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from functools import partial

import pytest
from webhook_receiver import Receiver
from backends import corrupt_blob

from nbregistry import Registry
from nbregistry.core import store_copy
from nbregistry.core.errors import Conflict, IntegrityError, ValidationError
from nbregistry.core.identity import VERIFIED

SECRET = "s" * 32
TARGET_KINDS = ["sqlite-s3", "pg-s3"]


@pytest.fixture(autouse=True)
def loopback_receivers_allowed(monkeypatch):
    monkeypatch.setenv("NBREGISTRY_WEBHOOK_ALLOW", "127.0.0.0/8")


@pytest.fixture
def source(local_reg, iris):
    """A registry with everything a registry can hold: versions (one deleted, one archived), tags,
    aliases moved back and forth, a gated policy, comments (threaded, edited) and reviews by verified
    and local identities, model and version cards, evaluations, environments, a renamed and a deleted
    model (retired names), webhooks (one removed) with their delivery log, and the events of it all."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    X, y = iris
    reg = local_reg
    quiet(reg)
    for c in (1.0, 0.1):
        reg.register(LogisticRegression(C=c, max_iter=500).fit(X, y), "churn", metrics={"auc": 0.8 + c / 10},
                     params={"C": c}, tags={"team": "growth"}, input_example=X.head(3), description=f"C={c}")
    reg.register(LogisticRegression(max_iter=200).fit(X, y), "fraud")
    reg.register(LogisticRegression(max_iter=300).fit(X, y), "fraud")
    reg.delete_version("fraud:2")
    reg.archive("churn:1")
    reg.update_model("churn", description="who leaves", tags={"owner": "alice"})
    reg.set_alias("churn:1", "production", reason="first")
    reg.set_alias("churn:2", "production", reason="better")
    reg.rollback("churn@production", reason="worse in prod")
    reg.set_policy("churn", "production", {"required_approvals": 1})
    first = reg.comment("churn:2", "looks good", anchor="metrics.auc")
    reg.comment("churn:2", "agreed", reply_to=first.id)
    reg.edit_comment(first.id, "looks good to me")
    reg.identity, reg.author = VERIFIED, "bob"
    reg.review("churn:2", "approve", "ship it")
    reg.identity, reg.author = "local", "alice"
    reg.set_card("churn", "# Churn\nwho leaves")
    reg.set_card("churn:2", "trained on 2026 data")
    reg.evaluate("churn", data=(X, y), metrics={"acc": accuracy_score}, name="full")
    reg.register(LogisticRegression(max_iter=100).fit(X, y), "old")
    reg.rename_model("old", "older")
    reg.register(LogisticRegression(max_iter=100).fit(X, y), "gone")
    reg.delete_model("gone", force=True)
    removed = reg.add_webhook("http://127.0.0.1:9/removed", secret=SECRET)
    reg.remove_webhook(removed.id)
    reg.deliver_webhooks()  # the fan-out cursor moves past every event
    return reg


def quiet(reg: Registry) -> Registry:
    """No background webhook dispatcher for this registry: the tests deliver when they mean to
    (``deliver_webhooks``), so the rows they compare change only when they say, and no thread
    outlives a test's database."""
    reg.store.on_events_committed = None
    return reg


def open_target(kind: str, tmp_path, request) -> Registry:
    if kind == "sqlite-s3":
        return quiet(Registry(tmp_path / "target", author="carol", objects=request.getfixturevalue("s3_url")))
    if kind == "pg-s3":  # an empty PostgreSQL database: the registry creates its schema
        return quiet(Registry(tmp_path / "target", author="carol", objects=request.getfixturevalue("s3_url"),
                              db=request.getfixturevalue("pg_url")))
    raise AssertionError(kind)


def rows(reg) -> dict:
    """Every row of every table, read through the store (any engine), webhook secrets aside (each
    registry seals them with its own key)."""
    out = {}
    conn = reg.store.conn
    for table in store_copy.tables(conn):
        secret = table.columns.index("secret") if table.name == "webhooks" else None
        out[table.name] = [tuple(None if i == secret else v for i, v in enumerate(r))
                           for chunk in store_copy.read_rows(conn, table, 500) for r in chunk]
    return out


def blobs(reg) -> set:
    return {sha for sha, _ in reg.objects.iter_blobs()}


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_a_move_keeps_everything_and_the_target_carries_on(source, tmp_path, request, kind, iris):
    receiver = Receiver(secret=SECRET)
    hook = source.add_webhook(receiver.url, events="alias.*", secret=SECRET)
    source.set_alias("churn:2", "staging")
    source.deliver_webhooks()
    receiver.wait_for(1)
    before = rows(source)
    assert all(before[t] for t in ("versions", "aliases", "alias_moves", "comments", "comment_edits", "policies",
                                   "cards", "evaluations", "model_names", "webhooks", "webhook_deliveries",
                                   "webhook_attempts", "events"))
    counters = store_copy.last_ids(source.store.conn, ["webhooks", "events", "comments"])

    target = open_target(kind, tmp_path, request)
    report = source.copy_to(target)
    assert report.rows == sum(len(r) for r in before.values()) and report.blobs_present == 0
    assert report.blobs_copied == len(blobs(source)) and report.warnings == []
    assert rows(target) == before  # every row of every table, ids and all
    assert blobs(target) == blobs(source)
    verified = target.verify()
    assert verified.ok and verified.checked_versions == len(before["versions"])
    assert [r for r in rows(source).values()] == list(before.values())  # the source is only read

    # what users see is the same: numbers, aliases, history, threads, reviews with identities, cards
    assert target.resolve("churn@production").version == 1 and target.resolve("churn@staging").version == 2
    assert [m.to_dict() for m in target.history("churn")] == [m.to_dict() for m in source.history("churn")]
    assert [c.to_dict() for c in target.comments("churn:2")] == [c.to_dict() for c in source.comments("churn:2")]
    assert [c.identity for c in target.comments("churn:2") if c.verdict] == [VERIFIED]
    assert str(target.card("churn:2")) == "trained on 2026 data"
    assert [e.to_dict() for e in target.events()] == [e.to_dict() for e in source.events()]
    with pytest.raises(Conflict, match="renamed to 'older'"):
        target.register({"a": 1}, "old", flavor="pickle")  # the retired name stays retired
    X, _ = iris
    assert target.load("churn:2", trust=True).predict(X.head(5)).tolist() == \
        source.load("churn:2").predict(X.head(5)).tolist()

    # ids carry on after the source's counters: deleted fraud:2 stays unused, as do removed ids
    assert target.register({"a": 1}, "fraud", flavor="pickle").version == 3
    assert target.add_webhook(receiver.url, secret=SECRET).id == counters["webhooks"] + 1
    assert target.events()[-1].id > counters["events"]
    assert target.comment("churn", "moved").id == counters["comments"] + 1

    # the moved secret still signs: the receiver checks the signature with the secret it was given
    delivery = target.test_webhook(hook.id)
    assert delivery.status == "delivered" and receiver.requests[-1]["signature_ok"]
    receiver.close()


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_a_target_that_holds_anything_is_refused(source, tmp_path, request, kind):
    target = open_target(kind, tmp_path, request)
    target.register({"a": 1}, "mine", flavor="pickle")
    held = rows(target), blobs(target)
    with pytest.raises(Conflict, match=r"^the target .* is not empty \(its \w+ table has rows\); "
                                              r"a registry moves only into an empty database$"):
        source.copy_to(target)
    assert (rows(target), blobs(target)) == held
    with pytest.raises(ValidationError, match="is the registry being moved"):
        source.copy_to(source)


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_a_target_whose_object_store_is_not_empty_is_refused(source, tmp_path, request, kind):
    target = open_target(kind, tmp_path, request)
    target.objects.put_bytes(b"another registry's blob")
    with pytest.raises(Conflict, match=r"its object store holds 1 blobs this registry does not have"):
        source.copy_to(target)
    assert all(not r for r in rows(target).values()) and len(blobs(target)) == 1

    Registry(tmp_path / "shared").close()  # an empty registry, then reopened on the source's own folder
    shared = quiet(Registry(tmp_path / "shared", objects=source.root))
    with pytest.raises(ValidationError, match="the target's object store is the source's"):
        source.copy_to(shared)
    assert all(not r for r in rows(shared).values())


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_an_interrupted_move_leaves_no_rows_and_can_be_run_again(source, tmp_path, request, kind, monkeypatch):
    target = open_target(kind, tmp_path, request)
    real = store_copy.write_rows

    def dies_on_comments(conn, table, batch):
        real(conn, table, batch)
        if table.name == "comments":
            raise KeyboardInterrupt  # the process stops half-way through the rows
    monkeypatch.setattr(store_copy, "write_rows", dies_on_comments)
    with pytest.raises(KeyboardInterrupt):
        source.copy_to(target)
    assert all(not r for r in rows(target).values())  # no row arrived: one transaction
    assert blobs(target) == blobs(source)             # the blobs did, and stay (gc may take them later)

    monkeypatch.setattr(store_copy, "write_rows", real)
    again = source.copy_to(target)
    assert again.blobs_copied == 0 and again.blobs_present == len(blobs(source))
    assert rows(target) == rows(source) and target.verify().ok


@pytest.mark.parametrize("kind", TARGET_KINDS)
def test_a_damaged_source_blob_stops_the_move_before_any_row(source, tmp_path, request, kind):
    target = open_target(kind, tmp_path, request)
    sha = source.get("churn:2").artifact["sha256"]
    corrupt_blob(source, sha)
    with pytest.raises(IntegrityError, match=f"blob {sha} of .* is damaged"):
        source.copy_to(target)
    assert all(not r for r in rows(target).values())


def test_progress_goes_to_tqdm_bars(source, tmp_path, request):
    from tqdm import tqdm

    out = io.StringIO()
    target = open_target("sqlite-s3", tmp_path, request)
    report = source.copy_to(target, progress=partial(tqdm, file=out, mininterval=0))
    text = out.getvalue()
    assert "blobs: 100%" in text and f"rows: 100%" in text and f"{report.rows}/{report.rows}" in text

    seen = []
    other = quiet(Registry(tmp_path / "other", author="carol"))
    source.copy_to(other, progress=lambda desc, total, unit: (lambda n: seen.append((desc, n))))
    assert sum(n for d, n in seen if d == "rows") == report.rows
    assert sum(n for d, n in seen if d == "blobs") == report.bytes_copied


def test_the_move_verb(source, tmp_path, s3_url):
    command = [sys.executable, "-m", "nbregistry.cli", "--root", str(source.root), "move",
               "--to-root", str(tmp_path / "moved"), "--to-objects", s3_url]
    done = subprocess.run(command + ["--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verify"]["ok"] and answer["verify"]["problems"] == []
    assert answer["rows"] == sum(len(r) for r in rows(source).values())
    moved = quiet(Registry(tmp_path / "moved", objects=s3_url))
    assert rows(moved) == rows(source)

    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.strip().splitlines() == [
        f"nbregistry: error: the target {moved.store.path} + {s3_url} is not empty (its models table has rows); "
        "a registry moves only into an empty database"]
    nowhere = subprocess.run(command[:6], capture_output=True, text=True)
    assert nowhere.returncode == 2 and "--to-root PATH and/or --to-db URL" in nowhere.stderr


def test_a_move_killed_mid_blob_is_run_again_cleanly(local_reg, tmp_path):
    """A real `nbregistry move` process killed with SIGKILL while it streams a large blob: the target
    holds no rows and no partial blob, and the same command then completes with verify clean."""
    import os
    import signal

    big = tmp_path / "weights.bin"
    with open(big, "wb") as out:
        for _ in range(48):
            out.write(os.urandom(1 << 20))
    local_reg.register(str(big), "big", flavor="file")
    local_reg.set_alias("big:1", "production")
    target_root = tmp_path / "moved"
    command = [sys.executable, "-m", "nbregistry.cli", "--root", str(local_reg.root), "move",
               "--to-root", str(target_root)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = target_root / "tmp"
    deadline = time.monotonic() + 60
    while not (staging.is_dir() and any(p.name.startswith("blob-") and p.stat().st_size > 0
                                        for p in staging.iterdir())):
        assert proc.poll() is None and time.monotonic() < deadline, "the move ended before it could be killed"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    moved = Registry(target_root)
    assert all(not r for r in rows(moved).values())
    assert not blobs(moved) or blobs(moved) < blobs(local_reg)  # the blob being written never appears half-done
    moved.close()

    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "verify: " in done.stdout and done.stdout.rstrip().endswith("clean")
    moved = Registry(target_root)
    assert rows(moved) == rows(local_reg) and blobs(moved) == blobs(local_reg)
    assert moved.resolve("big@production").version == 1


def test_the_move_verb_to_postgresql_and_back(source, tmp_path, s3_url, pg_url):
    """SQLite + folder -> PostgreSQL + S3 -> SQLite + folder with the verb: the same rows arrive back."""
    there = [sys.executable, "-m", "nbregistry.cli", "--root", str(source.root), "move", "--to-db", pg_url,
             "--to-objects", s3_url, "--to-root", str(tmp_path / "pg-root"), "--json"]
    done = subprocess.run(there, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["verify"]["ok"] and answer["target"].startswith("postgresql://") and s3_url in answer["target"]
    on_pg = Registry(tmp_path / "pg-root", db=pg_url, objects=s3_url)
    assert rows(on_pg) == rows(source) and on_pg.verify().ok
    on_pg.close()

    back = [sys.executable, "-m", "nbregistry.cli", "--root", str(tmp_path / "pg-root"), "--db", pg_url,
            "--objects", s3_url, "move", "--to-db", str(tmp_path / "back" / "registry.db")]
    done = subprocess.run(back, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("clean")
    home = quiet(Registry(tmp_path / "back"))
    assert rows(home) == rows(source) and blobs(home) == blobs(source)
    assert home.register({"a": 1}, "fraud", flavor="pickle").version == 3
