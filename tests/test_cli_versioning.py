"""The CLI verbs of versioning, cards and evaluations: revert, rename, delete --model, release-name,
card, evaluations, log-metrics, and export --format hf."""

from __future__ import annotations

import io
import sys

import pytest

from helpers import cli_runner


@pytest.fixture
def root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def run(root, capsys):
    return cli_runner(root, capsys)


@pytest.fixture
def seeded(run, tmp_path):
    for text in ("one", "two"):
        f = tmp_path / f"{text}.txt"
        f.write_text(text)
        run("register", str(f), "churn", "--metric", f"auc={0.8 if text == 'one' else 0.7}", "--tag", f"t={text}",
            json_out=True)
    return run


def test_revert_then_diff_shows_only_the_link(seeded):
    run = seeded
    version = run("revert", "churn:1", "--reason", "two was worse", json_out=True)
    assert version["ref"] == "churn:3" and version["lineage"]["revert_of"]["ref"] == "churn:1"
    diff = run("diff", "churn:1", "churn:3", json_out=True)
    assert diff["changes"] == {"revert": [{"key": "revert_of", "a": None, "b": "churn:1"}]}
    code, out, _ = run("revert", "churn:2")
    assert code == 0 and "churn:4 is a revert of churn:2" in out
    code, out, _ = run("show", "churn:4")
    assert "revert of:" in out and "churn:2" in out


def test_rename_and_delete_model_with_their_safety(seeded):
    run = seeded
    run("alias", "churn:1", "production", json_out=True)
    code, _, err = run("rename", "churn", "churn-v2")
    assert code == 1 and "production" in err
    code, _, err = run("rename", "churn", "churn-v2", "--force")
    assert code == 2 and "reason" in err
    assert run("rename", "churn", "churn-v2", "--force", "--reason", "naming", json_out=True)["name"] == "churn-v2"
    code, _, err = run("show", "churn:1")
    assert code == 1 and "renamed to 'churn-v2'" in err
    code, _, err = run("delete", "churn-v2", "--model")
    assert code == 1 and "production" in err
    out = run("delete", "churn-v2", "--model", "--force", "--reason", "gone", json_out=True)
    assert out["versions"] == [1, 2] and out["deleted"] == "churn-v2"
    code, _, err = run("delete", "churn:1", "--force")
    assert code == 2 and "--model" in err
    assert run("release-name", "churn", json_out=True) == {"released": "churn"}


def test_card_set_show_draft_history(seeded, tmp_path, monkeypatch):
    run = seeded
    code, out, _ = run("card", "churn")
    assert code == 0 and "no card yet" in out
    md = tmp_path / "card.md"
    md.write_text("# Churn\n\nhello")
    run("card", "churn", "--set", str(md), json_out=True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("# Churn v2\n"))
    run("card", "churn", "--set", "-", json_out=True)
    assert run("card", "churn", json_out=True)["body"] == "# Churn v2\n"
    assert [c["body"] for c in run("card", "churn", "--history", json_out=True)["cards"]] == \
        ["# Churn\n\nhello", "# Churn v2\n"]
    draft = run("card", "churn:1", "--draft", json_out=True)
    assert draft["draft"] is True and "## Intended use" in draft["body"]
    code, _, err = run("card", "churn", "--draft", "--history")
    assert code == 2


def test_log_metrics_and_evaluations(seeded, tmp_path):
    run = seeded
    data = tmp_path / "holdout.csv"
    data.write_text("a,b\n1,2\n")
    e = run("log-metrics", "churn:1", "auc=0.75", "--dataset", "holdout", "--data", str(data), json_out=True)
    assert e["source"] == "logged" and len(e["fingerprint"]) == 64
    run("log-metrics", "churn:2", "auc=0.78", "--dataset", "holdout", "--data", str(data), json_out=True)
    listed = run("evaluations", "churn", json_out=True)["evaluations"]
    assert [x["ref"] for x in listed] == ["churn:1", "churn:2"]
    cmp = run("compare", "churn", json_out=True)
    assert cmp["metrics"]["auc@holdout"]["best"] == [0]  # churn:2 (newest first) on the same data
    code, out, _ = run("compare", "churn")
    assert "auc@holdout" in out
    code, _, err = run("log-metrics", "churn:1", "auc=x", "--dataset", "holdout")
    assert code == 2 and "number" in err


def test_export_hf(seeded, tmp_path):
    run = seeded
    report = run("export", "churn:1", "--format", "hf", str(tmp_path / "hf"), json_out=True)
    assert report["format"] == "hf"
    assert (tmp_path / "hf" / "README.md").read_text().startswith("---\n")
