"""XGBoost, LightGBM, PyTorch, ONNX and Keras: register a tiny model, load it back, predict the same;
serve one over HTTP; and none of them is imported by `import nbregistry` or by flavor detection."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import requests

from nbregistry import Registry
from nbregistry.core.flavors import all_flavors, detect_flavor


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return X, y


def roundtrip(reg, obj, name, example, trusted_classes=None, **kwargs):
    version = reg.register(obj, name, input_example=example, **kwargs)
    # no trust needed: none of these formats pickles (a torch module class is on the reader's allow-list)
    other = Registry(reg.root, author="someone-else", trusted_classes=trusted_classes)
    try:
        return version, other.load(version.ref)
    finally:
        other.close()


def test_xgboost_sklearn_api_and_booster(local_reg, data):
    import xgboost as xgb

    X, y = data
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    version, loaded = roundtrip(local_reg, clf, "xgb", X[:3])
    assert version.flavor == "xgboost" and [f["path"] for f in version.artifact["files"]] == ["model.ubj"]
    assert type(loaded) is xgb.XGBClassifier
    assert loaded.predict(X).tolist() == clf.predict(X).tolist()
    assert np.allclose(loaded.predict_proba(X), clf.predict_proba(X))
    booster = clf.get_booster()
    _, loaded_booster = roundtrip(local_reg, booster, "xgb-booster", X[:3])
    assert np.allclose(loaded_booster.predict(xgb.DMatrix(X)), booster.predict(xgb.DMatrix(X)))


def test_lightgbm_sklearn_api_with_string_classes_and_booster(local_reg, data):
    import lightgbm as lgb

    X, y = data
    labels = np.array(["stay", "leave"])[y]
    clf = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, min_child_samples=5, verbose=-1).fit(X, labels)
    version, loaded = roundtrip(local_reg, clf, "lgbm", X[:3])
    assert version.flavor == "lightgbm"
    assert type(loaded) is lgb.LGBMClassifier
    assert loaded.predict(X).tolist() == clf.predict(X).tolist()
    assert np.allclose(loaded.predict_proba(X), clf.predict_proba(X))
    reg_model = lgb.LGBMRegressor(n_estimators=5, num_leaves=4, min_child_samples=5, verbose=-1).fit(X, X[:, 0])
    _, loaded = roundtrip(local_reg, reg_model, "lgbm-reg", X[:3])
    assert np.allclose(loaded.predict(X), reg_model.predict(X))
    _, booster = roundtrip(local_reg, clf.booster_, "lgbm-booster", X[:3])
    assert np.allclose(booster.predict(X), clf.booster_.predict(X))


def test_torch_state_dict_via_safetensors_and_torchscript(local_reg, data):
    import torch

    from nbregistry_test_modules import TinyNet

    X, _ = data
    torch.manual_seed(0)
    net = TinyNet(hidden=5).eval()
    version, loaded = roundtrip(local_reg, net, "net", X[:3].astype("float32"),
                                trusted_classes=["nbregistry_test_modules:TinyNet"])
    assert version.flavor == "torch"
    assert [f["path"] for f in version.artifact["files"]] == ["model.safetensors"]
    assert type(loaded) is TinyNet and loaded.hidden == 5
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    scripted = torch.jit.script(net)
    version, loaded = roundtrip(local_reg, scripted, "net-script", X[:3].astype("float32"))
    assert [f["path"] for f in version.artifact["files"]] == ["model.pt"]
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_torch_module_defined_in_a_notebook_is_scripted(local_reg, data):
    import torch

    X, _ = data

    class Local(torch.nn.Module):  # like a class typed in a notebook: not importable later
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(x) * 2

    torch.manual_seed(1)
    net = Local().eval()
    version, loaded = roundtrip(local_reg, net, "local-net", X[:3].astype("float32"))
    assert [f["path"] for f in version.artifact["files"]] == ["model.pt"]
    x = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


def test_onnx_from_skl2onnx(local_reg, data):
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = data
    sk = LogisticRegression().fit(X, y)
    proto = to_onnx(sk, X[:1].astype(np.float32), options={"zipmap": False})
    version, session = roundtrip(local_reg, proto, "onnx", X[:3].astype(np.float32))
    assert version.flavor == "onnx"
    flavor = all_flavors()["onnx"]
    assert flavor.predict(session, X, "predict").tolist() == sk.predict(X).tolist()
    assert np.allclose(flavor.predict(session, X, "predict_proba"), sk.predict_proba(X), atol=1e-5)


def test_keras_with_the_torch_backend(local_reg, data, tmp_path):
    """In a fresh interpreter (the backend is chosen at import): register, then load in another one."""
    X, _ = data
    np.save(tmp_path / "X.npy", X.astype("float32"))
    script = f"""
import os, sys, json
os.environ["KERAS_BACKEND"] = "torch"
import numpy as np, keras
from nbregistry import Registry
X = np.load({str(tmp_path / 'X.npy')!r})
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
reg = Registry({str(local_reg.root)!r}, author="alice")
v = reg.register(model, "keras-net", input_example=X[:3])
print(json.dumps({{"flavor": v.flavor, "pred": model.predict(X, verbose=0).tolist()}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    import json

    first = json.loads(out.stdout.strip().splitlines()[-1])
    assert first["flavor"] == "keras"
    load = f"""
import json, numpy as np, sys
from nbregistry import Registry
reg = Registry({str(local_reg.root)!r}, author="someone-else")
model = reg.load("keras-net:1")
import keras
print(json.dumps({{"backend": keras.backend.backend(),
                  "pred": model.predict(np.load({str(tmp_path / 'X.npy')!r}), verbose=0).tolist()}}))
"""
    out = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    second = json.loads(out.stdout.strip().splitlines()[-1])
    assert second["backend"] == "torch"  # chosen from the version's metadata, not TensorFlow's default
    assert np.allclose(second["pred"], first["pred"], atol=1e-6)


def test_a_served_xgboost_model(local_reg, data):
    import xgboost as xgb

    from nbregistry.deploy.serve import serve

    X, y = data
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    local_reg.register(clf, "xgb", input_example=X[:3])
    with serve(Registry(local_reg.root, author="server"), "xgb", port=0) as srv:
        r = requests.post(srv.url + "/invocations", json={"inputs": X[:6].tolist()}, timeout=30)
        assert r.json()["predictions"] == clf.predict(X[:6]).tolist()
        r = requests.post(srv.url + "/invocations?method=predict_proba", json={"inputs": X[:6].tolist()}, timeout=30)
        assert np.allclose(r.json()["predictions"], clf.predict_proba(X[:6]))
        r = requests.post(srv.url + "/invocations", json={"inputs": X[:2, :3].tolist()}, timeout=30)
        assert r.status_code == 400 and "[-1, 4]" in r.json()["message"]


def test_a_served_torch_model(local_reg, data):
    import torch

    from nbregistry.deploy.serve import serve
    from nbregistry_test_modules import TinyNet

    X, _ = data
    torch.manual_seed(0)
    net = TinyNet(hidden=3).eval()
    local_reg.register(net, "net", input_example=X[:3].astype("float32"))
    server_reg = Registry(local_reg.root, author="server", trusted_classes=["nbregistry_test_modules:TinyNet"])
    with serve(server_reg, "net", port=0) as srv:
        r = requests.post(srv.url + "/invocations", json={"instances": X[:4].tolist()}, timeout=30)
        with torch.no_grad():
            expected = net(torch.as_tensor(X[:4], dtype=torch.float32)).numpy()
        assert np.allclose(r.json()["predictions"], expected, atol=1e-6)


def test_heavy_packages_stay_unimported():
    """Neither `import nbregistry` nor detecting the flavor of a plain object imports them."""
    code = """
import sys
import nbregistry
from nbregistry.core.flavors import detect_flavor
reg_cls = nbregistry.Registry
print(detect_flavor([1, 2, 3]).name)
heavy = ["xgboost", "lightgbm", "torch", "onnx", "onnxruntime", "keras", "mlflow", "safetensors", "requests"]
print(",".join(m for m in heavy if m in sys.modules) or "none")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["pickle", "none"]


def test_detection_picks_the_native_flavor(data):
    import lightgbm as lgb
    import xgboost as xgb

    X, y = data
    assert detect_flavor(xgb.XGBRegressor(n_estimators=2).fit(X, y)).name == "xgboost"
    assert detect_flavor(lgb.LGBMRegressor(n_estimators=2, verbose=-1).fit(X, y)).name == "lightgbm"
    assert {"xgboost", "lightgbm", "torch", "onnx", "keras"} <= set(all_flavors())
