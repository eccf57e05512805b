"""HTML views and MIME bundles: readable without a kernel, user text always escaped."""

from __future__ import annotations

import re

import pytest

from nbregistry.core.compare import Comparison
from nbregistry.core.entities import Results
from nbregistry.notebook import display as views

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def two(reg, iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    reg.register(LogisticRegression(C=0.1, max_iter=500).fit(X, y), "churn", metrics={"auc": 0.8, "loss": 0.4},
                 tags={"team": EVIL}, description=EVIL, data={"X": X})
    reg.register(LogisticRegression(C=1.0, max_iter=500).fit(X, y), "churn", metrics={"auc": 0.9, "loss": 0.5},
                 tags={"team": EVIL})
    return reg



def test_every_result_object_renders_escaped_html(two, as_user):
    reg = two
    reg.comment("churn:1", EVIL, anchor="metrics.auc")
    with as_user(reg, "bob"):
        reg.review("churn:1", "approve", EVIL)
    reg.promote("churn:1", "production", reason=EVIL)
    reg.set_policy("churn", "staging", {"required_approvals": 1})
    objects = {
        "Model": reg.get_model("churn"),
        "ModelVersion": reg.get("churn:1"),
        "AliasMove": reg.history("churn")[0],
        "Event": reg.events()[0],
        "Comparison": reg.compare("churn"),
        "Diff": reg.diff("churn:1", "churn:2"),
        "VerifyReport": reg.verify(),
        "GCReport": reg.gc(dry_run=True),
        "Comment": reg.comments("churn:1")[0],
        "GateReport": reg.check("churn:2", "staging"),
        "ActivityItem": reg.activity("churn")[0],
        "Policy": reg.get_policy("churn", "staging"),
        "models": reg.list_models(),
        "versions": reg.list_versions("churn"),
        "search": reg.search("metrics.auc > 0.1"),
        "history": reg.history("churn"),
        "events": reg.events(),
        "comments": reg.comments("churn:1"),
        "activity": reg.activity("churn"),
        "empty": Results([], title="nothing here"),
    }
    for kind, obj in objects.items():
        html = obj._repr_html_()
        assert html.startswith("<div") and html.count("<div") == html.count("</div>"), kind
        assert "<script" not in html and "<img" not in html, kind
        assert "text/javascript" not in html
    assert "&lt;script&gt;alert" in objects["ModelVersion"]._repr_html_()       # description
    assert "&lt;script&gt;alert" in objects["comments"]._repr_html_()          # comment bodies
    assert "&lt;script&gt;alert" in objects["history"]._repr_html_()           # alias move reason
    assert "approved" in objects["comments"]._repr_html_()
    assert "refused" in objects["GateReport"]._repr_html_()
    assert "churn:1" in objects["versions"]._repr_html_() and "churn:2" in objects["versions"]._repr_html_()
    assert "clean" in objects["VerifyReport"]._repr_html_()


def test_version_card_shows_metrics_lineage_and_files(two):
    html = two.get("churn:1")._repr_html_()
    for fragment in ("churn:1", "auc", "0.8", "lineage", "data", "files", "sklearn"):
        assert fragment in html


def test_comparison_bundle_carries_html_json_vegalite_and_text(two):
    comparison = two.compare("churn")
    bundle = comparison._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", views.COMPARISON_MIME, views.VEGALITE_MIME}
    assert bundle[views.COMPARISON_MIME] == comparison.to_dict()
    assert bundle[views.COMPARISON_MIME]["schema"] == "nbregistry.comparison/1"
    spec = bundle[views.VEGALITE_MIME]
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert len(spec["data"]["values"]) == 4  # 2 versions x 2 metrics
    assert spec["spec"]["encoding"]["x"]["sort"] == ["churn:1", "churn:2"]  # oldest first
    assert bundle["text/plain"] == repr(comparison)


def cells_of_row(html: str, label: str) -> list[str]:
    row = re.search(r"<tr><td[^>]*>" + re.escape(label) + r".*?</tr>", html, re.S).group(0)
    return re.findall(r'<td style="([^"]*)">', row)


def test_comparison_highlights_best_metric_and_differing_params(two):
    html = views.comparison_html(two.compare("churn"))  # newest first: churn:2, churn:1
    auc = cells_of_row(html, "auc")
    loss = cells_of_row(html, "loss")
    assert views.BEST in auc[1] and views.BEST not in auc[2]     # auc: higher is better -> churn:2
    assert views.BEST in loss[2] and views.BEST not in loss[1]   # loss: lower is better -> churn:1
    assert "<b>0.9</b>" in html and "<b>0.4</b>" in html and "<b>0.8</b>" not in html  # bold without styles too
    c_row = cells_of_row(html, "C")
    assert all(views.DIFFERS in style for style in c_row)
    details = html[html.index("<details"):]
    assert "max_iter" in details and ">C<" not in details        # identical params folded in <details>
    shown = views.comparison_html(two.compare("churn"), hide_identical=False)
    assert "identical params" not in shown and "max_iter" in shown


def test_comparison_from_json_renders_the_same(two):
    comparison = two.compare("churn")
    again = Comparison.from_dict(comparison.to_dict())
    assert views.comparison_html(again) == views.comparison_html(comparison)


def test_register_card_text_and_html(two):
    version = two.get("churn:1")
    version.deduplicated = True
    card = views.RegisterCard(version, {"path": "nb.ipynb", "cells": [{"execution_count": 1, "source": "x"}],
                                        "warnings": [EVIL]})
    text = repr(card)
    assert text.startswith("registered churn:1") and "1 cell(s) of nb.ipynb" in text and "deduplicated" in text
    html = card._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html


def test_colours_follow_the_jupyterlab_theme_with_plain_fallbacks(two):
    """Dark themes work: every colour is a --jp-* theme variable; GitHub/nbviewer get the fallback."""
    reg = two
    pages = [views.render_html(reg.get("churn:1")), views.comparison_html(reg.compare("churn")),
             views.render_html(reg.get_model("churn"))]
    for page in pages:
        assert "var(--jp-" in page
        styles = " ".join(re.findall(r'style="([^"]*)"', page))
        bare = re.sub(r"var\(--jp-[a-z0-9-]+, [^)]*\)", "", styles)
        assert not re.search(r"#[0-9a-fA-F]{6}", bare), f"a colour outside the theme: {bare[:300]}"


def test_times_show_to_the_second_with_the_iso_kept(two):
    v = two.get("churn:1")
    page = views.render_html(v)
    shown = re.search(r'<time datetime="([^"]+)" title="[^"]+">([^<]+)</time>', page)
    assert shown and shown.group(1) == v.created_at
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d( \S+)?", shown.group(2)), shown.group(2)
    assert "." not in shown.group(2), "no microseconds on screen"
