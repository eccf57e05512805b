"""The versioning, card and evaluation routes against a real jupyter-server that requires
authentication: answers, refusals with their status codes, and the recorded author."""

from __future__ import annotations

from urllib.parse import quote

import pytest


def q(text: str) -> str:
    return quote(text, safe="")


@pytest.fixture
def churn(seed, tmp_path):
    for i in (1, 2):
        f = tmp_path / f"{i}.txt"
        f.write_text(f"model {i}")
        seed.register(str(f), "churn", metrics={"auc": 0.7 + i / 10}, tags={"n": str(i)})
    seed.set_alias("churn:1", "production")
    return seed


async def test_revert_route(api, churn):
    r = await api("POST", "/revert", body={"ref": "churn:1", "reason": "two broke"}, user="bob")
    assert r.status == 201 and r.json["ref"] == "churn:3" and r.json["author"] == "bob"
    assert r.json["lineage"]["revert_of"]["ref"] == "churn:1"
    r = await api("GET", "/diff", params={"a": "churn:1", "b": "churn:3"})
    assert r.json["changes"] == {"revert": [{"key": "revert_of", "a": None, "b": "churn:1"}]}
    r = await api("POST", "/revert", body={"ref": "churn:9"})
    assert r.status == 404
    r = await api("POST", "/revert", body={"ref": "churn:1", "extra": 1})
    assert r.status == 400 and "unknown field" in r.json["message"]


async def test_rename_delete_and_release_routes(api, churn):
    r = await api("POST", f"/models/{q('churn')}/rename", body={"name": "churn-v2"})
    assert r.status == 409 and "production" in r.json["message"]
    r = await api("POST", "/models/churn/rename", body={"name": "churn-v2", "force": True, "reason": "tidy"})
    assert r.status == 200 and r.json["name"] == "churn-v2" and r.json["aliases"] == {"production": 1}
    r = await api("GET", f"/versions/{q('churn@production')}")
    assert r.status == 404 and "renamed to 'churn-v2'" in r.json["message"]
    r = await api("POST", "/models/churn-v2/delete", body={})
    assert r.status == 409
    r = await api("POST", "/models/churn-v2/delete", body={"force": True, "reason": "done"})
    assert r.status == 200 and r.json["versions"] == [1, 2]
    r = await api("GET", "/models/churn-v2")
    assert r.status == 404 and "was deleted" in r.json["message"]
    r = await api("DELETE", "/retired-names/churn-v2", params={"reason": "reuse"})
    assert r.status == 200 and r.json == {"released": "churn-v2"}
    r = await api("DELETE", "/retired-names/never")
    assert r.status == 404


async def test_card_routes(api, churn):
    r = await api("GET", "/cards/churn")
    assert r.status == 200 and r.json["body"] == "" and r.json["author"] is None
    r = await api("PUT", "/cards/churn", body={"body": "# Churn"}, user="bob")
    assert r.status == 200 and r.json["author"] == "bob"
    r = await api("PUT", f"/cards/{q('churn@production')}", body={"body": "prod card"})
    assert r.json["ref"] == "churn:1"
    r = await api("GET", "/cards/churn:1", params={"draft": "1"})
    assert r.json["draft"] is True and "## Intended use" in r.json["body"]
    r = await api("GET", "/cards/churn/history")
    assert [c["body"] for c in r.json["cards"]] == ["# Churn"]
    r = await api("PUT", "/cards/churn", body={"body": 3})
    assert r.status == 400
    r = await api("GET", "/cards/nope")
    assert r.status == 404


async def test_evaluation_routes(api, churn):
    r = await api("POST", "/evaluations", body={"ref": "churn:1", "metrics": {"auc": 0.75}, "dataset": "holdout",
                                                "fingerprint": "b" * 64}, user="bob")
    assert r.status == 201 and r.json["author"] == "bob" and r.json["source"] == "logged"
    r = await api("POST", "/evaluations", body={"ref": "churn:2", "metrics": {"auc": 0.8}, "dataset": "holdout",
                                                "fingerprint": "c" * 64})
    r = await api("GET", "/evaluations", params={"ref": "churn"})
    assert [e["ref"] for e in r.json["evaluations"]] == ["churn:1", "churn:2"]
    r = await api("GET", "/compare", params={"model": "churn"})
    assert r.json["metrics"]["auc@holdout"]["best"] == [] and r.json["notes"]
    for bad in ({"ref": "churn:1", "metrics": {"auc": "x"}, "dataset": "h"},
                {"ref": "churn:1", "metrics": {"auc": 1}, "dataset": "h", "fingerprint": "zz"},
                {"ref": "churn:1", "metrics": {"auc": 1}, "dataset": "bad name"}):
        r = await api("POST", "/evaluations", body=bad)
        assert r.status == 400, bad
