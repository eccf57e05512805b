"""%registry revert / rename / delete / card / %%registry card / evaluate / evaluations in a real
IPython shell, checked against the registry's state."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from nbhelpers import run, run_error

SETUP = [
    "from sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.metrics import accuracy_score",
    "X, y = load_iris(return_X_y=True, as_frame=True)",
    "weak = LogisticRegression(max_iter=5, C=0.001).fit(X, y)\nstrong = LogisticRegression(max_iter=500).fit(X, y)",
    "%register weak --name churn --quiet",
    "%register strong --name churn --quiet",
]


@pytest.fixture
def seeded(shell):
    for cell in SETUP:
        run(shell, cell)
    return shell


def test_revert_magic(seeded, reg):
    v = run(seeded, "%registry revert churn:1 --reason 'back to the weak one'")
    assert v.ref == "churn:3" and v.lineage["revert_of"]["reason"] == "back to the weak one"
    assert "revert of" in v._repr_html_()
    assert not reg.diff("churn:1", "churn:3").changes.get("params")


def test_card_cell_magic_sets_and_line_magic_shows_sanitized(seeded, reg):
    run(seeded, "%%registry card churn\n# Churn\n\nPredicts **who** leaves. <script>alert(1)</script>\n")
    assert reg.card("churn") == "# Churn\n\nPredicts **who** leaves. <script>alert(1)</script>\n"
    card = run(seeded, "%registry card churn")
    html = card._repr_html_()
    assert "<strong>who</strong>" in html and "<script" not in html
    draft = run(seeded, "%registry card churn:2 --draft")
    assert draft.draft and "## Intended use" in draft
    err = run_error(seeded, "%%registry card churn --draft\nbody")
    assert isinstance(err, UsageError)


def test_evaluate_magic_scores_versions_on_the_same_data(seeded, reg):
    results = run(seeded, "%registry evaluate churn --data X y --metric acc=accuracy_score --name full")
    assert [e.ref for e in results] == ["churn:2", "churn:1"]
    assert reg.compare("churn").best["acc@full"] == "churn:2"
    shown = run(seeded, "%registry evaluations churn --dataset full")
    assert len(shown) == 2 and "full" in shown._repr_html_()
    err = run_error(seeded, "%registry evaluate churn --data X y --metric acc=nothing_here")
    assert isinstance(err, UsageError) and "nothing_here" in str(err)


def test_rename_and_delete_magics(seeded, reg, capsys):
    reg.set_alias("churn:1", "production")
    err = run_error(seeded, "%registry rename churn churn2")
    assert isinstance(err, UsageError) and "production" in str(err)
    assert run(seeded, "%registry rename churn churn2 --force --reason tidy").name == "churn2"
    err = run_error(seeded, "%registry show churn:1")
    assert "renamed to 'churn2'" in str(err)
    run(seeded, "%registry delete churn2 --model --force --reason done")
    assert "deleted model churn2" in capsys.readouterr().out
    assert reg.list_models().total == 0
