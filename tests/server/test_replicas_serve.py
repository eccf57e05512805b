"""The scoring server follows an alias moved through ANOTHER replica: ``nbregistry serve`` reads the
registry through replica 0 (``NBREGISTRY_URL``) or straight from its stores, and a promotion made
through replica 1 swaps the served model without a restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from server.replicas import TESTED_BACKENDS, ReplicaSet, backend_for

USERS = {name: f"{name}-serve-token-{os.urandom(4).hex()}" for name in ("alice", "bob", "server")}


class Scoring:
    """``nbregistry serve REF`` in a subprocess (one worker) with ``env``; ``url`` once it listens."""

    def __init__(self, args: list[str], env: dict, log):
        self.log_path = log
        self._log = open(log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "nbregistry.cli", *args, "--port", "0",
                                      "--workers", "1", "--poll", "0.05", "--trust"],
                                     stdout=subprocess.DEVNULL, stderr=self._log, env={**os.environ, **env})
        deadline = time.monotonic() + 240
        while True:
            text = self.log_path.read_text()
            found = [line for line in text.splitlines() if line.startswith("nbregistry serve:") and " on http://" in line]
            if found:
                self.url = found[0].split(" on ")[1].split()[0]
                break
            assert self.proc.poll() is None and time.monotonic() < deadline, text[-3000:]
            time.sleep(0.05)

    def version(self) -> int | None:
        r = requests.get(self.url + "/version", headers={"Connection": "close"}, timeout=30)
        return r.json()["version"]

    def wait_version(self, number: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.version() != number:
            assert time.monotonic() < deadline, self.log_path.read_text()[-3000:]
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture(params=TESTED_BACKENDS)
def pair(request, tmp_path):
    backend = backend_for(request.param, tmp_path / "cluster", request)
    with ReplicaSet(backend, 2, USERS) as replicas:
        yield replicas


def test_serve_follows_an_alias_moved_through_another_replica(pair, iris, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    models = {1: LogisticRegression(max_iter=500).fit(X, y), 2: LogisticRegression(C=0.001, max_iter=500).fit(X, y)}
    via0, via1 = pair.client(0, "alice"), pair.client(1, "bob")
    for number in (1, 2):
        via0.register(models[number], "scored", input_example=X.head(3))
    via0.set_alias("scored:1", "production")
    sample = X.iloc[[0, 50, 100, 149]]
    expected = {n: models[n].predict(sample).tolist() for n in (1, 2)}
    assert expected[1] != expected[2]
    through_replica = Scoring(["serve", "scored@production"], {"NBREGISTRY_URL": pair.urls[0],
                                                                 "NBREGISTRY_TOKEN": USERS["server"]},
                              tmp_path / "serve-remote.log")
    from_stores = Scoring([*pair.backend.cli_args(), "serve", "scored@production"],
                          {"NBREGISTRY_URL": "", **pair.backend.env}, tmp_path / "serve-stores.log")
    body = {"dataframe_split": sample.to_dict(orient="split")}
    try:
        for scoring in (through_replica, from_stores):
            assert scoring.version() == 1
        via1.promote("scored:2", "production", reason="moved through replica 1")
        for scoring in (through_replica, from_stores):
            scoring.wait_version(2)
            r = requests.post(scoring.url + "/invocations", json=body, timeout=60)
            assert r.status_code == 200 and r.json()["predictions"] == expected[2]
        via0.rollback("scored@production", reason="back, through replica 0")
        for scoring in (through_replica, from_stores):
            scoring.wait_version(1)
    finally:
        through_replica.stop()
        from_stores.stop()
        via0.close()
        via1.close()
