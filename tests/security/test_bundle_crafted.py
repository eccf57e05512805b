"""Attack: crafted bundles. Rows are checked, not believed: no versions, reviews or aliases injected
into an existing model, version_blobs recomputed from the manifests, every blob present and correct,
imported authors and reviewers never counted. A refused bundle leaves the registry folder
byte-for-byte unchanged."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from trust_helpers import folder_hashes
from nbregistry import Registry
from nbregistry.core.errors import Conflict, IntegrityError, PolicyRefused, TrustRequired, ValidationError


def craft(src, dst, *, edit_tables=None, drop_blobs=()):
    """Rewrite bundle ``src`` into ``dst``: ``edit_tables({name: (columns, rows)})`` changes rows in
    place, ``drop_blobs`` removes blobs (from the archive and the manifest's list)."""
    with tarfile.open(src) as tar:
        manifest = json.loads(tar.extractfile("nbregistry-bundle.json").read())
        tables = {name: (spec["columns"], [json.loads(line) for line in
                                           tar.extractfile(f"tables/{name}.jsonl").read().decode().splitlines() if line])
                  for name, spec in manifest["tables"].items()}
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name.startswith("blobs/")}
    if edit_tables:
        edit_tables(tables)
    manifest["tables"] = {n: {"columns": c, "rows": len(r)} for n, (c, r) in tables.items()}
    manifest["blobs"] = [b for b in manifest["blobs"] if b["sha256"] not in drop_blobs]
    with tarfile.open(dst, "w") as out:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))

        add("nbregistry-bundle.json", json.dumps(manifest).encode())
        for name, (_, rows) in tables.items():
            add(f"tables/{name}.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())
        for name, data in blobs.items():
            if name.rsplit("/", 1)[-1] not in drop_blobs:
                add(name, data)
    return dst


@pytest.fixture
def source(tmp_path, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    reg = Registry(tmp_path / "source", author="alice")
    reg.register(LogisticRegression(max_iter=300).fit(X, y), "churn", input_example=X.head(3))
    yield reg
    reg.close()


@pytest.fixture
def target(tmp_path, source):
    """A registry that already holds churn:1 (imported from the source) and guards @production."""
    bundle = source.export("churn", tmp_path / "first.tar")
    reg = Registry(tmp_path / "target", author="carol")
    reg.import_bundle(bundle.path)
    reg.set_policy("churn", "production", {"required_approvals": 1})
    reg.close()
    yield reg
    reg.close()


def refused_unchanged(target, bundle, error, match):
    target.close()
    before = folder_hashes(target.root)
    with pytest.raises(error, match=match):
        target.import_bundle(bundle)
    target.close()
    assert folder_hashes(target.root) == before


def test_a_version_cannot_be_injected_into_an_existing_model(source, target, tmp_path, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    source.register(LogisticRegression(C=0.1, max_iter=300).fit(X, y), "churn")
    bundle = source.export("churn", tmp_path / "second.tar").path
    refused_unchanged(target, bundle, Conflict, "model 'churn' that already exists")
    assert [v.ref for v in target.list_versions("churn")] == ["churn:1"]


def test_a_forged_approval_of_an_existing_version_is_refused(source, target, tmp_path):
    source.as_author("bob").review("churn:1", "approve", "lgtm")
    bundle = source.export("churn", tmp_path / "approved.tar").path
    refused_unchanged(target, bundle, Conflict, "already exists")
    with pytest.raises(PolicyRefused, match="approvals"):
        target.promote("churn:1", "production")


def test_imported_reviews_and_authors_never_count(source, tmp_path):
    source.as_author("bob").review("churn:1", "approve", "lgtm")
    source.register({"x": 1}, "pickled", flavor="pickle")
    bundle = source.export(None, tmp_path / "all.tar").path
    fresh = Registry(tmp_path / "fresh", author="alice")
    fresh.import_bundle(bundle)
    fresh.set_policy("churn", "production", {"required_approvals": 1})
    state = fresh.review_state("churn:1")
    assert state["approvals"] == [] and "bob" in state["unverified_ignored"]
    with pytest.raises(PolicyRefused, match="approvals"):
        fresh.promote("churn:1", "production")
    # 'alice' wrote the pickle in the source; here that name is history, not a verified author
    assert fresh.get("pickled").identity == "imported"
    with pytest.raises(TrustRequired, match="unverified name 'alice'"):
        fresh.load("pickled")


def test_a_bundle_missing_a_blob_is_refused(source, tmp_path):
    bundle = source.export("churn", tmp_path / "b.tar").path
    version = source.get("churn:1")
    bad = craft(bundle, tmp_path / "bad.tar", drop_blobs={version.artifact["files"][0]["sha256"]})
    empty = Registry(tmp_path / "empty")
    refused_unchanged(empty, bad, IntegrityError, "needs blob")


def test_version_blobs_are_recomputed_not_believed(source, tmp_path):
    bundle = source.export("churn", tmp_path / "b.tar").path

    def drop_blob_rows(tables):
        columns, rows = tables["version_blobs"]
        tables["version_blobs"] = (columns, [])  # so gc would delete the blobs the version needs

    bad = craft(bundle, tmp_path / "no-blob-rows.tar", edit_tables=drop_blob_rows)
    fresh = Registry(tmp_path / "fresh", author="alice")
    fresh.import_bundle(bad)
    assert fresh.store.referenced_blobs() == source.store.referenced_blobs()
    assert fresh.gc(grace=0).removed_blobs == 0
    assert fresh.verify().ok
    assert fresh.load("churn:1", trust=True).predict(source.input_example("churn:1")).tolist()


@pytest.mark.parametrize("column, value, error, match", [
    ("artifact_sha", "/some/dir", ValidationError, "not a sha256"),
    ("version", -3, ValidationError, "positive integer"),
    ("artifact_size", 1, IntegrityError, "disagrees with its manifest"),
    ("flavor_meta", '{"files": [{"path": "model.skops", "size": 1, "sha256": "00"}]}', IntegrityError,
     "flavor metadata disagree"),
    ("lineage", '["not", "an", "object"]', ValidationError, "not a JSON object"),
])
def test_a_crafted_version_row_is_refused(source, tmp_path, column, value, error, match):
    bundle = source.export("churn", tmp_path / "b.tar").path

    def forge(tables):
        columns, rows = tables["versions"]
        rows[0][columns.index(column)] = value

    bad = craft(bundle, tmp_path / "bad.tar", edit_tables=forge)
    refused_unchanged(Registry(tmp_path / "empty"), bad, error, match)


def test_a_crafted_model_name_is_refused(source, tmp_path):
    bundle = source.export("churn", tmp_path / "b.tar").path

    def forge(tables):
        columns, rows = tables["models"]
        rows[0][columns.index("name")] = "../../etc"

    bad = craft(bundle, tmp_path / "bad.tar", edit_tables=forge)
    refused_unchanged(Registry(tmp_path / "empty"), bad, ValidationError, "bundle row of models")
