"""An operator's Authorizer decides who may promote: one that forbids writes on
``nbregistry:promotions`` and ``nbregistry:policies`` blocks promote/rollback/alias moves and removals
and policy changes, but not comments or reads."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer

from server.server_helpers import server_config


class NoPromotionsAuthorizer(Authorizer):
    """Everyone may do everything except write on nbregistry:promotions."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource in ("nbregistry:promotions", "nbregistry:policies") and action == "write")


@pytest.fixture
def jp_server_config(registry_root):
    return server_config(registry_root, ServerApp={"authorizer_class": NoPromotionsAuthorizer})


@pytest.fixture
def churn(seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    seed.register(str(tmp_path / "m.txt"), "churn")
    seed.set_alias("churn:1", "production")
    return seed


async def test_promotion_writes_are_forbidden_but_comments_and_reads_are_not(api, churn, registry_root):
    from helpers import state

    before = state(registry_root)
    for method, path, body, resource in [
            ("POST", "/promote", {"ref": "churn:2", "alias": "production"}, "promotions"),
            ("POST", "/rollback", {"ref": "churn@production"}, "promotions"),
            ("POST", "/aliases", {"ref": "churn:2", "alias": "staging"}, "promotions"),
            ("DELETE", "/aliases/churn/production", None, "promotions"),
            ("PUT", "/policies/churn/production", {"required_approvals": 1}, "policies")]:
        r = await api(method, path, body=body)
        assert r.status == 403 and r.json["code"] == "forbidden", (path, r)
        assert f"nbregistry:{resource}" in r.json["message"]
    assert state(registry_root) == before
    assert churn.get("churn@production").version == 1

    assert (await api("POST", "/check", body={"ref": "churn:2", "alias": "production"})).status == 200  # a read
    assert (await api("GET", "/policies/churn/production")).status == 200
    r = await api("POST", "/comments", body={"ref": "churn:2", "body": "can we promote?"})
    assert r.status == 201
    assert (await api("POST", "/reviews", body={"ref": "churn:2", "verdict": "approve"}, user="bob")).status == 201
