"""Environment records stored once, as content-addressed blobs, and old registries migrated."""

from __future__ import annotations

import json
import sqlite3

from nbregistry import Registry
from nbregistry.core import lineage as lineage_mod
from nbregistry.core.objects import ObjectStore


def _env_blobs(root) -> set[str]:
    conn = sqlite3.connect(root / "registry.db")
    try:
        return {r[0] for r in conn.execute("SELECT DISTINCT environment_sha FROM versions WHERE environment_sha IS NOT NULL")}
    finally:
        conn.close()


def test_identical_environments_are_stored_once(local_reg, tmp_path):
    f = tmp_path / "w.bin"
    for i in range(5):
        f.write_bytes(b"weights %d" % i)
        local_reg.register(f, "m", metrics={"i": i})
    shas = _env_blobs(local_reg.root)
    assert len(shas) == 1
    sha = shas.pop()
    assert local_reg.objects.exists(sha)
    conn = sqlite3.connect(local_reg.root / "registry.db")
    stored = [json.loads(r[0]) for r in conn.execute("SELECT lineage FROM versions")]
    conn.close()
    assert all("packages" not in s and s["environment"]["sha256"] == sha for s in stored)
    lineage = local_reg.get("m:3").lineage
    assert lineage["python"] and lineage["packages"]
    assert {"name", "version", "imported"} <= set(lineage["packages"][0])
    assert lineage["environment_sha256"] == sha
    assert local_reg.diff("m:1", "m:5").changes.get("environment") is None


def test_gc_keeps_a_referenced_environment_and_verify_checks_it(local_reg, tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    local_reg.register(f, "m")
    sha = _env_blobs(local_reg.root).pop()
    report = local_reg.gc(grace=0)
    assert sha not in report.removed and local_reg.objects.exists(sha)
    assert local_reg.verify().ok
    local_reg.objects.remove(sha)
    problems = local_reg.verify().problems
    assert [p["path"] for p in problems] == ["<environment>"]


def test_environment_of_deleted_versions_is_collected(local_reg, tmp_path):
    f = tmp_path / "w.bin"
    f.write_bytes(b"w")
    local_reg.register(f, "m")
    sha = _env_blobs(local_reg.root).pop()
    local_reg.delete_version("m:1")
    assert sha in local_reg.gc(grace=0).removed


def _old_registry(root, tmp_path, count: int) -> list[dict]:
    """A registry written by the schema before m005 (migrations m001-m003 only), holding
    ``count`` versions whose lineage carries its environment inline, as that code wrote it."""
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    from nbregistry.core import migrations as current
    from nbregistry.core.store_webhooks import apply_ddl

    root.mkdir()
    old = Migrations("nbregistry")

    @old(name="m001_initial")
    def m001(db):
        for statement in current.INITIAL_DDL.split(";"):
            if statement.strip():
                db.execute(statement)

    @old(name="m002_collaboration")
    def m002(db):
        for statement in current.COLLABORATION_DDL.split(";"):
            if statement.strip():
                db.execute(statement)

    @old(name="m003_webhooks")
    def m003(db):
        apply_ddl(db)

    conn = sqlite3.connect(root / "registry.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    old.apply(Database(conn))
    conn.execute("PRAGMA user_version = 3")
    objects = ObjectStore(root)
    src = tmp_path / "artifact.bin"
    src.write_bytes(b"old weights")
    manifest, tree = objects.put_tree([("artifact.bin", src)])
    env = lineage_mod.environment()
    other = {**env, "python": "3.9.0"}
    conn.execute("INSERT INTO models (name, description, created_at, created_by) VALUES ('old', '', '2026-01-01T00:00:00.000000Z', 'alice')")
    lineages = []
    for i in range(1, count + 1):
        lineage = {**(other if i == count else env), "git": None, "data": {}, "notebook": None}
        lineages.append(lineage)
        conn.execute("UPDATE models SET last_version = ?", (i,))
        vid = conn.execute(
            "INSERT INTO versions (model_id, version, created_at, author, description, flavor, flavor_meta,"
            " artifact_sha, artifact_size, signature, input_example_sha, lineage) VALUES (1,?,?,?,?,?,?,?,?,?,?,?)",
            (i, f"2026-01-01T00:00:0{i}.000000Z", "alice", "", "file",
             json.dumps({"kind": "file", "filename": "artifact.bin",
                         "files": [{k: f[k] for k in ("path", "size", "sha256")} for f in tree["files"]]}),
             manifest.sha256, 11, None, None, json.dumps(lineage))).lastrowid
        for sha in {manifest.sha256, *(f["sha256"] for f in tree["files"])}:
            conn.execute("INSERT INTO version_blobs (version_id, sha) VALUES (?, ?)", (vid, sha))
    conn.close()
    return lineages


def test_old_registry_migrates_its_inline_environments(tmp_path):
    root = tmp_path / "old"
    lineages = _old_registry(root, tmp_path, 4)
    reg = Registry(root, author="alice")
    for i, original in enumerate(lineages, 1):
        lineage = reg.get(f"old:{i}").lineage
        assert lineage["python"] == original["python"]
        assert lineage["platform"] == original["platform"]
        assert [(p["name"], p["version"], p["imported"]) for p in lineage["packages"]] == \
            [(p["name"], p["version"], p["imported"]) for p in original["packages"]]
    assert len(_env_blobs(root)) == 2  # three identical environments stored once, plus the odd one
    assert reg.verify().ok
    for sha in _env_blobs(root):
        assert sha not in reg.gc(grace=0).removed
        assert reg.objects.exists(sha)
    assert reg.verify().ok
    assert reg.diff("old:1", "old:4").changes["environment"] == [{"key": "python", "a": lineages[0]["python"], "b": "3.9.0"}]
    reg.close()
