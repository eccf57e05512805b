"""The REST answers the JupyterLab app builds on: sorted model pages with true totals and a chosen
metric of each latest version, and an event feed that starts "from now"."""

from __future__ import annotations

import pytest


@pytest.fixture
def three(seed, tmp_path):
    """alpha (2 versions, auc .7 then .95), beta (1 version, auc .8, owned by bob), gamma (no metric)."""
    f = tmp_path / "m.txt"
    f.write_text("model")
    seed.register(str(f), "alpha", metrics={"auc": 0.70})
    seed.register(str(f), "alpha", metrics={"auc": 0.95})
    seed.as_author("bob").register(str(f), "Beta", metrics={"auc": 0.80})
    seed.register(str(f), "gamma")
    seed.set_alias("Beta:1", "production")
    return seed


async def names(api, **params):
    r = await api("GET", "/models", params={k: str(v) for k, v in params.items()})
    assert r.status == 200, r.json
    return [m["name"] for m in r.json["models"]], r.json


async def test_models_sort_by_every_column_with_true_totals(api, three):
    assert (await names(api))[0] == ["alpha", "Beta", "gamma"]
    assert (await names(api, order="-name"))[0] == ["gamma", "Beta", "alpha"]
    assert (await names(api, order="-versions"))[0][0] == "alpha"
    assert (await names(api, order="owner"))[0][-1] == "Beta" and (await names(api, order="-owner"))[0][0] == "Beta"
    assert (await names(api, order="-aliases"))[0][0] == "Beta"
    assert (await names(api, order="-updated"))[0][0] == "gamma"
    # The metric of the latest version: alpha's is .95 (not its older .7); gamma has none and sorts last.
    found, data = await names(api, order="-metric", metric="auc")
    assert found == ["alpha", "Beta", "gamma"]
    assert [m["latest_metric"] for m in data["models"]] == [0.95, 0.80, None]
    found, _ = await names(api, order="metric", metric="auc")
    assert found == ["Beta", "alpha", "gamma"], "no value sorts last in both directions"
    # A page of a sorted list still reports the true total.
    found, data = await names(api, order="-name", limit=1, offset=1)
    assert found == ["Beta"] and data["total"] == 3
    assert data["models"][0]["updated_at"]


async def test_models_sort_refuses_unknown_orders(api, three):
    r = await api("GET", "/models", params={"order": "size"})
    assert r.status == 400 and "order must be one of" in r.json["message"]
    r = await api("GET", "/models", params={"order": "metric"})
    assert r.status == 400 and "metric=NAME" in r.json["message"]


async def test_events_from_latest_skip_the_history(api, three):
    r = await api("GET", "/events", params={"since": "latest"})
    assert r.status == 200 and r.json["events"] == []
    newest = r.json["last_id"]
    assert newest == (await api("GET", "/events", params={"limit": "10000"})).json["last_id"] > 0
    await api("POST", "/comments", body={"ref": "alpha:2", "body": "new"})
    r = await api("GET", "/events", params={"since": str(newest)})
    assert [e["action"] for e in r.json["events"]] == ["comment.added"]


def test_core_last_event_id_on_an_empty_registry(tmp_path):
    import nbregistry as nr

    reg = nr.Registry(tmp_path / "reg")
    assert reg.last_event_id() == 0
    (tmp_path / "f").write_text("x")
    reg.register(str(tmp_path / "f"), "m")
    assert reg.last_event_id() == reg.events(limit=10_000)[-1].id


def test_compare_marks_a_best_only_when_strictly_best(tmp_path):
    import nbregistry as nr

    reg = nr.Registry(tmp_path / "reg")
    (tmp_path / "f").write_text("x")
    for auc, loss in ((0.9, 0.3), (0.9, 0.2), (0.8, 0.4)):
        reg.register(str(tmp_path / "f"), "m", metrics={"auc": auc, "loss": loss})
    c = reg.compare(["m:1", "m:2", "m:3"])
    assert c.metrics["auc"]["best"] == [], "a tie for best marks no version"
    assert c.metrics["loss"]["best"] == [1]
    assert "auc" not in c.best and c.best["loss"] == "m:2"
