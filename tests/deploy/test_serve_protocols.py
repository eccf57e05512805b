"""`nbregistry serve` with 2 uvicorn workers on 127.0.0.1: MLflow's /invocations (every payload shape,
MLflow's documented request/response shapes and error codes) and the Open Inference Protocol (KServe V2)."""

from __future__ import annotations

import numpy as np
import pytest

from nbregistry import Registry
from serve_helpers import CliServer


@pytest.fixture(scope="module")
def models(tmp_path_factory, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    root = tmp_path_factory.mktemp("serve-protocols") / "registry"
    reg = Registry(root, author="alice")
    frame_model = LogisticRegression(max_iter=500).fit(X, y)
    tensor_model = LogisticRegression(max_iter=500).fit(X.to_numpy(dtype="float32"), y)
    reg.register(frame_model, "churn", input_example=X.head(3))
    reg.register(tensor_model, "digits", input_example=X.head(3).to_numpy(dtype="float32"))
    reg.set_alias("churn:1", "production")
    reg.close()
    return {"root": root, "churn": frame_model, "digits": tensor_model, "X": X}


@pytest.fixture(scope="module")
def frame_server(models, tmp_path_factory):
    srv = CliServer(models["root"], "churn@production", workers=2, log=tmp_path_factory.mktemp("log") / "serve.log")
    yield srv
    assert srv.stop() == 0  # SIGTERM: graceful, exit 0


@pytest.fixture(scope="module")
def tensor_server(models, tmp_path_factory):
    srv = CliServer(models["root"], "digits", workers=2, log=tmp_path_factory.mktemp("log") / "serve.log")
    yield srv
    assert srv.stop() == 0


def sample(models):
    return models["X"].iloc[[0, 60, 120, 149]]


def test_both_workers_serve(frame_server):
    assert len(frame_server.pids) == 2


def test_every_mlflow_json_shape_and_csv(frame_server, models):
    X = sample(models)
    expected = models["churn"].predict(X).tolist()
    cols = list(X.columns)
    bodies = [
        {"dataframe_split": {"columns": cols, "data": X.values.tolist()}},
        {"dataframe_split": X.to_dict(orient="split")},
        {"dataframe_records": X.to_dict(orient="records")},
        {"instances": X.to_dict(orient="records")},
        {"inputs": {c: X[c].tolist() for c in cols}},
        {"inputs": X.to_dict(orient="records"), "params": {}},
        {"dataframe_split": X[cols[::-1]].assign(extra=1).to_dict(orient="split")},  # by name: order, extras
    ]
    for body in bodies:
        r = frame_server.post("/invocations", json=body)
        assert r.status_code == 200, (body, r.text)
        assert r.json() == {"predictions": expected}  # MLflow's response shape
        assert r.headers["X-Nbregistry-Version"] == "churn:1"
    r = frame_server.post("/invocations", data=X.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"predictions": expected}
    r = frame_server.post("/invocations", data=X.to_csv(index=False),
                          headers={"Content-Type": "text/csv; charset=utf-8"})
    assert r.status_code == 200


def test_rows_without_names_only_when_the_request_says_so(frame_server, models):
    X = sample(models)
    expected = models["churn"].predict(X).tolist()
    rows = X.values.tolist()
    for body in ({"instances": rows}, {"inputs": rows}, {"dataframe_split": {"data": rows}}):
        r = frame_server.post("/invocations", json=body)
        assert r.status_code == 400, body
        assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "matched by name" in r.json()["message"]
        ok = frame_server.post("/invocations", json=body, params={"positional": "true"})
        assert ok.status_code == 200 and ok.json()["predictions"] == expected
    ok = frame_server.post("/invocations", json={"instances": rows}, headers={"X-Nbregistry-Positional": "true"})
    assert ok.json()["predictions"] == expected


ROW = {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4, "petal width (cm)": 0.2}


@pytest.mark.parametrize("kwargs, status, code, words", [
    ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "INVALID_PARAMETER_VALUE",
     ["not valid JSON"]),
    ({"json": {"rows": [ROW]}}, 400, "BAD_REQUEST", ["exactly one of", "dataframe_split"]),
    ({"json": {"instances": [ROW], "inputs": [ROW]}}, 400, "BAD_REQUEST", ["exactly one of"]),
    ({"json": [ROW]}, 400, "BAD_REQUEST", ["must be an object"]),
    ({"json": {"dataframe_records": [ROW], "extra": 1}}, 400, "BAD_REQUEST", ["unknown field", "extra"]),
    ({"json": {"dataframe_split": {"columns": ["sepal length (cm)"], "data": [[5.1]]}}}, 400,
     "INVALID_PARAMETER_VALUE", ["missing columns", "'petal width (cm)'"]),
    ({"json": {"dataframe_records": [dict(ROW, **{"sepal length (cm)": "five"})]}}, 400, "INVALID_PARAMETER_VALUE",
     ["column 'sepal length (cm)'", "float64", "'five'"]),
    ({"json": {"dataframe_split": {"columns": ["a"], "data": "x"}}}, 400, "BAD_REQUEST", ["dataframe_split must be"]),
    ({"json": {"dataframe_records": []}}, 400, "INVALID_PARAMETER_VALUE", ["no rows"]),
    ({"data": b"a,b\n1,2\n", "headers": {"Content-Type": "text/csv"}}, 400, "INVALID_PARAMETER_VALUE",
     ["missing columns"]),
    ({"data": b"", "headers": {"Content-Type": "text/csv"}}, 400, "BAD_REQUEST", ["CSV body is empty"]),
    ({"data": b'{"dataframe_records": []}'}, 415, "BAD_REQUEST", ["Content-Type header is required"]),
    ({"data": b"<x/>", "headers": {"Content-Type": "application/xml"}}, 415, "BAD_REQUEST",
     ["unsupported Content-Type"]),
    ({"data": b"{}", "headers": {"Content-Type": "application/json; charset=latin-1"}}, 415, "BAD_REQUEST",
     ["UTF-8"]),
    ({"json": {"dataframe_records": [ROW]}, "params": {"method": "fit"}}, 400, "INVALID_PARAMETER_VALUE",
     ["unknown method 'fit'"]),
    ({"json": {"dataframe_records": [ROW]}, "params": {"method": "transform"}}, 400, "BAD_REQUEST",
     ["no method 'transform'"]),
])
def test_malformed_requests_get_mlflows_error_codes(frame_server, kwargs, status, code, words):
    r = frame_server.post("/invocations", **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code  # MLflow's error shape
    for word in words:
        assert word in body["message"], body["message"]


def test_other_routes(frame_server):
    r = frame_server.get("/nope")
    assert r.status_code == 404 and r.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert frame_server.get("/invocations").status_code == 405
    ping = frame_server.get("/ping")
    assert ping.status_code == 200 and ping.json()["version"] == "churn:1"
    assert frame_server.get("/health").status_code == 200
    status = frame_server.get("/version").json()
    assert status["ref"] == "churn@production" and status["version"] == 1 and status["ready"] is True
    assert status["signature"]["outputs"] == {"type": "tensor", "shape": [-1], "dtype": "int64"}


def test_predict_proba_per_request(frame_server, models):
    X = sample(models)
    expected = models["churn"].predict_proba(X)
    body = {"dataframe_records": X.to_dict(orient="records")}
    for r in (frame_server.post("/invocations", json=body, params={"method": "predict_proba"}),
              frame_server.post("/invocations", json=body, headers={"X-Nbregistry-Method": "predict_proba"})):
        assert r.status_code == 200
        assert np.allclose(r.json()["predictions"], expected)


def v2_columns(X, *, column_shape=False):
    return {"inputs": [{"name": c, "shape": [len(X), 1] if column_shape else [len(X)], "datatype": "FP64",
                        "data": X[c].tolist()} for c in X.columns]}


def test_v2_health_and_metadata(frame_server):
    assert frame_server.get("/v2/health/live").json() == {"live": True}
    assert frame_server.get("/v2/health/ready").status_code == 200
    assert frame_server.get("/v2/models/churn/ready").status_code == 200
    assert frame_server.get("/v2").json()["name"] == "nbregistry"
    meta = frame_server.get("/v2/models/churn").json()
    assert meta["name"] == "churn" and meta["versions"] == ["1"] and meta["platform"] == "nbregistry-sklearn"
    assert meta["inputs"][0] == {"name": "sepal length (cm)", "datatype": "FP64", "shape": [-1]}
    assert len(meta["inputs"]) == 4
    assert meta["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]
    assert frame_server.get("/v2/models/churn/versions/1").status_code == 200
    missing = frame_server.get("/v2/models/other")
    assert missing.status_code == 404 and "other" in missing.json()["error"]  # the protocol's error shape
    assert frame_server.get("/v2/models/churn/versions/7").status_code == 404


def test_v2_infer_one_input_per_column(frame_server, models):
    X = sample(models)
    expected = models["churn"].predict(X).tolist()
    for body in (v2_columns(X), v2_columns(X, column_shape=True), dict(v2_columns(X), id="req-1")):
        r = frame_server.post("/v2/models/churn/infer", json=body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["model_name"] == "churn" and answer["model_version"] == "1"
        assert answer["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [4], "data": expected}]
        assert answer.get("id") == body.get("id")
    reordered = {"inputs": v2_columns(X)["inputs"][::-1]}  # names, not positions, decide
    assert frame_server.post("/v2/models/churn/infer", json=reordered).json()["outputs"][0]["data"] == expected
    proba = frame_server.post("/v2/models/churn/versions/1/infer",
                              json=dict(v2_columns(X), parameters={"method": "predict_proba"})).json()
    out = proba["outputs"][0]
    assert out["shape"] == [4, 3] and np.allclose(np.reshape(out["data"], out["shape"]),
                                                  models["churn"].predict_proba(X))


@pytest.mark.parametrize("mutate, words", [
    (lambda b: b["inputs"].pop(), ["missing input", "petal width (cm)"]),
    (lambda b: b["inputs"].append({"name": "x", "shape": [4], "datatype": "FP64", "data": [1, 2, 3, 4]}),
     ["unknown input", "'x'"]),
    (lambda b: b["inputs"][0].update(shape=[5]), ["shape [5] holds 5 values, data has 4"]),
    (lambda b: b["inputs"][0].update(datatype="FP99"), ["unknown datatype"]),
    (lambda b: b["inputs"][0].update(datatype="BYTES"), ["BYTES", "expected text"]),
    (lambda b: b["inputs"][0].update(data=["a", "b", "c", "d"]), ["FP64", "'a'"]),
    (lambda b: b.update(inputs=[]), ["non-empty list"]),
    (lambda b: b.update(stuff=1), ["unknown field"]),
])
def test_v2_bad_requests(frame_server, models, mutate, words):
    body = v2_columns(sample(models))
    mutate(body)
    r = frame_server.post("/v2/models/churn/infer", json=body)
    assert r.status_code == 400, r.text
    for word in words:
        assert word in r.json()["error"], r.json()
    assert frame_server.post("/v2/models/churn/infer", data=b"{}").status_code == 415  # no Content-Type


def test_tensor_model_takes_one_tensor(tensor_server, models):
    X = sample(models).to_numpy(dtype="float32")
    expected = models["digits"].predict(X).tolist()
    for body in ({"inputs": X.tolist()}, {"instances": X.tolist()},
                 {"dataframe_split": {"data": X.tolist()}}):
        r = tensor_server.post("/invocations", json=body)
        assert r.status_code == 200 and r.json() == {"predictions": expected}, r.text
    refused = [({"json": {"inputs": {"a": [1.0]}}}, "not an object of columns"),
               ({"json": {"dataframe_records": [{"a": 1.0}]}}, "takes a tensor"),
               ({"data": b"a,b,c,d\n1,2,3,4\n", "headers": {"Content-Type": "text/csv"}}, "CSV is for named-column"),
               ({"json": {"inputs": [[1.0, 2.0]]}}, "expected shape [-1, 4]")]
    for kwargs, words in refused:
        r = tensor_server.post("/invocations", **kwargs)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
        assert words in r.json()["message"]
    flat = {"inputs": [{"name": "input-0", "shape": [4, 4], "datatype": "FP32", "data": X.reshape(-1).tolist()}]}
    r = tensor_server.post("/v2/models/digits/infer", json=flat)
    assert r.status_code == 200 and r.json()["outputs"][0]["data"] == expected
    nested = {"inputs": [{"name": "x", "shape": [4, 4], "datatype": "FP32", "data": X.tolist()}]}
    assert tensor_server.post("/v2/models/digits/infer", json=nested).json()["outputs"][0]["data"] == expected
    two = {"inputs": flat["inputs"] + [dict(flat["inputs"][0], name="y")]}
    r = tensor_server.post("/v2/models/digits/infer", json=two)
    assert r.status_code == 400 and "one tensor input" in r.json()["error"]
    meta = tensor_server.get("/v2/models/digits").json()
    assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}]


def test_metrics_add_up_across_workers(frame_server, models):
    import re

    body = {"dataframe_records": sample(models).to_dict(orient="records")}
    before = _invocations_total(frame_server.get("/metrics").text)
    for _ in range(20):
        assert frame_server.post("/invocations", json=body).status_code == 200
    seen = set()
    for _ in range(30):  # scrape whichever worker answers: each sees every worker's counts
        r = frame_server.get("/metrics")
        seen.add(r.headers["X-Nbregistry-Worker"])
        text = r.text
        assert _invocations_total(text) >= before + 20
        if len(seen) == 2:
            break
    assert len(seen) == 2
    assert "nbregistry_request_seconds_bucket" in text
    versions = re.findall(r'nbregistry_model_version\{[^}]*model="churn"[^}]*pid="(\d+)"[^}]*\} (\S+)', text) or \
        re.findall(r'nbregistry_model_version\{[^}]*pid="(\d+)"[^}]*model="churn"[^}]*\} (\S+)', text)
    assert {pid for pid, _ in versions} == frame_server.pids and {float(v) for _, v in versions} == {1.0}


def _invocations_total(text: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("nbregistry_requests_total{") and 'route="invocations"' in line and 'status="200"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total
