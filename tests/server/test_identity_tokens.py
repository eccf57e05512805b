"""With personal tokens (``--users``) the author is the token's owner, full stop: the shared token is
refused, no header or body field can name someone else, and an approval only counts for the person
whose token made it. A single-identity server (one shared token) keeps claimed names, never counts them.

Attack tests: before this branch the shared token still worked next to personal tokens and
``X-NBRegistry-Author`` on it filed an approval that counted (test_impersonation_* failed then)."""

from __future__ import annotations

import pytest

from server.server_helpers import TOKENS, file_meta, server_config, upload_body

SHARED = "operator-shared-token"
FORGED_HEADERS = {"X-NBRegistry-Author": "carol", "X-Forwarded-User": "carol", "X-Remote-User": "carol",
                  "Remote-User": "carol", "X-Auth-Request-User": "carol", "X-User": "carol",
                  "X-JupyterHub-User": "carol", "X-NBRegistry-Identity": "verified"}
FORGED_FIELDS = {"author": "carol", "actor": "carol", "reviewer": "carol", "created_by": "carol", "user": "carol",
                 "identity": "verified", "claimed_by": "carol"}


@pytest.fixture
def jp_server_config(registry_root):
    # An operator who also left a shared token configured: with personal tokens it must not work.
    return server_config(registry_root, TeamIdentityProvider={"users": dict(TOKENS), "token": SHARED})


@pytest.fixture
def churn(seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.as_author("dave").register(str(tmp_path / "m.txt"), "churn")
    return seed


async def test_the_shared_token_is_refused_next_to_personal_tokens(api, churn):
    for path in ("/version", "/whoami", "/models"):
        r = await api("GET", path, user=None, headers={"Authorization": f"token {SHARED}"})
        assert r.status == 401, (path, r)
    r = await api("POST", "/reviews", user=None, headers={"Authorization": f"token {SHARED}",
                                                          "X-NBRegistry-Author": "bob"},
                  body={"ref": "churn:1", "verdict": "approve"})
    assert r.status == 401
    assert churn.comments("churn:1") == []
    r = await api("GET", "/whoami", user="bob")
    assert (r.json["user"], r.json["identity"], r.json["auth"]) == ("bob", "verified", "token")


async def test_impersonation_through_headers_changes_nothing(api, churn, tmp_path):
    r = await api("GET", "/whoami", user="bob", headers=FORGED_HEADERS)
    assert (r.json["user"], r.json["identity"], r.json["claimed_by"]) == ("bob", "verified", None)
    r = await api("POST", "/comments", user="bob", headers=FORGED_HEADERS, body={"ref": "churn:1", "body": "hi"})
    assert r.status == 201 and (r.json["author"], r.json["identity"], r.json["claimed_by"]) == ("bob", "verified", None)
    r = await api("POST", "/reviews", user="bob", headers=FORGED_HEADERS,
                  body={"ref": "churn:1", "verdict": "approve"})
    assert r.status == 201 and r.json["author"] == "bob"
    upload = upload_body(file_meta("forged"), {"model.txt": b"x"})
    r = await api("POST", "/versions", user="bob", raw_body=upload,
                  headers={**FORGED_HEADERS, "Content-Type": "application/x-tar"})
    assert r.status == 201 and (r.json["author"], r.json["identity"]) == ("bob", "verified")
    r = await api("POST", "/promote", user="bob", headers=FORGED_HEADERS, body={"ref": "churn:1", "alias": "staging"})
    assert r.status == 200
    events = churn.events(0)
    assert {e.actor for e in events if e.origin != "api"} == {"bob"}, [(e.actor, e.action) for e in events]


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/comments", {"ref": "churn:1", "body": "x"}),
    ("POST", "/reviews", {"ref": "churn:1", "verdict": "approve"}),
    ("POST", "/promote", {"ref": "churn:1", "alias": "staging"}),
    ("POST", "/aliases", {"ref": "churn:1", "alias": "staging"}),
    ("POST", "/rollback", {"ref": "churn@staging"}),
    ("PATCH", "/models/churn", {"description": "x"}),
    ("PATCH", "/versions/churn%3A1", {"description": "x"}),
])
@pytest.mark.parametrize("field", sorted(FORGED_FIELDS))
async def test_impersonation_through_body_fields_is_refused(api, churn, method, path, body, field):
    before = churn.events(0)
    r = await api(method, path, user="bob", body={**body, field: FORGED_FIELDS[field]})
    assert r.status == 400 and field in r.json["message"], r
    assert churn.events(0) == before


@pytest.mark.parametrize("field", sorted(FORGED_FIELDS))
async def test_impersonation_through_upload_metadata_is_refused(api, churn, field):
    upload = upload_body(file_meta("forged", **{field: FORGED_FIELDS[field]}), {"model.txt": b"x"})
    r = await api("POST", "/versions", user="bob", raw_body=upload, headers={"Content-Type": "application/x-tar"})
    assert r.status == 400 and field in r.json["message"], r
    assert [m.name for m in churn.list_models()] == ["churn"]


async def test_impersonation_cannot_make_an_approval_count(api, churn):
    churn.set_policy("churn", "production", {"required_approvals": 2})
    # bob approves twice, once "as carol" by every means a client has: it is one approval, bob's.
    await api("POST", "/reviews", user="bob", body={"ref": "churn:1", "verdict": "approve"})
    r = await api("POST", "/reviews", user="bob", headers=FORGED_HEADERS, body={"ref": "churn:1", "verdict": "approve"})
    assert r.json["author"] == "bob"
    state = (await api("GET", "/review-state", params={"ref": "churn:1"})).json
    assert state["approvals"] == ["bob"]
    r = await api("POST", "/promote", user="bob", body={"ref": "churn:1", "alias": "production"})
    assert r.status == 409 and r.json["type"] == "PolicyRefused", r
    await api("POST", "/reviews", user="carol", body={"ref": "churn:1", "verdict": "approve"})
    r = await api("POST", "/promote", user="bob", body={"ref": "churn:1", "alias": "production"})
    assert r.status == 200, r


def test_a_users_file_gives_tokens_and_groups_and_refuses_mistakes():
    from nbregistry.server.identity import parse_users

    tokens, groups = parse_users({"alice": "a-token", "bob": {"token": "b-token", "groups": ["release"]}})
    assert tokens == {"alice": "a-token", "bob": "b-token"} and groups == {"alice": [], "bob": ["release"]}
    for bad, message in [({"a": "same", "b": "same"}, "same token"), ({"a": {"groups": []}}, "non-empty token"),
                         ({"a": {"token": "t", "groups": "ds"}}, "list of names"), ({}, "expected a JSON object")]:
        with pytest.raises(ValueError, match=message):
            parse_users(bad)


def test_personal_tokens_are_found_by_digest_and_follow_a_changed_users_map():
    from nbregistry.server.identity import TeamIdentityProvider

    provider = TeamIdentityProvider(users={"alice": "a-token", "bob": {"token": "b-token", "groups": ["release"]}})
    assert provider._user_for("a-token").username == "alice" and provider._user_for("b-token").username == "bob"
    for wrong in ("", None, "a-token ", "A-TOKEN", "b-toke", "a-token\x00", "\udcff"):
        assert provider._user_for(wrong) is None, wrong
    groups = provider.groups_of("bob")
    groups.append("admin")  # the caller's copy: the configured groups stay as they are
    assert provider.groups_of("bob") == ["release"] and provider.groups_of("nobody") == []
    provider.users = {"carol": {"token": "c-token", "groups": ["ops"]}}  # parsed again, old tokens gone
    assert provider._user_for("a-token") is None and provider._user_for("c-token").username == "carol"
    assert provider.groups_of("carol") == ["ops"] and provider.groups_of("bob") == []


def _login_cookies(reply) -> list[str]:
    return [c.split(";")[0] for c in reply.headers.get_list("Set-Cookie") if c.startswith("username-")]


async def test_an_authorization_header_is_its_user_without_cookies_and_browsers_still_log_in(api, churn):
    # API clients (the header): the token's user, and no login cookie is decoded or handed out
    r = await api("GET", "/whoami", user="bob")
    assert r.json["user"] == "bob" and not _login_cookies(r), r.headers
    r = await api("POST", "/comments", user="bob", body={"ref": "churn:1", "body": "no xsrf needed"})
    assert r.status == 201 and r.json["author"] == "bob"  # token-authenticated: no XSRF check, as before
    # a browser (the token in the URL) is logged in with the cookie, which then suffices for reads
    r = await api("GET", "/whoami", user=None, params={"token": TOKENS["bob"]})
    cookie = _login_cookies(r)
    assert r.json["user"] == "bob" and cookie
    r = await api("GET", "/whoami", user=None, headers={"Cookie": cookie[0]})
    assert r.status == 200 and r.json["user"] == "bob"
    # a header token wins over someone else's cookie; a wrong header token falls back to the cookie
    r = await api("GET", "/whoami", user="alice", headers={"Cookie": cookie[0]})
    assert r.json["user"] == "alice"
    r = await api("GET", "/whoami", user=None, headers={"Cookie": cookie[0], "Authorization": "token wrong"})
    assert r.json["user"] == "bob"
    for header in ("token wrong", "token ", "bearer nope", f"token {SHARED}", f"Basic {TOKENS['bob']}"):
        r = await api("GET", "/whoami", user=None, headers={"Authorization": header})
        assert r.status == 401, (header, r)
