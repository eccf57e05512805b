"""Every REST route x every role: the status follows from THE route table (actions.ACTIONS, the same
table docs/team.md shows) and the role file. A refused request answers 403 naming the action and the
role that would allow it, and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbregistry.core.permissions import Caller, load_roles
from nbregistry.server.actions import ACTIONS
from nbregistry.server.routes import ROUTES
from server.server_helpers import file_meta, implemented_verbs, server_config, upload_body

DOC = Path(__file__).resolve().parents[2] / "docs" / "team.md"
ROLE_FILE = """
roles:
  reader: [read]
  scientist: [read, register, edit, comment, review, "promote:staging"]
  release: [read, comment, review, promote]
  steward: {can: [read, edit, delete, set_policy], models: ["churn*"]}
  admin: ["*"]
users:
  rita: [reader]
  sam: [scientist]
  rel: [release]
  stew: [steward]
  ada: [admin]
  nora: []
"""
ROLE_USERS = {"reader": "rita", "scientist": "sam", "release": "rel", "steward": "stew", "admin": "ada"}
TOKENS = {user: f"{user}-matrix-token" for user in [*ROLE_USERS.values(), "nora"]}
SAMPLE = {"name": "churn", "ref": "churn%3A1", "path": "model.txt", "id": "1"}
BODIES = {
    ("/models/{name}", "PATCH"): {"description": "d"},
    ("/versions/{ref}", "PATCH"): {"description": "d"},
    ("/aliases", "POST"): {"ref": "churn:1", "alias": "{alias}"},
    ("/comments", "POST"): {"ref": "churn:1", "body": "b"},
    ("/comments/{id}", "PATCH"): {"body": "edited"},
    ("/reviews", "POST"): {"ref": "churn:1", "verdict": "approve"},
    ("/check", "POST"): {"ref": "churn:1", "alias": "production"},
    ("/promote", "POST"): {"ref": "churn:1", "alias": "{alias}"},
    ("/rollback", "POST"): {"ref": "churn@{alias}"},
    ("/policies/{name}/{alias}", "PUT"): {"required_approvals": 0},
    ("/gc", "POST"): {"dry_run": True},
}
PARAMS = {"/diff": {"a": "churn:1", "b": "churn:1"}, "/history": {"ref": "churn"}, "/resolve": {"ref": "churn:1"},
          "/comments": {"ref": "churn:1"}, "/review-state": {"ref": "churn:1"}, "/compare": {"model": "churn"}}
DESTRUCTIVE_LAST = ("DELETE", "/gc")


def shown(pattern: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)


def cases() -> list[tuple]:
    """``(method, route pattern, shown path, alias)`` for every implemented route verb; alias routes
    once for ``staging`` and once for ``production``."""
    out = []
    for pattern, handler in ROUTES:
        for verb in implemented_verbs(handler):
            method = verb.upper()
            path = shown(pattern)
            if ACTIONS.get((pattern, method)) == "promote" or "{alias}" in path:
                out += [(method, pattern, path, alias) for alias in ("staging", "production")]
            else:
                out.append((method, pattern, path, None))
    return sorted(out, key=lambda c: (c[0] in DESTRUCTIVE_LAST[:1] or c[2] in DESTRUCTIVE_LAST[1:], c[2], c[0]))


def expected_allowed(roles, user: str, method: str, pattern: str, alias: str | None) -> bool:
    caller = Caller.of(roles, user)
    action = ACTIONS[(pattern, method)]
    if action == "signed_in":  # /whoami
        return True
    return caller.may(action, "churn", alias if action == "promote" else None)


@pytest.fixture
def roles_file(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text(ROLE_FILE)
    return path


@pytest.fixture
def jp_server_config(registry_root, roles_file):
    return server_config(registry_root, TeamIdentityProvider={"users": TOKENS},
                         NBRegistry={"root": str(registry_root), "roles_file": str(roles_file)})


def test_every_route_verb_has_an_action_and_the_docs_table_is_the_code_table():
    routes = {(pattern, verb.upper()) for pattern, handler in ROUTES for verb in implemented_verbs(handler)}
    assert routes == set(ACTIONS), "actions.ACTIONS must name an action for every route verb, and only those"
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `(/\S*)` \| (\w+) \|", DOC.read_text(), re.M)
    assert len(rows) == len(set(rows))
    assert {(m, p, a) for m, p, a in rows} == {(m, shown(p), a) for (p, m), a in ACTIONS.items()}


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
async def test_every_route_for_every_role(api, seed, tmp_path, roles_file, role):
    from helpers import state

    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    seed.register(str(tmp_path / "m.txt"), "churn")
    seed.set_alias("churn:1", "staging")
    seed.set_alias("churn:1", "production")
    seed.comment("churn:1", "first")
    roles = load_roles(roles_file)
    user = ROLE_USERS[role]
    auth = {"Authorization": f"token {TOKENS[user]}"}
    seen = []
    for method, pattern, path, alias in cases():
        url = re.sub(r"\{(\w+)\}", lambda m: alias if m.group(1) == "alias" else SAMPLE[m.group(1)], path)
        body = BODIES.get((path, method))
        if body is not None:
            body = {k: v.replace("{alias}", alias or "") if isinstance(v, str) else v for k, v in body.items()}
        raw = None
        if (path, method) == ("/versions", "POST"):
            raw = upload_body(file_meta("churn"), {"model.txt": b"new"})
        before = state(seed.root)
        r = await api(method, url, user=None, body=body, raw_body=raw, params=PARAMS.get(path) if method == "GET" else None,
                      headers={**auth, **({"Content-Type": "application/x-tar"} if raw else {})})
        allowed = expected_allowed(roles, user, method, pattern, alias)
        action = ACTIONS[(pattern, method)]
        if allowed:
            # allowed by the roles (the core may still refuse, e.g. someone else's comment: no "action")
            assert r.status != 401 and not (r.status == 403 and "action" in (r.json or {})), (role, method, url, r)
        else:
            assert r.status == 403 and r.json["action"] == action, (role, method, url, r)
            assert "needs role" in r.json["message"], r.json
            assert state(seed.root) == before, (role, method, url)
        seen.append((method, path, alias, allowed))
    assert any(a for *_, a in seen) and (role == "admin" or not all(a for *_, a in seen))


async def test_whoami_says_what_each_role_may_do(api, seed, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    seed.set_alias("churn:1", "production")  # the model's aliases are listed, and those any grant names
    me = (await api("GET", "/whoami", user=None, headers={"Authorization": f"token {TOKENS['sam']}"},
                    params={"model": "churn"})).json
    assert (me["user"], me["identity"], me["auth"], me["roles"]) == ("sam", "verified", "token", ["scientist"])
    assert me["can"]["register"] and me["can"]["promote"] and not me["can"]["set_policy"]
    assert me["aliases"]["staging"] is True and me["aliases"]["production"] is False and me["aliases"]["*"] is False
    assert me["reasons"]["promote:production"] == "needs role 'admin' or 'release'"
    assert me["reasons"]["set_policy"] == "needs role 'admin' or 'steward'"
    nobody = (await api("GET", "/whoami", user=None, headers={"Authorization": f"token {TOKENS['nora']}"})).json
    assert nobody["roles"] == [] and not any(nobody["can"].values())  # no role: still told why
    assert nobody["reasons"]["read"] == "needs role 'admin' or 'reader' or 'release' or 'scientist' or 'steward'"
    stew = (await api("GET", "/whoami", user=None, headers={"Authorization": f"token {TOKENS['stew']}"},
                      params={"model": "fraud"})).json
    assert stew["can"]["edit"] is False and stew["can"]["read"] is False  # steward: churn* only
    assert stew["reasons"]["edit"] == "needs role 'admin' or 'scientist'"


async def test_the_alias_check_holds_when_the_body_arrives_after_prepare(api, seed, tmp_path):
    """Request bodies are streamed (read after ``prepare``): the alias of a promotion is only known
    then, so the definitive check waits for the body (before that fix sam promoted to production)."""
    from nbregistry.server.routes import PromoteHandler

    assert getattr(PromoteHandler, "_stream_request_body", False)  # the case this test is about
    (tmp_path / "m.txt").write_text("m")
    seed.register(str(tmp_path / "m.txt"), "churn")
    sam = {"Authorization": f"token {TOKENS['sam']}"}
    r = await api("POST", "/promote", user=None, headers=sam, body={"ref": "churn:1", "alias": "production"})
    assert r.status == 403 and (r.json["action"], r.json["alias"]) == ("promote", "production"), r
    assert seed.get_model("churn").aliases == {}
    r = await api("POST", "/promote", user=None, headers=sam, body={"ref": "churn:1", "alias": "staging"})
    assert r.status == 200, r
