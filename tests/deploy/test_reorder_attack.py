"""The reorder attack from the serving issue: a version whose columns are reordered (or retyped) is
promoted behind a signature gate, and unnamed rows are then mapped onto the new order by position.

Both halves are closed: the gate refuses a reordered or retyped signature unless the promotion says
so (``force=True`` with a reason, where the policy allows force), and rows without names are refused
for a named-column signature unless the request asks for positional columns explicitly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nbregistry.core.errors import PolicyRefused, ValidationError
from nbregistry.core.signature import check_compatible, infer_signature, validate_input


@pytest.fixture
def reordered(local_reg):
    from sklearn.tree import DecisionTreeClassifier

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [5.0, 5.0, 5.0], "c": [9.0, 9.0, 9.0]})
    y = [0, 1, 2]
    m1 = DecisionTreeClassifier(random_state=0).fit(X, y)
    Xr = X[["c", "b", "a"]]  # same columns and dtypes, other order
    m2 = DecisionTreeClassifier(random_state=0).fit(Xr, y)
    local_reg.register(m1, "churn", input_example=X)
    local_reg.register(m2, "churn", input_example=Xr)
    local_reg.set_alias("churn:1", "production")
    local_reg.set_policy("churn", "production", {"gates": ["signature"], "allow_force": True})
    return local_reg, X, m2


def test_the_signature_gate_refuses_a_reordered_version(reordered):
    reg, X, _ = reordered
    with pytest.raises(PolicyRefused) as info:
        reg.promote("churn:2", "production")
    assert "column order changed" in str(info.value.report.gates[0]["detail"])
    assert reg.get("churn@production").version == 1
    # saying so: a forced promotion with a reason, which the policy allows and the history records
    move = reg.promote("churn:2", "production", force=True, reason="columns reordered on purpose; clients send names")
    assert move.forced and reg.get("churn@production").version == 2


def test_positional_rows_are_refused_for_named_columns(reordered):
    reg, X, m2 = reordered
    sig = reg.get("churn:2").signature
    rows = X.to_numpy().tolist()  # a client that still sends rows in the old order
    with pytest.raises(ValidationError, match="by name"):
        validate_input(sig, rows)
    # by name, the new version answers correctly whatever the order
    assert m2.predict(validate_input(sig, X)).tolist() == [0, 1, 2]
    # positional only when asked for, and then in the signature's order
    assert list(validate_input(sig, rows, positional=True).columns) == ["c", "b", "a"]


def test_retyped_and_reordered_signatures_are_incompatible():
    old = infer_signature(pd.DataFrame({"a": [1], "b": [2.0]}))
    assert "column order changed" in check_compatible(old, infer_signature(pd.DataFrame({"b": [2.0], "a": [1]})))
    assert "dtypes changed" in check_compatible(old, infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0]})))
    t32, t64 = (infer_signature(np.zeros((2, 3), dtype=d)) for d in ("float32", "float64"))
    assert "dtype changed" in check_compatible(t32, t64)
    assert check_compatible(old, old) is None


def test_the_attack_end_to_end_against_a_real_two_worker_server(reordered, tmp_path):
    """The issue's scenario over HTTP: 2 uvicorn workers follow @production; the reordered version
    cannot slip in behind the gate, and once promoted on purpose, rows in the old order get a 400
    (MLflow's answer) instead of ``[2, 2, 2]``, while rows by name still get ``[0, 1, 2]``."""
    from serve_helpers import CliServer

    reg, X, _ = reordered
    rows = X.to_numpy().tolist()  # the old column order, without names
    named = {"dataframe_records": X.to_dict(orient="records")}
    # served as the author: the trees are skops files with types outside skops' trusted set
    srv = CliServer(reg.root, "churn@production", workers=2, user="alice", log=tmp_path / "serve.log")
    try:
        r = srv.post("/invocations", json=named)
        assert r.status_code == 200 and r.json()["predictions"] == [0, 1, 2]
        with pytest.raises(PolicyRefused):
            reg.promote("churn:2", "production")  # the gate: column order changed
        reg.promote("churn:2", "production", force=True, reason="columns reordered on purpose")
        assert srv.wait_workers(version=2) == srv.pids  # every worker on the reordered version
        for body in ({"instances": rows}, {"inputs": rows}, {"dataframe_split": {"data": rows}}):
            r = srv.post("/invocations", json=body)
            assert r.status_code == 400, r.text
            assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE" and "by name" in r.json()["message"]
        for _ in range(4):  # fresh connections: both workers answer by name
            r = srv.post("/invocations", json=named)
            assert r.status_code == 200 and r.headers["X-Nbregistry-Version"] == "churn:2"
            assert r.json()["predictions"] == [0, 1, 2]
        csv = srv.post("/invocations", data=X.to_csv(index=False), headers={"Content-Type": "text/csv"})
        assert csv.status_code == 200 and csv.json()["predictions"] == [0, 1, 2]  # CSV has a header: names
    finally:
        assert srv.stop() == 0
