"""What JupyterLab start-up costs the registry: the live feed starts from now, so the bytes of
`/events` answers are a few hundred whatever the history (here 10,000 models, ~20,000 events), and
the first page of models is asked for once per view."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest

from browser.conftest import BIG_REGISTRY_MODELS, VIEWPORT, run_command, start_lab

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

APP = ".jp-MainAreaWidget.nbr-AppTab:not(.lm-mod-hidden) .nbr-App"


@pytest.fixture(scope="module")
def big_lab(big_registry_seeding, tmp_path_factory):
    seeding = big_registry_seeding
    if seeding["process"] is not None:
        assert seeding["process"].wait(timeout=1100) == 0, (seeding["building"] / "seed.log").read_text()[-2000:]
        shutil.rmtree(seeding["cache"], ignore_errors=True)
        seeding["building"].rename(seeding["cache"])
    root = tmp_path_factory.mktemp("big-registry") / "reg"
    shutil.copytree(seeding["cache"] / "reg", root)
    yield from start_lab(tmp_path_factory, root)


def start_up(browser, server) -> dict:
    """Load JupyterLab, open the navigator and the app, let the feed poll twice; what went over the wire."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        responses = []
        page.on("response", lambda response: "/nbregistry/api/" in response.url and responses.append(response))
        page.goto(f"{server['url']}lab/workspaces/startup?reset&token={server['token']}")
        page.click('.jp-SideBar .lm-TabBar-tab[data-id="nbregistry-panel"]', timeout=60_000)
        page.wait_for_selector('#nbregistry-panel .nbr-ModelRow')
        run_command(page, "nbregistry:open", {})
        page.wait_for_selector(f"{APP} .nbr-ModelTable tr[data-model]")
        page.wait_for_timeout(7000)  # two refresh intervals
        events = [r for r in responses if "/nbregistry/api/events" in r.url]
        first_pages = [r.url for r in responses if "/nbregistry/api/models?" in r.url and "offset=0" in r.url]
        return {"events_bytes": sum(len(r.body()) for r in events), "events_requests": len(events),
                "first_pages": first_pages, "total": int(page.locator(f"{APP} .nbr-ListSummary").inner_text().split()[0].replace(",", ""))}
    finally:
        context.close()


def history_bytes(server) -> int:
    url = f"{server['url']}nbregistry/api/events?limit=10000&token={server['token']}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        body = answer.read()
    assert len(json.loads(body)["events"]) == 10000
    return len(body)


def test_startup_reads_no_event_history(browser, jupyter_lab, big_lab):
    small = start_up(browser, jupyter_lab)
    big = start_up(browser, big_lab)
    assert big["total"] == BIG_REGISTRY_MODELS
    full = history_bytes(big_lab)
    print(f"\n/events at start-up: {small['events_bytes']} B in {small['events_requests']} requests (seeded registry), "
          f"{big['events_bytes']} B in {big['events_requests']} requests ({BIG_REGISTRY_MODELS} models); "
          f"the first 10,000 events alone are {full:,} B")
    for run in (small, big):
        assert run["events_bytes"] < 1500, run
        assert 1 <= run["events_requests"] <= 5, run
    assert abs(big["events_bytes"] - small["events_bytes"]) < 200, "start-up cost must not grow with history"
    assert full > 500 * big["events_bytes"]
    # No double fetch: the navigator's and the app's first pages are asked for once each.
    for run in (small, big):
        assert len(run["first_pages"]) == len(set(run["first_pages"])) == 2, run["first_pages"]
