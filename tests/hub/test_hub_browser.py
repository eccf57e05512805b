"""The JupyterLab panel, opened as bob in his own single-user server in headless Chromium, shows the
team registry (forwarded to the Hub service) and disables promoting to production, which bob's Hub
scopes do not allow (contracts: ``[data-action="promote"][data-alias="production"]`` is ``disabled``,
with the reason as its title)."""

from __future__ import annotations

import os
import shutil

import pytest

PANEL_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="nbregistry-panel"]'
PANEL = "#nbregistry-panel"  # the sidebar navigator
APP = ".jp-MainAreaWidget.nbr-AppTab:not(.lm-mod-hidden) .nbr-App"  # the Model Registry app tab
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="module")
def page_as_bob(hub, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    from nbregistry import Registry

    chromium = shutil.which("chromium")
    if not chromium:
        pytest.fail("Debian's chromium is not installed (make browser-deps): the browser test cannot run")
    path = tmp_path_factory.mktemp("model") / "model.txt"
    path.write_text("weights")
    seed = Registry(hub.root, author="alice")  # the operator's view of the service's folder
    seed.register(str(path), "fraud")
    seed.close()
    hub.spawn("bob")
    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True,
                                             env=dict(os.environ, HOME=str(home)))
        context = browser.new_context(viewport={"width": 1500, "height": 950})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", "bob")
        page.fill("#password_input", "any")  # DummyAuthenticator
        page.click("#login_submit")
        page.wait_for_url("**/user/bob/**", timeout=90_000)
        page.goto(f"{hub.url}/user/bob/lab?reset")
        page.wait_for_selector(PANEL_TAB, timeout=90_000)
        yield page
        browser.close()


@pytest.mark.browser
def test_the_panel_disables_promoting_to_production_for_bob(page_as_bob):
    page = page_as_bob
    page.click(PANEL_TAB)
    page.fill(f"{PANEL} .nbr-SearchInput", "fraud")
    page.click(f'{PANEL} .nbr-ModelRow[data-model="fraud"]')  # the navigator opens the model in the main area
    page.wait_for_selector(f'{APP} .nbr-ModelPage[data-model="fraud"] .nbr-VersionsTable')
    page.click(f'{APP} .nbr-VersionsTable tr[data-ref="fraud:1"] .nbr-LinkButton')
    page.wait_for_selector(f'{APP} .nbr-VersionPage[data-ref="fraud:1"]')
    page.click(f'{APP} .nbr-VersionPage [role="tab"][data-tab="actions"]')
    page.fill(f"{APP} .nbr-AliasInput", "production")
    production = page.locator(f'{APP} [data-action="promote"][data-alias="production"]')
    production.wait_for()
    assert production.is_disabled()
    assert "custom:nbregistry:promote:production" in (production.get_attribute("title") or "")
    page.fill(f"{APP} .nbr-AliasInput", "staging")
    staging = page.locator(f'{APP} [data-action="promote"][data-alias="staging"]')
    staging.wait_for()
    assert staging.is_enabled()
