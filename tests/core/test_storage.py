"""Disk-level behaviour of a local registry: dedup, integrity, gc, refusals leaving state unchanged,
schema versions, and how cheap opening a registry is."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

from backends import corrupt_blob, delete_blob, stored_bytes

from helpers import state
from nbregistry import Registry
from nbregistry.core import migrations
from nbregistry.core.errors import IntegrityError, InvalidName, SchemaTooNew, ValidationError


def test_layout_on_disk(local_reg, iris_model):
    local_reg.register(iris_model, "iris")
    root = local_reg.root
    assert (root / "registry.db").is_file()
    assert (root / "objects").is_dir() and (root / "tmp").is_dir()
    conn = sqlite3.connect(root / "registry.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    blobs = [p for p in (root / "objects").rglob("*") if p.is_file()]
    assert blobs and all(not os.stat(p).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) for p in blobs)
    assert all(p.parent.name == p.name[:2] for p in blobs)


def test_identical_content_is_stored_once(blob_reg, tmp_path):
    local_reg = blob_reg
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(1 << 20))
    v1 = local_reg.register(f, "big")
    before = stored_bytes(local_reg)
    v2 = local_reg.register(f, "big")
    after = stored_bytes(local_reg)
    assert (v1.deduplicated, v2.deduplicated) == (False, True)
    assert after == before


def test_identical_sklearn_models_dedup_across_processes(local_reg, iris_model):
    local_reg.register(iris_model, "iris")
    code = ("import nbregistry as nr; from sklearn.datasets import load_iris;"
            "from sklearn.linear_model import LogisticRegression;"
            "X, y = load_iris(return_X_y=True, as_frame=True);"
            f"v = nr.Registry({str(local_reg.root)!r}).register(LogisticRegression(max_iter=500).fit(X, y), 'iris');"
            "print(v.deduplicated)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_tampered_blob_is_detected_on_load_and_by_verify(blob_reg, iris_model):
    local_reg = blob_reg
    v = local_reg.register(iris_model, "iris")
    corrupt_blob(local_reg, v.artifact["files"][0]["sha256"])
    with pytest.raises(IntegrityError, match="does not match its hash"):
        local_reg.load("iris:1")
    report = local_reg.verify()
    assert not report.ok and report.problems[0]["ref"] == "iris:1"
    assert "hash" in report.problems[0]["problem"]
    assert local_reg.verify(fast=True).ok  # same size: only a full verify re-hashes


def test_missing_blob_found_by_fast_verify(blob_reg, tmp_path):
    local_reg = blob_reg
    f = tmp_path / "a.txt"
    f.write_text("hello")
    v = local_reg.register(f, "a")
    delete_blob(local_reg, v.artifact["files"][0]["sha256"])
    report = local_reg.verify(fast=True)
    assert report.problems[0]["problem"] == "missing"
    with pytest.raises(IntegrityError, match="missing"):
        local_reg.load("a:1")


def test_verify_counts_what_it_checked(blob_reg, iris, iris_model):
    local_reg = blob_reg
    local_reg.register(iris_model, "iris", input_example=iris[0].head())
    local_reg.register(iris_model, "iris")
    report = local_reg.verify()
    assert report.ok and report.checked_versions == 2
    assert report.checked_blobs == 3  # the model file (deduplicated), the input example, one environment
    assert report.checked_bytes > 0


def test_gc_removes_only_unreferenced_blobs_past_grace(blob_reg, tmp_path):
    local_reg = blob_reg
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("keep me")
    b.write_text("delete me")
    local_reg.register(a, "a")
    vb = local_reg.register(b, "b")
    local_reg.delete_version("b:1")
    assert local_reg.gc().removed_blobs == 0  # within the default grace period
    report = local_reg.gc(grace=0, dry_run=True)
    assert report.removed_blobs == 2 and report.dry_run  # b's file + b's manifest
    assert local_reg.objects.exists(vb.artifact["sha256"])
    report = local_reg.gc(grace=0)
    assert report.removed_blobs == 2 and report.removed_bytes > 0
    assert not local_reg.objects.exists(vb.artifact["sha256"])
    assert local_reg.verify().ok
    assert local_reg.load("a:1").read_text() == "keep me"


def test_refused_calls_leave_everything_unchanged(local_reg, iris_model, tmp_path):
    local_reg.register(iris_model, "iris", metrics={"acc": 0.9})
    local_reg.set_alias("iris:1", "production")
    before = state(local_reg.root)
    (tmp_path / "x").write_text("x")
    refused = [
        lambda: local_reg.register(iris_model, "iris", metrics={"acc": float("nan")}),
        lambda: local_reg.register(iris_model, "bad name"),
        lambda: local_reg.register(iris_model, "iris", files={"../x": tmp_path / "x"}),
        lambda: local_reg.register(tmp_path / "missing.bin", "iris"),
        lambda: local_reg.set_alias("iris:9", "production"),
        lambda: local_reg.set_alias("iris:1", "latest"),
        lambda: local_reg.delete_version("iris:1"),
        lambda: local_reg.update_version("iris:1", tags={"": "x"}),
        lambda: local_reg.remove_alias("iris", "staging"),
    ]
    for call in refused:
        with pytest.raises(Exception):
            call()
    db, objects = state(local_reg.root)
    assert db == before[0]
    # A refused registration may leave a fully written but unreferenced blob for gc; never a row.
    assert set(before[1]) <= set(objects)


def test_symlinks_in_folders_are_refused(local_reg, tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / "real.txt").write_text("x")
    (d / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ValidationError, match="symlink"):
        local_reg.register(d, "d")


def test_database_from_newer_nbregistry_is_refused(tmp_path):
    Registry(tmp_path / "r").close()
    conn = sqlite3.connect(tmp_path / "r" / "registry.db")
    conn.execute(f"PRAGMA user_version = {migrations.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer nbregistry"):
        Registry(tmp_path / "r")


def test_migrations_are_recorded_by_sqlite_utils(local_reg):
    import sqlite_utils

    db = sqlite_utils.Database(local_reg.root / "registry.db")
    applied = [m.name for m in migrations.build().applied(db)]
    assert applied == migrations.MIGRATION_NAMES
    assert migrations.build().pending(db) == []


def test_opening_an_existing_registry_does_not_import_sqlite_utils(local_reg):
    code = ("import sys, nbregistry as nr; nr.Registry(sys.argv[1]);"
            "print('sqlite_utils' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(local_reg.root)], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
    # ...while creating one does run the sqlite-utils migrations
    out = subprocess.run([sys.executable, "-c", code, str(local_reg.root.parent / "fresh")], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[0] == "True"


def test_import_nbregistry_is_cheap():
    code = "import sys, nbregistry; print(sorted(m for m in ('pandas','numpy','sqlite_utils','sklearn','IPython','tornado') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_author_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("NBREGISTRY_USER", "carol")
    assert Registry(tmp_path / "r").author == "carol"
    monkeypatch.delenv("NBREGISTRY_USER")
    monkeypatch.setenv("JUPYTERHUB_USER", "dave")
    assert Registry(tmp_path / "r").author == "dave"
    assert Registry(tmp_path / "r", author="erin").author == "erin"


def test_root_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("NBREGISTRY_ROOT", str(tmp_path / "from-env"))
    assert Registry().root == tmp_path / "from-env"
    monkeypatch.delenv("NBREGISTRY_ROOT")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jdata"))
    assert Registry().root == tmp_path / "jdata" / "nbregistry"


def test_refs_parse():
    from nbregistry.core.refs import Ref, parse_ref

    assert parse_ref("churn") == Ref("churn")
    assert parse_ref("churn:3") == Ref("churn", version=3)
    assert parse_ref(" churn@production ") == Ref("churn", alias="production")
    assert str(parse_ref("churn@prod")) == "churn@prod"
    with pytest.raises(Exception, match="positive integer"):
        parse_ref("churn:abc")
    with pytest.raises(Exception, match="not both"):
        parse_ref("churn:3@prod")


def test_invalid_name_message_names_the_rule(local_reg, iris_model):
    with pytest.raises(InvalidName, match="1-128 characters"):
        local_reg.register(iris_model, "no spaces")


def test_git_lineage_strips_credentials(local_reg, tmp_path, monkeypatch, iris_model):
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)
    run("init", "-q", "-b", "main")
    run("remote", "add", "origin", "https://user:s3cret@example.invalid/team/models.git")
    (repo / "train.py").write_text("print(1)\n")
    run("add", "train.py")
    run("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "init")
    monkeypatch.chdir(repo)
    git = local_reg.register(iris_model, "iris").lineage["git"]
    assert git["branch"] == "main" and len(git["commit"]) == 40 and git["dirty"] is False
    assert git["remote"] == "https://example.invalid/team/models.git"
    (repo / "train.py").write_text("print(2)\n")
    assert local_reg.register(iris_model, "iris").lineage["git"]["dirty"] is True


def test_data_fingerprints_follow_content(local_reg, iris, iris_model, tmp_path):
    X, y = iris
    v1 = local_reg.register(iris_model, "iris", data=(X, y))
    v2 = local_reg.register(iris_model, "iris", data=(X.copy(), y))
    X2 = X.copy()
    X2.iloc[0, 0] += 1
    v3 = local_reg.register(iris_model, "iris", data=(X2, y))
    fp = lambda v: v.lineage["data"]["data[0]"]["sha256"]
    assert fp(v1) == fp(v2) != fp(v3)
    csv = tmp_path / "train.csv"
    X.to_csv(csv)
    v4 = local_reg.register(iris_model, "iris", data={"train": csv})
    assert v4.lineage["data"]["train"]["kind"] == "file"
    with pytest.raises(ValidationError, match="does not exist"):
        local_reg.register(iris_model, "iris", data={"train": tmp_path / "nope.csv"})


def test_progress_callback_reports_bytes(local_reg, tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(os.urandom(3 << 20))
    seen = []
    local_reg.register(f, "f", progress=seen.append)
    assert sum(seen) == 3 << 20


def test_compare_diff_and_get_issue_a_fixed_number_of_sql_statements(local_reg, iris_model):
    """No statement per version: the page, then one lookup per table (metrics, params, tags, aliases;
    evaluations for compare) in one read transaction, however many versions are compared."""
    for i in range(30):
        local_reg.register(iris_model, "iris", metrics={"acc": i / 30, "loss": 1 - i / 30}, params={"i": i})
    local_reg.set_alias("iris:3", "production")
    statements = []
    local_reg.store.conn.set_trace_callback(statements.append)
    counts = {}
    try:
        for name, call in (("compare 30", lambda: local_reg.compare("iris")),
                           ("compare 3", lambda: local_reg.compare(["iris:1", "iris@production", "iris"])),
                           ("compare 1", lambda: local_reg.compare(["iris:2"])),
                           ("diff", lambda: local_reg.diff("iris:1", "iris@production")),
                           ("get", lambda: local_reg.get("iris@production"))):
            statements.clear()
            call()
            counts[name] = len([s for s in statements if s.lstrip().upper().startswith("SELECT")])
            assert statements[0] == "BEGIN" and statements[-1] == "COMMIT", statements  # one snapshot
    finally:
        local_reg.store.conn.set_trace_callback(None)
    assert counts["compare 30"] == counts["compare 3"] == counts["compare 1"] <= 7, counts  # + evaluations
    assert counts["diff"] <= 6 and counts["get"] <= 6, counts
    assert local_reg.compare(["iris:1", "iris@production", "iris"]).refs == ["iris:1", "iris:3", "iris:30"]


def test_big_files_hash_in_a_second_thread_with_the_same_digest(local_reg, tmp_path):
    import hashlib

    from nbregistry.core.objects import PARALLEL_HASH_BYTES

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(PARALLEL_HASH_BYTES + 12345))
    seen = []
    v = local_reg.register(big, "big", progress=seen.append)
    entry = v.artifact["files"][0]
    assert entry["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert sum(seen) == big.stat().st_size
    assert local_reg.load("big:1").read_bytes() == big.read_bytes()
    assert local_reg.verify().ok


def test_a_stream_failing_midway_leaves_no_thread_and_no_staging_file(local_reg):
    import threading

    class Failing:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 3:
                raise OSError("disk went away")
            return b"x" * n

    before = threading.active_count()
    with pytest.raises(OSError, match="disk went away"):
        local_reg.objects.put_stream(Failing())  # size unknown: the threaded path
    assert threading.active_count() == before
    assert [p for p in local_reg.objects.tmp.iterdir() if p.name.startswith("blob-")] == []
    assert list(local_reg.objects.iter_blobs()) == []
