"""A real JupyterHub (DummyAuthenticator, SimpleLocalProcessSpawner, configurable-http-proxy) with
nbregistry as a managed service, on free loopback ports, for the whole session.

Users: alice (group ``ds``: register, comment, review, promote to staging) and bob (group ``reviewers``:
review, promote to staging); nobody in the test may promote to production. Permissions are Hub custom
scopes granted through Hub roles, carried by tokens as docs/team.md describes. ``hub.admin`` is the
token of an admin service the test uses to spawn servers and issue tokens through the Hub API.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from browser.conftest import jupyter_path_env

REPO = Path(__file__).resolve().parents[2]
SCOPES = ["read", "register", "edit", "comment", "review", "promote", "promote:staging", "promote:production",
          "set_policy", "delete", "admin"]
STARTUP_TIMEOUT = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scope(name: str) -> str:
    return f"custom:nbregistry:{name}"


HUB_CONFIG = """
import json, sys
cfg = json.loads({cfg!r})
c = get_config()
c.JupyterHub.authenticator_class = "dummy"
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.JupyterHub.bind_url = cfg["bind_url"]
c.JupyterHub.hub_bind_url = cfg["hub_bind_url"]
c.ConfigurableHTTPProxy.api_url = cfg["proxy_api_url"]
c.ConfigurableHTTPProxy.pid_file = cfg["dir"] + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + cfg["dir"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = cfg["dir"] + "/cookie_secret"
c.JupyterHub.pid_file = cfg["dir"] + "/hub.pid"
c.JupyterHub.cleanup_servers = True
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.JupyterHub.load_groups = {{"ds": {{"users": ["alice"]}}, "reviewers": {{"users": ["bob"]}}}}
c.JupyterHub.custom_scopes = {{s: {{"description": s}} for s in cfg["scopes"]}}
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=nbregistry"]}},
    {{"name": "scientists", "groups": ["ds"], "scopes": cfg["ds_scopes"]}},
    {{"name": "reviewers", "groups": ["reviewers"], "scopes": cfg["reviewer_scopes"]}},
    {{"name": "test-admin", "services": ["test-admin"], "scopes": ["admin:users", "admin:servers", "tokens",
                                                                  "read:users", "read:roles", "list:users"]}},
]
c.JupyterHub.services = [
    {{"name": "test-admin", "api_token": cfg["admin_token"]}},
    {{"name": "nbregistry", "url": cfg["service_url"], "command": cfg["service_command"],
      "environment": cfg["service_env"], "oauth_client_allowed_scopes": cfg["scopes"],
      "oauth_no_confirm": True}},
]
c.Spawner.environment = {{"NBREGISTRY_URL": cfg["registry_url"], "PYTHONPATH": cfg["pythonpath"],
                          "NBREGISTRY_ROOT": cfg["dir"] + "/no-local-registry", "JUPYTER_PATH": cfg["jupyter_path"]}}
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 "access:services!service=nbregistry", *cfg["scopes"]]
c.Spawner.args = ["--allow-root", "--ServerApp.ip=127.0.0.1"]
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.SimpleLocalProcessSpawner.home_dir_template = cfg["dir"] + "/home/{{username}}"
"""


class Hub:
    def __init__(self, url: str, service_url: str, admin_token: str, root: Path, log: Path):
        self.url, self.service_url, self.admin, self.root, self.log = url, service_url, admin_token, root, log

    def api(self, method: str, path: str, **kwargs):
        headers = {"Authorization": f"token {self.admin}"}
        r = requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=60, **kwargs)
        return r

    def token(self, user: str, scopes: list[str]) -> str:
        """A Hub API token of ``user`` with ``scopes`` (the Hub refuses scopes the user does not hold)."""
        r = self.api("POST", f"/users/{user}/tokens", json={"scopes": scopes, "note": "nbregistry test"})
        assert r.status_code == 201, r.text
        return r.json()["token"]

    def spawn(self, user: str) -> None:
        r = self.api("POST", f"/users/{user}/server")
        assert r.status_code in (201, 202, 400), r.text  # 400: already running
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            model = self.api("GET", f"/users/{user}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(0.5)
        pytest.fail(f"{user}'s server did not start:\n{self.log.read_text()[-4000:]}")

    def registry(self, path: str, token: str, method: str = "GET", **kwargs):
        """A request to the nbregistry service through the Hub's proxy."""
        headers = {"Authorization": f"token {token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.service_url}/nbregistry/api{path}", headers=headers, timeout=60,
                                **kwargs)


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """pytest-jupyter's autouse loop fixture would close the loop Playwright's sync API runs (the
    browser test here); these tests start their servers as subprocesses and need none of it."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    yield


@pytest.fixture(scope="session")
def hub(tmp_path_factory):
    if not shutil.which("configurable-http-proxy"):
        pytest.fail("configurable-http-proxy is not installed: `make chp` (npm install -g configurable-http-proxy)")
    base = tmp_path_factory.mktemp("hub")
    root = base / "registry"
    proxy, hub_port, api_port, svc_port = free_port(), free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{proxy}"
    service_prefix_url = f"{url}/services/nbregistry"
    pythonpath = os.pathsep.join(p for p in [str(REPO / "src"), os.environ.get("PYTHONPATH", "")] if p)
    admin_token = secrets.token_hex(16)
    cfg = {
        "dir": str(base), "bind_url": url, "hub_bind_url": f"http://127.0.0.1:{hub_port}",
        "proxy_api_url": f"http://127.0.0.1:{api_port}", "admin_token": admin_token,
        "scopes": [scope(s) for s in SCOPES],
        "ds_scopes": [scope(s) for s in ("read", "register", "comment", "review", "promote:staging")],
        "reviewer_scopes": [scope(s) for s in ("read", "comment", "review", "promote:staging")],
        "service_url": f"http://127.0.0.1:{svc_port}",
        "service_command": [sys.executable, "-m", "nbregistry.cli", "server", "--jupyterhub", "--root", str(root),
                            "--allow-root"],
        "service_env": {"PYTHONPATH": pythonpath, "NBREGISTRY_URL": "", "NBREGISTRY_USER": "nbregistry-service",
                        "HOME": str(base)},
        "registry_url": service_prefix_url, "pythonpath": pythonpath,
        # single-user servers load this checkout's labextension build, not the one the venv links
        "jupyter_path": jupyter_path_env(base),
    }
    config = base / "jupyterhub_config.py"
    config.write_text(HUB_CONFIG.format(cfg=json.dumps(cfg)))
    log_path = base / "hub.log"
    log = open(log_path, "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "NBREGISTRY_"))}
    env["PYTHONPATH"] = pythonpath
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=base, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    the_hub = Hub(url, service_prefix_url, admin_token, root, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"jupyterhub exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            # the service answers through the proxy (401 without a token) once the Hub has started it
            if requests.get(f"{service_prefix_url}/nbregistry/api/version", timeout=2).status_code == 401:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"jupyterhub or its nbregistry service did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)
    yield the_hub
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
