"""Model cards: written per model and per version, kept with their history, drafted from the recorded
facts, rendered sanitized."""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score

from nbregistry.core.errors import NotFound, ValidationError


def test_cards_per_model_and_per_version_with_history(reg, iris_model):
    reg.register(iris_model, "churn")
    reg.register(iris_model, "churn")
    assert reg.card("churn") == "" and reg.card("churn:1") == ""
    reg.set_card("churn", "# Churn\n\nPredicts who leaves.")
    card = reg.set_card("churn:2", "Version two notes")
    assert (card.ref, card.author) == ("churn:2", "alice")
    assert reg.card("churn") == "# Churn\n\nPredicts who leaves."
    assert reg.card("churn:2") == "Version two notes" and reg.card("churn:1") == ""
    reg.set_alias("churn:2", "production")
    assert reg.card("churn@production") == "Version two notes"
    reg.set_card("churn", "# Churn v2")
    assert [str(c) for c in reg.card_history("churn")] == ["# Churn\n\nPredicts who leaves.", "# Churn v2"]
    events = [e for e in reg.events() if e.action == "card.updated"]
    assert events[-1].payload["previous"] == "# Churn\n\nPredicts who leaves."
    assert events[0].payload["previous"] is None
    n = len(reg.events())
    reg.set_card("churn", "# Churn v2")  # unchanged: no event
    assert len(reg.events()) == n


def test_card_input_is_validated(reg, iris_model):
    reg.register(iris_model, "churn")
    with pytest.raises(ValidationError, match="markdown text"):
        reg.set_card("churn", 42)
    with pytest.raises(NotFound):
        reg.set_card("churn:9", "x")
    with pytest.raises(NotFound):
        reg.card("nope")


def test_a_drafted_card_names_its_metrics_datasets_and_its_approvers(reg, iris, iris_model, as_user):
    X, y = iris
    reg.register(iris_model, "churn", metrics={"acc": 0.97}, params={"C": 1.0}, data={"train": X},
                 description="churn model")
    reg.evaluate("churn:1", data=(X, y), metrics={"acc": accuracy_score}, name="holdout-2026-12")
    reg.set_policy("churn", "production", {"required_approvals": 1})
    with as_user(reg, "bob"):
        reg.review("churn:1", "approve", "checked the holdout numbers")
    with as_user(reg, "carol"):
        reg.promote("churn:1", "production", reason="quarterly release")
    draft = reg.card("churn:1", draft=True)
    assert draft.draft and reg.card("churn:1") == ""  # a draft is not stored
    text = str(draft)
    assert "## Intended use" in text and "To be written by the author" in text
    assert "holdout-2026-12" in text  # the evaluation's dataset ...
    assert "as registered (the data they were computed on is not recorded)" in text  # ... and the registration's
    assert "bob approved" in text and "Counted approvals: bob" in text
    assert "promoted by carol" in text and "1 approval (bob) of 1 required" in text
    assert "train" in text and "## Parameters" in text and "| C | 1.0 |" in text
    model_draft = reg.card("churn", draft=True)
    assert "@production" in model_draft and "churn:1" in model_draft


def test_card_html_is_sanitized(reg, iris_model):
    reg.register(iris_model, "churn")
    card = reg.set_card("churn", "# Title\n\n**bold** <script>alert(1)</script> [x](javascript:alert(1))\n\n"
                                 '<img src=x onerror="alert(2)">')
    html = card._repr_html_()
    assert "<strong>bold</strong>" in html and "<h1>Title</h1>" in html  # rendered ...
    assert "<script" not in html and "<img" not in html  # ... but inert: raw HTML shows as text
    assert "javascript:" not in html


def test_card_and_revert_text_that_cannot_be_stored_is_refused(reg, iris_model):
    reg.register(iris_model, "churn")
    with pytest.raises(ValidationError, match="surrogate"):
        reg.set_card("churn", "bad \ud800 card")
    with pytest.raises(ValidationError, match="surrogate"):
        reg.revert("churn:1", reason="why \udcff")
    with pytest.raises(ValidationError, match="nested too deep"):
        reg.log_metrics("churn:1", {"auc": 0.5}, dataset="h", code={"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]})
    assert reg.card("churn") == "" and len(reg.list_versions("churn")) == 1 and reg.evaluations("churn") == []
