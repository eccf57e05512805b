"""CLI verbs for collaboration: comment, comments, review, promote, check, rollback, history --at,
policy show|set, activity — with --json, human output, exit codes, and refusals that change nothing.

Most tests call ``main(argv)`` in-process on a real registry folder (acting as different users through
``NBREGISTRY_USER``); the last ones run the installed console script as a real subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli_runner, state
from nbregistry import Registry

SCRIPT = Path(sys.executable).parent / "nbregistry"


@pytest.fixture
def root(tmp_path, iris, iris_model):
    """churn:1 (auc 0.9) and churn:2 (auc 0.8), by alice, with input examples; churn:1 holds production."""
    X, _ = iris
    path = tmp_path / "registry"
    reg = Registry(path, author="alice")
    reg.register(iris_model, "churn", metrics={"auc": 0.9}, input_example=X.head(), data={"train": X})
    reg.register(iris_model, "churn", metrics={"auc": 0.8}, input_example=X.head())
    reg.set_alias("churn:1", "production")
    reg.close()
    return path


@pytest.fixture
def run(root, capsys, monkeypatch):
    """``run("comments", "churn:1", user="bob")`` -> (exit code, stdout, stderr); acts as alice unless
    ``user`` says otherwise; ``json_out=True`` requires exit 0 and returns the parsed output."""
    return cli_runner(root, capsys, monkeypatch, default_user="alice")


def test_comment_reply_and_thread(run):
    c = run("comment", "churn:1", "is **auc** on the holdout?", "--anchor", "metrics.auc", json_out=True)
    assert (c["id"], c["version"], c["author"], c["anchor"], c["body"]) == (1, 1, "alice", "metrics.auc",
                                                                           "is **auc** on the holdout?")
    r = run("comment", "churn:1", "yes, 20% holdout", "--reply-to", "1", user="bob", json_out=True)
    assert r["reply_to"] == 1 and r["author"] == "bob"
    m = run("comment", "churn", "model-level note", json_out=True)
    assert m["version"] is None
    thread = run("comments", "churn:1", json_out=True)
    assert [x["id"] for x in thread["comments"]] == [1, 2]
    assert [x["id"] for x in run("comments", "churn", json_out=True)["comments"]] == [3]
    code, out, _ = run("comments", "churn:1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("#1 alice ") and lines[0].endswith("[metrics.auc]")
    assert lines[1] == "    is **auc** on the holdout?"
    assert lines[2].startswith("    #2 bob ") and lines[3] == "        yes, 20% holdout"  # replies indented


def test_comment_refusals_exit_non_zero_and_change_nothing(run, root):
    run("comment", "churn:1", "mine")
    before = state(root)
    code, out, err = run("comment", "churn:1", "hm", "--anchor", "metrics.f1")
    assert (code, out) == (2, "")
    assert err.startswith("nbregistry: error: anchor 'metrics.f1' names nothing on churn:1; valid anchors: metrics.auc")
    code, _, err = run("comment", "churn:1", "?", "--anchor", "cell:3")
    assert code == 2 and "no recorded notebook cells" in err
    code, _, err = run("comment", "churn:9", "ghost")
    assert code == 1 and "churn has no version 9" in err
    code, _, err = run("comment", "churn:1", "x", "--reply-to", "two")
    assert code == 2 and "invalid int value" in err
    assert state(root) == before


def test_review_and_review_refusals(run, root):
    r = run("review", "churn:2", "approve", "checked the data", user="bob", json_out=True)
    assert (r["verdict"], r["body"], r["author"]) == ("approve", "checked the data", "bob")
    code, out, _ = run("review", "churn:2", "request-changes", user="carol")
    assert code == 0 and out.strip() == "request for changes #2 on churn:2 by carol"
    before = state(root)
    code, _, err = run("review", "churn:2", "lgtm")
    assert code == 2 and "invalid choice: 'lgtm'" in err
    code, _, err = run("review", "churn", "approve")
    assert code == 2 and "a review is of one version" in err
    assert state(root) == before


def test_policy_set_show_and_bad_policies(run, root, tmp_path):
    p = run("policy", "set", "churn", "production", "--approvals", "1", "--gate",
            "metrics.auc >= current.metrics.auc - 0.01", "--gate", "signature", "--gate", "smoke", "--allow-force",
            json_out=True)
    expected = {"model": "churn", "alias": "production", "required_approvals": 1, "allow_force": True,
                "gates": [{"type": "metric", "expr": "metrics.auc >= current.metrics.auc - 0.01"},
                          {"type": "signature"}, {"type": "smoke"}]}
    assert p == expected
    assert run("policy", "show", "churn", "production", json_out=True) == expected
    code, out, _ = run("policy", "show", "churn", "production")
    assert code == 0 and "required approvals: 1" in out and "force:              allowed" in out
    before = state(root)
    code, _, err = run("policy", "set", "churn", "production", "--gate", "metrics.auc >= eval('1')")
    assert code == 2 and "unknown name 'eval'" in err
    bad = tmp_path / "policy.json"
    bad.write_text('{"required_approvals": -2}')
    code, _, err = run("policy", "set", "churn", "production", "--file", str(bad))
    assert code == 2 and "required_approvals must be an integer" in err
    bad.write_text("{not json")
    code, _, err = run("policy", "set", "churn", "production", "--file", str(bad))
    assert code == 2 and "not valid JSON" in err
    code, _, err = run("policy", "set", "nope", "production", "--approvals", "1")
    assert code == 1 and "no model named 'nope'" in err
    code, _, err = run("policy", "frobnicate", "churn", "production")
    assert code == 2
    assert state(root) == before
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"required_approvals": 2, "gates": ["smoke"]}))
    assert run("policy", "set", "churn", "production", "--file", str(good), json_out=True)["required_approvals"] == 2


def test_check_and_promote_refused_then_allowed(run, root):
    run("policy", "set", "churn", "production", "--approvals", "1", "--gate",
        "metrics.auc >= current.metrics.auc - 0.01", "--gate", "smoke")
    before = state(root)
    code, out, err = run("check", "churn:2", "production")
    assert code == 1 and err == ""
    assert "churn:2 -> production: REFUSED" in out
    assert "metrics.auc = 0.8 < current.metrics.auc - 0.01 = 0.89 (current holder churn:1)" in out
    report = json.loads(run("check", "churn:2", "production", "--json")[1])
    assert report["allowed"] is False and [g["passed"] for g in report["gates"]] == [False, False, True]
    code, out, err = run("promote", "churn:2", "production", "--json")
    assert code == 1
    body = json.loads(out)
    assert body["code"] == "conflict" and body["report"] == report
    assert err.startswith("nbregistry: error: promotion of churn:2 to production refused: approvals: 0 approvals")
    code, out, err = run("promote", "churn:2", "production")
    assert code == 1 and "FAIL  approvals" in out
    code, _, err = run("promote", "churn:2", "production", "--force")
    assert code == 2 and "needs a reason" in err
    code, _, err = run("promote", "churn:2", "production", "--force", "--reason", "x", user="bob")
    assert code == 1 and "does not allow force" in err
    assert state(root) == before  # every refusal above left the registry as it was

    run("policy", "set", "churn", "production", "--approvals", "1", "--gate", "metrics.auc >= 0.5")
    run("review", "churn:2", "approve", user="bob")
    assert run("check", "churn:2", "production")[0] == 0
    move = run("promote", "churn:2", "production", "--reason", "reviewed", user="bob", json_out=True)
    assert (move["version"], move["previous"], move["kind"], move["actor"], move["forced"]) == (2, 1, "promote",
                                                                                                  "bob", False)
    assert move["report"]["allowed"] is True


def test_forced_promotion_is_recorded(run):
    run("policy", "set", "churn", "production", "--approvals", "2", "--allow-force")
    code, out, _ = run("promote", "churn:2", "production", "--force", "--reason", "incident 7")
    assert code == 0
    assert out.splitlines() == ["churn@production -> churn:2 (was churn:1)",
                                "FORCED past failing gates (reason: incident 7)"]
    moves = run("history", "churn@production", json_out=True)["moves"]
    assert moves[-1]["forced"] is True and moves[-1]["report"]["allowed"] is False


def test_rollback_walks_back_and_refuses_at_the_start(run, root):
    run("promote", "churn:2", "production")
    back = run("rollback", "churn@production", "--reason", "bad latency", json_out=True)
    assert (back["version"], back["previous"], back["kind"], back["reason"]) == (1, 2, "rollback", "bad latency")
    before = state(root)
    code, _, err = run("rollback", "churn@production")
    assert code == 1 and "no previous holder" in err
    code, _, err = run("rollback", "churn:1")
    assert code == 2 and "rollback needs an alias ref" in err
    assert state(root) == before


def test_history_at_a_moment(run):
    first = run("history", "churn@production", json_out=True)["moves"][0]["time"]
    run("promote", "churn:2", "production")
    then = run("history", "churn@production", "--at", first, json_out=True)
    assert then["version"]["ref"] == "churn:1"
    assert run("history", "churn@production", "--at", "2000-01-01", json_out=True) == {"version": None}
    code, out, _ = run("history", "churn@production", "--at", first)
    assert code == 0 and out.startswith("ref:") and "churn:1" in out.splitlines()[0]
    code, out, _ = run("history", "churn@production", "--at", "2000-01-01T00:00:00Z")
    assert (code, out.strip()) == (0, "churn@production named nothing at 2000-01-01T00:00:00Z")
    code, _, err = run("history", "churn@production", "--at", "yesterday")
    assert code == 2 and "cannot read 'yesterday' as a time" in err


def test_activity_feed(run):
    run("comment", "churn:2", "looks worse", "--anchor", "metrics.auc", user="bob")
    run("promote", "churn:2", "production", "--reason", "try it")
    items = run("activity", "--model", "churn", "--limit", "2", json_out=True)["items"]
    assert [i["summary"] for i in items] == [
        "alice promoted churn:2 to production (was churn:1): try it",
        "bob commented on churn:2 [metrics.auc]: “looks worse”",
    ]
    assert set(items[0]) == {"id", "time", "actor", "action", "ref", "summary"}
    newer = run("activity", "--since", str(items[1]["id"]), json_out=True)["items"]
    assert [i["id"] for i in newer] == [items[0]["id"]]
    code, out, _ = run("activity", "--limit", "1")
    assert code == 0 and out.rstrip().endswith("alice promoted churn:2 to production (was churn:1): try it")
    code, _, err = run("activity", "--model", "nope")
    assert code == 1 and "no model named 'nope'" in err


# ==================================================================== real subprocesses
def _cli(root, *argv, user="alice"):
    env = {**os.environ, "NBREGISTRY_USER": user}
    return subprocess.run([str(SCRIPT), "--root", str(root), *argv], capture_output=True, text=True, timeout=120,
                          env=env)


def test_console_script_gates_a_promotion_end_to_end(root):
    assert _cli(root, "policy", "set", "churn", "production", "--approvals", "1").returncode == 0
    refused = _cli(root, "promote", "churn:2", "production", "--json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["report"]["gates"][0]["detail"] == "0 approvals of 1 required"
    assert _cli(root, "check", "churn:2", "production").returncode == 1
    assert _cli(root, "review", "churn:2", "approve", user="alice").returncode == 0  # self-review: no effect
    assert _cli(root, "promote", "churn:2", "production").returncode == 1
    assert _cli(root, "review", "churn:2", "approve", user="bob").returncode == 0
    assert _cli(root, "check", "churn:2", "production").returncode == 0
    done = _cli(root, "promote", "churn:2", "production", "--reason", "approved by bob")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("churn@production -> churn:2 (was churn:1)")
    back = _cli(root, "rollback", "churn@production")
    assert back.returncode == 0 and back.stdout.strip() == "churn@production -> churn:1 (was churn:2)"
    again = _cli(root, "rollback", "churn@production")
    assert again.returncode == 1 and again.stderr.startswith("nbregistry: error:")
