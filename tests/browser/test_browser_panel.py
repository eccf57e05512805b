"""The Model Registry side panel, driven in headless Chromium against a real server and registry."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

PANEL_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="nbregistry-panel"]'
PANEL = "#nbregistry-panel"


def open_panel(page, width: int = 620):
    """Open the side panel and drag it wider, as a user comparing versions would."""
    page.click(PANEL_TAB)
    page.wait_for_selector(f"{PANEL} .nbr-ModelRow")
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    if box and box["x"] < width:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 200)
        page.mouse.down()
        page.mouse.move(width, box["y"] + 200, steps=5)
        page.mouse.up()
    return page.locator(PANEL)


def search(page, text: str):
    page.fill(f"{PANEL} .nbr-SearchInput", text)


def open_model(page, name: str):
    search(page, name)
    page.click(f'{PANEL} .nbr-ModelRow[data-model="{name}"]')
    page.wait_for_selector(f"{PANEL} .nbr-ModelPage .nbr-VersionsTable")


def open_version(page, ref: str):
    name = ref.split(":")[0]
    open_model(page, name)
    page.click(f'{PANEL} .nbr-VersionsTable tr[data-ref="{ref}"] .nbr-LinkButton')
    page.wait_for_selector(f'{PANEL} .nbr-VersionPage[data-ref="{ref}"]')


def test_panel_lists_seeded_models_in_a_window(lab, screenshot):
    panel = open_panel(lab)
    assert panel.locator(".nbr-Banner").count() == 0, "frontend and backend versions should agree"
    summary = panel.locator(".nbr-ListSummary").inner_text()
    assert "402 models" in summary, summary
    assert panel.locator('.nbr-ModelRow[data-model="churn"]').count() == 1
    rows = panel.locator(".nbr-VirtualRow").count()
    assert 0 < rows < 100, f"{rows} rows in the DOM: the list is not windowed"
    chips = panel.locator('.nbr-ModelRow[data-model="churn"] .nbr-Chip-alias').all_inner_texts()
    assert "@production:1" in chips and "@staging:2" in chips
    screenshot(lab, "model-list")

    # Scroll to the very end: the last filler model is fetched and rendered, still windowed.
    lab.locator(f"{PANEL} .nbr-VirtualList").evaluate("node => { node.scrollTop = node.scrollHeight; }")
    lab.wait_for_selector(f'{PANEL} .nbr-ModelRow[data-model="zz-filler-0399"]')
    assert panel.locator(".nbr-VirtualRow").count() < 100

    search(lab, "fraud")
    lab.wait_for_function(
        "() => document.querySelectorAll('#nbregistry-panel .nbr-ModelRow').length === 1")
    assert panel.locator(".nbr-ModelRow").get_attribute("data-model") == "fraud"


def test_ten_thousand_models_stay_windowed(lab):
    """The list fetches pages as they scroll into view and keeps only visible rows in the DOM."""
    requested = []

    def serve(route):
        query = dict(part.split("=", 1) for part in route.request.url.split("?", 1)[1].split("&") if "=" in part)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        requested.append(offset)
        models = [{"name": f"model-{i:05d}", "description": "", "tags": {}, "created_at": "2026-01-01T00:00:00Z",
                   "created_by": "alice", "archived": False, "latest_version": 1, "version_count": 1,
                   "aliases": {"production": 1} if i % 7 == 0 else {}}
                  for i in range(offset, min(offset + limit, 10_000))]
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"models": models, "total": 10_000}))

    panel = open_panel(lab)
    lab.route(re.compile(r".*/nbregistry/api/models\?.*"), serve)
    panel.locator(".nbr-Refresh").click()  # the list re-fetches, now from the stub
    panel.locator(".nbr-ListSummary", has_text="10,000").wait_for()
    assert "10,000 models" in panel.locator(".nbr-ListSummary").inner_text()
    scroller = lab.locator(f"{PANEL} .nbr-VirtualList")
    for fraction in (0.25, 0.5, 0.75, 1.0):
        scroller.evaluate(f"node => {{ node.scrollTop = node.scrollHeight * {fraction}; }}")
        lab.wait_for_timeout(150)
    lab.wait_for_selector(f'{PANEL} .nbr-ModelRow[data-model="model-09999"]')
    assert panel.locator(".nbr-VirtualRow").count() < 100
    assert len(requested) < 20, f"fetched {len(requested)} pages for four jumps"


def test_search_expression_lists_matching_versions(lab):
    panel = open_panel(lab)
    search(lab, "metrics.auc > 0.85")
    lab.wait_for_selector(f"{PANEL} .nbr-VersionRow")
    refs = sorted(panel.locator(".nbr-VersionRow").evaluate_all("rows => rows.map(r => r.dataset.ref)"))
    assert refs == ["churn:3", "fraud:1", "fraud:2"]

    search(lab, "metrics.auc >")  # an incomplete expression: the server's message, readably
    lab.wait_for_selector(f"{PANEL} .nbr-Error")
    assert panel.locator(".nbr-Error").inner_text().strip()


def test_model_and_version_pages(lab, screenshot):
    open_panel(lab)
    open_model(lab, "churn")
    panel = lab.locator(PANEL)
    assert panel.locator(".nbr-VersionsTable tbody tr").count() == 3
    headers = panel.locator(".nbr-VersionsTable thead th").all_inner_texts()
    assert "auc" in headers and "loss" in headers
    assert "first model" in panel.locator(".nbr-HistoryTable").inner_text()
    screenshot(lab, "model-page")

    panel.locator('.nbr-VersionsTable tr[data-ref="churn:2"] .nbr-LinkButton').click()
    lab.wait_for_selector(f'{PANEL} .nbr-VersionPage[data-ref="churn:2"]')
    text = panel.inner_text()
    for expected in ("Logistic regression, C=1.0", "retention", "penalty", "tenure", "float64"):
        assert expected in text, expected
    cells = panel.locator(".nbr-NotebookCells .nbr-Cell")
    assert cells.count() == 3
    assert cells.nth(1).locator(".nbr-Cell-prompt").inner_text() == "[3]:"
    assert cells.nth(1).locator(".nbr-Cell-source").inner_text() == "model = LogisticRegression(C=1.0)"
    assert "cell 3 ran before cell 2" in panel.locator(".nbr-NotebookCells .nbr-Warning").inner_text()
    with lab.expect_download() as download:  # the file link streams the artifact's bytes
        panel.locator(".nbr-VersionPage a[download]").first.click()
    assert download.value.suggested_filename == "model.skops"
    assert Path(download.value.path()).stat().st_size > 1000
    screenshot(lab, "version-page")

    panel.locator(".nbr-Back").click()
    lab.wait_for_selector(f"{PANEL} .nbr-ModelPage")
    panel.locator(".nbr-Back").click()  # back to the list, which kept its search
    assert lab.locator(f"{PANEL} .nbr-SearchInput").input_value() == "churn"
    lab.wait_for_selector(f'{PANEL} .nbr-ModelRow[data-model="churn"]')


def test_comment_markdown_is_rendered_inert(lab, screenshot):
    open_panel(lab)
    open_version(lab, "churn:2")
    lab.evaluate("() => { window.__nbrXss = 0; }")
    body = ("**bold** review note\n\n<script>window.__nbrXss = 1;</script>\n\n"
            '<img src="x" onerror="window.__nbrXss = 2">\n\n[link](javascript:window.__nbrXss=3)')
    lab.fill(f"{PANEL} .nbr-NewCommentInput", body)
    lab.click(f"{PANEL} .nbr-PostComment")
    comment = lab.locator(f"{PANEL} .nbr-Comment").filter(has_text="review note")
    comment.wait_for()
    rendered = comment.locator(".nbr-Comment-body")
    assert rendered.locator("strong").inner_text() == "bold"  # markdown is rendered...
    assert rendered.locator("script").count() == 0  # ...but sanitized
    assert rendered.locator("[onerror]").count() == 0
    lab.wait_for_timeout(500)
    for link in rendered.locator("a").all():
        href = link.get_attribute("href") or ""
        assert not href.lower().startswith("javascript"), href
    assert lab.evaluate("() => window.__nbrXss") == 0, "a handler in the comment ran"

    # Reply and edit own comment.
    comment.locator(".nbr-ReplyButton").first.click()
    lab.fill(f"{PANEL} .nbr-Comment .nbr-CommentInput", "a reply")
    lab.locator(f"{PANEL} .nbr-Comment .nbr-CommentEditor button", has_text="Reply").click()
    lab.wait_for_selector(f"{PANEL} .nbr-Replies .nbr-Comment")
    reply = lab.locator(f"{PANEL} .nbr-Replies .nbr-Comment").filter(has_text="a reply")
    reply.locator(".nbr-EditButton").click()
    lab.fill(f"{PANEL} .nbr-Replies .nbr-CommentInput", "an edited reply")
    lab.locator(f"{PANEL} .nbr-Replies .nbr-CommentEditor button", has_text="Save").click()
    lab.locator(f"{PANEL} .nbr-Replies").filter(has_text="an edited reply").wait_for()
    screenshot(lab, "comments")


def test_approve_promote_and_rollback(lab, screenshot):
    panel = open_panel(lab)
    open_version(lab, "churn:3")
    lab.click(f"{PANEL} .nbr-Approve")
    panel.locator(".nbr-Comment .nbr-Chip-approve").first.wait_for()

    lab.fill(f"{PANEL} .nbr-AliasInput", "production")
    lab.fill(f"{PANEL} .nbr-ReasonInput", "best auc so far")
    lab.click(f"{PANEL} .nbr-CheckButton")
    lab.wait_for_selector(f"{PANEL} .nbr-GateReport")
    lab.click(f"{PANEL} .nbr-PromoteButton")
    lab.wait_for_selector(f"{PANEL} .nbr-Success")
    assert "v3" in panel.locator(".nbr-Success").inner_text()
    # The version page's own alias chips follow.
    lab.wait_for_selector(f'{PANEL} .nbr-Title .nbr-Chip-alias:has-text("@production")')
    screenshot(lab, "promote")

    panel.locator(".nbr-Home").click()
    open_model(lab, "churn")
    history = panel.locator(".nbr-HistoryTable")
    history.filter(has_text="best auc so far").wait_for()
    assert "v1 → v3" in history.inner_text()

    # Roll production back one step, confirming in JupyterLab's dialog.
    panel.locator('tr[data-alias="production"] .nbr-RollbackButton').click()
    lab.click(".jp-Dialog .jp-mod-warn")
    lab.wait_for_function(
        "() => /rollback/.test(document.querySelector('#nbregistry-panel .nbr-HistoryTable').innerText)")
    assert panel.locator('tr[data-alias="production"] td').first.inner_text() == "v1"


def test_compare_two_versions(lab, screenshot):
    panel = open_panel(lab)
    open_model(lab, "churn")
    panel.locator('tr[data-ref="churn:1"] input[type="checkbox"]').check()
    panel.locator('tr[data-ref="churn:3"] input[type="checkbox"]').check()
    panel.locator(".nbr-CompareButton").click()
    lab.wait_for_selector(f"{PANEL} .nbr-CompareTable")
    best_auc = panel.locator('tr[data-metric="auc"] td.nbr-mod-best')
    assert best_auc.count() == 1 and best_auc.inner_text() == "0.8800"
    best_loss = panel.locator('tr[data-metric="loss"] td.nbr-mod-best')
    assert best_loss.inner_text() == "0.3700"
    assert panel.locator('tr.nbr-mod-differs[data-param="C"]').count() == 1
    assert panel.locator('tr[data-param="penalty"]:not(.nbr-mod-differs)').count() == 1
    assert panel.locator("svg.nbr-Chart rect.nbr-Chart-bar").count() == 2
    screenshot(lab, "compare")


def test_live_refresh_shows_new_model(lab, jupyter_lab):
    import nbregistry as nr

    panel = open_panel(lab)
    search(lab, "live-")
    lab.wait_for_selector(f"{PANEL} .nbr-Empty")
    reg = nr.Registry(jupyter_lab["root"])
    try:
        reg.register(jupyter_lab["root"].parent / "filler.txt", "live-model", metrics={"auc": 0.6})
    finally:
        reg.close()
    panel.locator('.nbr-ModelRow[data-model="live-model"]').wait_for(timeout=15_000)


def test_insert_load_code_into_notebook_and_run_it(lab, screenshot):
    lab.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=60_000)
    lab.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    open_panel(lab)
    open_version(lab, "churn:3")
    lab.click(f"{PANEL} .nbr-InsertLoad")
    cell = lab.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    cell.locator(".cm-content").filter(has_text='nr.load("churn:3")').wait_for()
    source = cell.locator(".cm-content").inner_text()
    assert source == 'import nbregistry as nr\nmodel = nr.load("churn:3")'
    # Run it from the notebook toolbar, then print what was loaded.
    lab.click('.jp-NotebookPanel-toolbar [data-command="notebook:run-cell-and-select-next"]')
    lab.wait_for_selector(".jp-NotebookPanel .jp-Cell .jp-InputPrompt:has-text('[1]')", timeout=60_000)
    lab.keyboard.type("print(type(model).__name__)")
    lab.keyboard.press("Shift+Enter")
    output = lab.locator(".jp-NotebookPanel .jp-OutputArea-output").filter(has_text="LogisticRegression")
    output.wait_for(timeout=60_000)
    assert lab.locator(".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    screenshot(lab, "insert-load-code")


def test_policy_refusal_shows_the_failing_gate(lab, screenshot):
    panel = open_panel(lab)
    open_version(lab, "fraud:2")
    lab.fill(f"{PANEL} .nbr-AliasInput", "production")
    lab.click(f"{PANEL} .nbr-PromoteButton")
    report = panel.locator(".nbr-GateReport.nbr-mod-refused")
    report.wait_for()
    failed = report.locator(".nbr-Gate-failed")
    assert failed.count() >= 1
    assert "approv" in failed.first.inner_text().lower()  # the gate's name and its detail
    assert "409" in panel.locator(".nbr-PromoteForm .nbr-Error").inner_text()
    screenshot(lab, "promote-refused")

    lab.click(f"{PANEL} .nbr-Approve")
    panel.locator(".nbr-Comment .nbr-Chip-approve").first.wait_for()
    lab.click(f"{PANEL} .nbr-CheckButton")
    panel.locator(".nbr-GateReport.nbr-mod-allowed").wait_for()
    lab.click(f"{PANEL} .nbr-PromoteButton")
    lab.wait_for_selector(f'{PANEL} .nbr-Title .nbr-Chip-alias:has-text("@production")')


@pytest.mark.parametrize("answer", [{"status": 200, "json": {"version": "0.0.1", "api": 1}}, {"status": 404}])
def test_version_mismatch_banner_names_the_fix(browser, jupyter_lab, answer):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route(re.compile(r".*/nbregistry/api/version(\?.*)?$"), lambda route: route.fulfill(
            status=answer["status"], content_type="application/json",
            body=json.dumps(answer.get("json", {"message": "not found"}))))
        page.goto(f"{jupyter_lab['url']}lab?reset&token={jupyter_lab['token']}")
        page.click(PANEL_TAB, timeout=60_000)
        banner = page.locator(f"{PANEL} .nbr-Banner")
        banner.wait_for()
        assert "pip install -U nbregistry" in banner.inner_text()
        assert "frontend 0.1.0" in banner.inner_text()
    finally:
        context.close()
