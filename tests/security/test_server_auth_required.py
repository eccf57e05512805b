"""Attack: ``nbregistry server --token ""`` served the whole registry to anyone who could reach the
port. Now it refuses to start without authentication; ``--no-auth`` serves loopback only, with a warning."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from server.remote_fixture import free_port, stop_server


def server(tmp_path, *args) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "nbregistry.cli", "server", "--root", str(tmp_path / "registry"),
                             "--port", str(port), "--allow-root", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "NBREGISTRY_URL": ""})
    return proc, port


def answers_without_a_token(port: int, proc: subprocess.Popen, timeout: float = 60.0) -> int | None:
    """The status ``GET /nbregistry/api/models`` gets with no credentials once the server is up, or
    ``None`` if the process exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/nbregistry/api/models", timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server neither answered nor exited")


@pytest.mark.parametrize("extra", [(), ("--ip", "0.0.0.0")])
def test_an_empty_token_refuses_to_start(tmp_path, extra):
    proc, port = server(tmp_path, "--token", "", *extra)
    try:
        assert answers_without_a_token(port, proc) is None  # before the fix: 200 for anyone
        out = proc.stdout.read().decode()
        assert proc.returncode == 2 and "--no-auth" in out and "Traceback" not in out, out
    finally:
        if proc.poll() is None:
            stop_server(proc)


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_no_auth_refuses_a_non_loopback_address(tmp_path, ip):
    proc, port = server(tmp_path, "--no-auth", "--ip", ip)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 2 and "loopback" in out and "Traceback" not in out, out


def test_no_auth_serves_loopback_only_and_warns(tmp_path):
    proc, port = server(tmp_path, "--no-auth")
    try:
        assert answers_without_a_token(port, proc) == 200
    finally:
        stop_server(proc)
    out = proc.stdout.read().decode()
    assert "WARNING" in out and "without authentication" in out, out


def test_no_auth_with_personal_tokens_is_a_usage_error(tmp_path, capsys):
    from nbregistry.cli import main

    users = tmp_path / "users.json"
    users.write_text('{"alice": "alice-token"}')
    assert main(["server", "--root", str(tmp_path / "r"), "--no-auth", "--users", str(users)]) == 2
    assert "--no-auth" in capsys.readouterr().err
