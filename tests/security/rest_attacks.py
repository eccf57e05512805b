"""Helpers of the input-attack tests: a real jupyter-server (pytest-jupyter) with only nbregistry,
personal tokens, a registry in a temporary folder, and ``api`` sending raw requests to it.

Imported by the test modules (``from security.rest_attacks import ...``); kept out of conftest.py so
that the attack suites of several helpers can share the folder."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from server.server_helpers import API, TOKENS, server_config


class Reply:
    def __init__(self, response):
        self.status = response.code
        self.headers = response.headers
        self.raw = response.body or b""
        try:
            self.json = json.loads(self.raw) if self.raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Reply {self.status} {self.raw[:300]!r}>"


@pytest.fixture
def registry_root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def limits_config():
    """Extra ``NBRegistry`` settings of the server under attack (a test module may override it)."""
    return {}


@pytest.fixture
def jp_server_config(registry_root, limits_config):
    return server_config(registry_root, NBRegistry=limits_config)


@pytest.fixture
def seed(registry_root):
    """A local Registry on the server's folder (acting as alice), to set up state directly."""
    from nbregistry import Registry

    reg = Registry(registry_root, author="alice")
    yield reg
    reg.close()


@pytest.fixture
def api(jp_serverapp, http_server_client, jp_base_url):
    """``await api("GET", "/models", raw_body=..., user="bob")`` -> Reply (never raises). ``path`` is
    sent as is (the caller URL-encodes); ``body`` is JSON-encoded unless ``raw_body`` is given."""

    async def call(method, path, *, body=None, params=None, user="alice", headers=None, raw_body=None):
        headers = dict(headers or {})
        if user is not None:
            headers.setdefault("Authorization", f"token {TOKENS[user]}")
        if body is not None:
            raw_body = json.dumps(body).encode()
        if raw_body is not None:
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


def assert_clear_4xx(reply, *words, status=400):
    """A JSON error with a message (naming ``words``), never a 500 or a traceback."""
    assert reply.status == status, reply
    assert isinstance(reply.json, dict) and reply.json.get("message"), reply
    assert b"Traceback" not in reply.raw and b"internal server error" not in reply.raw, reply
    for word in words:
        assert word.lower() in reply.json["message"].lower(), reply.json["message"]
