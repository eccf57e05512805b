"""Importing a real MLflow model registry (sqlite backend, made here with MLflow's own client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbregistry import Registry
from nbregistry.core.errors import Conflict

try:
    import mlflow.pyfunc

    class Halver(mlflow.pyfunc.PythonModel):
        """An MLflow python_model: halves the first column."""

        def predict(self, context, model_input, params=None):
            return (model_input.iloc[:, 0] / 2).to_numpy()
except ImportError:  # the tests below need mlflow; collection must not
    Halver = None


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
        with mlflow.start_run(experiment_id=experiment, tags={"mlflow.user": "carol"}):
            for step, loss in enumerate([0.9, 0.5, 0.3, 0.25, 0.2]):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.pyfunc.log_model(name="model", python_model=Halver(), registered_model_name="custom",
                                    input_example=X.head(2), pip_requirements=["pandas"])
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
    return {"uri": uri, "models": models, "legacy": legacy, "X": X, "client": client}


def test_models_versions_aliases_tags_metrics_keep_their_numbers(local_reg, mlflow_registry):
    X = mlflow_registry["X"]
    report = local_reg.import_mlflow(mlflow_registry["uri"])
    assert sorted(report.refs) == ["churn:1", "churn:3", "custom:1", "legacy:1"]
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


def test_authors_metric_history_and_blob_counts(local_reg, mlflow_registry, capsys):
    from nbregistry.cli import main

    blobs_before = sum(1 for p in (local_reg.root / "objects").rglob("*") if p.is_file())
    report = local_reg.import_mlflow(mlflow_registry["uri"], models=["custom"])
    blobs_after = sum(1 for p in (local_reg.root / "objects").rglob("*") if p.is_file())
    assert report.blobs_added == blobs_after - blobs_before > 0  # the report counts what was stored
    version = local_reg.get("custom:1")
    assert version.author == "carol"  # the run's owner, not "mlflow-import"
    assert version.identity == "imported" and not version.author_counts  # history, never a verified author
    history = version.lineage["mlflow"]["metric_history"]["loss"]
    assert [p[:2] for p in history] == [[0, 0.9], [1, 0.5], [2, 0.3], [3, 0.25], [4, 0.2]]
    assert version.metrics == {"loss": pytest.approx(0.2)}  # the run's last value stays the metric
    assert main(["--root", str(local_reg.root), "show", "custom:1"]) == 0
    assert "loss (5 points, last 0.2 at step 4)" in capsys.readouterr().out


def test_reimport_ignores_mlflows_own_bookkeeping_files(local_reg, mlflow_registry):
    local_reg.import_mlflow(mlflow_registry["uri"], models=["churn"])
    client = mlflow_registry["client"]
    for number in ("1", "3"):  # what MLflow writes into its model folders on its own
        folder = client.get_model_version_download_uri("churn", number).removeprefix("file://")
        (Path(folder) / "registered_model_meta").write_text(f"model_name: churn\nmodel_version: '{number}'\n")
    again = local_reg.import_mlflow(mlflow_registry["uri"], models=["churn"])
    assert not again.changed and again.blobs_added == 0
    assert all(f["path"] != "registered_model_meta" for f in local_reg.get("churn:1").artifact["files"])


def test_pyfunc_and_pickle_versions_serve_and_export_back(local_reg, mlflow_registry, tmp_path, monkeypatch):
    import mlflow.pyfunc
    import requests

    from nbregistry.deploy.serve import serve

    X = mlflow_registry["X"]
    local_reg.import_mlflow(mlflow_registry["uri"], models=["custom", "legacy"])
    custom = local_reg.get("custom:1")
    assert custom.flavor == "mlflow_pyfunc"
    expected = (X.iloc[:, 0] / 2).tolist()
    assert list(local_reg.load("custom:1", trust=True).predict(X)) == expected
    assert local_reg.predict("custom:1", X, trust=True)["predict"].tolist() == expected
    with serve(Registry(local_reg.root, author="server"), "custom", trust=True) as srv:
        r = requests.post(srv.url + "/invocations", json={"dataframe_records": X.head(3).to_dict(orient="records")},
                          timeout=60)
        assert r.status_code == 200 and r.json()["predictions"] == expected[:3]
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    for name, predict in (("custom", lambda m: list(m.predict(X))),
                          ("legacy", lambda m: m.predict(X).tolist())):
        out = tmp_path / f"{name}-back"
        report = local_reg.export(f"{name}:1", out, format="mlflow", trust=True)
        assert "MLmodel" in report.files and "registered_model_meta" not in report.files
        back = mlflow.pyfunc.load_model(str(out))
        want = expected if name == "custom" else mlflow_registry["legacy"].predict(X).tolist()
        assert predict(back) == want


def test_the_versions_own_user_wins_and_a_version_without_any_user_is_mlflow_import(local_reg, mlflow_registry,
                                                                                   tmp_path):
    """Authors: MLflow's ``user_id`` on the model version (set by servers that know who registered it),
    else the run's owner, else ``mlflow-import``; on a copy of the MLflow database, so the shared
    fixture stays as it was."""
    import sqlite3

    from mlflow import MlflowClient

    source = mlflow_registry["uri"].removeprefix("sqlite:///")
    copy = tmp_path / "mlflow-copy.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    uri = f"sqlite:///{copy}"
    client = MlflowClient(uri, uri)
    run_owner = client.get_run(client.get_model_version("churn", "1").run_id).info.user_id
    assert run_owner and run_owner != "dora"
    client.create_registered_model("orphan")  # a version with no run: nobody MLflow could name
    client.create_model_version("orphan", client.get_model_version_download_uri("churn", "1"), run_id=None)
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE model_versions SET user_id = 'dora' WHERE name = 'churn' AND version = 3")
        db.execute("UPDATE model_versions SET user_id = NULL WHERE name = 'orphan'")
    local_reg.import_mlflow(uri, models=["churn", "orphan"])
    assert local_reg.get("churn:3").author == "dora"  # the version's own user
    assert local_reg.get("churn:1").author == run_owner  # the run's owner
    assert local_reg.get("orphan:1").author == "mlflow-import"
    for ref in ("churn:1", "churn:3", "orphan:1"):
        version = local_reg.get(ref)
        assert version.identity == "imported" and not version.author_counts
