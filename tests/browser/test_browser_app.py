"""The Model Registry app in the main area, driven in headless Chromium at 1280×800 (JupyterLab's
default sidebar width) against a real server and registry."""

from __future__ import annotations

import json
import re

import pytest

from browser.conftest import BIG_VERSIONS, FILLER_MODELS, run_command

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

NAVIGATOR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="nbregistry-panel"]'
NAVIGATOR = "#nbregistry-panel"
APP = ".jp-MainAreaWidget.nbr-AppTab:not(.lm-mod-hidden) .nbr-App"


def open_app(page, **args):
    """`nbregistry:open` with these args; waits for the tab's first view."""
    run_command(page, "nbregistry:open", args)
    page.wait_for_selector(f"{APP} .nbr-Body > *:not(.nbr-Loading)")
    return page.locator(APP)


def refs_in(locator) -> list[str]:
    return locator.evaluate_all("nodes => nodes.map(n => n.dataset.ref)")


def main_tab_titles(page) -> list[str]:
    return page.locator("#jp-main-dock-panel .lm-TabBar-tab .lm-TabBar-tabLabel").all_inner_texts()


def test_open_from_the_palette_and_sort_the_model_list(lab, screenshot):
    palette = lab.locator("#modal-command-palette .lm-CommandPalette-input")
    for _ in range(3):  # the first key press of a session can land before the shell listens
        lab.locator("#jp-main-dock-panel").click()
        lab.keyboard.press("Control+Shift+C")
        try:
            palette.wait_for(state="visible", timeout=5000)
            break
        except Exception:
            lab.keyboard.press("Escape")
    else:  # the shortcut never reached the shell (seen once on a loaded machine): the palette's own command
        run_command(lab, "apputils:activate-command-palette")
        palette.wait_for(state="visible", timeout=10_000)
    palette.fill("Model Registry")
    lab.locator("#modal-command-palette .lm-CommandPalette-itemLabel", has_text=re.compile(r"^Model Registry$")).first.click()
    app = lab.locator(APP)
    app.locator(".nbr-ModelTable tr[data-model]").first.wait_for()
    assert any("Model Registry" in title for title in main_tab_titles(lab))
    assert app.locator(".nbr-Banner").count() == 0, "frontend and backend versions should agree"
    total = 3 + FILLER_MODELS
    assert app.locator(".nbr-ListSummary").inner_text().startswith(f"{total} models")
    assert f"of {total} models" in app.locator(".nbr-Pager-text").inner_text()
    rows = app.locator(".nbr-ModelTable tbody tr[data-model]")
    assert rows.count() == 50, "one server page"
    assert rows.first.get_attribute("data-model") == "big"
    screenshot(lab, "app-models")

    def first_after(column: str) -> str:
        before = rows.first.get_attribute("data-model")
        app.locator(f'th[data-column="{column}"] button').click()
        lab.wait_for_function(
            "([sel, before]) => { const r = document.querySelector(sel); return r && r.dataset.model !== before; }",
            arg=[f"{APP} .nbr-ModelTable tbody tr[data-model]", before], timeout=10_000)
        return rows.first.get_attribute("data-model")

    assert first_after("name") == f"zz-filler-{FILLER_MODELS - 1:04d}"  # name, descending
    assert app.locator('th[data-column="name"]').get_attribute("aria-sort") == "descending"
    assert first_after("versions") == "big"  # most versions first
    app.locator('th[data-column="versions"] button').click()  # ascending: one-version models
    lab.wait_for_function(f"() => document.querySelector('{APP} .nbr-ModelTable tbody tr').dataset.model !== 'big'")
    # The chosen metric of each latest version: big's v{BIG_VERSIONS} has the highest auc.
    assert app.locator('th[data-column="metric"]').inner_text().startswith("auc")
    assert first_after("metric") == "big"
    app.locator(".nbr-Pager-last").click()
    lab.wait_for_function(f"() => /^{total - total % 50 + 1}–{total}/.test(document.querySelector('{APP} .nbr-Pager-text').innerText)")

    # Free text searches on the server; the true total is shown.
    app.locator(".nbr-SearchInput").fill("fraud")
    lab.wait_for_function(f"() => document.querySelectorAll('{APP} .nbr-ModelTable tbody tr').length === 1")
    assert rows.first.get_attribute("data-model") == "fraud"
    # A search expression lists versions.
    app.locator(".nbr-SearchInput").fill("metrics.auc >= 0.88 and name = churn")
    lab.wait_for_selector(f"{APP} .nbr-SearchTable")
    assert sorted(refs_in(app.locator(".nbr-SearchTable tr[data-ref]"))) == ["churn:3"]


def test_navigator_opens_models_in_the_main_area(lab, screenshot):
    lab.click(NAVIGATOR_TAB)
    navigator = lab.locator(NAVIGATOR)
    navigator.locator('.nbr-ModelRow[data-model="churn"]').wait_for()
    width = navigator.bounding_box()["width"]
    assert width < 300, f"the navigator is {width}px wide: it should fit JupyterLab's default sidebar"
    assert navigator.locator(".nbr-VirtualRow").count() < 100, "the navigator's list is windowed"
    chips = navigator.locator('.nbr-ModelRow[data-model="churn"] .nbr-Chip-alias').all_inner_texts()
    assert "@production:1" in chips and "@staging:2" in chips
    navigator.locator('.nbr-ModelRow[data-model="churn"]').click()
    lab.wait_for_selector(f'{APP} .nbr-ModelPage[data-model="churn"]')
    assert any(title.startswith("churn") and "Model Registry" in title for title in main_tab_titles(lab))
    navigator.locator(".nbr-OpenApp").click()
    lab.wait_for_selector(f"{APP} .nbr-ModelTable")
    screenshot(lab, "navigator")


def test_model_with_700_versions_reaches_the_last(lab, screenshot):
    app = open_app(lab, ref="big")
    table = app.locator(".nbr-VersionsTable")
    table.wait_for()
    assert f"versions ({BIG_VERSIONS})" in app.locator(".nbr-Section-header h3").first.inner_text().lower()
    assert refs_in(table.locator("tbody tr[data-ref]"))[0] == f"big:{BIG_VERSIONS}"
    assert table.locator('th[data-column="metrics.auc"]').count() == 1, "metric columns"
    assert app.locator("svg.nbr-Chart circle").count() == 100, "the chart of the latest 100 versions"
    screenshot(lab, "app-model-page")
    app.locator(".nbr-Pager-last").click()
    table.locator('tr[data-ref="big:1"]').wait_for()
    assert f"of {BIG_VERSIONS} versions" in app.locator(".nbr-Pager-text").inner_text()
    # Sorted the other way, the newest is on the last page.
    app.locator('.nbr-VersionsTable th[data-column="version"] button').click()
    table.locator('tbody tr[data-ref="big:1"]').first.wait_for()
    app.locator(".nbr-Pager-last").click()
    table.locator(f'tr[data-ref="big:{BIG_VERSIONS}"]').wait_for()
    # The sticky first column stays put when the table scrolls sideways.
    sticky = table.locator(f'tr[data-ref="big:{BIG_VERSIONS}"] th.nbr-Sticky')
    assert sticky.evaluate("n => getComputedStyle(n).position") == "sticky"
    sticky.locator(".nbr-LinkButton").click()
    lab.wait_for_selector(f'{APP} .nbr-VersionPage[data-ref="big:{BIG_VERSIONS}"]')


def test_compare_five_versions_all_visible_with_a_chart(lab, screenshot):
    lab.click(NAVIGATOR_TAB)  # the sidebar open at its default width
    lab.locator(f'{NAVIGATOR} .nbr-ModelRow[data-model="big"]').wait_for()
    app = open_app(lab, ref="big")
    refs = [f"big:{BIG_VERSIONS - i}" for i in range(5)]
    for ref in refs:
        app.locator(f'tr[data-ref="{ref}"] input[type="checkbox"]').check()
    app.locator(".nbr-CompareButton").click()
    table = app.locator(".nbr-CompareTable")
    table.wait_for()
    headers = table.locator("thead th[data-ref]")
    assert refs_in(headers) == refs
    scroller = app.locator(".nbr-CompareScroll").bounding_box()
    for index in range(5):
        box = headers.nth(index).bounding_box()
        assert box["x"] >= scroller["x"] and box["x"] + box["width"] <= min(1280, scroller["x"] + scroller["width"]) + 1, (
            f"{refs[index]} is outside the visible table: {box} vs {scroller}")
    assert lab.evaluate("() => document.scrollingElement.scrollWidth") <= 1280, "only the table may scroll sideways"
    # Best only when strictly best: big:697 has the highest auc of the five.
    best = table.locator('tr[data-metric="auc"] td.nbr-mod-best')
    assert best.count() == 1 and best.inner_text() == "0.9678"
    # Hide identical (on by default): depth and seed are the same everywhere, lr differs.
    assert table.locator('tr[data-param="lr"]').count() == 1
    assert table.locator('tr[data-param="depth"]').count() == 0
    chart = app.locator("svg.nbr-Chart")
    assert chart.locator("rect.nbr-Chart-bar").count() == 5
    ticks = chart.locator(".nbr-Chart-label").all_inner_texts()
    assert "0.0" not in ticks and "0" not in ticks, f"the axis should be zoomed to the data, not start at 0: {ticks}"
    screenshot(lab, "app-compare")
    app.locator(".nbr-HideIdentical input").uncheck()
    table.locator('tr[data-param="depth"]').wait_for()
    assert table.locator('tr[data-param="seed"]').count() == 1


def test_post_anchor_and_delete_a_comment_rendered_inert(lab, screenshot):
    app = open_app(lab, ref="churn:2", section="discussion")
    lab.evaluate("() => { window.__nbrXss = 0; }")
    body = ("**bold** review note on auc\n\n<script>window.__nbrXss = 1;</script>\n\n"
            '<img src="x" onerror="window.__nbrXss = 2">\n\n[link](javascript:window.__nbrXss=3)')
    app.locator(".nbr-NewCommentInput").fill(body)
    app.locator(".nbr-AnchorPicker").select_option("metrics.auc")
    app.locator(".nbr-PostComment").click()
    comment = app.locator('.nbr-Comment[data-anchor="metrics.auc"]').filter(has_text="review note")
    comment.wait_for()
    rendered = comment.locator(".nbr-Comment-body")
    assert rendered.locator("strong").inner_text() == "bold"
    assert rendered.locator("script").count() == 0 and rendered.locator("[onerror]").count() == 0
    for link in rendered.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript")
    assert "on metrics.auc" in comment.locator(".nbr-Comment-header").inner_text()
    lab.wait_for_timeout(300)
    assert lab.evaluate("() => window.__nbrXss") == 0, "a handler in the comment ran"
    screenshot(lab, "app-discussion")
    comment.locator('[data-action="delete-comment"]').click()
    app.locator(".nbr-Comment.nbr-mod-deleted").filter(has_text="(deleted)").first.wait_for()
    assert app.locator(".nbr-Comment").filter(has_text="review note").count() == 0


def test_approve_and_see_a_self_approval_not_counting(lab):
    app = open_app(lab, ref="churn:4", section="discussion")  # churn:4 is the browser user's own version
    app.locator('[data-action="approve"]').click()
    summary = app.locator(".nbr-ReviewSummary")
    summary.locator(".nbr-SelfReview").wait_for()
    assert "does not count" in summary.inner_text()
    assert summary.get_attribute("data-approvals") == "0"
    assert "0 approvals count" in summary.inner_text()
    app = open_app(lab, ref="churn:2", section="discussion")  # alice's: this approval counts
    app.locator('[data-action="approve"]').click()
    lab.wait_for_selector(f'{APP} .nbr-ReviewSummary[data-approvals="1"]')
    assert "reviewer" in app.locator(".nbr-ReviewSummary").inner_text()


def test_check_promote_and_roll_back_naming_the_target(lab, screenshot):
    app = open_app(lab, ref="churn:3", section="actions")
    promote = app.locator('[data-action="promote"]')
    assert promote.is_disabled(), "no alias named yet"
    app.locator(".nbr-AliasInput").fill("staging")
    app.locator(".nbr-ReasonInput").fill("best auc so far")
    app.locator('[data-action="check"]').click()
    app.locator(".nbr-GateReport").wait_for()
    app.locator('[data-action="promote"][data-alias="staging"]').click()
    app.locator(".nbr-Success").wait_for()
    assert app.locator(".nbr-Success").inner_text() == "@staging now points at v3 (was v2)"
    rollback = app.locator('[data-alias="staging"] [data-action="rollback"]')
    rollback.wait_for()
    assert rollback.inner_text().strip() == "Roll back to v2"
    screenshot(lab, "app-actions")
    rollback.click()
    dialog = lab.locator(".jp-Dialog")
    assert "back to v2" in dialog.inner_text()
    dialog.locator(".nbr-RollbackReason").fill("keep v2 on staging for the A/B test")
    dialog.locator(".jp-mod-warn").click()
    app.locator(".nbr-Title .nbr-Chip-alias", has_text="@staging").wait_for(state="detached")

    app = open_app(lab, ref="churn")
    app.locator('tr[data-alias="staging"]').filter(has_text="v2").wait_for()
    history = app.locator(".nbr-HistoryTable")
    history.filter(has_text="keep v2 on staging for the A/B test").wait_for()
    assert "best auc so far" in history.inner_text()
    # production was set once: there is nothing to roll back to, so no rollback is offered.
    production = app.locator('tr[data-alias="production"]')
    assert production.locator('[data-action="rollback"]').count() == 0
    assert "nothing to roll back to" in production.inner_text()


def test_refused_promotion_says_why_once(lab, screenshot):
    app = open_app(lab, ref="fraud:2", section="actions")
    app.locator(".nbr-AliasInput").fill("production")
    app.locator('[data-action="promote"]').click()
    report = app.locator(".nbr-GateReport.nbr-mod-refused")
    report.wait_for()
    assert "approv" in report.locator(".nbr-Gate-failed").first.inner_text().lower()
    form = app.locator(".nbr-PromoteForm").inner_text()
    assert "409" not in form and app.locator(".nbr-PromoteForm .nbr-Error").count() == 0
    screenshot(lab, "app-promote-refused")


def test_buttons_follow_whoami(lab):
    who = {"user": "reviewer", "identity": "verified", "auth": "token", "groups": [], "roles": ["scientist"],
           "can": {"read": True, "comment": True, "review": True, "promote": True},
           "aliases": {"production": False, "*": True},
           "reasons": {"promote:production": "needs role 'release'"}}
    lab.route(re.compile(r".*/nbregistry/api/whoami(\?.*)?$"),
              lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(who)))
    app = open_app(lab, ref="churn:3", section="actions")
    app.locator(".nbr-AliasInput").fill("production")
    button = app.locator('[data-action="promote"][data-alias="production"]')
    button.wait_for()
    assert button.is_disabled() and button.get_attribute("title") == "needs role 'release'"
    assert button.evaluate("b => Number(getComputedStyle(b).opacity)") < 0.7, "a disabled button looks disabled"
    app.locator(".nbr-AliasInput").fill("canary")
    assert app.locator('[data-action="promote"][data-alias="canary"]').is_enabled()


def test_version_page_sections_and_restored_tabs(lab, jupyter_lab, screenshot):
    app = open_app(lab, ref="churn:3")
    assert app.locator(".nbr-Tab.nbr-mod-current").inner_text() == "Overview"
    assert app.locator(".nbr-SignatureFold:not([open])").count() == 1, "the signature starts folded"
    screenshot(lab, "app-version-overview")
    app.locator('.nbr-Tab[data-tab="lineage"]').click()
    app.locator(".nbr-Cell-source .jp-RenderedMarkdown pre").first.wait_for()
    assert "environment vs churn:2" in app.inner_text().lower()
    screenshot(lab, "app-version-lineage")
    app.locator('.nbr-Tab[data-tab="files"]').click()
    app.locator(".nbr-FileTable").wait_for()
    screenshot(lab, "app-version-files")
    open_app(lab, compare=["churn:1", "churn:3"])
    # Reload the same workspace: both tabs come back on their views.
    lab.wait_for_timeout(1000)  # the workspace is saved after a short debounce
    lab.goto(f"{lab.workspace_url}?token={jupyter_lab['token']}")
    lab.wait_for_function(
        "() => [...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tabLabel')].map(t => t.innerText)"
        ".some(t => t.startsWith('churn:3') && t.includes('Model Registry'))", timeout=60_000)
    assert any(t.startswith("Compare 2") for t in main_tab_titles(lab))


def test_deep_link_opens_a_version(lab, jupyter_lab):
    lab.goto(f"{lab.workspace_url}?nbregistry=churn%3A1&token={jupyter_lab['token']}")
    lab.wait_for_selector(f'{APP} .nbr-VersionPage[data-ref="churn:1"]', timeout=60_000)


def test_settings_editor_shows_the_app_settings(lab):
    run_command(lab, "settingeditor:open", {"query": "Model Registry"})
    entry = lab.locator(".jp-PluginList-entry", has_text="Model Registry").first
    entry.wait_for(timeout=30_000)
    entry.click()
    lab.get_by_text("Refresh interval (seconds)").first.wait_for()
    assert lab.get_by_text("Default metric").count() >= 1


def test_live_refresh_shows_a_new_model(lab, jupyter_lab):
    import nbregistry as nr

    app = open_app(lab)
    app.locator(".nbr-SearchInput").fill("live-")
    app.locator(".nbr-Empty").wait_for()
    reg = nr.Registry(jupyter_lab["root"])
    try:
        reg.register(jupyter_lab["root"].parent / "filler.txt", "live-model", metrics={"auc": 0.6})
    finally:
        reg.close()
    app.locator('tr[data-model="live-model"]').wait_for(timeout=15_000)


def test_insert_load_code_into_a_notebook(lab):
    lab.locator('.jp-LauncherCard[data-category="Notebook"]').first.click(timeout=60_000)
    lab.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    app = open_app(lab, ref="churn:3", section="actions")
    app.locator(".nbr-InsertLoad").click()
    cell = lab.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    cell.locator(".cm-content").filter(has_text='nr.load("churn:3")').wait_for()
    assert cell.locator(".cm-content").inner_text() == 'import nbregistry as nr\nmodel = nr.load("churn:3")'


@pytest.mark.parametrize("answer", [{"status": 200, "json": {"version": "0.0.1", "api": 1}}, {"status": 404}])
def test_version_mismatch_banner_names_the_fix(browser, jupyter_lab, answer):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.route(re.compile(r".*/nbregistry/api/version(\?.*)?$"), lambda route: route.fulfill(
            status=answer["status"], content_type="application/json",
            body=json.dumps(answer.get("json", {"message": "not found"}))))
        page.goto(f"{jupyter_lab['url']}lab?reset&token={jupyter_lab['token']}")
        page.click(NAVIGATOR_TAB, timeout=60_000)
        banner = page.locator(f"{NAVIGATOR} .nbr-Banner")
        banner.wait_for()
        assert "pip install -U nbregistry" in banner.inner_text()
        assert "frontend 0.1.0" in banner.inner_text()
    finally:
        context.close()


def test_dark_theme(lab, screenshot):
    """Last in the module: the theme is a user setting, shared with the tests after this one."""
    run_command(lab, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    lab.wait_for_selector('body[data-jp-theme-light="false"]', state="attached", timeout=30_000)
    try:
        app = open_app(lab, compare=[f"big:{BIG_VERSIONS - i}" for i in range(5)])
        app.locator("svg.nbr-Chart").wait_for()
        background = app.evaluate("n => getComputedStyle(n).backgroundColor")
        channels = [int(c) for c in re.findall(r"\d+", background)[:3]]
        assert sum(channels) < 3 * 100, f"the app keeps a light background in the dark theme: {background}"
        screenshot(lab, "app-compare-dark")
    finally:
        run_command(lab, "apputils:change-theme", {"theme": "JupyterLab Light"})
        lab.wait_for_selector('body[data-jp-theme-light="true"]', state="attached", timeout=30_000)
