"""The scoring server, started for real on 127.0.0.1 and spoken to over HTTP."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import requests

from nbregistry import Registry
from nbregistry.core.errors import TrustRequired, ValidationError
from nbregistry.deploy.serve import serve


class Exploding:
    """Pickles fine, fails to load: a broken version."""

    def __reduce__(self):
        return (_explode, ("this model cannot be loaded",))


def _explode(message):
    raise RuntimeError(message)


@pytest.fixture
def churn(local_reg, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    m1 = LogisticRegression(max_iter=500).fit(X, y)
    m2 = LogisticRegression(C=0.001, max_iter=500).fit(X, y)  # over-regularized: other predictions
    local_reg.register(m1, "churn", input_example=X.head(3))
    local_reg.register(m2, "churn", input_example=X.head(3))
    local_reg.set_alias("churn:1", "production")
    return {1: m1, 2: m2, "X": X}


@pytest.fixture
def server(local_reg, churn):
    # The server has its own Registry on the same folder, as `nbregistry serve` in another process would.
    registry = Registry(local_reg.root, author="server")
    srv = serve(registry, "churn@production", port=0, poll=0.05)
    yield srv
    srv.stop()
    registry.close()


def post(srv, payload=None, *, data=None, headers=None, params=None):
    return requests.post(srv.url + "/invocations", json=payload, data=data, headers=headers, params=params, timeout=30)


def wait_version(srv, number, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(srv.url + "/version", timeout=5).json()
        if status["version"] == number:
            return status
        time.sleep(0.02)
    raise AssertionError(f"server still on {requests.get(srv.url + '/version').json()}")


def test_every_request_format_gives_the_models_predictions(server, churn):
    X = churn["X"].iloc[[0, 60, 120]]
    expected = churn[1].predict(X).tolist()
    cols = list(X.columns)
    bodies = [
        {"dataframe_split": {"columns": cols, "data": X.values.tolist()}},
        {"dataframe_split": X.to_dict(orient="split")},
        {"dataframe_records": X.to_dict(orient="records")},
        {"instances": X.values.tolist()},
        {"instances": X.to_dict(orient="records")},
        {"inputs": {c: X[c].tolist() for c in cols}},
        {"inputs": X.values.tolist()},
    ]
    for body in bodies:
        r = post(server, body)
        assert r.status_code == 200, (body, r.text)
        assert r.json() == {"predictions": expected}
        assert r.headers["X-Nbregistry-Version"] == "churn:1"
    r = post(server, data=X.to_csv(index=False), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json()["predictions"] == expected
    # columns in another order, plus an extra one, still work (matched by name)
    shuffled = X[cols[::-1]].assign(extra=1)
    assert post(server, {"dataframe_split": shuffled.to_dict(orient="split")}).json()["predictions"] == expected


def test_predict_proba_by_query_or_header(server, churn):
    X = churn["X"].iloc[:2]
    expected = churn[1].predict_proba(X)
    body = {"dataframe_records": X.to_dict(orient="records")}
    for r in (post(server, body, params={"method": "predict_proba"}),
              post(server, body, headers={"X-Nbregistry-Method": "predict_proba"})):
        assert r.status_code == 200
        assert np.allclose(r.json()["predictions"], expected)
    r = post(server, body, params={"method": "fit"})
    assert r.status_code == 400 and "unknown method 'fit'" in r.json()["message"]


def test_ping_and_version(server):
    assert requests.get(server.url + "/ping", timeout=5).status_code == 200
    status = requests.get(server.url + "/version", timeout=5).json()
    assert status["ref"] == "churn@production" and status["model"] == "churn" and status["version"] == 1
    assert status["loaded_at"] and status["last_error"] is None
    assert status["signature"]["type"] == "dataframe"
    assert requests.get(server.url + "/nope", timeout=5).status_code == 404
    assert requests.get(server.url + "/invocations", timeout=5).status_code == 405


@pytest.mark.parametrize("kwargs, status, words", [
    ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, ["not valid JSON"]),
    ({"payload": {"rows": [[1, 2, 3, 4]]}}, 400, ["exactly one of", "dataframe_split"]),
    ({"payload": {"instances": [[1, 2]], "inputs": [[1, 2]]}}, 400, ["exactly one of"]),
    ({"payload": [1, 2, 3]}, 400, ["exactly one of"]),
    ({"payload": {"dataframe_split": {"columns": ["sepal length (cm)"], "data": [[5.1]]}}}, 400,
     ["missing columns", "'petal width (cm)'"]),
    ({"payload": {"dataframe_records": [{"sepal length (cm)": "five", "sepal width (cm)": 3.5,
                                         "petal length (cm)": 1.4, "petal width (cm)": 0.2}]}}, 400,
     ["column 'sepal length (cm)'", "float64", "'five'"]),
    ({"payload": {"instances": [[1.0, 2.0, 3.0]]}}, 400, ["expected rows of 4 values", "[1, 3]"]),
    ({"payload": {"instances": [[1.0, 2.0, 3.0, 4.0], [1.0]]}}, 400, ["expected rows of 4 values"]),
    ({"payload": {"dataframe_split": {"columns": ["a"], "data": "x"}}}, 400, ["dataframe_split must be"]),
    ({"payload": {"dataframe_records": []}}, 400, ["no rows"]),
    ({"data": b"a,b\n1,2\n", "headers": {"Content-Type": "text/csv"}}, 400, ["missing columns"]),
    ({"data": b"<x/>", "headers": {"Content-Type": "application/xml"}}, 415, ["unsupported Content-Type"]),
])
def test_malformed_payloads_get_a_400_that_says_why(server, kwargs, status, words):
    r = post(server, kwargs.get("payload"), data=kwargs.get("data"), headers=kwargs.get("headers"))
    assert r.status_code == status, r.text
    message = r.json()["message"]
    for word in words:
        assert word in message, message
    assert requests.get(server.url + "/ping", timeout=5).status_code == 200  # still serving


def test_oversized_body_is_refused(local_reg, churn):
    with serve(Registry(local_reg.root), "churn:1", port=0, max_body=1000) as srv:
        r = post(srv, {"instances": [[1.0, 2.0, 3.0, 4.0]] * 200})
        assert r.status_code == 413
        assert post(srv, {"instances": [[1.0, 2.0, 3.0, 4.0]]}).status_code == 200


def test_alias_move_during_traffic_swaps_without_failed_requests(local_reg, churn, server):
    X = churn["X"]
    sample = X.iloc[[0, 50, 100, 149]]
    body = {"dataframe_split": sample.to_dict(orient="split")}
    expected = {f"churn:{v}": churn[v].predict(sample).tolist() for v in (1, 2)}
    results, errors, stop = [], [], threading.Event()

    def client():
        with requests.Session() as s:
            while not stop.is_set():
                try:
                    r = s.post(server.url + "/invocations", json=body, timeout=30)
                    results.append((r.status_code, r.headers.get("X-Nbregistry-Version"), r.json()))
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    local_reg.promote("churn:2", "production", reason="the regularized one")  # gated promotion (no policy)
    wait_version(server, 2)
    time.sleep(0.3)
    local_reg.rollback("churn@production", reason="worse in production")
    wait_version(server, 1)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert results and all(status == 200 for status, _, _ in results)
    served = {version for _, version, _ in results}
    assert served == {"churn:1", "churn:2"}
    for _, version, payload in results:  # every answer came from the version it names
        assert payload["predictions"] == expected[version]
    assert server.swaps == 2


def test_a_broken_version_leaves_the_old_one_serving(local_reg, churn, server):
    local_reg.register(Exploding(), "churn", flavor="pickle")  # churn:3 cannot be loaded
    local_reg.set_alias("churn:3", "production")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not server.last_error:
        time.sleep(0.02)
    status = requests.get(server.url + "/version", timeout=5).json()
    assert status["version"] == 1
    assert status["last_error"]["version"] == 3
    # the server's user (not the author) may not unpickle it without --trust: reported, not served
    assert "TrustRequired" in status["last_error"]["error"]
    r = post(server, {"instances": churn["X"].iloc[:2].values.tolist()})
    assert r.status_code == 200 and r.headers["X-Nbregistry-Version"] == "churn:1"
    # moving on to a good version clears the error
    local_reg.set_alias("churn:2", "production")
    status = wait_version(server, 2)
    assert status["last_error"] is None


def test_a_trusted_but_unloadable_version_is_reported(local_reg, churn):
    local_reg.register(Exploding(), "churn", flavor="pickle")
    registry = Registry(local_reg.root, author="server")
    with serve(registry, "churn@production", port=0, poll=0.05, trust=True) as srv:
        local_reg.set_alias("churn:3", "production")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not srv.last_error:
            time.sleep(0.02)
        assert "this model cannot be loaded" in srv.last_error["error"]
        assert requests.get(srv.url + "/version", timeout=5).json()["version"] == 1
        assert post(srv, {"instances": churn["X"].iloc[:1].values.tolist()}).status_code == 200


def test_a_model_that_fails_its_smoke_prediction_is_not_swapped_in(local_reg, churn, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    narrow = LogisticRegression(max_iter=500).fit(X.iloc[:, :2].values, y)  # expects 2 features
    local_reg.register(narrow, "churn", input_example=X.head(3))  # but its example has 4 columns
    with serve(Registry(local_reg.root, author="server"), "churn@production", port=0, poll=0.05) as srv:
        local_reg.set_alias("churn:3", "production")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not srv.last_error:
            time.sleep(0.02)
        assert srv.last_error["version"] == 3 and srv.live.version == 1


def test_pickled_models_by_others_need_trust(local_reg, churn):
    from sklearn.linear_model import LogisticRegression

    X, y = churn["X"], np.arange(len(churn["X"])) % 2
    legacy = LogisticRegression().fit(X, y)
    local_reg.register(legacy, "legacy", flavor="pickle")
    with pytest.raises(TrustRequired):
        serve(Registry(local_reg.root, author="server"), "legacy", port=0)
    with serve(Registry(local_reg.root, author="server"), "legacy", port=0, trust=True) as srv:
        assert post(srv, {"instances": X.iloc[:2].values.tolist()}).json()["predictions"] == legacy.predict(X.iloc[:2]).tolist()
    with pytest.raises(ValidationError):
        serve(Registry(local_reg.root), "legacy", port=0, method="fit")


def test_a_pinned_version_does_not_follow(local_reg, churn):
    with serve(Registry(local_reg.root), "churn:1", port=0, poll=0.05) as srv:
        local_reg.set_alias("churn:2", "production")
        time.sleep(0.3)
        assert srv.check_now() is False and srv.live.version == 1
