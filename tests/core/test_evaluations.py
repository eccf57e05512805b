"""Evaluations on named, fingerprinted data; comparisons that rank only numbers computed on the same
data; gates that name a dataset."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from nbregistry.core.errors import PolicyRefused, ValidationError
from nbregistry.core.evaluations import dataset_fingerprint


@pytest.fixture(scope="module")
def two_models(iris):
    X, y = iris
    weak = LogisticRegression(max_iter=5, C=0.001).fit(X, y)
    strong = LogisticRegression(max_iter=500).fit(X, y)
    return weak, strong


def test_compare_refuses_a_best_until_one_dataset_scores_every_version(reg, iris, two_models):
    X, y = iris
    weak, strong = two_models
    reg.register(weak, "churn")
    reg.register(strong, "churn")
    # each version scored on a different holdout, under the same name
    reg.log_metrics("churn:1", {"acc": 0.99}, dataset="holdout", data=(X[:50], y[:50]))
    reg.log_metrics("churn:2", {"acc": 0.70}, dataset="holdout", data=(X[50:], y[50:]))
    c = reg.compare("churn")
    assert c.metrics["acc@holdout"]["best"] == [] and c.metrics["acc@holdout"]["comparable"] is False
    assert "acc@holdout" not in c.best
    assert c.shared == []
    assert any("different data" in n for n in c.notes)
    assert any("reg.evaluate(" in n for n in c.notes)  # offers the way to a shared evaluation
    results = reg.evaluate("churn", data=(X, y), metrics={"acc": accuracy_score}, name="full")
    assert [e.ref for e in results] == ["churn:2", "churn:1"]
    assert results[0].metrics["acc"] == pytest.approx(accuracy_score(y, strong.predict(X)))
    c = reg.compare(["churn:1", "churn:2"])
    assert c.shared == ["full"]
    assert c.best["acc@full"] == "churn:2"  # the strong model, measured on the same data
    assert "acc@holdout" not in c.best  # still not comparable
    assert any("shared evaluation" in n and "full" in n for n in c.notes)
    assert c.datasets["full"]["fingerprints"][0] == dataset_fingerprint((X, y))[0]


def test_evaluations_record_data_author_and_code_and_leave_registration_metrics_alone(reg, iris, two_models,
                                                                                       as_user):
    X, y = iris
    reg.register(two_models[1], "churn", metrics={"acc": 0.5})
    with as_user(reg, "bob"):
        [e] = reg.evaluate("churn:1", data=(X, y), name="holdout-2026-12",
                           metrics={"acc": accuracy_score,
                                    "f1": (lambda t, p: f1_score(t, p, average="macro"), "predict")})
    assert e.author == "bob" and e.dataset == "holdout-2026-12"
    assert e.fingerprint == dataset_fingerprint((X, y))[0]
    assert reg.get("churn:1").metrics == {"acc": 0.5}  # registration metrics are immutable
    [stored] = reg.evaluations("churn:1")
    assert stored.metrics == e.metrics and stored.author == "bob"
    assert "accuracy_score" in stored.code["metrics"]["acc"]["function"]
    if stored.source == "evaluate":  # computed by the registry itself (remote: computed by the client)
        assert stored.data["X"]["shape"] == [150, 4]
    assert reg.evaluations("churn", dataset="other") == []
    assert [a for a in reg.activity("churn") if a.action == "evaluation.added"][0].actor == "bob"


def test_log_metrics_validates(reg, iris_model):
    reg.register(iris_model, "m")
    with pytest.raises(ValidationError, match="dataset name"):
        reg.log_metrics("m:1", {"auc": 0.8}, dataset="has space")
    with pytest.raises(ValidationError, match="finite"):
        reg.log_metrics("m:1", {"auc": float("nan")}, dataset="h")
    with pytest.raises(ValidationError, match="fingerprint"):
        reg.log_metrics("m:1", {"auc": 0.8}, dataset="h", fingerprint="abc")
    e = reg.log_metrics("m:1", {"auc": 0.8}, dataset="h", fingerprint="a" * 64)
    assert (e.source, e.fingerprint) == ("logged", "a" * 64)


def test_evaluate_rejects_bad_input(reg, iris, iris_model):
    X, y = iris
    reg.register(iris_model, "m")
    with pytest.raises(ValidationError, match=r"\(X, y\)"):
        reg.evaluate("m", data=X, metrics={"acc": accuracy_score})
    with pytest.raises(ValidationError, match="function"):
        reg.evaluate("m", data=(X, y), metrics={"acc": 0.3})
    with pytest.raises(ValidationError, match="not a number"):
        reg.evaluate("m", data=(X, y), metrics={"acc": lambda t, p: "high"})
    assert reg.evaluations("m") == []  # nothing half-stored


def test_gate_requires_an_evaluation_on_a_named_dataset(reg, iris, two_models):
    X, y = iris
    weak, strong = two_models
    reg.register(strong, "churn")
    reg.register(weak, "churn")
    reg.register(strong, "churn")
    reg.set_policy("churn", "production", {"gates": ["metrics.acc@holdout >= current.metrics.acc@holdout - 0.01"]})
    reg.evaluate("churn:1", data=(X, y), metrics={"acc": accuracy_score}, name="holdout")
    reg.promote("churn:1", "production")
    with pytest.raises(PolicyRefused, match="no evaluation on 'holdout'"):
        reg.promote("churn:2", "production")
    reg.log_metrics("churn:2", {"acc": 0.99}, dataset="holdout", data=(X[:10], y[:10]))
    with pytest.raises(PolicyRefused, match="different data"):  # scored, but not on the same data
        reg.promote("churn:2", "production")
    reg.evaluate("churn:2", data=(X, y), metrics={"acc": accuracy_score}, name="holdout")
    with pytest.raises(PolicyRefused, match=r"metrics.acc@holdout = [0-9.]+ < current"):
        reg.promote("churn:2", "production")  # the weak model, on the same data, is worse
    reg.evaluate("churn:3", data=(X, y), metrics={"acc": accuracy_score}, name="holdout")
    assert reg.promote("churn:3", "production").version == 3


def test_gate_parser_reads_dataset_names():
    from nbregistry.core.policy import MetricCondition

    c = MetricCondition("metrics.auc@holdout-2026-12 >= current.metrics.auc@holdout-2026-12 - 0.01")
    assert c.refs == [("current", "auc", "holdout-2026-12"), ("version", "auc", "holdout-2026-12")]
    assert MetricCondition('metrics."val auc"@"my set" > 0.5').refs == [("version", "val auc", "my set")]
    assert MetricCondition("metrics.auc > 0.5").refs == [("version", "auc", None)]
    with pytest.raises(ValidationError, match="empty dataset"):
        MetricCondition("metrics.auc@'' > 0.5")
