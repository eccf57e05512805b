"""MLflow model directories loaded by MLflow itself, and Docker build contexts (contents only: no
Docker here)."""

from __future__ import annotations

import json
import tarfile

import numpy as np
import pytest
import yaml

from nbregistry import Registry
from nbregistry.core.errors import TrustRequired, ValidationError


@pytest.fixture
def allow_mlflow_pickles(monkeypatch):
    # MLflow refuses to deserialize any sklearn model unless told the source is trusted.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.mark.parametrize("serialization", ["cloudpickle", "skops"])
def test_mlflow_loads_the_export_and_predicts_the_same(local_reg, iris, iris_model, tmp_path, serialization,
                                                       allow_mlflow_pickles):
    import mlflow.pyfunc
    import mlflow.sklearn

    X, _ = iris
    local_reg.register(iris_model, "churn", input_example=X.head(3), metrics={"auc": 0.97})
    out = tmp_path / "mlflow-model"
    report = local_reg.export("churn:1", out, format="mlflow", serialization=serialization)
    assert {"MLmodel", "requirements.txt", "python_env.yaml", "conda.yaml", "input_example.json",
            "serving_input_example.json"} <= set(report.files)
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == serialization
    assert json.loads(mlmodel["signature"]["inputs"])[0] == {"type": "double", "name": "sepal length (cm)",
                                                             "required": True}
    assert mlmodel["metadata"]["nbregistry"]["ref"] == "churn:1"
    assert any(r.startswith("scikit-learn==") for r in (out / "requirements.txt").read_text().split())

    pyfunc = mlflow.pyfunc.load_model(str(out))
    assert pyfunc.predict(X).tolist() == iris_model.predict(X).tolist()
    assert mlflow.sklearn.load_model(str(out)).predict_proba(X).tolist() == iris_model.predict_proba(X).tolist()
    # MLflow reads back the signature and the input example we wrote
    assert pyfunc.metadata.get_input_schema().input_names() == list(X.columns)
    example = pyfunc.metadata.load_input_example(str(out))
    assert list(example.columns) == list(X.columns) and len(example) == 3


def test_mlflow_export_rules(local_reg, iris, iris_model, tmp_path, allow_mlflow_pickles):
    import mlflow.pyfunc

    X, y = iris
    local_reg.register(iris_model, "churn")
    with pytest.raises(ValidationError, match="one version"):
        local_reg.export(None, tmp_path / "x", format="mlflow")
    with pytest.raises(ValidationError, match="unknown export format"):
        local_reg.export("churn:1", tmp_path / "x", format="onnx-zip")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "f").write_text("x")
    with pytest.raises(ValidationError, match="not empty"):
        local_reg.export("churn:1", tmp_path / "busy", format="mlflow")
    local_reg.register(tmp_path / "busy" / "f", "notes")
    with pytest.raises(ValidationError, match="file model"):
        local_reg.export("notes:1", tmp_path / "n", format="mlflow")
    # re-serializing a pickle someone else wrote needs trust
    local_reg.register(iris_model, "legacy", flavor="pickle")
    bob = Registry(local_reg.root, author="bob")
    with pytest.raises(TrustRequired):
        bob.export("legacy:1", tmp_path / "l1", format="mlflow")
    assert not (tmp_path / "l1").exists()
    bob.export("legacy:1", tmp_path / "l2", format="mlflow", trust=True)  # a pickled sklearn estimator
    assert mlflow.pyfunc.load_model(str(tmp_path / "l2")).predict(X).tolist() == iris_model.predict(X).tolist()
    with pytest.raises(ValidationError, match="stored as cloudpickle, not skops"):
        bob.export("legacy:1", tmp_path / "l3", format="mlflow", trust=True, serialization="skops")
    bob.close()


def test_docker_context_contents(local_reg, iris, iris_model, tmp_path):
    X, _ = iris
    local_reg.register(iris_model, "churn", input_example=X.head(2))
    local_reg.register(iris_model, "churn", description="same model again")
    local_reg.set_alias("churn:2", "production")
    ctx = tmp_path / "ctx"
    report = local_reg.export("churn@production", ctx, format="docker", port=9000)
    assert set(report.files) >= {"Dockerfile", "requirements.txt", "serve.sh", "model.nbregistry.tar",
                                 "wheels/README.txt", ".dockerignore"}
    dockerfile = (ctx / "Dockerfile").read_text()
    lines = [line for line in dockerfile.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("FROM python:3.")
    assert "RUN pip install --find-links /srv/wheels -r requirements.txt" in lines
    assert "RUN nbregistry import model.nbregistry.tar && nbregistry verify && rm model.nbregistry.tar" in lines
    assert "EXPOSE 9000" in lines and lines[-1] == 'CMD ["./serve.sh"]'
    assert any(line.startswith("USER ") for line in lines)  # does not serve as root
    serve_sh = (ctx / "serve.sh").read_text()
    assert 'exec nbregistry serve churn:2 --host 0.0.0.0 --port "${PORT:-9000}"' in serve_sh
    assert "--trust" not in serve_sh  # skops without untrusted types loads without trust
    assert (ctx / "serve.sh").stat().st_mode & 0o111
    reqs = (ctx / "requirements.txt").read_text().split()
    from nbregistry import __version__

    assert f"nbregistry[serve]=={__version__}" in reqs  # the scoring server needs starlette and uvicorn
    assert any(r.startswith("scikit-learn==") for r in reqs) and any(r.startswith("skops==") for r in reqs)
    with tarfile.open(ctx / "model.nbregistry.tar") as tar:
        manifest = json.load(tar.extractfile("nbregistry-bundle.json"))
    assert manifest["refs"] == ["churn:2"] and manifest["scope"]["kind"] == "version"

    # what the image's build steps do, done here: import the bundle, verify, serve the pinned ref
    image_registry = Registry(tmp_path / "image-registry", author="nbregistry-serve")
    image_registry.import_bundle(ctx / "model.nbregistry.tar")
    assert image_registry.verify().ok
    from nbregistry.deploy.serve import serve

    import requests

    with serve(image_registry, "churn:2", port=0) as srv:
        r = requests.post(srv.url + "/invocations", json={"dataframe_split": X.head(4).to_dict(orient="split")},
                          timeout=30)
        assert r.json()["predictions"] == iris_model.predict(X.head(4)).tolist()


def test_docker_context_for_a_pickle_needs_trust_flag(local_reg, iris_model, tmp_path):
    local_reg.register(iris_model, "legacy", flavor="pickle")
    local_reg.export("legacy", tmp_path / "ctx", format="docker")
    assert "--trust" in (tmp_path / "ctx" / "serve.sh").read_text()
    assert "cloudpickle==" in (tmp_path / "ctx" / "requirements.txt").read_text()
    with pytest.raises(ValidationError, match="not empty"):
        local_reg.export("legacy", tmp_path / "ctx", format="docker")


def test_docker_context_for_a_class_the_load_imports_needs_trust_flag(local_reg, tmp_path):
    """A custom model (or torch module) names a class to import: the container has no allow-list."""
    import json as _json

    from custom_models import ThresholdScorer

    weights = tmp_path / "weights.json"
    weights.write_text(_json.dumps([1.0, -1.0]))
    local_reg.register(ThresholdScorer(threshold=0.5, weights_path=str(weights)), "scorer")
    local_reg.export("scorer", tmp_path / "ctx", format="docker")
    assert "--trust" in (tmp_path / "ctx" / "serve.sh").read_text()


def test_predictions_match_between_registry_and_mlflow_for_proba(local_reg, iris, iris_model, tmp_path,
                                                                   allow_mlflow_pickles):
    import mlflow.sklearn

    X, _ = iris
    local_reg.register(iris_model, "churn")
    local_reg.export("churn", tmp_path / "m", format="mlflow")
    assert np.allclose(mlflow.sklearn.load_model(str(tmp_path / "m")).predict_proba(X),
                       local_reg.load("churn").predict_proba(X))


def test_xgboost_and_lightgbm_exports_load_in_mlflow(local_reg, tmp_path, allow_mlflow_pickles):
    import lightgbm as lgb
    import mlflow.pyfunc
    import xgboost as xgb

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    models = {"xgb": xgb.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y),
              "lgbm": lgb.LGBMClassifier(n_estimators=4, num_leaves=4, min_child_samples=5, verbose=-1).fit(X, y)}
    models["lgbm-booster"] = models["lgbm"].booster_
    for name, model in models.items():
        local_reg.register(model, name, input_example=X[:2])
        out = tmp_path / name
        local_reg.export(name, out, format="mlflow")
        mlmodel = yaml.safe_load((out / "MLmodel").read_text())
        library = "xgboost" if name == "xgb" else "lightgbm"
        assert mlmodel["flavors"]["python_function"]["loader_module"] == f"mlflow.{library}"
        assert json.loads(mlmodel["signature"]["inputs"]) == [
            {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]
        loaded = mlflow.pyfunc.load_model(str(out))
        assert np.allclose(np.asarray(loaded.predict(X)), np.asarray(model.predict(X))), name
