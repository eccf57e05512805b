"""A widget output saved in a trusted notebook and reopened after its kernel is gone shows the
widget's static HTML (its data), not "Loading widget..." or "Error displaying widget": the
labextension wraps the widget-view renderer (labextension/src/widgetFallback.ts). While the kernel
that made it lives, the live widget is what shows."""

from __future__ import annotations

import json
import urllib.request

import pytest

from browser.conftest import run_command

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
OUTPUT = ".jp-NotebookPanel .jp-OutputArea-output.nbr-WidgetOutput"  # the renderer is the output node
CELL = ('from nbregistry import Registry\n'
        'from nbregistry.notebook.widgets import VersionCard\n'
        'VersionCard(Registry(), "churn:3")')


def visible_count(page, text: str) -> int:
    return page.get_by_text(text).evaluate_all("nodes => nodes.filter(n => n.offsetParent !== null).length")


def wait_for_idle_kernel(page) -> None:
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=90_000)
    page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=90_000)


def api(jupyter_lab, method: str, path: str):
    request = urllib.request.Request(f"{jupyter_lab['url']}api/{path}", method=method,
                                     headers={"Authorization": f"token {jupyter_lab['token']}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def test_a_saved_widget_reopened_without_its_kernel_shows_its_data(lab, jupyter_lab, screenshot):
    notebook = {"nbformat": 4, "nbformat_minor": 5,
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "cells": [{"cell_type": "code", "id": "card", "execution_count": None, "metadata": {},
                           "source": CELL, "outputs": []}]}
    path = jupyter_lab["notebooks"] / "widget-fallback.ipynb"
    path.write_text(json.dumps(notebook))
    lab.goto(f"{lab.workspace_url}/tree/widget-fallback.ipynb?token={jupyter_lab['token']}")
    wait_for_idle_kernel(lab)  # the notebook's kernelspec exists: JupyterLab starts it
    run_command(lab, "notebook:run-all-cells")
    # Live: the widget itself (its buttons) shows, the static copy is hidden.
    live = lab.locator(".jp-OutputArea-output button.widget-button", has_text="Approve")
    live.first.wait_for(timeout=120_000)
    assert not lab.locator(f"{OUTPUT} .nbr-WidgetOutput-static").first.is_visible()
    lab.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    run_command(lab, "docmanager:save")
    lab.wait_for_function("() => !document.querySelector('.jp-NotebookPanel .jp-mod-dirty')", timeout=20_000)
    lab.wait_for_timeout(1000)
    saved = json.loads(path.read_text())
    data = saved["cells"][0]["outputs"][0]["data"]
    assert WIDGET_MIME in data and "churn:3" in "".join(data["text/html"])

    # The kernel goes away and the page is reloaded (the workspace reopens the notebook): JupyterLab
    # starts a new kernel, which has no such model ("Error displaying widget: model not found").
    shown = lab.locator(".jp-NotebookPanel .jp-OutputArea-output", has_text="Logistic regression, C=10.0")
    static = lab.locator(f"{OUTPUT}:not(.nbr-mod-live) .nbr-WidgetOutput-static")

    def reopen() -> None:
        for session in api(jupyter_lab, "GET", "sessions"):
            if session["path"].endswith("widget-fallback.ipynb"):
                api(jupyter_lab, "DELETE", f"sessions/{session['id']}")
        lab.reload()
        lab.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90_000)

    def only_the_data_shows(case: str) -> None:
        lab.wait_for_timeout(5000)  # time for the widget manager to give up on the model
        assert visible_count(lab, "Error displaying widget") == 0, case
        assert visible_count(lab, "Loading widget") == 0, case
        assert shown.first.is_visible() and "auc" in shown.first.inner_text(), case  # the saved metrics
        assert static.first.is_visible(), case
        assert lab.locator(f"{OUTPUT}.nbr-mod-live").count() == 0, case

    reopen()
    wait_for_idle_kernel(lab)
    only_the_data_shows("a new kernel")
    # A notebook whose kernel this server does not have, opened with none (the widget renderer would
    # wait for one forever: "Loading widget..."): JupyterLab asks, the user picks "No Kernel". The edited
    # file is signed again, as JupyterLab signs what it saves, so it stays trusted.
    import nbformat
    from nbformat.sign import NotebookNotary

    edited = nbformat.read(path, as_version=4)
    edited.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "Gone"}
    edited.metadata.pop("language_info", None)
    NotebookNotary(data_dir=str(jupyter_lab["data_dir"])).sign(edited)
    nbformat.write(edited, path)
    reopen()
    lab.locator(".jp-Dialog .jp-Dialog-button", has_text="No Kernel").click(timeout=60_000)
    lab.locator(".jp-Dialog").wait_for(state="detached")
    only_the_data_shows("no kernel")
    screenshot(lab, "notebook-saved-widget")
