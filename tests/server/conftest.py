"""Fixtures for the server tests: a real jupyter-server (pytest-jupyter) with only nbregistry
enabled, requiring authentication, with personal tokens for alice, bob and carol, and a registry
in a temporary folder. ``api`` sends requests and returns ``(status, json)`` without raising."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from server.server_helpers import API, TOKENS, server_config

@pytest.fixture
def registry_root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def jp_server_config(registry_root):
    return server_config(registry_root)


@pytest.fixture
def jp_auth_header():
    return {"Authorization": f"token {TOKENS['alice']}"}


@pytest.fixture
def seed(registry_root):
    """A local Registry on the server's folder (acting as alice), to set up state directly."""
    from nbregistry import Registry

    reg = Registry(registry_root, author="alice")
    yield reg
    reg.close()


class Reply:
    def __init__(self, response):
        self.status = response.code
        self.headers = response.headers
        self.raw = response.body
        try:
            self.json = json.loads(response.body) if response.body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Reply {self.status} {self.raw[:300]!r}>"


@pytest.fixture
def api(jp_serverapp, http_server_client, jp_base_url):
    """``await api("GET", "/models", params=..., body=..., user="bob")`` -> Reply (never raises).

    ``path`` is taken as is (already URL-encoded where needed); ``user=None`` sends no token.
    """

    async def call(method, path, *, body=None, params=None, user="alice", headers=None, raw_body=None):
        headers = dict(headers or {})
        if user is not None:
            headers.setdefault("Authorization", f"token {TOKENS[user]}")
        if body is not None:
            raw_body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        if raw_body is None and method in ("POST", "PUT", "PATCH"):
            raw_body = b""
        url = jp_base_url.rstrip("/") + "/" + API + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        response = await http_server_client.fetch(url, method=method, headers=headers, body=raw_body,
                                                  raise_error=False, allow_nonstandard_methods=True,
                                                  request_timeout=60)
        return Reply(response)

    return call
