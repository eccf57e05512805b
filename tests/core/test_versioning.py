"""Revert, rename and delete a model, retired names, edit events with previous values, diff of git
state and notebook cells, and the one reading of dates shared by search and resolve(at=)."""

from __future__ import annotations

import os
import sqlite3

import pytest

from nbregistry.core.errors import Conflict, NotFound, TrustRequired, ValidationError


def _three(reg, iris_model, iris):
    X, _ = iris
    v1 = reg.register(iris_model, "churn", metrics={"acc": 0.9}, params={"C": 1}, tags={"team": "a"},
                      data={"train": X}, input_example=X.head(3), description="first")
    reg.register(iris_model, "churn", metrics={"acc": 0.5}, params={"C": 9}, tags={"team": "b"})
    return v1


def test_revert_round_trip_differs_only_by_the_revert_link(reg, iris_model, iris):
    v1 = _three(reg, iris_model, iris)
    reverted = reg.revert("churn:1", reason="2 broke the dashboards")
    assert reverted.ref == "churn:3"
    for field in ("metrics", "params", "tags", "signature", "flavor", "artifact", "has_input_example"):
        assert getattr(reverted, field) == getattr(v1, field), field
    assert reg.input_example("churn:3").equals(reg.input_example("churn:1"))
    diff = reg.diff("churn:1", "churn:3")
    assert diff.changes == {"revert": [{"key": "revert_of", "a": None, "b": "churn:1"}]}
    link = reverted.lineage["revert_of"]
    assert (link["ref"], link["version"], link["reason"], link["reverted_by"]) == \
        ("churn:1", 1, "2 broke the dashboards", "alice")
    assert reverted.lineage["data"] == v1.lineage["data"]  # the lineage travels with the artifact
    assert reverted.description == "Revert of churn:1: 2 broke the dashboards"
    event = [e for e in reg.events() if e.action == "version.reverted"][-1]
    assert (event.ref, event.payload["revert_of"]) == ("churn:3", 1)
    assert any("reverted" in a.summary and "churn:1" in a.summary for a in reg.activity("churn"))
    assert reg.get("churn").version == 3  # the bare name now means the revert
    # diffing against the version that was replaced shows what the revert undid
    assert reg.diff("churn:2", "churn:3").changes["params"] == [{"key": "C", "a": "9", "b": "1"}]


def test_revert_copies_no_bytes(local_reg, iris_model, iris):
    _three(local_reg, iris_model, iris)
    objects = local_reg.root / "objects"
    before = sorted(p for p in objects.rglob("*") if p.is_file())
    local_reg.revert("churn:1")
    assert sorted(p for p in objects.rglob("*") if p.is_file()) == before
    assert local_reg.verify().ok
    # the same blob rows are reused: deleting the original keeps the revert loadable after gc
    local_reg.delete_version("churn:1")
    local_reg.gc(grace=0)
    assert local_reg.load("churn:3").predict(iris[0].head(2)).shape == (2,)


def test_reverting_someone_elses_pickle_does_not_make_it_trusted(local_reg, tmp_path):
    # attack test: before the fix, the reverter became the version's author and loaded it untrusted
    mallory = local_reg.as_author("mallory")
    mallory.register({"weights": [1, 2]}, "thing", flavor="pickle")
    reverted = local_reg.revert("thing:1")
    assert reverted.author == "alice"
    with pytest.raises(TrustRequired, match="mallory"):
        local_reg.load("thing:2")
    assert local_reg.load("thing:2", trust=True) == {"weights": [1, 2]}
    # a revert of the revert still remembers mallory
    mallory.revert("thing:2")
    with pytest.raises(TrustRequired, match="mallory"):
        local_reg.load("thing:3")


def test_rename_refused_while_aliases_are_held_unless_forced_with_a_reason(reg, iris_model, iris):
    _three(reg, iris_model, iris)
    reg.set_alias("churn:1", "production")
    with pytest.raises(Conflict, match="production"):
        reg.rename_model("churn", "churn-v2")
    with pytest.raises(ValidationError, match="reason"):
        reg.rename_model("churn", "churn-v2", force=True)
    assert reg.get("churn@production").version == 1  # nothing changed
    model = reg.rename_model("churn", "churn-v2", force=True, reason="naming scheme")
    assert (model.name, model.aliases) == ("churn-v2", {"production": 1})
    assert reg.get("churn-v2@production").version == 1
    event = [e for e in reg.events() if e.action == "model.renamed"][-1]
    assert event.payload["previous"] == "churn" and event.payload["forced"] is True


def test_a_renamed_models_old_name_never_resolves_to_another_model(reg, iris_model, iris):
    _three(reg, iris_model, iris)
    reg.rename_model("churn", "churn-v2")
    with pytest.raises(NotFound, match="renamed to 'churn-v2'"):
        reg.get("churn@production")
    with pytest.raises(NotFound, match="renamed to 'churn-v2'"):
        reg.get("churn:1")
    with pytest.raises(Conflict, match="retired"):  # a new model may not take it silently
        reg.register(iris_model, "churn")
    with pytest.raises(Conflict, match="retired"):
        reg.register(iris_model, "other") and reg.rename_model("other", "churn")
    reg.rename_model("churn-v2", "churn-v3")
    with pytest.raises(NotFound, match="renamed to 'churn-v3'"):  # follows the chain to the current name
        reg.get("churn")
    assert reg.release_name("churn") == "churn"
    assert reg.register(iris_model, "churn").ref == "churn:1"  # now explicitly a new model
    assert reg.get("churn-v3").version == 2


def test_rename_back_to_an_own_earlier_name(reg, iris_model, iris):
    _three(reg, iris_model, iris)
    reg.rename_model("churn", "tmp")
    assert reg.rename_model("tmp", "churn").name == "churn"
    assert reg.get("churn:2").version == 2
    with pytest.raises(NotFound, match="renamed to 'churn'"):
        reg.get("tmp")
    with pytest.raises(Conflict, match="already exists"):
        reg.register(iris_model, "x") and reg.rename_model("x", "churn")


def test_delete_model_refused_with_aliases_then_forced_and_the_name_retired(reg, iris_model, iris):
    _three(reg, iris_model, iris)
    reg.set_alias("churn:2", "staging")
    reg.comment("churn:1", "nice")
    reg.set_card("churn", "# churn")
    with pytest.raises(Conflict, match="staging"):
        reg.delete_model("churn")
    out = reg.delete_model("churn", force=True, reason="retired product")
    assert out["versions"] == [1, 2] and out["aliases"] == {"staging": 2}
    with pytest.raises(NotFound, match="was deleted"):
        reg.get("churn")
    assert reg.list_models().total == 0
    with pytest.raises(Conflict, match="retired"):
        reg.register(iris_model, "churn")
    event = [e for e in reg.events() if e.action == "model.deleted"][-1]
    assert event.payload["reason"] == "retired product"
    reg.release_name("churn", reason="new product")
    assert reg.register(iris_model, "churn").ref == "churn:1"
    assert reg.comments("churn:1") == [] and reg.card("churn") == ""  # nothing of the old model came back


def test_release_name_errors(reg, iris_model):
    reg.register(iris_model, "live")
    with pytest.raises(Conflict, match="names a model"):
        reg.release_name("live")
    with pytest.raises(NotFound, match="not a retired"):
        reg.release_name("never-used")


def test_edit_events_carry_the_previous_value(reg, iris_model):
    reg.register(iris_model, "churn", description="v1 text", tags={"team": "a"})
    reg.update_version("churn:1", description="better", tags={"team": "b", "new": "x"})
    reg.update_model("churn", description="model text", tags={"owner": "ds"})
    reg.update_model("churn", tags={"owner": None})
    updates = [e for e in reg.events() if e.action in ("version.updated", "model.updated")]
    assert updates[0].payload["description"] == "better"
    assert updates[0].payload["previous"] == {"description": "v1 text", "tags": {"team": "a", "new": None}}
    assert updates[1].payload["previous"] == {"description": "", "tags": {"owner": None}}
    assert updates[2].payload["previous"] == {"tags": {"owner": "ds"}}


def test_diff_compares_git_state_and_recorded_cells(local_reg, iris_model):
    def lineage(commit, cells, dirty=False):
        return {"git": {"commit": commit, "branch": "main", "dirty": dirty, "remote": None},
                "notebook": {"path": "train.ipynb", "cells": [{"execution_count": i + 1, "source": s}
                                                              for i, s in enumerate(cells)]}}

    folder = local_reg.root.parent / "art"
    folder.mkdir()
    (folder / "m.txt").write_text("x")
    for commit, cells, dirty in (("aaa", ["X = load()", "m = fit(X, C=1)"], False),
                                 ("bbb", ["X = load()", "m = fit(X, C=2)", "m.save()"], True)):
        local_reg.register_saved(folder, "m", flavor="file", flavor_meta={"kind": "dir"},
                                 lineage=lineage(commit, cells, dirty))
    d = local_reg.diff("m:1", "m:2")
    assert d.changes["git"] == [{"key": "commit", "a": "aaa", "b": "bbb"}, {"key": "dirty", "a": False, "b": True}]
    assert d.changes["notebook"] == [{"key": "cell 2", "a": "m = fit(X, C=1)", "b": "m = fit(X, C=2)"},
                                     {"key": "cell 3", "a": None, "b": "m.save()"}]
    assert not local_reg.diff("m:1", "m:1")


def test_resolve_at_a_date_means_as_of_that_whole_day_like_search(local_reg, iris_model):
    local_reg.register(iris_model, "churn")
    local_reg.set_alias("churn:1", "production")
    db = sqlite3.connect(local_reg.root / "registry.db")
    with db:  # put the move at 15:00 on 1 March and the version before it
        db.execute("UPDATE alias_moves SET time = '2026-03-01T15:00:00.000000Z'")
        db.execute("UPDATE versions SET created_at = '2026-03-01T09:00:00.000000Z'")
    db.close()
    assert local_reg.resolve("churn@production", at="2026-03-01").version == 1  # as of 1 March
    assert local_reg.search("created <= 2026-03-01").total == 1  # the same day, the same answer
    assert local_reg.resolve("churn@production", at="2026-02-28") is None
    assert local_reg.resolve("churn@production", at="2026-03-01T14") is None  # before 15:00
    assert local_reg.resolve("churn@production", at="2026-03-01T15").version == 1  # that hour
    assert local_reg.resolve("churn@production", at="2026-03-01T14:59:59.999999Z") is None  # an instant
    from datetime import date, datetime

    assert local_reg.resolve("churn@production", at=date(2026, 3, 1)).version == 1
    assert local_reg.resolve("churn@production", at=datetime(2026, 3, 1)) is None  # midnight, an instant
    with pytest.raises(ValidationError):
        local_reg.resolve("churn@production", at="2026-02-30")
    assert os.path.exists(local_reg.root / "registry.db")


def test_reverting_a_pickle_registered_under_a_claimed_name_does_not_make_it_trusted(local_reg):
    # attack test: someone on a shared-token server claims to be alice; alice's revert must not launder it
    claimed = local_reg.as_author("alice", identity="shared", claimed_by="alice")
    claimed.register({"payload": 1}, "thing", flavor="pickle")
    with pytest.raises(TrustRequired, match="unverified"):
        local_reg.load("thing:1")
    reverted = local_reg.revert("thing:1")
    assert reverted.author == "alice" and reverted.author_counts
    with pytest.raises(TrustRequired, match="unverified"):
        local_reg.load("thing:2")
    local_reg.register({"payload": 2}, "own", flavor="pickle")
    local_reg.revert("own:1")
    assert local_reg.load("own:2") == {"payload": 2}  # reverting your own verified pickle stays yours


def test_events_and_activity_of_a_renamed_model_include_its_earlier_names(reg, iris_model):
    reg.register(iris_model, "churn")
    reg.rename_model("churn", "churn-v2")
    reg.register(iris_model, "churn-v2")
    actions = [e.action for e in reg.events(model="churn-v2")]
    assert actions == ["model.created", "version.registered", "model.renamed", "version.registered"]
    assert [a.action for a in reg.activity("churn-v2")][-2:] == ["version.registered", "model.created"]


def test_schema_doc_shows_the_m006_ddl():
    import re
    from pathlib import Path

    from nbregistry.core.store_versioning import DDL

    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    block = next(b for b in re.findall(r"```sql\n(.*?)```", doc, re.S) if "CREATE TABLE model_names" in b)

    def norm(sql: str) -> list[str]:
        return [" ".join(s.split()) for s in sql.split(";") if s.strip()]

    assert norm(block) == norm(DDL)


def test_last_version_names_the_number_a_revert_will_get(reg, tmp_path):
    """The app's revert dialog names the version it creates from ``Model.last_version`` + 1: it counts
    archived versions, which ``latest_version`` (the newest active one) does not."""
    artifact = tmp_path / "m.txt"
    artifact.write_text("weights")
    for _ in range(3):
        reg.register(str(artifact), "lv")
    reg.archive("lv:3")
    model = reg.get_model("lv")
    assert (model.latest_version, model.last_version) == (2, 3)
    assert [m.last_version for m in reg.list_models() if m.name == "lv"] == [3]
    assert reg.revert("lv:1").version == model.last_version + 1
