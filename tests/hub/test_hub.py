"""nbregistry as a JupyterHub service: Hub users are the identities, Hub scopes the permissions.

alice's kernel (a real kernel in alice's single-user server, configured by nothing but the environment
the Hub gives it) registers, and the version's author is alice, verified. bob approves and it counts;
bob may promote to staging but not to production (403 naming the scope); a forged author header
changes nothing; bob's own Jupyter server forwards the panel's requests as bob.
"""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from conftest import scope

KERNEL_CODE = """
import json, pathlib
import nbregistry as nr
pathlib.Path("model.txt").write_text("weights")
reg = nr.Registry()
v = reg.register("model.txt", "churn", metrics={"auc": 0.91})
print(json.dumps({"type": type(reg).__name__, "author": v.author, "identity": v.identity,
                  "claimed_by": v.claimed_by}))
"""
BOB_SCOPES = ["access:services!service=nbregistry", scope("read"), scope("comment"), scope("review"),
              scope("promote:staging")]


def run_in_kernel(hub, user: str, code: str) -> str:
    """Run ``code`` in a new kernel of ``user``'s single-user server; return its stdout."""
    import websocket

    token = hub.token(user, [f"access:servers!user={user}"])
    base = f"{hub.url}/user/{user}"
    auth = {"Authorization": f"token {token}"}
    r = requests.post(f"{base}/api/kernels", headers=auth, json={"name": "python3"}, timeout=60)
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws = websocket.create_connection(f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel}/channels",
                                     header=[f"Authorization: token {token}"], timeout=120)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, error = [], None
        while True:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                error = "\n".join(msg["content"]["traceback"])
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert error is None, error
        return "".join(out)
    finally:
        ws.close()
        requests.delete(f"{base}/api/kernels/{kernel}", headers=auth, timeout=60)


@pytest.fixture(scope="module")
def registered(hub):
    hub.spawn("alice")
    return json.loads(run_in_kernel(hub, "alice", KERNEL_CODE).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def bob(hub):
    return hub.token("bob", BOB_SCOPES)


def test_alices_kernel_registers_under_her_verified_name(registered):
    assert registered == {"type": "RemoteRegistry", "author": "alice", "identity": "verified", "claimed_by": None}


def test_bob_approves_and_it_counts_whatever_author_he_claims(hub, registered, bob):
    from nbregistry import Registry

    local = Registry(hub.root, author="operator")  # the operator sets a policy on the folder
    local.set_policy("churn", "staging", {"required_approvals": 1})
    local.close()
    r = hub.registry("/promote", bob, "POST", json={"ref": "churn:1", "alias": "staging"})
    assert r.status_code == 409 and r.json()["type"] == "PolicyRefused", r.text  # no approval yet
    r = hub.registry("/reviews", bob, "POST", json={"ref": "churn:1", "verdict": "approve"},
                     headers={"X-NBRegistry-Author": "alice", "X-Forwarded-User": "alice"})
    assert r.status_code == 201, r.text
    assert (r.json()["author"], r.json()["identity"], r.json()["claimed_by"]) == ("bob", "verified", None)
    state = hub.registry("/review-state", bob, params={"ref": "churn:1"}).json()
    assert state["approvals"] == ["bob"] and state["unverified_ignored"] == []
    r = hub.registry("/promote", bob, "POST", json={"ref": "churn:1", "alias": "staging"})
    assert r.status_code == 200, r.text


def test_bob_may_not_promote_to_production_and_is_told_which_scope(hub, registered, bob):
    r = hub.registry("/promote", bob, "POST", json={"ref": "churn:1", "alias": "production"})
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["action"] == "promote" and body["alias"] == "production"
    assert "custom:nbregistry:promote:production" in body["message"]
    r = hub.registry("/versions", bob, "POST", data=b"x", headers={"Content-Type": "application/x-tar"})
    assert r.status_code == 403 and "custom:nbregistry:register" in r.json()["message"]
    me = hub.registry("/whoami", bob, params={"model": "churn"}).json()
    assert (me["user"], me["identity"], me["auth"], me["groups"]) == ("bob", "verified", "jupyterhub", ["reviewers"])
    assert me["aliases"]["production"] is False and me["aliases"]["staging"] is True
    assert me["reasons"]["promote:production"] == "needs scope custom:nbregistry:promote:production"
    assert me["can"]["review"] and not me["can"]["register"]


def test_a_token_without_access_to_the_service_is_refused(hub, registered):
    token = hub.token("bob", [scope("read")])  # no access:services!service=nbregistry
    assert hub.registry("/whoami", token).status_code == 401
    assert hub.registry("/whoami", "not-a-token").status_code == 401


def test_bobs_jupyter_server_forwards_the_panel_as_bob(hub, registered):
    hub.spawn("bob")
    token = hub.token("bob", ["access:servers!user=bob"])
    base = f"{hub.url}/user/bob/nbregistry/api"
    me = requests.get(f"{base}/whoami", params={"model": "churn"}, headers={"Authorization": f"token {token}",
                                                                            "X-NBRegistry-Author": "alice"},
                      timeout=60).json()
    assert (me["user"], me["auth"], me["aliases"].get("production", me["aliases"]["*"])) == ("bob", "jupyterhub", False)
    r = requests.post(f"{base}/promote", json={"ref": "churn:1", "alias": "production"},
                      headers={"Authorization": f"token {token}"}, timeout=60)
    assert r.status_code == 403 and "custom:nbregistry:promote:production" in r.json()["message"]
    versions = requests.get(f"{base}/models/churn/versions", headers={"Authorization": f"token {token}"},
                            timeout=60).json()
    assert [v["author"] for v in versions["versions"]] == ["alice"]


def test_a_browser_logs_in_to_the_service_through_hub_oauth(hub, registered):
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=60)
    r = session.post(f"{hub.url}/hub/login", data={"username": "bob", "password": "any",
                                                   "_xsrf": session.cookies.get("_xsrf", "")}, timeout=60)
    assert r.ok, r.text
    assert requests.get(f"{hub.service_url}/nbregistry/api/whoami", timeout=60).status_code == 401  # no cookie
    r = session.get(f"{hub.service_url}/login", params={"next": "/services/nbregistry/nbregistry/api/whoami"},
                    timeout=60)
    assert r.status_code == 200, (r.url, r.text[:500])
    me = r.json()
    assert (me["user"], me["identity"], me["auth"]) == ("bob", "verified", "jupyterhub")
    assert me["can"]["review"] and not me["can"]["register"]  # the OAuth token carries bob's scopes
    # a write from the browser session needs the XSRF token, like every cookie-authenticated write
    r = session.post(f"{hub.service_url}/nbregistry/api/comments", json={"ref": "churn:1", "body": "csrf?"},
                     timeout=60)
    assert r.status_code == 403
