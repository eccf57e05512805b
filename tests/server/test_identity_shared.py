"""A single-identity server (one shared token, as ``nbregistry server --token`` runs): every request
is the server's user with identity ``shared``; claimed names are kept as ``claimed_by`` and never
satisfy a policy, never count as reviewers. Attack test: before this branch the claimed name became
the author and its approval counted."""

from __future__ import annotations

import pytest

from server.server_helpers import server_config

SHARED = "team-shared-token"


@pytest.fixture
def jp_server_config(registry_root):
    config = server_config(registry_root, IdentityProvider={"token": SHARED},
                           NBRegistry={"root": str(registry_root), "shared_token_identity": "shared"})
    del config.ServerApp["identity_provider_class"]
    return config


def as_(name):
    return {"Authorization": f"token {SHARED}", "X-NBRegistry-Author": name}


async def test_claimed_approvals_never_satisfy_a_policy(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    r = await api("POST", "/comments", user=None, headers=as_("zoe"), body={"ref": "x", "body": "x"})
    assert r.status == 404  # the claim is kept, the request goes on (no model yet)
    seed.as_author("dave").register(str(tmp_path / "m.txt"), "churn")
    seed.set_policy("churn", "production", {"required_approvals": 1})
    for name in ("bob", "carol", "erin"):
        r = await api("POST", "/reviews", user=None, headers=as_(name), body={"ref": "churn:1", "verdict": "approve"})
        assert r.status == 201 and (r.json["identity"], r.json["claimed_by"]) == ("shared", name)
    state = (await api("GET", "/review-state", user=None, headers=as_("bob"), params={"ref": "churn:1"})).json
    assert state["approvals"] == [] and sorted(state["unverified_ignored"]) == ["bob", "carol", "erin"]
    r = await api("POST", "/promote", user=None, headers=as_("bob"), body={"ref": "churn:1", "alias": "production"})
    assert r.status == 409 and r.json["type"] == "PolicyRefused", r
    me = (await api("GET", "/whoami", user=None, headers=as_("bob"))).json
    assert (me["identity"], me["auth"], me["claimed_by"]) == ("shared", "shared-token", "bob")


async def test_without_a_claim_it_is_still_shared(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    r = await api("POST", "/comments", user=None, headers={"Authorization": f"token {SHARED}"},
                  body={"ref": "churn:1", "body": "x"})
    assert (r.json["author"], r.json["identity"], r.json["claimed_by"]) == ("tester", "shared", None)
