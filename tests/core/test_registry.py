"""Behaviour of the core Registry verbs (run against every registry kind through the ``reg`` fixture)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nbregistry.core.errors import (Conflict, InvalidName, InvalidRef, NotFound, TrustRequired,
                                    ValidationError)

from backends import registry_kinds


@pytest.fixture(params=[*registry_kinds(), "local-s3"])
def reg(_reg_of_kind):
    """Every registry kind, plus a local one whose blobs are in an S3 bucket (tests/backends.py)."""
    return _reg_of_kind


def test_register_assigns_increasing_versions_and_reads_back(reg, iris, iris_model):
    X, y = iris
    v1 = reg.register(iris_model, "iris", metrics={"acc": 0.97, "loss": 0.1}, params={"C": 1.0},
                      tags={"team": "ds"}, description="first", data={"X": X, "y": y}, input_example=X.head())
    v2 = reg.register(iris_model, "iris", metrics={"acc": 0.98})
    assert (v1.ref, v2.ref) == ("iris:1", "iris:2")
    got = reg.get("iris:1")
    assert got.metrics == {"acc": 0.97, "loss": 0.1}
    assert got.params == {"C": "1.0"}
    assert got.tags == {"team": "ds"}
    assert got.description == "first"
    assert got.author == "alice"
    assert got.flavor == "sklearn"
    assert got.signature["type"] == "dataframe"
    assert [c["name"] for c in got.signature["columns"]] == list(X.columns)
    assert got.lineage["data"]["X"]["shape"] == [150, 4]
    assert got.lineage["data"]["y"]["kind"] == "series"
    assert got.lineage["python"]
    assert any(p["name"].lower() == "scikit-learn" and p["imported"] for p in got.lineage["packages"])
    assert got.has_input_example
    assert reg.get("iris").ref == "iris:2"  # bare name = latest active version


def test_params_and_metrics_are_picked_up_from_the_model(reg, iris_model):
    v = reg.register(iris_model, "iris")
    assert v.params["max_iter"] == "500"
    assert v.params["solver"] == "lbfgs"


def test_load_round_trips_and_predicts_the_same(reg, iris, iris_model):
    X, _ = iris
    reg.register(iris_model, "iris")
    loaded = reg.load("iris:1")
    assert (loaded.predict(X) == iris_model.predict(X)).all()


def test_input_example_is_stored(reg, iris, iris_model):
    X, _ = iris
    reg.register(iris_model, "iris", input_example=X.head(3))
    example = reg.input_example("iris:1")
    pd.testing.assert_frame_equal(example.reset_index(drop=True), X.head(3).reset_index(drop=True))


def test_array_input_example_gives_tensor_signature(reg, iris, iris_model):
    X, _ = iris
    reg.register(iris_model, "iris", input_example=X.to_numpy()[:2])
    assert reg.get("iris:1").signature == {"type": "tensor", "shape": [-1, 4], "dtype": "float64",
                                           # the output schema, from a prediction on the example
                                           "outputs": {"type": "tensor", "shape": [-1], "dtype": "int64"}}
    assert np.allclose(reg.input_example("iris:1"), X.to_numpy()[:2])


def test_names_are_unique_case_insensitively(reg, iris_model):
    reg.register(iris_model, "Churn")
    v = reg.register(iris_model, "churn")
    assert v.ref == "Churn:2"
    assert [m.name for m in reg.list_models()] == ["Churn"]


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "../etc", "x" * 129, "ünï", "a:b", "a@b"])
def test_bad_names_are_refused(reg, iris_model, name):
    with pytest.raises(InvalidName, match="invalid model name"):
        reg.register(iris_model, name)
    assert reg.list_models().total == 0


@pytest.mark.parametrize("ref", ["churn:", "churn:0", "churn:-1", "churn:x", "churn@", "churn@1x", "churn:1@a", "", ":3"])
def test_bad_refs_are_refused(reg, ref):
    with pytest.raises((InvalidRef, InvalidName)):
        reg.get(ref)


def test_missing_things_are_named(reg, iris_model):
    with pytest.raises(NotFound, match="no model named 'nope'"):
        reg.get("nope")
    reg.register(iris_model, "iris")
    with pytest.raises(NotFound, match="iris has no version 7"):
        reg.get("iris:7")
    with pytest.raises(NotFound, match="no alias 'production'"):
        reg.get("iris@production")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "high", None, True])
def test_bad_metrics_are_refused(reg, iris_model, value):
    with pytest.raises(ValidationError, match="metric 'auc'"):
        reg.register(iris_model, "iris", metrics={"auc": value})
    assert reg.list_models().total == 0


def test_unserializable_object_is_refused(reg):
    import threading

    with pytest.raises(ValidationError, match="cannot serialize"):
        reg.register(threading.Lock(), "lock")
    assert reg.list_models().total == 0


def test_numpy_scalars_are_accepted_as_metrics(reg, iris_model):
    v = reg.register(iris_model, "iris", metrics={"acc": np.float32(0.5), "n": np.int64(3)})
    assert v.metrics == {"acc": 0.5, "n": 3.0}


def test_list_versions_is_paginated(reg, iris_model):
    for _ in range(5):
        reg.register(iris_model, "iris", metrics={"acc": 0.5})
    page = reg.list_versions("iris", limit=2, offset=1)
    assert [v.version for v in page] == [4, 3]
    assert page.total == 5
    with pytest.raises(ValidationError, match="limit"):
        reg.list_versions("iris", limit=0)


def test_list_models_filters_and_counts(reg, iris_model):
    for name in ["churn", "churn_v2", "fraud"]:
        reg.register(iris_model, name)
    assert [m.name for m in reg.list_models("churn")] == ["churn", "churn_v2"]
    assert reg.list_models("_").total == 1  # LIKE wildcards are literal
    reg.update_model("fraud", archived=True)
    assert [m.name for m in reg.list_models()] == ["churn", "churn_v2"]
    assert [m.name for m in reg.list_models(archived=True)] == ["churn", "churn_v2", "fraud"]


def test_describe_tag_archive_restore(reg, iris_model):
    reg.register(iris_model, "iris")
    reg.register(iris_model, "iris")
    assert reg.describe("iris:1", "baseline").description == "baseline"
    assert reg.tag("iris:1", {"stage": "exp", "x": 1}).tags == {"stage": "exp", "x": "1"}
    assert reg.tag("iris:1", {"x": None}).tags == {"stage": "exp"}
    assert reg.archive("iris:2").status == "archived"
    assert reg.get("iris").version == 1  # latest ACTIVE version
    assert reg.restore("iris:2").status == "active"
    model = reg.update_model("iris", description="flowers", tags={"owner": "alice"})
    assert (model.description, model.tags) == ("flowers", {"owner": "alice"})
    actions = [e.action for e in reg.events()]
    assert actions.count("version.updated") == 3
    assert "version.archived" in actions and "version.restored" in actions and "model.updated" in actions


def test_delete_version_is_explicit_and_recorded(reg, iris_model):
    reg.register(iris_model, "iris")
    reg.register(iris_model, "iris")
    with pytest.raises(ValidationError, match="explicit version"):
        reg.delete_version("iris")
    reg.set_alias("iris:2", "production")
    with pytest.raises(Conflict, match="holds alias"):
        reg.delete_version("iris:2")
    assert reg.delete_version("iris:1") == "iris:1"
    with pytest.raises(NotFound):
        reg.get("iris:1")
    assert reg.register(iris_model, "iris").version == 3  # numbers never reused
    deleted = [e for e in reg.events() if e.action == "version.deleted"]
    assert [e.ref for e in deleted] == ["iris:1"] and deleted[0].actor == "alice"


def test_aliases_move_and_record_previous_holder(reg, iris_model):
    for _ in range(3):
        reg.register(iris_model, "iris")
    first = reg.set_alias("iris:1", "production", reason="launch")
    second = reg.set_alias("iris:3", "production")
    assert (first.previous, first.version, first.reason) == (None, 1, "launch")
    assert (second.previous, second.version) == (1, 3)
    assert reg.get("iris@production").version == 3
    assert reg.get("iris:3").aliases == ["production"]
    assert reg.get_model("iris").aliases == {"production": 3}
    assert [(m.previous, m.version) for m in reg.history("iris")] == [(None, 1), (1, 3)]
    removed = reg.remove_alias("iris", "production")
    assert (removed.previous, removed.version, removed.kind) == (3, None, "remove")
    with pytest.raises(NotFound):
        reg.get("iris@production")


@pytest.mark.parametrize("alias", ["latest", "1abc", "", "a b"])
def test_bad_aliases_are_refused(reg, iris_model, alias):
    reg.register(iris_model, "iris")
    with pytest.raises(InvalidName):
        reg.set_alias("iris:1", alias)


def test_events_are_written_with_each_change(reg, iris_model):
    reg.register(iris_model, "iris")
    reg.set_alias("iris:1", "staging")
    events = reg.events()
    assert [e.action for e in events] == ["model.created", "version.registered", "alias.set"]
    assert events[1].ref == "iris:1" and events[1].actor == "alice"
    assert events[2].payload["alias"] == "staging"
    assert [e.action for e in reg.events(since=events[1].id)] == ["alias.set"]
    assert reg.events(model="other") == []


def test_compare_marks_best_value_per_goal(reg, iris_model):
    reg.register(iris_model, "iris", metrics={"acc": 0.9, "loss": 0.3}, params={"C": 1})
    reg.register(iris_model, "iris", metrics={"acc": 0.95, "loss": 0.4}, params={"C": 1})
    reg.register(iris_model, "iris", metrics={"acc": 0.92, "loss": 0.2}, params={"C": 2})
    comparison = reg.compare("iris")
    assert comparison.refs == ["iris:3", "iris:2", "iris:1"]
    assert comparison.best == {"acc": "iris:2", "loss": "iris:3"}
    assert comparison.metrics["loss"]["goal"] == "min"
    assert comparison.params["C"]["differs"] is True
    frame = comparison.frame
    assert frame.loc["iris:1", "metrics.acc"] == 0.9
    flipped = reg.compare(["iris:1", "iris:2"], goals={"acc": "min"})
    assert flipped.best["acc"] == "iris:1"
    assert comparison.to_dict()["schema"] == "nbregistry.comparison/1"


def test_compare_keeps_full_float_precision(reg, iris_model):
    reg.register(iris_model, "iris", metrics={"x": 1 / 3})
    assert reg.compare("iris").metrics["x"]["values"] == [1 / 3]


def test_diff_lists_what_changed(reg, iris, iris_model):
    X, y = iris
    reg.register(iris_model, "iris", metrics={"acc": 0.9}, params={"C": 1}, data=X, input_example=X.head())
    # without input_example the signature comes from the first rows of data= (here: two columns)
    reg.register(iris_model, "iris", metrics={"acc": 0.95}, params={"C": 1}, data=X.iloc[:100, :2])
    diff = reg.diff("iris:1", "iris:2")
    assert diff.changes["metrics"] == [{"key": "acc", "a": 0.9, "b": 0.95}]
    assert "params" not in diff.changes
    assert diff.changes["data"][0]["key"] == "data"
    assert len(diff.changes["signature"][0]["b"]["columns"]) == 2
    assert not reg.diff("iris:1", "iris:1")


def test_search_over_metrics_params_aliases(reg, iris_model):
    reg.register(iris_model, "iris", metrics={"auc": 0.7}, params={"depth": 3})
    reg.register(iris_model, "iris", metrics={"auc": 0.9}, params={"depth": 5})
    reg.register(iris_model, "wine", metrics={"auc": 0.8})
    reg.set_alias("iris:2", "production")
    found = reg.search("metrics.auc > 0.75", order_by="metrics.auc desc")
    assert [v.ref for v in found] == ["iris:2", "wine:1"]
    assert [v.ref for v in reg.search("alias = production")] == ["iris:2"]
    assert [v.ref for v in reg.search("params.depth >= 4 OR name = wine", order_by="name asc")] == ["iris:2", "wine:1"]


def test_file_and_folder_artifacts(reg, tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"\x00" * 1000)
    v = reg.register(f, "weights", metrics={"size": 1000})
    assert v.flavor == "file"
    path = reg.load("weights:1")
    assert path.name == "weights.bin" and path.read_bytes() == b"\x00" * 1000
    d = tmp_path / "bundle"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("b")
    v = reg.register(d, "bundle")
    assert [f["path"] for f in v.artifact["files"]] == ["a.txt", "sub/b.txt"]
    folder = reg.load("bundle:1")
    assert (folder / "sub" / "b.txt").read_text() == "b"


def test_extra_files_are_stored_under_extra(reg, iris_model, tmp_path):
    (tmp_path / "notes.md").write_text("hello")
    v = reg.register(iris_model, "iris", files={"docs/notes.md": tmp_path / "notes.md"})
    assert "extra/docs/notes.md" in [f["path"] for f in v.artifact["files"]]
    with reg.open_file("iris:1", "extra/docs/notes.md") as fh:
        assert fh.read() == b"hello"


@pytest.mark.parametrize("bad", ["../escape.txt", "/etc/passwd", "a/../../b", "a\\b", "./x", ""])
def test_path_traversal_in_artifact_paths_is_refused(reg, iris_model, tmp_path, bad):
    (tmp_path / "x").write_text("x")
    with pytest.raises(ValidationError, match="unsafe artifact path"):
        reg.register(iris_model, "iris", files={bad: tmp_path / "x"})
    assert reg.list_models().total == 0


def test_open_file_refuses_traversal(reg, iris_model):
    reg.register(iris_model, "iris")
    with pytest.raises(ValidationError):
        reg.open_file("iris:1", "../../registry.db")
    with pytest.raises(NotFound):
        reg.open_file("iris:1", "nope.txt")


def test_pickle_of_someone_else_needs_trust(reg, as_user):
    reg.register({"weights": [1, 2, 3]}, "thing", flavor="pickle")
    assert reg.load("thing:1") == {"weights": [1, 2, 3]}  # own model: no trust needed
    with as_user(reg, "bob"):
        with pytest.raises(TrustRequired, match="saved by 'alice'.*trust=True"):
            reg.load("thing:1")
        assert reg.load("thing:1", trust=True) == {"weights": [1, 2, 3]}


def test_skops_models_of_others_load_without_trust(reg, iris_model, as_user, iris):
    reg.register(iris_model, "iris")
    with as_user(reg, "bob"):
        assert (reg.load("iris:1").predict(iris[0]) == iris_model.predict(iris[0])).all()


def test_set_alias_refuses_an_alias_guarded_by_a_policy(reg, iris_model):
    reg.register(iris_model, "iris", metrics={"acc": 0.9})
    reg.register(iris_model, "iris", metrics={"acc": 0.5})
    reg.set_alias("iris:1", "production")
    reg.set_policy("iris", "production", {"gates": [{"type": "metric", "expr": "metrics.acc >= current.metrics.acc"}]})
    events_before = len(reg.events())
    with pytest.raises(Conflict, match=r"guarded by a policy.*promote\('iris:2', 'production'\)"):
        reg.set_alias("iris:2", "production")
    assert reg.get("iris@production").version == 1
    assert len(reg.events()) == events_before
    reg.set_alias("iris:2", "staging")  # aliases without a policy still move freely
    assert reg.get("iris@staging").version == 2


def test_a_registry_that_trusts_no_pickles_refuses_even_its_authors_own(local_reg):
    local_reg.register({"w": 1}, "thing", flavor="pickle")
    local_reg.trust_own_pickles = False
    with pytest.raises(TrustRequired, match="saved by you, but this registry trusts no pickles"):
        local_reg.load("thing:1")
    assert local_reg.load("thing:1", trust=True) == {"w": 1}
