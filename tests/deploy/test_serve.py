"""The scoring app in this process (uvicorn in a thread, real HTTP on 127.0.0.1): what a swap checks,
the output schema, mounting the app inside a user's own ASGI app, and batch scoring."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import requests

from nbregistry import Registry
from nbregistry.core.errors import ValidationError
from nbregistry.deploy.serve import create_app, serve
from nbregistry.deploy.serving.runner import ThreadedServer


class Exploding:
    """Pickles fine, fails to load: a broken version."""

    def __reduce__(self):
        return (_explode, ("this model cannot be loaded",))


def _explode(message):
    raise RuntimeError(message)


class Drifting:
    """Answers integers on its input example, text for large inputs: outside its recorded output schema."""

    def predict(self, X):
        return np.array(["big"] * len(X)) if X["x"].max() > 100 else np.zeros(len(X), dtype="int64")


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


@pytest.fixture
def churn(local_reg, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    m1 = LogisticRegression(max_iter=500).fit(X, y)
    local_reg.register(m1, "churn", input_example=X.head(3))
    local_reg.set_alias("churn:1", "production")
    return {1: m1, "X": X}


def records(X):
    return {"dataframe_records": X.to_dict(orient="records")}


def test_a_trusted_but_unloadable_version_is_reported_and_not_swapped(local_reg, churn):
    local_reg.register(Exploding(), "churn", flavor="pickle")
    with serve(Registry(local_reg.root, author="server"), "churn@production", poll=0.05, trust=True) as srv:
        local_reg.set_alias("churn:2", "production")
        assert wait_for(lambda: srv.last_error is not None)
        assert "this model cannot be loaded" in srv.last_error["error"]
        assert srv.live.version == 1
        assert requests.get(srv.url + "/ping", timeout=10).status_code == 503
        r = requests.post(srv.url + "/invocations", json=records(churn["X"].head(1)), timeout=30)
        assert r.status_code == 200 and r.headers["X-Nbregistry-Version"] == "churn:1"


def test_a_version_that_fails_its_example_is_not_swapped_in(local_reg, churn, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    narrow = LogisticRegression(max_iter=500).fit(X.iloc[:, :2].values, y)  # expects 2 features
    local_reg.register(narrow, "churn", input_example=X.head(3))  # but its example has 4 columns
    with serve(Registry(local_reg.root, author="server"), "churn@production", poll=0.05) as srv:
        local_reg.set_alias("churn:2", "production")
        assert wait_for(lambda: srv.last_error is not None)
        assert srv.last_error["version"] == 2 and srv.live.version == 1


def test_the_output_schema_is_recorded_and_checked(local_reg):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    version = local_reg.register(Drifting(), "drift", flavor="pickle", input_example=frame)
    assert version.signature["outputs"] == {"type": "tensor", "shape": [-1], "dtype": "int64"}
    with serve(Registry(local_reg.root, author="alice"), "drift") as srv:  # the author trusts their own pickle
        ok = requests.post(srv.url + "/invocations", json=records(frame), timeout=30)
        assert ok.status_code == 200 and ok.json() == {"predictions": [0, 0]}
        bad = requests.post(srv.url + "/invocations", json=records(pd.DataFrame({"x": [500.0]})), timeout=30)
        assert bad.status_code == 500 and bad.json()["error_code"] == "INTERNAL_ERROR"
        assert "outside its recorded output schema" in bad.json()["message"]
    with pytest.raises(Exception, match="expected int64 outputs"):
        local_reg.predict("drift", pd.DataFrame({"x": [500.0]}))


def test_mounted_in_a_users_own_asgi_app(local_reg, churn):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    scoring = create_app(Registry(local_reg.root, author="server"), "churn@production", poll=0.05)

    async def hello(request):
        return PlainTextResponse("hello")

    host_app = Starlette(routes=[Route("/hello", hello), Mount("/models/churn", app=scoring)])
    srv = ThreadedServer(host_app).start()
    try:
        assert requests.get(srv.url + "/hello", timeout=10).text == "hello"
        # the host runs no sub-app lifespan: the model loads on the first request
        r = requests.post(srv.url + "/models/churn/invocations", json=records(churn["X"].head(2)), timeout=60)
        assert r.status_code == 200 and r.json()["predictions"] == churn[1].predict(churn["X"].head(2)).tolist()
        assert requests.get(srv.url + "/models/churn/ping", timeout=10).status_code == 200
        assert requests.get(srv.url + "/models/churn/v2/models/churn", timeout=10).json()["name"] == "churn"
    finally:
        srv.stop()
        scoring.state.service.stop()


def test_registry_predict_scores_in_chunks_with_the_servers_checks(local_reg, churn):
    X = churn["X"]
    seen = []
    out = local_reg.predict("churn@production", X, chunk_size=40, progress=seen.append)
    assert seen == [40, 40, 40, 30]
    assert out["predict"].tolist() == churn[1].predict(X).tolist()
    assert out.attrs["nbregistry"]["ref"] == "churn:1" and out.attrs["nbregistry"]["requested"] == "churn@production"
    proba = local_reg.predict("churn:1", X.head(5), method="predict_proba")
    assert list(proba.columns) == ["predict_proba_0", "predict_proba_1", "predict_proba_2"]
    with pytest.raises(ValidationError, match="matched by name"):
        local_reg.predict("churn", X.to_numpy())
    with pytest.raises(ValidationError, match="missing column"):
        local_reg.predict("churn", X.iloc[:, :2])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_cli_predict_writes_the_version_into_the_parquet_metadata(local_reg, churn, tmp_path, suffix, capsys):
    from nbregistry.cli import main
    from nbregistry.core.batch import version_of

    X = churn["X"]
    source = tmp_path / f"input{suffix}"
    if suffix == ".csv":
        X.to_csv(source, index=False)
    elif suffix == ".parquet":
        X.to_parquet(source)
    else:
        X.to_json(source, orient="records", lines=True)
    dest = tmp_path / "out.parquet"
    code = main(["--root", str(local_reg.root), "predict", "churn@production", str(source), "-o", str(dest),
                 "--chunk-size", "50"])
    assert code == 0 and "scored 150 rows" in capsys.readouterr().out
    assert pd.read_parquet(dest)["predict"].tolist() == churn[1].predict(X).tolist()
    meta = version_of(dest)
    assert meta["ref"] == "churn:1" and meta["version"] == 1 and meta["rows"] == 150
    code = main(["--root", str(local_reg.root), "predict", "churn", str(source), "-o", str(tmp_path / "o.csv")])
    assert code == 2 and "must be a .parquet" in capsys.readouterr().err


def test_predict_works_on_every_registry_kind(reg, iris, iris_model):
    """Local and remote registries score the same way (the remote one loads the version here)."""
    X, _ = iris
    reg.register(iris_model, "churn", input_example=X.head(3))
    out = reg.predict("churn", X, chunk_size=100)
    assert out["predict"].tolist() == iris_model.predict(X).tolist() and out.attrs["nbregistry"]["version"] == 1
