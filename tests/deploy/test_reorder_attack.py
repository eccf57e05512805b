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
