"""Bundles: export -> import into an empty registry gives the same registry; importing twice adds nothing."""

from __future__ import annotations

import json
import sqlite3
import tarfile

import pytest
from helpers import db_snapshot, objects_snapshot

from nbregistry import Registry
from nbregistry.core.errors import Conflict, IntegrityError, ValidationError


@pytest.fixture
def source(local_reg, iris):
    """A registry with history: two models, versions, aliases moved back and forth, comments, reviews,
    a policy, tags, an archived version, a deleted version."""
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    reg = local_reg
    for c in (1.0, 0.1, 0.01):
        reg.register(LogisticRegression(C=c, max_iter=500).fit(X, y), "churn", metrics={"auc": 0.8 + c / 10},
                     params={"C": c}, tags={"team": "growth"}, input_example=X.head(3), description=f"C={c}")
    reg.register(LogisticRegression(max_iter=300).fit(X, y), "fraud")
    reg.register(LogisticRegression(max_iter=200).fit(X, y), "fraud")
    reg.delete_version("fraud:2")
    reg.update_model("churn", description="who leaves", tags={"owner": "alice"})
    reg.archive("churn:1")
    reg.set_alias("churn:2", "staging")
    reg.set_alias("churn:2", "production", reason="first release")
    reg.set_alias("churn:3", "production", reason="better")
    reg.rollback("churn@production", reason="worse in prod")
    reg.set_alias("fraud:1", "production")
    first = reg.comment("churn:2", "looks good", anchor="metrics.auc")
    reg.comment("churn:2", "agreed", reply_to=first.id)
    edited = reg.comment("churn", "model-level note")
    reg.edit_comment(edited.id, "model-level note, edited")
    reg.set_policy("churn", "production", {"required_approvals": 1})
    reg.review("churn:3", "approve", "ship it")  # alice reviews her own; the policy wants someone else
    return reg


def tables_without(snapshot: dict, *names) -> dict:
    return {k: v for k, v in snapshot.items() if k not in names}


def without_identity(item: dict) -> dict:
    """An imported author or reviewer is recorded with identity 'imported' (history, never counted)."""
    return {k: v for k, v in item.items() if k not in ("identity", "claimed_by")}


def public_state(reg: Registry) -> dict:
    """What users see: refs, numbers, hashes, aliases, history, comments, events (authors' identities aside)."""
    out = {}
    for model in reg.list_models(archived=True):
        versions = reg.list_versions(model.name)
        out[model.name] = {
            "model": model.to_dict(),
            "versions": [without_identity({**v.to_dict(), "lineage": reg.get(v.ref).lineage}) for v in versions],
            "history": [m.to_dict() | {"id": None} for m in reg.history(model.name)],
            "comments": {v.ref: [without_identity(c.to_dict()) for c in reg.comments(v.ref)] for v in versions}
                        | {model.name: [without_identity(c.to_dict()) for c in reg.comments(model.name)]},
        }
    return out


def test_round_trip_into_an_empty_registry_is_identical(source, tmp_path):
    bundle = tmp_path / "all.nbregistry.tar.gz"
    report = source.export(None, bundle)
    assert sorted(report.refs) == ["churn:1", "churn:2", "churn:3", "fraud:1"]
    assert report.blobs > 0 and tarfile.is_tarfile(bundle)

    target = Registry(tmp_path / "target", author="bob")
    imported = target.import_bundle(bundle)
    assert sorted(imported.refs) == ["churn:1", "churn:2", "churn:3", "fraud:1"]
    assert target.verify().ok

    assert public_state(target) == public_state(source)
    before, after = db_snapshot(source.root), db_snapshot(target.root)
    # every row of every table is identical (same ids too), webhook tables aside; the target has one
    # more event: the import itself
    skip = ("webhooks", "webhook_cursor", "webhook_deliveries", "webhook_attempts", "events", "sqlite_sequence",
            "_sqlite_migrations")
    authored = ("versions", "comments")
    assert tables_without(after, *skip, *authored) == tables_without(before, *skip, *authored)
    for table in authored:  # the same rows, but every author is recorded as imported (never counted)
        identity = [r[0] for r in sqlite3.connect(target.root / "registry.db").execute(
            f"SELECT name FROM pragma_table_info('{table}')")].index("identity")
        assert {r[identity] for r in after[table]} == {"imported"}
        assert [r[:identity] + r[identity + 1:] for r in after[table]] == \
            [r[:identity] + r[identity + 1:] for r in before[table]]
    source_events, target_events = source.events(), target.events()
    assert [e.to_dict() for e in target_events][:-1] == [e.to_dict() for e in source_events]
    assert target_events[-1].action == "bundle.imported" and target_events[-1].actor == "bob"
    # every blob a version needs, none of the unreferenced ones (deleted fraud:2's) which gc would remove
    assert set(objects_snapshot(target.root)) == source.store.referenced_blobs()
    assert len(objects_snapshot(source.root)) > len(objects_snapshot(target.root))
    # numbers are never reused: fraud:2 was deleted, the next fraud version is 3 in both
    assert target.get_model("fraud").to_dict() == source.get_model("fraud").to_dict()
    from sklearn.linear_model import LogisticRegression

    assert target.register(LogisticRegression(), "fraud").version == 3
    assert target.resolve("churn@production").version == 2
    assert target.load("churn@production", trust=True).predict(source.input_example("churn:2")).tolist() == \
        source.load("churn:2").predict(source.input_example("churn:2")).tolist()


def test_importing_twice_adds_nothing(source, tmp_path):
    bundle = tmp_path / "all.tar"
    source.export(None, bundle)
    target = Registry(tmp_path / "target", author="bob")
    target.import_bundle(bundle)
    state = db_snapshot(target.root), objects_snapshot(target.root)
    again = target.import_bundle(bundle)
    assert not again.changed and sum(again.added.values()) == 0 and again.blobs_added == 0
    assert (db_snapshot(target.root), objects_snapshot(target.root)) == state
    # and importing into the registry it came from adds nothing either
    state = db_snapshot(source.root), objects_snapshot(source.root)
    assert not source.import_bundle(bundle).changed
    assert (db_snapshot(source.root), objects_snapshot(source.root)) == state


def test_one_model_into_a_registry_that_already_has_others(source, tmp_path, iris):
    from sklearn.tree import DecisionTreeClassifier

    X, y = iris
    bundle = tmp_path / "churn.tar"
    report = source.export("churn", bundle)
    assert sorted(report.refs) == ["churn:1", "churn:2", "churn:3"]
    target = Registry(tmp_path / "target", author="bob")
    target.register(DecisionTreeClassifier().fit(X, y), "other")
    target.set_alias("other:1", "production")
    target.comment("other:1", "unrelated")
    target.import_bundle(bundle)
    assert target.verify().ok
    assert sorted(m.name for m in target.list_models(archived=True)) == ["churn", "other"]
    state = public_state(target)
    assert state["churn"] == public_state(source)["churn"] | {"comments": state["churn"]["comments"]}
    assert [c.body for c in target.comments("churn:2")] == ["looks good", "agreed"]
    assert target.comments("churn:2")[1].reply_to == target.comments("churn:2")[0].id  # thread kept
    assert [c.body for c in target.comments("other:1")] == ["unrelated"]
    assert [m.version for m in target.history("churn", "production")] == [2, 3, 2]
    assert target.get_policy("churn", "production").required_approvals == 1
    snapshot = db_snapshot(target.root)
    target.import_bundle(bundle)
    assert db_snapshot(target.root) == snapshot


def test_one_version_bundle(source, tmp_path):
    bundle = tmp_path / "v2.tar"
    report = source.export("churn@production", bundle)
    assert report.refs == ["churn:2"]
    target = Registry(tmp_path / "target")
    target.import_bundle(bundle)
    assert [v.ref for v in target.list_versions("churn")] == ["churn:2"]
    assert target.get("churn:2").aliases == ["production", "staging"]
    assert [c.body for c in target.comments("churn:2")] == ["looks good", "agreed"]
    assert target.verify().ok


def test_a_conflicting_version_is_refused_whole(source, tmp_path, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    bundle = tmp_path / "all.tar"
    source.export(None, bundle)
    target = Registry(tmp_path / "target")
    target.register(LogisticRegression(C=5, max_iter=500).fit(X, y), "churn")  # a different churn:1
    before = db_snapshot(target.root)
    with pytest.raises(Conflict, match="churn:1 exists in this registry with different content"):
        target.import_bundle(bundle)
    assert db_snapshot(target.root) == before


def test_corrupt_and_foreign_archives_are_refused(source, tmp_path):
    bundle = tmp_path / "all.tar"
    source.export(None, bundle)
    # flip a byte inside one blob
    bad = tmp_path / "bad.tar"
    with tarfile.open(bundle) as src, tarfile.open(bad, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.startswith("blobs/") and member.size > 100:
                data = data[:50] + bytes([data[50] ^ 1]) + data[51:]
            dst.addfile(member, __import__("io").BytesIO(data))
    target = Registry(tmp_path / "target")
    with pytest.raises(IntegrityError, match="corrupted"):
        target.import_bundle(bad)
    assert target.list_models().total == 0
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        tar.add(__file__, arcname="x.py")
    with pytest.raises(ValidationError, match="not an nbregistry bundle"):
        target.import_bundle(other)
    (tmp_path / "junk.tar").write_bytes(b"junk")
    with pytest.raises(ValidationError):
        target.import_bundle(tmp_path / "junk.tar")


def test_bundle_from_a_newer_schema_is_refused(source, tmp_path):
    bundle = tmp_path / "all.tar"
    source.export(None, bundle)
    conn = sqlite3.connect(source.root / "registry.db")
    conn.execute("CREATE TABLE future_things (id INTEGER PRIMARY KEY, model_id INTEGER REFERENCES models(id))")
    conn.commit()
    conn.close()
    newer = tmp_path / "newer.tar"
    source.export(None, newer)
    with tarfile.open(newer) as tar:
        manifest = json.load(tar.extractfile("nbregistry-bundle.json"))
    assert "future_things" in manifest["tables"]  # new tables travel without code changes
    with pytest.raises(ValidationError, match="future_things"):
        Registry(tmp_path / "target").import_bundle(newer)
