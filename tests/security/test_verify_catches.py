"""Damage that ``verify`` must report (and never abort on): a corrupt database page, metadata that
disagrees with the manifests (sizes, the file list REST clients are served, version_blobs), bad rows."""

from __future__ import annotations

import json
import sqlite3

import pytest

from nbregistry import Registry


@pytest.fixture
def filled(root, tmp_path):
    reg = Registry(root, author="alice")
    src = tmp_path / "m.txt"
    for i in range(40):
        src.write_text(f"model {i}")
        reg.register(str(src), "m", metrics={"auc": i / 100, "loss": 1 - i / 100})
    reg.close()
    return reg


def _sql(root, statement, *args):
    conn = sqlite3.connect(root / "registry.db")
    with conn:
        conn.execute(statement, args)
    conn.close()


def _problems(reg, **kwargs):
    return [p["problem"] for p in reg.verify(**kwargs).problems]


def test_a_corrupt_database_page_is_reported(filled):
    root = filled.root
    conn = sqlite3.connect(root / "registry.db")
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_metrics_1'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray((root / "registry.db").read_bytes())
    for i in range(page * size - 600, page * size - 8):  # the cell content of one index page
        data[i] ^= 0x5A
    (root / "registry.db").write_bytes(bytes(data))
    reg = Registry(root)
    for fast in (True, False):
        problems = _problems(reg, fast=fast)
        assert any("registry.db" in p and ("page" in p or "damaged" in p) for p in problems), problems


def test_metadata_that_disagrees_with_the_manifest_is_reported(filled):
    root = filled.root
    _sql(root, "UPDATE versions SET artifact_size = 999 WHERE version = 1")
    meta = [dict(f) for f in Registry(root).artifact("m:2")["files"]]
    meta[0]["size"] = 1  # what /artifact tells REST clients to expect
    _sql(root, "UPDATE versions SET flavor_meta = json_set(flavor_meta, '$.files', json(?)) WHERE version = 2",
         json.dumps(meta))
    _sql(root, "DELETE FROM version_blobs WHERE version_id = (SELECT id FROM versions WHERE version = 3)"
               " AND sha != (SELECT artifact_sha FROM versions WHERE version = 3)")
    report = Registry(root).verify()
    by_ref = {}
    for p in report.problems:
        by_ref.setdefault(p["ref"], []).append(p["problem"])
    assert any("artifact_size" in p for p in by_ref["m:1"])
    assert any("REST clients" in p for p in by_ref["m:2"])
    assert any("version_blobs" in p and "gc" in p for p in by_ref["m:3"])
    assert set(by_ref) == {"m:1", "m:2", "m:3"}


def test_bad_rows_are_reported_not_fatal(filled):
    root = filled.root
    _sql(root, "UPDATE versions SET artifact_sha = '/some/dir' WHERE version = 5")
    _sql(root, "UPDATE versions SET flavor_meta = 'not json' WHERE version = 6")
    report = Registry(root).verify()
    assert report.checked_versions == 40
    refs = {p["ref"] for p in report.problems}
    assert refs == {"m:5", "m:6"}, report.problems
