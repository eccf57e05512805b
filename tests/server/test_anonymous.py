"""Authors on a server whose identity is anonymous (one shared token, jupyter's default
IdentityProvider): the user running the server; a name the client claims is kept as claimed_by."""

from __future__ import annotations

import pytest

from server.server_helpers import server_config

SHARED = "one-shared-token"


@pytest.fixture
def jp_server_config(registry_root):
    config = server_config(registry_root, IdentityProvider={"token": SHARED})
    del config.ServerApp["identity_provider_class"]
    return config


async def test_anonymous_identity_is_the_server_user_and_a_claim_is_only_kept(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    auth = {"Authorization": f"token {SHARED}"}
    r = await api("GET", "/version", user=None, headers=auth)
    assert r.status == 200 and r.json["author"] == "tester"  # NBREGISTRY_USER of the server process
    # A person's own Jupyter server: the shared token is its owner, counted like the embedded registry.
    r = await api("POST", "/comments", user=None, headers=auth, body={"ref": "churn:1", "body": "mine"})
    assert r.status == 201 and (r.json["author"], r.json["identity"], r.json["claimed_by"]) == ("tester", "local", None)
    # Claiming another name: kept for display, the author stays the server's user, never counted.
    r = await api("POST", "/comments", user=None, headers={**auth, "X-NBRegistry-Author": "dora"},
                  body={"ref": "churn:1", "body": "claimed"})
    assert r.status == 201 and (r.json["author"], r.json["identity"], r.json["claimed_by"]) == ("tester", "shared", "dora")
    r = await api("POST", "/comments", user=None, headers={**auth, "X-NBRegistry-Author": "x" * 200},
                  body={"ref": "churn:1", "body": "unclaimed"})
    assert (r.json["author"], r.json["claimed_by"]) == ("tester", None)
    r = await api("GET", "/whoami", user=None, headers={**auth, "X-NBRegistry-Author": "dora"})
    assert (r.json["user"], r.json["identity"], r.json["auth"], r.json["claimed_by"]) == \
        ("tester", "shared", "shared-token", "dora")
    assert (await api("GET", "/version", user=None)).status == 401
