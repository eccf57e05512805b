"""``nbregistry server``: refuses bad options with exit 2 before starting; with one shared token it is
a single-identity server: the names clients claim are kept as claimed_by and never counted."""

from __future__ import annotations

import pytest

from nbregistry.cli import main
from server.remote_fixture import http_get, start_server, stop_server


@pytest.mark.parametrize("content", ["not json", '["alice"]', '{"alice": ""}', '{"alice": 3}'])
def test_bad_users_file_is_a_usage_error(tmp_path, capsys, content):
    users = tmp_path / "users.json"
    users.write_text(content)
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(users)]) == 2
    assert "--users" in capsys.readouterr().err


def test_missing_users_file_is_a_usage_error(tmp_path, capsys):
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(tmp_path / "nope.json")]) == 2


def test_a_shared_token_server_keeps_claimed_names_but_never_counts_them(tmp_path, monkeypatch):
    from nbregistry.core.errors import PermissionDenied
    from nbregistry.remote import RemoteRegistry

    proc, url = start_server(tmp_path / "registry", token="shared-secret", log_path=tmp_path / "server.log")
    try:
        zoe = RemoteRegistry(url, "shared-secret", author="zoe")
        yan = RemoteRegistry(url, "shared-secret", author="yan")
        (tmp_path / "m.txt").write_text("m")
        v = zoe.register(str(tmp_path / "m.txt"), "churn")
        assert (v.author, v.identity, v.claimed_by) == ("tester", "shared", "zoe")
        c = yan.comment("churn:1", "nice")
        assert (c.author, c.identity, c.claimed_by) == ("tester", "shared", "yan")
        assert yan.whoami() == "tester"
        monkeypatch.setenv("NBREGISTRY_USER", "quinn")  # the documented default claim
        quinn = RemoteRegistry(url, "shared-secret")
        assert quinn.comment("churn:1", "as configured").claimed_by == "quinn"
        assert quinn.server_identity()["claimed_by"] == "quinn"
        # review/approve depend on who acts: the client refuses rather than file an uncounted review
        with pytest.raises(PermissionDenied, match="did not verify who you are"):
            yan.review("churn:1", "approve")
        with pytest.raises(Exception, match="NBREGISTRY_TOKEN"):
            RemoteRegistry(url, "guess").get("churn")
    finally:
        stop_server(proc)


def test_users_and_a_shared_token_exclude_each_other(tmp_path, capsys):
    users = tmp_path / "users.json"
    users.write_text('{"alice": "a-token"}')
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(users), "--token", "x"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_two_people_with_one_token_is_a_usage_error(tmp_path, capsys):
    users = tmp_path / "users.json"
    users.write_text('{"alice": "same", "bob": "same"}')
    assert main(["server", "--root", str(tmp_path / "r"), "--users", str(users)]) == 2
    assert "same token" in capsys.readouterr().err


def test_help_all_lists_every_nbregistry_option(capsys):
    from nbregistry.server import NBRegistry

    assert main(["server", "--help-all"]) == 0
    out = capsys.readouterr().out
    for name in NBRegistry.class_own_traits(config=True):
        assert f"--NBRegistry.{name}=" in out
    assert "--TeamIdentityProvider.users" in out and "--HubIdentityProvider.service_name" in out


def test_a_config_file_configures_the_server_and_the_command_line_wins(tmp_path):
    import requests

    other = tmp_path / "not-this-registry"
    roles = tmp_path / "roles.toml"
    roles.write_text('default = ["reader"]\n[roles]\nreader = ["read"]\nboss = ["*"]\n[users]\nbob = ["boss"]\n')
    config = tmp_path / "team_config.py"
    config.write_text(f"c.NBRegistry.roles_file = {str(roles)!r}\nc.NBRegistry.root = {str(other)!r}\n")
    users = {"alice": "alice-cfg-token", "bob": "bob-cfg-token"}
    proc, url = start_server(tmp_path / "registry", users=users, log_path=tmp_path / "server.log",
                             extra_args=["--config", str(config)])
    try:
        def whoami(user):
            return requests.get(f"{url}/nbregistry/api/whoami", timeout=30,
                                headers={"Authorization": f"token {users[user]}"}).json()

        assert whoami("alice")["roles"] == ["reader"] and whoami("alice")["can"]["register"] is False
        assert whoami("bob")["can"]["admin"] is True
        r = requests.post(f"{url}/nbregistry/api/comments", json={"ref": "churn:1", "body": "x"}, timeout=30,
                          headers={"Authorization": f"token {users['alice']}"})
        assert r.status_code == 403 and r.json()["action"] == "comment" and "'boss'" in r.json()["message"]
    finally:
        stop_server(proc)
    assert (tmp_path / "registry" / "registry.db").exists() and not other.exists()  # --root won


def test_jupyter_nbregistry_help_all_lists_the_extension_options():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "from nbregistry.server.app import main; main(['--help-all'])"],
                         capture_output=True, text=True, timeout=120).stdout
    assert "--NBRegistry.roles_file=" in out and "--NBRegistry.jupyterhub=" in out and "--ServerApp.port=" in out


def test_the_server_removes_its_empty_notebook_root_when_it_stops(tmp_path, monkeypatch):
    """The server's notebook root is an empty temp folder of its own; a stopped server leaves none behind."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    proc, _url = start_server(tmp_path / "registry", token="t0ken", log_path=tmp_path / "server.log")
    try:
        assert [p.name for p in scratch.iterdir() if p.name.startswith("nbregistry-server-")]  # while it runs
    finally:
        stop_server(proc)
    assert proc.returncode == 0, (tmp_path / "server.log").read_text()[-2000:]
    assert not [p for p in scratch.iterdir() if p.name.startswith("nbregistry-server-")]


def test_as_root_without_allow_root_the_server_refuses_at_once_in_one_line(tmp_path, capsys, monkeypatch):
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 0)  # what CI is; the check happens before anything starts
    assert main(["server", "--root", str(tmp_path / "r"), "--token", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert "refuses to run as root" in err and "--allow-root" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("debug", [False, True])
def test_the_server_logs_failed_requests_counts_every_request_and_logs_successes_only_when_debugging(
        tmp_path, debug):
    import re

    log, config = tmp_path / "server.log", tmp_path / "debug_config.py"
    config.write_text('c.ServerApp.log_level = "DEBUG"\n')
    proc, url = start_server(tmp_path / "registry", users={"alice": "a-token"}, log_path=log,
                             extra_args=["--config", str(config)] if debug else [])
    try:
        api = url + "/nbregistry/api"
        assert http_get(api + "/models", "a-token")[0] == 200
        assert http_get(api + "/models/nope", "a-token")[0] == 404
        assert http_get(api + "/models", "wrong")[0] == 401
        metrics = http_get(url + "/metrics", "a-token")[1]
    finally:
        stop_server(proc)
    text = log.read_text()
    assert re.search(r"404 GET /nbregistry/api/models/nope \(alice@127\.0\.0\.1\)", text), text[-3000:]
    assert re.search(r"401 GET /nbregistry/api/models \(@127\.0\.0\.1\)", text), text[-3000:]
    success = re.search(r"200 GET /nbregistry/api/models \(alice@127\.0\.0\.1\)", text)
    assert bool(success) == debug, text[-3000:]
    # Prometheus counts every request, logged or not
    counted = re.findall(r'http_request_duration_seconds_count\{handler="nbregistry\.server\.routes\.'
                         r'(ModelsHandler|ModelHandler)",method="GET",status_code="(\d+)"\} (\S+)', metrics)
    assert {(h, s) for h, s, n in counted if float(n) >= 1} >= {("ModelsHandler", "200"), ("ModelHandler", "404")}


def test_a_bad_configuration_value_stops_the_server_and_says_which(tmp_path):
    import os
    import subprocess
    import sys

    config = tmp_path / "bad_config.py"
    config.write_text("c.NBRegistry.max_upload_bytes = 'lots'\n")
    # jupyter-server logs a failed extension and serves on without it (every API route a 404): not here
    done = subprocess.run([sys.executable, "-m", "nbregistry.cli", "server", "--root", str(tmp_path / "r"),
                           "--config", str(config), "--allow-root", "--port", "0", "--token", "t"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NBREGISTRY_URL": ""})
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Bad config encountered" in done.stderr and "max_upload_bytes" in done.stderr, done.stderr[-2000:]
