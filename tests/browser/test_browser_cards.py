"""Model cards and revert from the app (issue 14's panel parts): the card of a model and of a version
shown as sanitized markdown, edited in place (save, cancel, start from a draft), the Edit button
following /whoami `can.edit`; "Revert to this version" names the version it creates and makes it."""

from __future__ import annotations

import json
import re

import pytest

from browser.conftest import SEED_AUTHOR
from browser.test_browser_app import APP, open_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

CARD = ("# Churn card\n\nIntended for **retention** campaigns only.\n\n"
        '<img src="x" onerror="window.__nbrCardAttack = 1">\n')


def registry(jupyter_lab, author=SEED_AUTHOR):
    import nbregistry as nr

    return nr.Registry(jupyter_lab["root"], author=author)


def seed_model(jupyter_lab, name: str, versions: int) -> None:
    from nbregistry.core.errors import NotFound

    reg = registry(jupyter_lab)
    try:
        try:
            reg.get_model(name)
            return
        except NotFound:
            pass
        for index in range(1, versions + 1):
            reg.register(jupyter_lab["root"].parent / "filler.txt", name, metrics={"auc": 0.7 + index / 100},
                         params={"depth": str(index)}, tags={"round": str(index)})
    finally:
        reg.close()


def test_edit_a_model_card_and_a_version_card(lab, jupyter_lab, screenshot):
    seed_model(jupyter_lab, "card-me", 2)
    app = open_app(lab, ref="card-me")
    card = app.locator('.nbr-Card[data-card="card-me"]')
    card.locator(".nbr-NoCard").wait_for()
    # Cancel leaves nothing behind.
    app.locator('[data-action="edit-card"]').click()
    card.locator(".nbr-CardInput").fill("never saved")
    card.locator(".nbr-CancelCard").click()
    card.locator(".nbr-NoCard").wait_for()
    reg = registry(jupyter_lab)
    try:
        assert str(reg.card("card-me")) == ""
    finally:
        reg.close()
    # Save: stored as written, shown rendered and sanitized.
    app.locator('[data-action="edit-card"]').click()
    card.locator(".nbr-CardInput").fill(CARD)
    card.locator(".nbr-SaveCard").click()
    card.locator(".nbr-Markdown h1", has_text="Churn card").wait_for()
    assert card.locator(".nbr-Markdown strong").inner_text() == "retention"
    assert card.locator("img[onerror]").count() == 0, "the card's HTML is sanitized"
    assert lab.evaluate("() => window.__nbrCardAttack") is None
    assert "by reviewer" in card.locator(".nbr-CardByline").inner_text()
    reg = registry(jupyter_lab)
    try:
        assert str(reg.card("card-me")) == CARD
        assert reg.card("card-me").author == "reviewer"  # the server's identity for the browser
    finally:
        reg.close()
    screenshot(lab, "app-model-card")
    # Editing starts from the stored text.
    app.locator('[data-action="edit-card"]').click()
    assert card.locator(".nbr-CardInput").input_value() == CARD
    card.locator(".nbr-CancelCard").click()

    # A version's card, started from the server's draft of the recorded facts.
    app = open_app(lab, ref="card-me:2")
    version_card = app.locator('.nbr-Card[data-card="card-me:2"]')
    version_card.locator(".nbr-NoCard").wait_for()
    app.locator('[data-action="edit-card"]').click()
    version_card.locator(".nbr-DraftCard").click()
    lab.wait_for_function("sel => /Intended use/.test(document.querySelector(sel).value)",
                          arg=f'{APP} .nbr-Card[data-card="card-me:2"] .nbr-CardInput')
    draft = version_card.locator(".nbr-CardInput").input_value()
    assert "card-me:2" in draft and "auc" in draft  # its metrics are in the draft
    version_card.locator(".nbr-SaveCard").click()
    version_card.locator(".nbr-Markdown h2", has_text="Intended use").wait_for()
    reg = registry(jupyter_lab)
    try:
        assert str(reg.card("card-me:2")) == draft
        assert str(reg.card("card-me")) == CARD, "the model's card is its own"
    finally:
        reg.close()


def test_card_editing_follows_whoami(lab):
    who = {"user": "reviewer", "identity": "verified", "auth": "token", "groups": [], "roles": ["viewer"],
           "can": {"read": True, "edit": False, "register": False},
           "aliases": {"*": False}, "reasons": {"edit": "needs role 'editor'", "register": "needs role 'scientist'"}}
    lab.route(re.compile(r".*/nbregistry/api/whoami(\?.*)?$"),
              lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(who)))
    app = open_app(lab, ref="churn")
    edit = app.locator('[data-action="edit-card"]')
    edit.wait_for()
    assert edit.is_disabled() and edit.get_attribute("title") == "needs role 'editor'"
    app = open_app(lab, ref="churn:2", section="actions")
    revert = app.locator('[data-action="revert"]')
    revert.wait_for()
    assert revert.is_disabled() and revert.get_attribute("title") == "needs role 'scientist'"


def test_revert_to_a_version_names_the_version_it_creates(lab, jupyter_lab, screenshot):
    seed_model(jupyter_lab, "revert-me", 3)
    reg = registry(jupyter_lab)
    try:
        reg.archive("revert-me:3")  # the next number counts archived versions too
        expected = f"revert-me:{reg.get_model('revert-me').last_version + 1}"
    finally:
        reg.close()
    app = open_app(lab, ref="revert-me:1", section="actions")
    button = app.locator('[data-action="revert"]')
    button.wait_for()
    lab.wait_for_function("sel => !document.querySelector(sel).disabled", arg=f'{APP} [data-action="revert"]')
    button.click()
    dialog = lab.locator(".jp-Dialog")
    dialog.wait_for()
    assert f"Create {expected}" in dialog.inner_text() and "revert of revert-me:1" in dialog.inner_text()
    screenshot(lab, "app-revert-dialog")
    # Cancel creates nothing.
    dialog.locator(".jp-Dialog-button", has_text="Cancel").click()
    dialog.wait_for(state="detached")
    reg = registry(jupyter_lab)
    try:
        assert reg.get_model("revert-me").version_count == 3
    finally:
        reg.close()
    button.click()
    dialog.locator(".nbr-RevertReason").fill("v2 broke the dashboards")
    dialog.locator(".jp-Dialog-button", has_text=f"Create {expected}").click()
    done = app.locator(".nbr-Revert .nbr-Success")
    done.wait_for()
    assert expected in done.inner_text()
    reg = registry(jupyter_lab)
    try:
        made, original = reg.get(expected), reg.get("revert-me:1")
        assert made.lineage["revert_of"]["ref"] == "revert-me:1"
        assert made.lineage["revert_of"]["reason"] == "v2 broke the dashboards"
        assert (made.metrics, made.params, made.tags) == (original.metrics, original.params, original.tags)
    finally:
        reg.close()
    done.locator(".nbr-LinkButton", has_text=expected).click()
    page = app.locator(f'.nbr-VersionPage[data-ref="{expected}"]')
    page.wait_for()
    link = page.locator(".nbr-RevertOf")  # the new version says what it reverts, and links there
    assert "revert of revert-me:1" in link.inner_text()
    assert "v2 broke the dashboards" in (link.get_attribute("title") or "")
    link.locator(".nbr-LinkButton").click()
    app.locator('.nbr-VersionPage[data-ref="revert-me:1"]').wait_for()
