"""Authentication, the auth decorators on every route, XSRF for cookie-authenticated writes and
path traversal in downloads."""

from __future__ import annotations

import urllib.parse

import pytest
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from nbregistry.server.routes import ROUTES
from server.server_helpers import TOKENS, file_meta, implemented_verbs, missing_auth, sample_path, upload_body

def test_every_route_verb_is_authenticated_then_authorized():
    assert [h for _, h in ROUTES if not implemented_verbs(h)] == []
    assert [m for _, h in ROUTES for m in missing_auth(h)] == []


def test_the_checker_flags_handlers_without_both_decorators():
    class Undecorated(APIHandler):
        async def get(self):
            pass

    class OnlyAuthenticated(APIHandler):
        @web.authenticated
        async def post(self):
            pass

    class WrongOrder(APIHandler):
        @authorized
        @web.authenticated
        async def delete(self):
            pass

    class Fine(APIHandler):
        @web.authenticated
        @authorized
        async def patch(self):
            pass

    assert missing_auth(Undecorated) == ["Undecorated.get"]
    assert missing_auth(OnlyAuthenticated) == ["OnlyAuthenticated.post"]
    assert missing_auth(WrongOrder) == ["WrongOrder.delete"]
    assert missing_auth(Fine) == []


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_every_route_answers_401_without_a_valid_token(api, token):
    headers = {} if token is None else {"Authorization": f"token {token}"}
    seen = 0
    for pattern, handler in ROUTES:
        for verb in implemented_verbs(handler):
            r = await api(verb.upper(), sample_path(pattern), user=None, headers=headers,
                          raw_body=b"{}" if verb in ("post", "put", "patch") else None)
            assert r.status == 401, (verb, pattern, r)
            assert r.json["code"] == "unauthorized" and r.headers["WWW-Authenticate"] == "token"
            seen += 1
    assert seen >= 30


async def test_cookie_authenticated_writes_need_the_xsrf_token(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    # An API client's Authorization header gets no cookie (nothing to steal or replay) ...
    first = await api("GET", "/version")
    assert not [c for c in first.headers.get_list("Set-Cookie") if c.startswith("username-")], first.headers
    # ... a browser's token in the URL logs it in: the server sets its login cookie
    first = await api("GET", "/version", user=None, params={"token": TOKENS["alice"]})
    login = [c.split(";")[0] for c in first.headers.get_list("Set-Cookie") if c.startswith("username-")]
    assert login, first.headers
    cookie = {"Cookie": login[0]}
    assert (await api("GET", "/models", user=None, headers=cookie)).status == 200  # reads: the cookie suffices
    r = await api("POST", "/comments", user=None, headers=cookie, body={"ref": "churn:1", "body": "csrf?"})
    assert r.status == 403 and "xsrf" in r.json["message"].lower()
    assert seed.comments("churn:1") == []
    upload = upload_body(file_meta("csrf"), {"model.txt": b"x"})
    r = await api("POST", "/versions", user=None, headers=cookie, raw_body=upload)
    assert r.status == 403 and "xsrf" in r.json["message"].lower()
    assert seed.list_models().total == 1
    r = await api("POST", "/comments", user=None, body={"ref": "churn:1", "body": "with xsrf"},
                  headers={"Cookie": f"{login[0]}; _xsrf=2|abcdef01|0123456789abcdef|1700000000",
                           "X-XSRFToken": "2|abcdef01|0123456789abcdef|1700000000"})
    assert r.status == 201 and r.json["author"] == "alice"


@pytest.mark.parametrize("path", ["..%2F..%2Fregistry.db", "..%2Fregistry.db", "%2Fetc%2Fpasswd", "sub%2F..%2F..%2Fx",
                                  "a%5C..%5Cregistry.db", ".%2Fmodel.bin"])
async def test_file_download_refuses_paths_that_could_escape(api, seed, tmp_path, path, registry_root):
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"model")
    (folder / "sub" / "x").write_bytes(b"x")
    seed.register(str(folder), "churn")
    r = await api("GET", f"/versions/churn%3A1/files/{path}")
    assert r.status == 400 and r.json["code"] == "bad_request", r
    assert b"SQLite" not in r.raw and b"root:" not in r.raw


async def test_file_download_never_serves_a_registry_file_by_name(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    sha = seed.get("churn:1").artifact["files"][0]["sha256"]
    for name in ("registry.db", f"objects/{sha[:2]}/{sha}", sha):
        r = await api("GET", f"/versions/churn%3A1/files/{urllib.parse.quote(name, safe='/')}")
        assert r.status == 404, name


async def test_unknown_routes_are_404_not_500(api):
    assert (await api("GET", "/nothing-here")).status == 404
    assert (await api("PATCH", "/comments/abc", body={"body": "x"})).status == 404
