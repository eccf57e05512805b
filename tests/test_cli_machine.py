"""The CLI as scripts and a machine see it: -V, JSON errors, read-only verbs that never create a
registry, the remote artifact cache, and RemoteRegistry riding out a server restart."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import cli_runner
from nbregistry.cli import main


@pytest.fixture
def root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def run(root, capsys):
    return cli_runner(root, capsys)


def test_dash_capital_v_prints_the_version(capsys):
    from nbregistry._version import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["-V"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"nbregistry {__version__}"


@pytest.mark.parametrize("verb", ["ls", "show churn", "versions churn", "search metrics.auc>0", "history churn",
                                  "verify", "comments churn", "activity", "compare churn"])
def test_read_only_verbs_never_create_a_registry(run, root, verb):
    code, out, err = run(*verb.split())
    assert code == 1, (out, err)
    assert f"there is no registry at {root}" in err and "looked at --root" in err
    assert not root.exists()


def test_a_write_verb_creates_the_registry(run, root, tmp_path):
    (tmp_path / "m.bin").write_bytes(b"x")
    assert run("register", str(tmp_path / "m.bin"), "churn")[0] == 0
    assert (root / "registry.db").is_file()
    assert run("ls")[0] == 0


def test_json_errors_are_json_on_stdout_with_the_same_exit_codes(run, root, tmp_path):
    code, out, err = run("ls", "--json")  # no registry: refused, exit 1
    assert code == 1 and err == ""
    data = json.loads(out)
    assert data["exit_code"] == 1 and data["error"]["code"] == "not_found"
    assert data["error"]["type"] == "NotFound" and str(root) in data["error"]["message"]

    (tmp_path / "m.bin").write_bytes(b"x")
    run("register", str(tmp_path / "m.bin"), "churn")
    code, out, err = run("show", "churn:", "--json")  # a malformed ref: bad input, exit 2
    assert code == 2 and err == ""
    data = json.loads(out)
    assert data == {"error": {"code": "bad_request", "type": "InvalidRef", "message": data["error"]["message"]},
                    "exit_code": 2}
    code, out, _ = run("ls", "--limit", "many", "--json")  # argparse's own usage errors too
    assert code == 2 and json.loads(out)["error"]["type"] == "UsageError"


# ==================================================================== the artifact cache
def _fake_artifact(cache_dir: Path, sha: str, size: int, mtime: float) -> None:
    folder = cache_dir / sha
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"x" * size)
    os.utime(folder, (mtime, mtime))


def test_cache_show_and_clean_least_recently_used_first(capsys, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setenv("NBREGISTRY_CACHE_DIR", str(cache_dir))
    old, mid, new = ("a" * 64, "b" * 64, "c" * 64)
    _fake_artifact(cache_dir, old, 3000, 1_000_000)
    _fake_artifact(cache_dir, mid, 2000, 2_000_000)
    _fake_artifact(cache_dir, new, 1000, 3_000_000)
    (cache_dir / "not-an-artifact").mkdir()  # never touched: only hash-named folders are the cache's

    assert main(["cache", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["total_bytes"] == 6000 and [e["sha256"] for e in shown["entries"]] == [new, mid, old]

    assert main(["cache", "clean", "--to", "2500", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["removed"] == 2 and done["freed_bytes"] == 5000 and done["remaining_bytes"] == 1000
    assert sorted(p.name for p in cache_dir.iterdir()) == [new, "not-an-artifact"]

    assert main(["cache", "clean"]) == 0
    assert "removed 1 artifact(s)" in capsys.readouterr().out
    assert [p.name for p in cache_dir.iterdir()] == ["not-an-artifact"]
    assert main(["cache", "clean", "--to", "lots"]) == 2


def test_cache_cap_is_enforced_after_a_download_and_keeps_what_was_just_fetched(tmp_path):
    from nbregistry.cache import ArtifactCache

    cache = ArtifactCache(tmp_path / "cache", max_bytes=2500)
    for i, sha in enumerate(("1" * 64, "2" * 64, "3" * 64)):
        _fake_artifact(cache.path, sha, 1000, 1_000_000 + i)
    cache.touch("1" * 64)  # just used: now the most recent
    done = cache.enforce_cap(keep=frozenset({"3" * 64}))
    assert done["removed"] == 1 and sorted(e.sha256 for e in cache.entries()) == ["1" * 64, "3" * 64]


def test_a_server_answer_never_becomes_a_cache_path(tmp_path):
    from nbregistry.cache import ArtifactCache
    from nbregistry.core.errors import ValidationError

    cache = ArtifactCache(tmp_path / "cache")
    for bad in ("/etc", "../" + "a" * 62, "A" * 64, "a" * 63):
        with pytest.raises(ValidationError):
            cache.folder(bad)


# ==================================================================== retries
class _Flaky(BaseHTTPRequestHandler):
    """Answers 503 to the first ``fail`` requests of each method, then 200; counts every request."""

    counts: dict
    fail = 2

    def _answer(self):
        n = self.counts[self.command] = self.counts.get(self.command, 0) + 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status = 503 if n <= self.fail else 200
        body = json.dumps({"api": 1, "version": "x"} if status == 200 else {"message": "restarting", "code": "unavailable"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky():
    handler = type("Handler", (_Flaky,), {"counts": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.counts
    server.shutdown()
    server.server_close()


def test_idempotent_requests_are_retried_and_writes_are_not(flaky):
    from nbregistry.core.errors import RegistryError
    from nbregistry.remote import RemoteRegistry

    url, counts = flaky
    client = RemoteRegistry(url, "t", retries=3)
    assert client._call("GET", "/version", check=False)["api"] == 1
    assert counts["GET"] == 3  # two 503s ridden out
    with pytest.raises(RegistryError, match="restarting"):
        client._call("POST", "/comments", body={"ref": "m:1", "body": "hi"}, check=False)
    assert counts["POST"] == 1  # a write the server saw is never repeated blindly


def test_a_restarting_server_is_ridden_out(tmp_path):
    """Connection refused while the server is down, then it comes back on the same port."""
    import socket

    from nbregistry.remote import RemoteRegistry

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    handler = type("Handler", (_Flaky,), {"counts": {}, "fail": 0})
    started: list = []

    def come_back():
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        started.append(server)
        server.serve_forever()

    timer = threading.Timer(0.8, come_back)
    timer.start()
    try:
        client = RemoteRegistry(f"http://127.0.0.1:{port}", "t", retries=6)
        assert client._call("GET", "/version", check=False)["api"] == 1
    finally:
        timer.join(5)
        for server in started:
            server.shutdown()
            server.server_close()


# ==================================================================== a bare install
def test_without_skops_a_sklearn_model_is_saved_as_joblib_with_a_warning_naming_the_extra(tmp_path, monkeypatch,
                                                                                         iris_model):
    import sys

    from nbregistry import Registry
    from nbregistry.core.registration import RegistrationWarning

    monkeypatch.setitem(sys.modules, "skops.io", None)  # import skops.io -> ImportError
    reg = Registry(tmp_path / "r", author="alice")
    with pytest.warns(RegistrationWarning, match=r"saved with joblib.*nbregistry\[sklearn\].*trust=True"):
        version = reg.register(iris_model, "iris")
    assert version.flavor_meta["format"] == "joblib" and "_warnings" not in version.flavor_meta
    with pytest.raises(Exception, match="trust=True"):
        reg.as_author("bob").load("iris")
    reg.close()
