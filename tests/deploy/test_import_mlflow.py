"""Importing a real MLflow model registry (sqlite backend, made here with MLflow's own client)."""

from __future__ import annotations

import pytest

from nbregistry import Registry
from nbregistry.core.errors import Conflict


@pytest.fixture(scope="module")
def mlflow_registry(tmp_path_factory, iris):
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    base = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{base / 'mlflow.db'}"
    saved = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        client = MlflowClient(uri, uri)
        experiment = client.create_experiment("churn", artifact_location=str(base / "artifacts"))
        models = {}
        for c in (1.0, 0.1, 0.01):
            with mlflow.start_run(experiment_id=experiment):
                mlflow.log_metric("auc", 0.9 + c / 100)
                mlflow.log_param("C", c)
                model = LogisticRegression(C=c, max_iter=500).fit(X, y)
                mlflow.sklearn.log_model(model, name="model", registered_model_name="churn", input_example=X.head(2),
                                         pip_requirements=["scikit-learn"])  # skips MLflow's slow inference
                models[len(models) + 1] = model
        with mlflow.start_run(experiment_id=experiment):
            legacy = LogisticRegression(max_iter=200).fit(X, y)
            mlflow.sklearn.log_model(legacy, name="model", registered_model_name="legacy",
                                     serialization_format="cloudpickle", pip_requirements=["scikit-learn"])
        client.delete_model_version("churn", "2")  # a gap: churn has versions 1 and 3
        client.set_registered_model_alias("churn", "champion", "3")
        client.set_registered_model_alias("churn", "challenger", "1")
        client.set_model_version_tag("churn", "1", "validated", "yes")
        client.set_registered_model_tag("churn", "team", "growth")
        client.update_registered_model("churn", description="who leaves")
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])
    return {"uri": uri, "models": models, "legacy": legacy, "X": X}


def test_models_versions_aliases_tags_metrics_keep_their_numbers(local_reg, mlflow_registry):
    X = mlflow_registry["X"]
    report = local_reg.import_mlflow(mlflow_registry["uri"])
    assert sorted(report.refs) == ["churn:1", "churn:3", "legacy:1"]
    assert [v.version for v in local_reg.list_versions("churn")] == [3, 1]
    model = local_reg.get_model("churn")
    assert model.description == "who leaves" and model.tags == {"team": "growth"}
    assert model.aliases == {"challenger": 1, "champion": 3}
    v1, v3 = local_reg.get("churn:1"), local_reg.get("churn@champion")
    assert v3.version == 3 and v3.metrics == {"auc": pytest.approx(0.9001)} and v3.params == {"C": "0.01"}
    assert v1.tags == {"validated": "yes"} and v1.metrics == {"auc": pytest.approx(0.91)}
    assert v3.flavor == "sklearn"  # MLflow's skops file, kept as is
    assert v3.signature["columns"][0] == {"name": "sepal length (cm)", "dtype": "float64"}
    assert list(local_reg.input_example("churn:3").columns) == list(X.columns)
    assert "MLmodel" in [f["path"] for f in v3.artifact["files"]]
    assert v3.lineage["mlflow"]["run_id"]
    # the imported models predict what the originals did; the skops one needs no trust
    other = Registry(local_reg.root, author="bob")
    assert other.load("churn:3").predict(X).tolist() == mlflow_registry["models"][3].predict(X).tolist()
    legacy = local_reg.get("legacy:1")
    assert legacy.flavor == "pickle"
    assert other.load("legacy:1", trust=True).predict(X).tolist() == mlflow_registry["legacy"].predict(X).tolist()
    other.close()
    # history and events say where things came from
    assert [(m.alias, m.version, m.reason) for m in local_reg.history("churn")] == [
        ("challenger", 1, "imported from MLflow"), ("champion", 3, "imported from MLflow")]
    assert [e.action for e in local_reg.events(model="churn")] == [
        "model.created", "version.registered", "version.registered", "alias.set", "alias.set"]
    assert local_reg.verify().ok
    # the numbers go on after MLflow's: the next churn version is 4
    from sklearn.linear_model import LogisticRegression

    assert local_reg.register(LogisticRegression(), "churn").version == 4


def test_importing_twice_adds_nothing(local_reg, mlflow_registry):
    from helpers import db_snapshot, objects_snapshot

    local_reg.import_mlflow(mlflow_registry["uri"], models=["churn"])
    assert [m.name for m in local_reg.list_models()] == ["churn"]
    state = db_snapshot(local_reg.root), objects_snapshot(local_reg.root)
    again = local_reg.import_mlflow(mlflow_registry["uri"], models=["churn"])
    assert not again.changed
    assert (db_snapshot(local_reg.root), objects_snapshot(local_reg.root)) == state


def test_a_clashing_version_refuses_the_import(local_reg, mlflow_registry, iris_model):
    local_reg.register(iris_model, "churn")  # a different churn:1
    with pytest.raises(Conflict, match="churn:1 exists"):
        local_reg.import_mlflow(mlflow_registry["uri"])
    assert [v.version for v in local_reg.list_versions("churn")] == [1]
