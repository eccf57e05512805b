"""The JupyterLab panel, opened as bob in his own single-user server in headless Chromium, shows the
team registry (forwarded to the Hub service) and disables promoting to production, which bob's Hub
scopes do not allow (contracts: ``[data-action="promote"][data-alias="production"]`` is ``disabled``,
with the reason as its title). "Which registry": by default the app talks to bob's own server, which
forwards to the service as bob (``server/proxy.py``), writes included; with ``registryUrl`` set to the
service's path it talks to the service directly, after the service's own OAuth login."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import requests

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
        page.api_requests = []  # every nbregistry API request the page made
        page.on("request", lambda r: "/nbregistry/api/" in r.url and page.api_requests.append(r.url))
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


def put_bobs_settings(hub, raw: dict) -> None:
    """Bob's app settings (nbregistry:panel), written through his server's settings API."""
    token = hub.token("bob", ["access:servers!user=bob"])
    r = requests.put(f"{hub.url}/user/bob/lab/api/settings/nbregistry:panel", json={"raw": json.dumps(raw)},
                     headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code == 204, r.text


def show_navigator(page) -> None:
    """Open the sidebar navigator unless it is the current left panel already (a click would close it)."""
    tab = page.locator(PANEL_TAB)
    tab.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)  # the shell settles its restored layout
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.locator(f"{PANEL} .nbr-SearchInput").wait_for()


def open_fraud_discussion(page) -> None:
    show_navigator(page)
    page.fill(f"{PANEL} .nbr-SearchInput", "fraud")
    page.click(f'{PANEL} .nbr-ModelRow[data-model="fraud"]')
    page.wait_for_selector(f'{APP} .nbr-ModelPage[data-model="fraud"] .nbr-VersionsTable')
    page.click(f'{APP} .nbr-VersionsTable tr[data-ref="fraud:1"] .nbr-LinkButton')
    page.click(f'{APP} .nbr-VersionPage [role="tab"][data-tab="discussion"]')


@pytest.mark.browser
def test_the_app_writes_to_the_team_registry_through_bobs_server_as_bob(page_as_bob, hub):
    from nbregistry import Registry

    page = page_as_bob
    page.api_requests.clear()
    open_fraud_discussion(page)
    page.fill(f"{APP} .nbr-NewCommentInput", "checked the fraud:1 thresholds from the app")
    page.click(f'{APP} [data-action="comment"]')
    page.locator(f"{APP} .nbr-Comment", has_text="checked the fraud:1 thresholds").wait_for()
    service = Registry(hub.root)  # what the service stored
    try:
        [comment] = [c for c in service.comments("fraud:1") if "thresholds" in c.body]
    finally:
        service.close()
    assert (comment.author, comment.identity) == ("bob", "verified")  # the Hub's word, through proxy.py
    assert page.api_requests and all(url.startswith(f"{hub.url}/user/bob/nbregistry/api/")
                                     for url in page.api_requests), page.api_requests[:5]
    # bob's scopes hold neither edit nor register: the card's Edit and the revert are disabled, saying why.
    page.click(f'{APP} .nbr-VersionPage [role="tab"][data-tab="overview"]')
    edit = page.locator(f'{APP} [data-action="edit-card"]')
    edit.wait_for()
    assert edit.is_disabled() and "custom:nbregistry:edit" in (edit.get_attribute("title") or "")
    page.click(f'{APP} .nbr-VersionPage [role="tab"][data-tab="actions"]')
    revert = page.locator(f'{APP} [data-action="revert"]')
    revert.wait_for()
    assert revert.is_disabled() and "custom:nbregistry:register" in (revert.get_attribute("title") or "")


@pytest.mark.browser
def test_registry_url_points_the_app_at_the_hub_service(page_as_bob, hub):
    page = page_as_bob
    put_bobs_settings(hub, {"registryUrl": "/services/nbregistry/"})
    try:
        page.api_requests.clear()
        page.goto(f"{hub.url}/user/bob/lab?reset")  # no restored layout racing the clicks below
        show_navigator(page)
        # The service does not know this browser yet: the navigator says where to log in.
        error = page.locator(f"{PANEL} .nbr-Error", has_text="log in at")
        error.wait_for(timeout=60_000)
        assert f"{hub.url}/services/nbregistry/login" in error.inner_text()
        page.goto(f"{hub.url}/services/nbregistry/login?next=%2Fuser%2Fbob%2Flab%3Freset")  # the Hub's OAuth, then back
        page.wait_for_url("**/user/bob/lab**", timeout=90_000)
        show_navigator(page)
        page.fill(f"{PANEL} .nbr-SearchInput", "fraud")
        page.locator(f'{PANEL} .nbr-ModelRow[data-model="fraud"]').wait_for(timeout=60_000)
        direct = [u for u in page.api_requests if u.startswith(f"{hub.url}/services/nbregistry/nbregistry/api/")]
        own = [u for u in page.api_requests if "/user/bob/nbregistry/api/" in u and "/api/version?" not in u]
        assert direct and not own, own[:5]  # only the version handshake asks bob's own server
        page.click(f'{PANEL} .nbr-ModelRow[data-model="fraud"]')
        page.wait_for_selector(f'{APP} .nbr-ModelPage[data-model="fraud"] .nbr-VersionsTable tr[data-ref="fraud:1"]')
    finally:
        put_bobs_settings(hub, {})
