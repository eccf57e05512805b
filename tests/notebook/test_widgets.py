"""Widgets driven as a user would: set traits, click buttons, check the registry afterwards."""

from __future__ import annotations

import pytest
from nbhelpers import snapshot

from nbregistry.notebook.widgets import ComparisonWidget, RegistryBrowser, VersionCard


@pytest.fixture
def churn(reg, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    for C, acc, loss in ((0.1, 0.80, 0.50), (1.0, 0.95, 0.30), (10.0, 0.90, 0.10)):
        reg.register(LogisticRegression(C=C, max_iter=500).fit(X, y), "churn", metrics={"acc": acc, "loss": loss},
                     tags={"team": "risk"}, input_example=X.head(3))
    reg.register(LogisticRegression(max_iter=500).fit(X, y), "other", metrics={"acc": 0.5})
    return reg


def test_browser_goes_from_models_to_versions_to_card(churn):
    browser = RegistryBrowser(churn)
    assert browser.models.options == ("churn", "other")
    assert browser.models.value == "churn"
    assert [ref for _, ref in browser.versions.options] == ["churn:3", "churn:2", "churn:1"]
    assert browser.card.ref == "churn:3"
    browser.versions.value = "churn:1"
    assert browser.card.version.ref == "churn:1"
    browser.models.value = "other"
    assert browser.card.ref == "other:1"
    browser.search.value = "chu"
    assert browser.models.options == ("churn",) and browser.card.ref == "churn:3"
    churn.set_alias("churn:2", "production")
    browser.refresh_button.click()
    assert ("2 @production", "churn:2") in browser.versions.options
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "churn" in bundle["text/html"]


def test_comparison_selects_versions_metrics_goals_and_diffs(churn):
    widget = ComparisonWidget(churn, "churn")
    assert widget.comparison.best == {"acc": "churn:2", "loss": "churn:3"}
    widget.goals["acc"].value = "min"
    assert widget.comparison.best["acc"] == "churn:1"
    widget.versions.value = ("churn:2", "churn:3")
    assert widget.comparison.refs == ["churn:2", "churn:3"]
    assert widget.comparison.best["acc"] == "churn:3"  # the chosen goal survives reselection
    widget.metrics.value = ("loss",)
    assert list(widget.shown().metrics) == ["loss"] and "acc" not in widget.table.value.split("metrics")[1]
    bundle = widget._repr_mimebundle_()
    assert bundle["application/vnd.nbregistry.comparison+json"]["metrics"].keys() == {"loss"}
    assert {d["metric"] for d in bundle["application/vnd.vegalite.v5+json"]["data"]["values"]} == {"loss"}
    assert "text/html" in bundle
    widget.diff_a.value, widget.diff_b.value = "churn:1", "churn:3"
    widget.diff_button.click()
    assert widget.diff.a == "churn:1" and {c["key"] for c in widget.diff.changes["params"]} == {"C"}
    assert "churn:1" in widget.diff_html.value


def test_comparison_hides_identical_rows_on_request(churn):
    widget = ComparisonWidget(churn, ["churn:1", "churn:2"])
    assert "<details" in widget.table.value  # identical params folded away
    widget.hide_identical.value = False
    assert "<details" not in widget.table.value


def test_card_comment_box_and_reviews(churn, as_user):
    card = VersionCard(churn, "churn:2")
    card.comment_box.value = "Why is <b>loss</b> higher?"
    card.anchor_box.value = "metrics.loss"
    card.comment_button.click()
    thread = churn.comments("churn:2")
    assert [(c.body, c.anchor) for c in thread] == [("Why is <b>loss</b> higher?", "metrics.loss")]
    assert card.comment_box.value == "" and "&lt;b&gt;loss" in card.comments_html.value
    assert "<b>loss</b>" not in card.comments_html.value
    with as_user(churn, "bob"):
        card.request_changes_button.click()
        card.comment_box.value = "fine now"
        card.approve_button.click()
    assert churn.review_state("churn:2")["approvals"] == ["bob"]
    assert len(card.thread) == 3


def test_card_anchor_naming_nothing_is_refused_and_shown(churn):
    card = VersionCard(churn, "churn:2")
    before = snapshot(churn)
    card.comment_box.value = "?"
    card.anchor_box.value = "metrics.nope"
    card.comment_button.click()
    assert card.last_error is not None and "nope" in card.status.value
    assert card.comment_box.value == "?"  # kept for the user to fix
    assert snapshot(churn) == before


def test_card_promote_is_refused_by_policy_then_allowed_after_approval(churn, as_user):
    churn.set_policy("churn", "production", {"required_approvals": 1})
    card = VersionCard(churn, "churn:2")
    card.alias_box.value = "production"
    before = snapshot(churn)
    card.promote_button.click()
    assert card.last_error is not None and "refused" in card.status.value
    assert "approval" in card.status.value.lower()
    assert snapshot(churn) == before
    card.check_button.click()
    assert card.last_result.allowed is False
    with as_user(churn, "bob"):
        card.approve_button.click()
    card.reason_box.value = "approved by bob"
    card.promote_button.click()
    assert card.last_error is None
    assert churn.get("churn@production").version == 2
    assert churn.history("churn", "production")[-1].reason == "approved by bob"
    assert "@production" in card.header.value


def test_card_rollback_moves_the_alias_back(churn):
    churn.promote("churn:1", "staging")
    churn.promote("churn:3", "staging")
    card = VersionCard(churn, "churn:3")
    card.alias_box.value = "staging"
    card.rollback_button.click()
    assert churn.get("churn@staging").version == 1
    assert churn.history("churn", "staging")[-1].kind == "rollback"
    card.rollback_button.click()  # nothing before churn:1: refused, shown, nothing changes
    assert card.last_error is not None and churn.get("churn@staging").version == 1


def test_card_unknown_ref_shows_the_error(churn):
    card = VersionCard(churn, "churn:99")
    assert card.version is None and "no version 99" in card.status.value
    assert "text/html" in card._repr_mimebundle_()


def test_comparison_of_a_long_history_starts_with_the_newest_versions(reg, tmp_path):
    from nbregistry.notebook.widgets import comparison

    artifact = tmp_path / "w.txt"
    artifact.write_text("w")
    for i in range(comparison.DEFAULT_SELECTED + 3):
        reg.register(artifact, "long", metrics={"acc": i / 100})
    widget = ComparisonWidget(reg, "long")
    assert len(widget.versions.options) == comparison.DEFAULT_SELECTED + 3
    assert widget.comparison.refs == [f"long:{n}" for n in range(13, 3, -1)]
    assert widget.comparison.best == {"acc": "long:13"}


def test_buttons_are_as_wide_as_their_labels(churn):
    import ipywidgets as W

    card = VersionCard(churn, "churn:1")
    widget = ComparisonWidget(churn, "churn")
    buttons = [w for w in (*vars(card).values(), *vars(widget).values()) if isinstance(w, W.Button)]
    assert len(buttons) >= 7
    for button in buttons:
        assert button.layout.width == "auto" and button.layout.flex == "0 0 auto", button.description
    assert all(t.style.button_width == "auto" for t in widget.goals.values())


def test_widgets_carry_a_static_html_fallback(churn):
    for widget in (VersionCard(churn, "churn:1"), ComparisonWidget(churn, "churn"), RegistryBrowser(churn)):
        bundle = widget._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert "churn" in bundle["text/html"], type(widget).__name__
