"""Policies and gated promotion: approvals, metric/signature/smoke gates, check, force, refusals that
change nothing, and the metric-condition parser (which never evaluates Python)."""

from __future__ import annotations

import pickle

import pytest

from collab_helpers import unchanged
from nbregistry.core.entities import GateReport, Policy
from nbregistry.core.errors import NotFound, PolicyRefused, ValidationError
from nbregistry.core.policy import MetricCondition

GATED = {"required_approvals": 1, "allow_force": True,
         "gates": [{"type": "metric", "expr": "metrics.auc >= current.metrics.auc - 0.01"},
                   {"type": "metric", "expr": "metrics.latency_ms < 50"},
                   {"type": "signature"}, {"type": "smoke"}]}


@pytest.fixture
def churn(reg, iris, iris_model):
    """churn:1 (auc 0.91, latency 20) holds production; churn:2 (auc 0.95, latency 30) is a good candidate;
    churn:3 (auc 0.81, latency 72) is a bad one. All by alice, with input examples."""
    X, _ = iris
    for auc, latency in ((0.91, 20), (0.95, 30), (0.81, 72)):
        reg.register(iris_model, "churn", metrics={"auc": auc, "latency_ms": latency}, input_example=X.head())
    reg.promote("churn:1", "production")
    return reg


def gates(report) -> dict:
    return {g["name"]: (g["passed"], g["detail"]) for g in report.gates}


# ---------------------------------------------------------------------------- policies
def test_an_alias_without_policy_has_the_empty_one_and_promote_is_a_move(churn):
    assert churn.get_policy("churn", "production") == Policy("churn", "production", 0, [], False)
    move = churn.promote("churn:3", "production", reason="no rules here")
    assert (move.kind, move.version, move.previous, move.forced, move.report) == ("promote", 3, 1, False, None)
    assert churn.check("churn:2", "production") == GateReport("churn:2", "production", True, [])
    assert churn.events(0)[-1].action == "alias.promote"


def test_set_policy_round_trips_and_every_edit_is_an_event(churn):
    p = churn.set_policy("churn", "production", GATED)
    assert isinstance(p, Policy) and p.required_approvals == 1 and p.allow_force and len(p.gates) == 4
    assert churn.get_policy("churn", "production") == p
    assert churn.get_policy("churn", "staging").gates == []  # per alias
    churn.set_policy("churn", "production", Policy("churn", "production", required_approvals=2))
    events = [e for e in churn.events(0) if e.action == "policy.set"]
    assert [e.payload["policy"]["required_approvals"] for e in events] == [1, 2]
    assert events[1].payload["previous"]["gates"] == GATED["gates"] and events[0].payload["previous"] is None
    assert events[1].payload["alias"] == "production" and events[1].actor == "alice"
    with unchanged(churn):  # the same policy again is not an edit
        churn.set_policy("churn", "production", {"required_approvals": 2})
    summary = churn.activity("churn", limit=1)[0].summary
    assert summary == "alice changed the policy of churn@production: 2 approval(s) required; no force"


def test_a_policy_can_be_copied_to_another_alias(churn):
    churn.set_policy("churn", "production", GATED)
    copied = churn.set_policy("churn", "staging", churn.get_policy("churn", "production"))
    assert (copied.model, copied.alias, copied.gates) == ("churn", "staging", GATED["gates"])
    assert churn.get_policy("churn", "staging") == copied


def test_shorthand_gates_are_normalized(churn):
    p = churn.set_policy("churn", "staging", {"gates": ["metrics.auc>=0.9", "signature", "smoke"]})
    assert p.gates == [{"type": "metric", "expr": "metrics.auc>=0.9"}, {"type": "signature"}, {"type": "smoke"}]


@pytest.mark.parametrize("policy,error", [
    ({"required_approvals": -1}, "required_approvals must be an integer"),
    ({"required_approvals": True}, "required_approvals"),  # the message names the field (faces may word it)
    ({"required_approvals": "2"}, "required_approvals"),
    ({"allow_force": "yes"}, "allow_force"),
    ({"gates": "smoke"}, "gates"),
    ({"gates": [{"type": "vibes"}]}, "unknown type 'vibes'"),
    ({"gates": [{"type": "smoke", "timeout": 3}]}, "unknown field"),
    ({"gates": [{"type": "metric"}]}, "needs an expression"),
    ({"gates": [{"type": "metric", "expr": "metrics.auc >="}]}, "expected a number or a metric"),
    ({"gates": ["smoke", "smoke"]}, "listed twice"),
    ({"approvals": 1}, "unknown .*field.* approvals"),
    ([1], "dict"),
])
def test_bad_policies_are_refused_and_change_nothing(churn, policy, error):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    with unchanged(churn), pytest.raises(ValidationError, match=error):
        churn.set_policy("churn", "production", policy)
    assert churn.get_policy("churn", "production").required_approvals == 1


def test_policies_of_unknown_models_are_refused(churn):
    with unchanged(churn), pytest.raises(NotFound, match="no model named 'fraud'"):
        churn.set_policy("fraud", "production", {"required_approvals": 1})
    with pytest.raises(NotFound):
        churn.get_policy("fraud", "production")


# ---------------------------------------------------------------------------- approvals
def test_promotion_without_approvals_is_refused(churn):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    with unchanged(churn), pytest.raises(PolicyRefused) as exc:
        churn.promote("churn:2", "production")
    report = exc.value.report
    assert isinstance(report, GateReport) and not report.allowed
    assert gates(report) == {"approvals": (False, "0 approvals of 1 required")}
    assert "promotion of churn:2 to production refused: approvals: 0 approvals of 1 required" in str(exc.value)
    assert exc.value.code == "conflict"


def test_self_approval_does_not_count(churn, as_user):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    churn.review("churn:2", "approve", "I checked my own work")
    with unchanged(churn), pytest.raises(PolicyRefused) as exc:
        churn.promote("churn:2", "production")
    assert gates(exc.value.report)["approvals"] == (
        False, "0 approvals of 1 required; the author's own review (alice) does not count")
    with as_user(churn, "bob"):  # bob promoting does not make alice's self-review count either
        with unchanged(churn), pytest.raises(PolicyRefused):
            churn.promote("churn:2", "production")


def test_approvals_from_others_allow_the_promotion_and_the_report_is_recorded(churn, as_user):
    churn.set_policy("churn", "production", {"required_approvals": 2})
    for who in ("bob", "carol"):
        with as_user(churn, who):
            churn.review("churn:2", "approve")
    with as_user(churn, "bob"):
        move = churn.promote("churn:2", "production", reason="reviewed")
    assert (move.version, move.previous, move.kind, move.actor, move.forced) == (2, 1, "promote", "bob", False)
    assert move.report == {"ref": "churn:2", "alias": "production", "allowed": True,
                           "gates": [{"name": "approvals", "passed": True,
                                      "detail": "2 approvals (bob, carol) of 2 required"}]}
    assert churn.history("churn", "production")[-1].report == move.report


def test_a_later_request_for_changes_supersedes_an_approval(churn, as_user):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    with as_user(churn, "bob"):
        churn.review("churn:2", "approve")
        churn.review("churn:2", "request-changes", "found a leak")
    report = churn.check("churn:2", "production")
    assert gates(report)["approvals"] == (False, "0 approvals of 1 required; changes requested by bob")
    with as_user(churn, "carol"):
        churn.review("churn:2", "approve")
    # carol's approval counts, but bob's outstanding request for changes still blocks
    assert gates(churn.check("churn:2", "production"))["approvals"] == (
        False, "1 approval (carol) of 1 required; changes requested by bob")


# ---------------------------------------------------------------------------- gates
def test_check_reports_every_gate_with_the_values_compared_and_moves_nothing(churn, as_user):
    churn.set_policy("churn", "production", GATED)
    with as_user(churn, "bob"):
        churn.review("churn:3", "approve")
    with unchanged(churn):
        report = churn.check("churn:3", "production")
    assert (report.ref, report.alias, report.allowed) == ("churn:3", "production", False)
    assert gates(report) == {
        "approvals": (True, "1 approval (bob) of 1 required"),
        "metric metrics.auc >= current.metrics.auc - 0.01":
            (False, "metrics.auc = 0.81 < current.metrics.auc - 0.01 = 0.9 (current holder churn:1)"),
        "metric metrics.latency_ms < 50": (False, "metrics.latency_ms = 72 >= 50"),
        "signature": (True, "accepts the inputs of the current holder churn:1"),
        "smoke": (True, "loaded LogisticRegression and predicted 5 example rows"),
    }
    assert [g["name"] for g in report.failed] == ["metric metrics.auc >= current.metrics.auc - 0.01",
                                                  "metric metrics.latency_ms < 50"]
    with unchanged(churn), pytest.raises(PolicyRefused) as exc:
        churn.promote("churn:3", "production")
    assert exc.value.report == report  # promote runs the same evaluation
    assert "metrics.latency_ms = 72 >= 50" in str(exc.value)


def test_every_gate_passing_promotes(churn, as_user):
    churn.set_policy("churn", "production", GATED)
    with as_user(churn, "bob"):
        churn.review("churn:2", "approve")
    move = churn.promote("churn:2", "production")
    assert move.version == 2 and move.report["allowed"] and len(move.report["gates"]) == 5
    assert gates(GateReport.from_dict(move.report))["metric metrics.auc >= current.metrics.auc - 0.01"] == (
        True, "metrics.auc = 0.95 >= current.metrics.auc - 0.01 = 0.9 (current holder churn:1)")


def test_relative_gates_pass_when_nothing_holds_the_alias_yet(churn):
    churn.set_policy("churn", "canary", {"gates": ["metrics.auc > current.metrics.auc", "signature"]})
    report = churn.check("churn:3", "canary")
    assert report.allowed
    assert all("no version holds the alias yet" in g["detail"] for g in report.gates)


def test_metric_missing_on_either_side_fails_with_a_reason(churn, iris_model):
    churn.register(iris_model, "churn", metrics={"latency_ms": 10})  # churn:4 has no auc
    churn.set_policy("churn", "production", {"gates": ["metrics.auc >= current.metrics.auc - 0.01"]})
    with unchanged(churn), pytest.raises(PolicyRefused) as exc:
        churn.promote("churn:4", "production")
    assert exc.value.report.gates[0]["detail"] == "this version has no metric 'auc'"
    churn.set_policy("churn", "production", {"gates": ["metrics.latency_ms <= current.metrics.p99"]})
    assert churn.check("churn:2", "production").gates[0]["detail"] == "the current holder churn:1 has no metric 'p99'"


def test_signature_gate_fails_on_incompatible_inputs(churn, iris, iris_model):
    X, _ = iris
    churn.register(iris_model, "churn", input_example=X.to_numpy()[:3])  # churn:4: a tensor signature
    churn.register(iris_model, "churn", input_example=X.head().assign(extra=1.0))  # churn:5: needs a new column
    churn.register(iris_model, "churn")  # churn:6: no signature at all
    churn.set_policy("churn", "production", {"gates": ["signature"]})
    details = {}
    for ref in ("churn:4", "churn:5", "churn:6"):
        with unchanged(churn), pytest.raises(PolicyRefused) as exc:
            churn.promote(ref, "production")
        details[ref] = exc.value.report.gates[0]["detail"]
    assert details == {
        "churn:4": "not compatible with the current holder churn:1: input type changed from dataframe to tensor",
        "churn:5": "not compatible with the current holder churn:1: new version requires columns the current one "
                   "did not: extra",
        "churn:6": "churn:6 has no signature (register it with an input_example) while the current holder "
                   "churn:1 has one",
    }


def test_smoke_gate_fails_readably(churn, iris, iris_model, tmp_path, as_user):
    X, _ = iris
    churn.register(iris_model, "churn")  # churn:4: no input example
    churn.register(iris_model, "churn", input_example=X.iloc[:3, :2])  # churn:5: predict() will raise
    (tmp_path / "weights.bin").write_bytes(b"\x00" * 10)
    churn.register(tmp_path / "weights.bin", "churn", input_example=X.head())  # churn:6: a plain file
    with as_user(churn, "bob"):
        churn.register({"not": "a model"}, "churn", flavor="pickle", input_example=X.head())  # churn:7: bob's pickle
    churn.set_policy("churn", "production", {"gates": ["smoke"]})
    details = {}
    for n in (4, 5, 6, 7):
        with unchanged(churn), pytest.raises(PolicyRefused) as exc:
            churn.promote(f"churn:{n}", "production")
        details[n] = exc.value.report.gates[0]["detail"]
    assert details[4] == "churn:4 has no stored input example to predict on (register it with input_example=)"
    assert details[5].startswith("predict() on the input example raised ValueError: The feature names should match")
    assert "\n" not in details[5]
    assert details[6] == "the loaded PosixPath has no predict() and is not callable"
    assert details[7].startswith("not loaded: churn:7 ") and "format that runs code when loaded" in details[7]


# ---------------------------------------------------------------------------- force
def test_force_overrides_only_when_allowed_needs_a_reason_and_is_recorded(churn):
    churn.set_policy("churn", "production", {**GATED, "allow_force": False})
    with unchanged(churn), pytest.raises(ValidationError, match="force=True needs a reason"):
        churn.promote("churn:3", "production", force=True)
    with unchanged(churn), pytest.raises(ValidationError, match="force=True needs a reason"):
        churn.promote("churn:3", "production", force=True, reason="   ")
    with unchanged(churn), pytest.raises(PolicyRefused, match="the policy does not allow force") as exc:
        churn.promote("churn:3", "production", force=True, reason="incident 42")
    assert not exc.value.report.allowed
    churn.set_policy("churn", "production", GATED)
    move = churn.promote("churn:3", "production", force=True, reason="incident 42")
    assert (move.version, move.forced, move.reason) == (3, True, "incident 42")
    assert move.report["allowed"] is False and len(move.report["gates"]) == 5
    recorded = churn.history("churn", "production")[-1]
    assert (recorded.forced, recorded.report, recorded.kind) == (True, move.report, "promote")
    assert churn.events(0)[-1].payload["forced"] is True
    assert "FORCED past failing gates: incident 42" in churn.activity(limit=1)[0].summary


def test_force_when_gates_pass_is_an_ordinary_promotion(churn, as_user):
    churn.set_policy("churn", "production", GATED)
    with as_user(churn, "bob"):
        churn.review("churn:2", "approve")
    move = churn.promote("churn:2", "production", force=True, reason="belt and braces")
    assert move.forced is False and move.report["allowed"]


def test_rollback_is_not_gated(churn, as_user):
    with as_user(churn, "bob"):
        churn.review("churn:2", "approve")
    churn.set_policy("churn", "production", GATED)
    churn.promote("churn:2", "production")
    churn.set_policy("churn", "production", {"required_approvals": 5})
    back = churn.rollback("churn@production", reason="2 misbehaves in prod")
    assert (back.version, back.previous, back.kind) == (1, 2, "rollback")


def test_bad_promotion_arguments_are_refused(churn):
    with unchanged(churn), pytest.raises(NotFound, match="no version 9"):
        churn.promote("churn:9", "production")
    with unchanged(churn), pytest.raises(Exception, match="invalid alias"):
        churn.promote("churn:2", "not ok")
    with unchanged(churn), pytest.raises(ValidationError, match="force must be True or False"):
        churn.promote("churn:2", "production", force="no", reason="a string is not a decision")


def test_policy_refused_survives_pickling_with_its_report(churn):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    with pytest.raises(PolicyRefused) as exc:
        churn.promote("churn:2", "production")
    again = pickle.loads(pickle.dumps(exc.value))
    assert str(again) == str(exc.value) and again.report == exc.value.report


# ---------------------------------------------------------------------------- the condition parser
@pytest.mark.parametrize("expr,metrics,current,passed,detail", [
    ("metrics.auc >= current.metrics.auc - 0.01", {"auc": 0.81}, {"auc": 0.91}, False,
     "metrics.auc = 0.81 < current.metrics.auc - 0.01 = 0.9 (current holder churn:1)"),
    ("metrics.latency_ms < 50", {"latency_ms": 72}, None, False, "metrics.latency_ms = 72 >= 50"),
    ("metrics.latency_ms < 50", {"latency_ms": 12.5}, None, True, "metrics.latency_ms = 12.5 < 50"),
    ("50 > metrics.latency_ms", {"latency_ms": 12.5}, None, True, "50 > metrics.latency_ms = 12.5"),
    ("metrics.loss <= current.metrics.loss * 1.05", {"loss": 1.0}, {"loss": 1.0}, True,
     "metrics.loss = 1 <= current.metrics.loss * 1.05 = 1.05 (current holder churn:1)"),
    ("(metrics.a + metrics.b) / 2 == 0.5", {"a": 0.25, "b": 0.75}, None, True,
     "(metrics.a + metrics.b) / 2 = 0.5 == 0.5"),
    ("metrics.\"val auc\" != -1", {"val auc": 0.7}, None, True, "metrics.\"val auc\" = 0.7 != -1"),
    ("metrics.val.auc >= 1e-1", {"val.auc": 0.7}, None, True, "metrics.val.auc = 0.7 >= 0.1"),
    ("metrics.a = 1", {"a": 2}, None, False, "metrics.a = 2 != 1"),
    ("metrics.a > metrics.b", {"a": 0.3, "b": 0.1 + 0.2}, None, False,
     "metrics.a = 0.3 <= metrics.b = 0.30000000000000004"),
    ("metrics.a / metrics.b > 1", {"a": 1, "b": 0}, None, False, "division by zero while evaluating the condition"),
])
def test_conditions_evaluate_and_name_the_values(expr, metrics, current, passed, detail):
    assert MetricCondition(expr).evaluate(metrics, current, "churn:1") == (passed, detail)


@pytest.mark.parametrize("expr,error", [
    ("__import__('os').system('true')", "unknown name '__import__'"),
    ("metrics.auc >= 0.8 and metrics.f1 > 0", "unknown name 'and'"),
    ("metrics.auc", "expected a comparison"),
    ("metrics.auc >= ", "expected a number or a metric, found the end"),
    ("metrics.auc >= (0.5", "missing '\\)'"),
    ("metrics.auc > 0.5 > 0.1", "unexpected '>' after the comparison"),
    ("1 < 2", "must mention at least one metric"),
    ("current.metrics.auc > 0.5", "not only current.metrics"),
    ("params.depth > 3", "unknown name 'params.depth'"),
    ("metrics.auc >= 0.8; rm -rf", "unexpected ';'"),
    ("metrics.`` > 1", "empty metric name"),
    ("", "needs an expression"),
    ("-" * 40 + "metrics.a > 1", "too deeply nested"),
])
def test_bad_conditions_are_refused_by_the_parser(expr, error):
    with pytest.raises(ValidationError, match=error):
        MetricCondition(expr)


def test_a_server_never_unpickles_for_a_smoke_test(local_reg, iris, iris_model):
    """Not even the caller's own pickle: that would let anyone who can register run code in the server."""
    from nbregistry import Registry

    X, _ = iris
    local_reg.register({"not": "a model"}, "churn", flavor="pickle", input_example=X.head())  # alice's own pickle
    local_reg.register(iris_model, "churn", input_example=X.head())  # skops: loads without running code
    local_reg.set_policy("churn", "production", {"gates": ["smoke"]})
    assert "no predict()" in local_reg.check("churn:1", "production").gates[0]["detail"]  # locally: her own, loaded
    server = Registry(local_reg.root, author="alice", origin="server")
    server.trust_own_pickles = False  # what nbregistry.server sets on its registry
    try:
        detail = server.check("churn:1", "production").gates[0]["detail"]
        assert detail.startswith("not loaded: churn:1 is stored in a format that runs code when loaded, and the "
                                 "server never unpickles for a smoke test")
        assert server.check("churn:2", "production").allowed
    finally:
        server.close()
