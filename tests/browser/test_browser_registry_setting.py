"""The "which registry" setting (`registryUrl`): the app shows another registry on the same origin,
and never hands that other service this Jupyter server's token (which opens the user's server and
kernels). The other registry is played by the browser's request interception, which also records
what the app sent it."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from browser.test_browser_app import NAVIGATOR_TAB, open_app

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

OTHER = "/other-registry/"
ELSEWHERE = {"name": "elsewhere-model", "description": "", "tags": {}, "created_at": "2026-01-01T00:00:00Z",
             "created_by": "carol", "archived": False, "latest_version": 1, "version_count": 1, "aliases": {},
             "updated_at": "2026-01-01T00:00:00Z", "latest_metric": None, "last_version": 1}


def put_settings(jupyter_lab, raw: dict) -> None:
    request = urllib.request.Request(
        f"{jupyter_lab['url']}lab/api/settings/nbregistry:panel", method="PUT",
        data=json.dumps({"raw": json.dumps(raw)}).encode(),
        headers={"Authorization": f"token {jupyter_lab['token']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30):
        pass


def reload(lab) -> None:
    lab.reload()
    lab.wait_for_selector(NAVIGATOR_TAB, timeout=60_000)
    lab.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('nbregistry:open')")


def test_the_app_shows_another_registry_without_this_servers_token(lab, jupyter_lab):
    seen: list[dict] = []

    def other_registry(route):
        request = route.request
        seen.append({"url": request.url, "headers": request.headers})
        path = re.sub(r"\?.*$", "", request.url.split("/nbregistry/api/", 1)[1])
        if path == "models":
            body, status = {"models": [ELSEWHERE], "total": 1}, 200
        elif path == "events":
            body, status = {"events": [], "latest": 7}, 200
        else:
            body, status = {"message": f"{path} is not played here"}, 404
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))

    lab.route(re.compile(rf".*{OTHER}nbregistry/api/.*"), other_registry)
    put_settings(jupyter_lab, {"registryUrl": OTHER})
    try:
        reload(lab)
        app = open_app(lab)
        app.locator('.nbr-ModelTable tr[data-model="elsewhere-model"]').wait_for()
        assert app.locator(".nbr-ModelTable tr[data-model]").count() == 1, "only the other registry's models"
        assert seen, "the app asked the other registry"
        leaked = [r["url"] for r in seen if jupyter_lab["token"] in json.dumps(r["headers"])]
        assert not leaked, f"this server's token was sent to another service: {leaked[:3]}"
    finally:
        put_settings(jupyter_lab, {})
    reload(lab)
    app = open_app(lab)
    app.locator('.nbr-ModelTable tr[data-model="big"]').wait_for()  # back on this server's registry
    assert app.locator('.nbr-ModelTable tr[data-model="elsewhere-model"]').count() == 0
