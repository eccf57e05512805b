"""`export --format mlflow` for torch, onnx, keras and pickle/custom objects, each loaded by MLflow's own
loaders (mlflow.pyfunc and the flavor's module) with identical predictions, and the signature (inputs
and the recorded outputs) and input example in MLflow's format."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml


@pytest.fixture
def allow_mlflow_pickles(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, 4)).astype("float32")


class Doubler:
    """A custom object (pickle flavor): doubles the first column."""

    def predict(self, frame):
        return (frame["a"] * 2).to_numpy()


def read_mlmodel(path):
    return yaml.safe_load((path / "MLmodel").read_text())


def test_torch_export_loads_in_mlflow(local_reg, X, tmp_path, allow_mlflow_pickles):
    import mlflow.pyfunc
    import mlflow.pytorch
    import torch

    from nbregistry_test_modules import TinyNet

    torch.manual_seed(0)
    net = TinyNet(hidden=3).eval()
    local_reg.register(net, "net", input_example=X[:3])
    out = tmp_path / "torch-mlflow"
    local_reg.export("net:1", out, format="mlflow", trust=True)
    with torch.no_grad():
        expected = net(torch.as_tensor(X)).numpy()
    mlmodel = read_mlmodel(out)
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pytorch"
    assert json.loads(mlmodel["signature"]["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]
    assert json.loads(mlmodel["signature"]["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]
    assert np.allclose(mlflow.pyfunc.load_model(str(out)).predict(X), expected, atol=1e-6)
    module = mlflow.pytorch.load_model(str(out))
    with torch.no_grad():
        assert np.allclose(module(torch.as_tensor(X)).numpy(), expected, atol=1e-6)
    example = mlflow.pyfunc.load_model(str(out)).metadata.load_input_example(str(out))
    assert np.allclose(np.asarray(example), X[:3])


def test_onnx_export_loads_in_mlflow(local_reg, X, tmp_path):
    import mlflow.onnx
    import mlflow.pyfunc
    import onnxruntime
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    y = (X[:, 0] > 0).astype(int)
    proto = to_onnx(LogisticRegression().fit(X, y), X[:1], options={"zipmap": False})
    local_reg.register(proto, "lr-onnx", input_example=X[:3])
    out = tmp_path / "onnx-mlflow"
    local_reg.export("lr-onnx:1", out, format="mlflow")
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: X})[0]
    assert read_mlmodel(out)["flavors"]["python_function"]["loader_module"] == "mlflow.onnx"
    answer = mlflow.pyfunc.load_model(str(out)).predict(X)
    labels = answer[next(iter(answer))] if isinstance(answer, dict) else answer.iloc[:, 0]
    assert np.asarray(labels).tolist() == expected.tolist()
    assert mlflow.onnx.load_model(str(out)).graph.input[0].name == session.get_inputs()[0].name


def test_pickle_objects_export_as_a_pyfunc(local_reg, tmp_path, allow_mlflow_pickles):
    import mlflow.pyfunc

    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 0.0, 0.0]})
    local_reg.register(Doubler(), "doubler", flavor="pickle", input_example=frame)
    out = tmp_path / "pyfunc-mlflow"
    local_reg.export("doubler:1", out, format="mlflow")
    mlmodel = read_mlmodel(out)
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.model"
    assert json.loads(mlmodel["signature"]["inputs"]) == [{"type": "double", "name": "a", "required": True},
                                                          {"type": "double", "name": "b", "required": True}]
    assert json.loads(mlmodel["signature"]["outputs"]) == [{"type": "double", "required": True}]
    # loads in a fresh interpreter that has the object's own class (this module) but not nbregistry's
    # source: the wrapper travels by value
    script = f"""
import json, os, sys
import mlflow.pyfunc, pandas as pd
m = mlflow.pyfunc.load_model({str(out)!r})
print(json.dumps(list(m.predict(pd.DataFrame({{"a": [4.0, 5.0], "b": [1.0, 1.0]}})))))
"""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__), MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [8.0, 10.0]


def test_keras_export_loads_in_mlflow(local_reg, X, tmp_path):
    """In a fresh interpreter (Keras picks its backend at import)."""
    np.save(tmp_path / "X.npy", X)
    script = f"""
import os, json
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
from nbregistry import Registry
X = np.load({str(tmp_path / 'X.npy')!r})
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
reg = Registry({str(local_reg.root)!r}, author="alice")
reg.register(model, "keras-net", input_example=X[:3])
reg.export("keras-net:1", {str(tmp_path / 'keras-mlflow')!r}, format="mlflow")
import mlflow.pyfunc, mlflow.keras
print(json.dumps({{"expected": model.predict(X, verbose=0).tolist(),
                  "pyfunc": np.asarray(mlflow.pyfunc.load_model({str(tmp_path / 'keras-mlflow')!r}).predict(X)).tolist(),
                  "keras": mlflow.keras.load_model({str(tmp_path / 'keras-mlflow')!r}).predict(X, verbose=0).tolist()}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert np.allclose(answer["pyfunc"], answer["expected"], atol=1e-6)
    assert np.allclose(answer["keras"], answer["expected"], atol=1e-6)
    assert read_mlmodel(tmp_path / "keras-mlflow")["flavors"]["keras"]["data"] == "data"


def test_a_custom_model_exports_as_a_pyfunc_with_its_artifacts(tmp_path, allow_mlflow_pickles):
    """A ``CustomModel`` subclass: its artifact files become MLflow pyfunc artifacts, handed to its
    ``load_artifacts`` by MLflow's loader, so the export works with the registry gone."""
    import shutil

    import mlflow.pyfunc

    from custom_models import ThresholdScorer
    from nbregistry import Registry

    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps([1.0, -1.0]))
    frame = pd.DataFrame({"a": [2.0, 0.0, 1.0], "b": [0.0, 2.0, 0.2]})
    reg = Registry(tmp_path / "registry", author="alice")
    try:
        version = reg.register(ThresholdScorer(threshold=0.5, weights_path=str(weights)), "scorer",
                               input_example=frame)
        assert version.flavor == "custom"
        expected = reg.load(version.ref).predict(frame)
        out = tmp_path / "custom-mlflow"
        reg.export(version.ref, out, format="mlflow")
    finally:
        reg.close()
    shutil.rmtree(tmp_path / "registry")
    weights.unlink()  # nothing may point back at the registry or the original file
    mlmodel = read_mlmodel(out)
    pyfunc_conf = mlmodel["flavors"]["python_function"]
    assert pyfunc_conf["loader_module"] == "mlflow.pyfunc.model"
    assert pyfunc_conf["artifacts"] == {"weights.json": {"path": "artifacts/weights.json",
                                                         "uri": "artifacts/weights.json"}}
    assert json.loads((out / "artifacts" / "weights.json").read_text()) == [1.0, -1.0]
    assert json.loads(mlmodel["signature"]["inputs"]) == [{"type": "double", "name": "a", "required": True},
                                                          {"type": "double", "name": "b", "required": True}]
    assert any(line.startswith("nbregistry==") for line in (out / "requirements.txt").read_text().splitlines())
    loaded = mlflow.pyfunc.load_model(str(out))
    assert list(loaded.predict(frame)) == expected == [1, 0, 1]
    inner = loaded.unwrap_python_model().inner
    assert inner.artifacts["weights.json"].startswith(str(out))  # read from the MLflow directory
