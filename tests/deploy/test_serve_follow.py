"""Following the alias with 2 uvicorn workers: a move during traffic fails no request and lands every
worker on the new version; a version that cannot be swapped in makes /ping answer 503 (stale)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from nbregistry import Registry
from serve_helpers import CliServer


class Exploding:
    """Pickles fine, fails to load: a broken version."""

    def __reduce__(self):
        return (_explode, ("this model cannot be loaded",))


def _explode(message):
    raise RuntimeError(message)


def test_alias_moves_during_traffic_fail_nothing_and_reach_every_worker(local_reg, iris, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    models = {1: LogisticRegression(max_iter=500).fit(X, y), 2: LogisticRegression(C=0.001, max_iter=500).fit(X, y)}
    for v in (1, 2):
        local_reg.register(models[v], "churn", input_example=X.head(3))
    local_reg.set_alias("churn:1", "production")
    sample = X.iloc[[0, 50, 100, 149]]
    expected = {f"churn:{v}": models[v].predict(sample).tolist() for v in (1, 2)}
    assert expected["churn:1"] != expected["churn:2"]
    srv = CliServer(local_reg.root, "churn@production", workers=2, log=tmp_path / "serve.log")
    body = {"dataframe_split": sample.to_dict(orient="split")}
    results, errors, stop = [], [], threading.Event()

    def client(fresh: bool):
        with requests.Session() as s:
            while not stop.is_set():
                try:
                    headers = {"Connection": "close"} if fresh else {}
                    r = s.post(srv.url + "/invocations", json=body, headers=headers, timeout=60)
                    results.append((r.status_code, r.headers.get("X-Nbregistry-Version"),
                                    r.headers.get("X-Nbregistry-Worker"), r.json()))
                except Exception as exc:  # noqa: BLE001 - any failure is a failed request
                    errors.append(exc)

    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        local_reg.promote("churn:2", "production", reason="the regularized one")
        assert srv.wait_workers(version=2) == srv.pids  # both workers swapped
        time.sleep(1.0)
        local_reg.rollback("churn@production", reason="worse in production")
        assert srv.wait_workers(version=1) == srv.pids
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
        code = srv.stop()
    assert not errors
    assert results and all(status == 200 for status, _, _, _ in results)
    assert {version for _, version, _, _ in results} == {"churn:1", "churn:2"}
    assert {worker for _, _, worker, _ in results} == srv.pids
    for _, version, _, payload in results:  # every answer came from the version it names
        assert payload["predictions"] == expected[version]
    assert code == 0


def test_ping_is_503_while_the_served_version_is_stale(local_reg, iris, iris_model, tmp_path):
    X, _ = iris
    local_reg.register(iris_model, "churn", input_example=X.head(3))
    local_reg.set_alias("churn:1", "production")
    srv = CliServer(local_reg.root, "churn@production", workers=2, log=tmp_path / "serve.log")
    try:
        assert srv.get("/ping").status_code == 200
        local_reg.register(Exploding(), "churn", flavor="pickle")  # churn:2 cannot be loaded
        local_reg.set_alias("churn:2", "production")
        stale = set()
        deadline = time.monotonic() + 120
        while stale != srv.pids and time.monotonic() < deadline:
            r = srv.get("/ping")
            if r.status_code == 503:
                stale.add(r.headers["X-Nbregistry-Worker"])
                assert r.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                assert "stale: serving churn:1 while churn@production names version 2" in r.json()["message"]
        assert stale == srv.pids  # every worker says so
        assert srv.get("/v2/health/ready").status_code == 503
        status = srv.get("/version").json()
        assert status["version"] == 1 and status["target"] == 2 and status["last_error"]["version"] == 2
        # the old version keeps answering meanwhile
        r = srv.post("/invocations", json={"dataframe_records": X.head(2).to_dict(orient="records")})
        assert r.status_code == 200 and r.headers["X-Nbregistry-Version"] == "churn:1"
        local_reg.set_alias("churn:1", "production")  # the alias names what is served again
        healthy = set()
        deadline = time.monotonic() + 120
        while healthy != srv.pids and time.monotonic() < deadline:
            r = srv.get("/ping")
            if r.status_code == 200:
                healthy.add(r.headers["X-Nbregistry-Worker"])
        assert healthy == srv.pids
        assert srv.get("/version").json()["last_error"] is None
    finally:
        assert srv.stop() == 0


def test_in_process_server_follows_and_reports(local_reg, iris, iris_model):
    """``serve()`` (uvicorn in a thread of this process) follows the same way; a pinned ref never moves."""
    from nbregistry.core.errors import TrustRequired
    from nbregistry.deploy.serve import serve

    X, _ = iris
    local_reg.register(iris_model, "churn", input_example=X.head(3))
    local_reg.register(iris_model, "churn", input_example=X.head(3))
    local_reg.set_alias("churn:1", "production")
    with serve(Registry(local_reg.root, author="server"), "churn@production", poll=0.05) as srv:
        local_reg.set_alias("churn:2", "production")
        deadline = time.monotonic() + 60
        while srv.live.version != 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.live.version == 2 and srv.swaps == 1
        assert requests.get(srv.url + "/ping", timeout=10).status_code == 200
    with serve(Registry(local_reg.root, author="server"), "churn:1", poll=0.05) as srv:
        local_reg.set_alias("churn:1", "production")
        assert srv.check_now() is False and srv.live.version == 1
    local_reg.register(iris_model, "legacy", flavor="pickle")
    with pytest.raises(TrustRequired):  # the core's trust rule, at load
        serve(Registry(local_reg.root, author="server"), "legacy")


def test_sigterm_lets_in_flight_requests_finish(local_reg, tmp_path):
    import os
    import signal

    import pandas as pd

    from nbregistry_test_modules import SlowModel

    local_reg.register(SlowModel(delay=3.0), "slow", flavor="pickle", input_example=pd.DataFrame({"x": [0.0]}))
    srv = CliServer(local_reg.root, "slow", workers=2, user="alice", log=tmp_path / "serve.log",
                    extra_path=os.path.dirname(__file__))
    answers = []

    def slow_request():
        answers.append(srv.post("/invocations", json={"dataframe_records": [{"x": 1.0}]}))

    clients = [threading.Thread(target=slow_request) for _ in range(2)]
    for t in clients:
        t.start()
    time.sleep(1.0)  # both requests are in the model now
    srv.proc.send_signal(signal.SIGTERM)
    for t in clients:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [200, 200]  # finished, not cut off
    assert srv.stop() == 0
    with pytest.raises(requests.ConnectionError):  # and nothing listens any more
        requests.get(srv.url + "/ping", timeout=5)
