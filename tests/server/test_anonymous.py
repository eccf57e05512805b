"""Authors on a server whose identity is anonymous (one shared token, jupyter's default
IdentityProvider): the name the client claims, else the user running the server."""

from __future__ import annotations

import pytest

from server.server_helpers import server_config

SHARED = "one-shared-token"


@pytest.fixture
def jp_server_config(registry_root):
    config = server_config(registry_root, IdentityProvider={"token": SHARED})
    del config.ServerApp["identity_provider_class"]
    return config


async def test_anonymous_identity_uses_the_claimed_author_else_the_server_user(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    auth = {"Authorization": f"token {SHARED}"}
    r = await api("GET", "/version", user=None, headers=auth)
    assert r.status == 200 and r.json["author"] == "tester"  # NBREGISTRY_USER of the server process
    r = await api("POST", "/comments", user=None, headers={**auth, "X-NBRegistry-Author": "dora"},
                  body={"ref": "churn:1", "body": "claimed"})
    assert r.status == 201 and r.json["author"] == "dora"
    r = await api("POST", "/comments", user=None, headers={**auth, "X-NBRegistry-Author": "x" * 200},
                  body={"ref": "churn:1", "body": "unclaimed"})
    assert r.json["author"] == "tester"
    assert (await api("GET", "/version", user=None)).status == 401
