"""Comparison outputs render in JupyterLab from the saved MIME bundle alone, with no kernel."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MIME = "application/vnd.nbregistry.comparison+json"


def test_saved_comparison_output_renders_without_a_kernel(lab, jupyter_lab, screenshot):
    import nbregistry as nr

    reg = nr.Registry(jupyter_lab["root"])
    try:
        comparison = reg.compare(["churn:1", "churn:2", "churn:3"]).to_dict()
    finally:
        reg.close()
    notebook = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{
            "cell_type": "code", "id": "compare", "execution_count": 1, "metadata": {},
            "source": 'nr.compare("churn")',
            "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                         "data": {MIME: comparison, "text/plain": "<Comparison churn>"}}],
        }],
    }
    (jupyter_lab["notebooks"] / "comparison.ipynb").write_text(json.dumps(notebook))
    lab.goto(f"{lab.workspace_url}/tree/comparison.ipynb?token={jupyter_lab['token']}")
    table = lab.locator(".jp-OutputArea-output .nbr-CompareTable")
    table.wait_for(timeout=60_000)
    refs = table.locator("thead th[data-ref]").evaluate_all("cells => cells.map(c => c.dataset.ref)")
    assert refs == ["churn:1", "churn:2", "churn:3"]
    assert table.locator('tr[data-metric="auc"] td.nbr-mod-best').inner_text() == "0.8800"
    assert lab.locator(".jp-OutputArea-output svg.nbr-Chart").count() == 1
    screenshot(lab, "comparison-output")
