"""The quickstart notebook run in JupyterLab: `%registry compare` shows the extension's interactive
comparison (its table and chart), while the saved output keeps the static HTML for GitHub and nbviewer."""

from __future__ import annotations

import json
import shutil

import pytest

from browser.conftest import REPO, run_command

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

MIME = "application/vnd.nbregistry.comparison+json"


def test_quickstart_shows_the_comparison_chart(lab, jupyter_lab, screenshot):
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", jupyter_lab["notebooks"] / "quickstart.ipynb")
    lab.goto(f"{lab.workspace_url}/tree/quickstart.ipynb?token={jupyter_lab['token']}")
    # The quickstart names its own kernelspec: JupyterLab asks which kernel to start.
    select = lab.locator(".jp-Dialog .jp-mod-accept", has_text="Select")
    try:
        select.wait_for(timeout=15_000)
        select.click()
    except Exception:  # no dialog: the kernel started on its own
        pass
    lab.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    lab.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=90_000)
    run_command(lab, "notebook:run-all-cells")
    output = lab.locator(".jp-OutputArea-output.nbr-ComparisonOutput").first  # the extension's renderer, not the HTML
    output.wait_for(timeout=240_000)
    output.scroll_into_view_if_needed()
    chart = output.locator("svg.nbr-Chart")
    chart.wait_for()
    assert chart.locator("rect.nbr-Chart-bar").count() == 3, "one bar per compared version"
    assert output.locator(".nbr-CompareTable thead th[data-ref]").count() == 3
    assert lab.locator(".jp-OutputArea-output").filter(has_text="Error displaying widget").count() == 0
    chart.scroll_into_view_if_needed()
    screenshot(lab, "notebook-compare")
    # The saved output still carries the static HTML (GitHub, nbviewer, a dead kernel) beside the JSON.
    lab.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
    run_command(lab, "docmanager:save")
    lab.wait_for_timeout(1500)
    saved = json.loads((jupyter_lab["notebooks"] / "quickstart.ipynb").read_text())
    compare = next(c for c in saved["cells"] if "".join(c["source"]).startswith("%registry compare"))
    data = compare["outputs"][0]["data"]
    assert MIME in data and "<table" in "".join(data["text/html"])
