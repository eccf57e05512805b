"""RemoteRegistry specifics, against the real ``nbregistry server`` of the remote fixture: the same
interface as Registry, errors rebuilt as the core's classes, verified downloads, the trust rule,
identities switched by token, and what the standalone server does not serve. (The behavioural
suite in tests/core, tests/notebook and tests/deploy also runs against it through ``reg``.)"""

from __future__ import annotations

import inspect
import os
import pickle
import urllib.error
import urllib.request

import pytest

import nbregistry
from nbregistry.core import errors
from nbregistry.remote import RemoteRegistry, ServerUnavailable
from server.remote_fixture import TOKENS

@pytest.fixture
def remote(remote_registry):
    return remote_registry


def test_remote_has_every_public_method_of_registry_with_the_same_signature():
    local = {n: f for n, f in inspect.getmembers(nbregistry.Registry, callable) if not n.startswith("_")}
    different = []
    for name, fn in local.items():
        mine = getattr(RemoteRegistry, name, None)
        if mine is None:
            different.append(f"{name}: missing")
            continue
        a = [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
        b = [(p.name, p.kind, p.default) for p in inspect.signature(mine).parameters.values()]
        if a != b:
            different.append(f"{name}: {inspect.signature(fn)} != {inspect.signature(mine)}")
    assert different == []


def test_errors_are_the_core_classes(remote, tmp_path):
    with pytest.raises(errors.InvalidRef):
        remote.get("churn:x")
    with pytest.raises(errors.NotFound, match="no model named 'ghost'"):
        remote.get("ghost")
    (tmp_path / "m.txt").write_text("m")
    remote.register(str(tmp_path / "m.txt"), "churn")
    remote.register(str(tmp_path / "m.txt"), "churn")
    remote.set_alias("churn:1", "production")
    remote.set_policy("churn", "production", {"required_approvals": 1})
    with pytest.raises(errors.PolicyRefused) as refused:
        remote.promote("churn:2", "production")
    report = refused.value.report
    assert type(report).__name__ == "GateReport" and report.allowed is False and report.failed
    with pytest.raises(errors.Conflict):
        remote.delete_version("churn:1")


def test_load_verifies_downloads_and_refuses_a_corrupted_server_copy(remote, tmp_path):
    from server.remote_fixture import _SESSION_SERVER

    (tmp_path / "m.txt").write_text("the model")
    v = remote.register(str(tmp_path / "m.txt"), "churn")
    path = remote.load("churn:1")
    assert path.read_text() == "the model"
    path.chmod(0o644)
    path.write_text("tampered in the local cache")
    assert remote.load("churn:1").read_text() == "the model"  # re-verified, fetched again

    sha = v.artifact["files"][0]["sha256"]
    blob = _SESSION_SERVER["root"] / "objects" / sha[:2] / sha
    blob.chmod(0o644)
    blob.write_text("evil bytes")  # same size or not, the hash no longer matches
    cache = __import__("nbregistry.core.identity", fromlist=["x"]).jupyter_data_dir() / "nbregistry-cache"
    for p in cache.rglob("*"):
        if p.is_file():
            p.chmod(0o644)
            p.write_text("x")
    with pytest.raises(errors.IntegrityError, match="does not match its recorded hash"):
        remote.load("churn:1")


def test_the_trust_rule_uses_the_server_identity(remote, as_user):
    with as_user(remote, "bob"):
        remote.register({"weights": [1, 2, 3]}, "pickled", flavor="pickle")
        assert remote.load("pickled") == {"weights": [1, 2, 3]}  # bob trusts himself
    assert remote.get("pickled").author == "bob"
    with pytest.raises(errors.TrustRequired, match="'bob'"):
        remote.load("pickled")
    assert remote.load("pickled", trust=True) == {"weights": [1, 2, 3]}


def test_switching_author_switches_the_token(remote, tmp_path):
    (tmp_path / "m.txt").write_text("m")
    remote.register(str(tmp_path / "m.txt"), "churn")
    remote.author = "carol"
    assert remote.whoami() == "carol"
    assert remote.comment("churn:1", "hello").author == "carol"
    remote.author = "alice"
    assert remote.comment("churn:1", "hi").author == "alice"
    assert remote.as_author("bob").comment("churn:1", "hey").author == "bob"
    assert remote.whoami() == "alice"
    assert {e.origin for e in remote.events()} == {"remote"}


def test_registry_returns_a_remote_registry_when_nbregistry_url_is_set(remote, monkeypatch, tmp_path):
    monkeypatch.setenv("NBREGISTRY_URL", remote.url)
    monkeypatch.setenv("NBREGISTRY_TOKEN", TOKENS["dave"])
    reg = nbregistry.Registry()
    assert isinstance(reg, RemoteRegistry)
    (tmp_path / "m.txt").write_text("m")
    assert reg.register(str(tmp_path / "m.txt"), "viaenv").author == "dave"
    assert [m.name for m in remote.list_models()] == ["viaenv"]


def test_a_bad_token_and_an_unreachable_server_say_what_to_fix(remote):
    with pytest.raises(errors.PermissionDenied, match="NBREGISTRY_TOKEN"):
        RemoteRegistry(remote.url, "wrong-token").list_models()
    from server.remote_fixture import free_port

    with pytest.raises(ServerUnavailable, match="cannot reach"):
        RemoteRegistry(f"http://127.0.0.1:{free_port()}", "t", timeout=5).list_models()


def test_an_api_version_mismatch_names_the_fix(remote, monkeypatch):
    monkeypatch.setattr("nbregistry.remote.API_VERSION", 2)
    with pytest.raises(ServerUnavailable, match="install the same nbregistry version"):
        RemoteRegistry(remote.url, TOKENS["alice"]).list_models()


def test_server_only_verbs_refuse_and_name_the_cli(remote, tmp_path):
    with pytest.raises(errors.PermissionDenied, match="nbregistry export"):
        remote.export("churn", tmp_path / "out")
    with pytest.raises(errors.PermissionDenied, match="nbregistry webhook"):
        remote.list_webhooks()
    with pytest.raises(errors.PermissionDenied, match="nbregistry move"):
        remote.copy_to(None)


def test_register_saved_uploads_a_folder(remote, tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps([1, 2]))
    v = remote.register_saved(folder, "saved", flavor="pickle", flavor_meta={"library": "pickle"},
                              metrics={"auc": 0.5})
    assert (v.ref, v.author, v.metrics) == ("saved:1", "alice", {"auc": 0.5})
    assert remote.load("saved:1") == [1, 2]


def test_the_standalone_server_serves_the_registry_and_nothing_else(remote):
    for path in ("/api/contents", "/api/kernels", "/api/terminals", "/api/sessions", "/lab", "/tree",
                 "/files/registry.db", "/files/objects", "/view/registry.db", "/nbconvert/html/x.ipynb"):
        request = urllib.request.Request(remote.url + path, headers={"Authorization": f"token {TOKENS['alice']}"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 404, path
    assert os.environ.get("NBREGISTRY_URL") in (None, "")


def test_concurrent_registrations_through_rest_all_land_with_distinct_numbers(remote, tmp_path):
    import threading

    def work(name, n):
        reg = remote.as_author(name)
        for i in range(n):
            path = tmp_path / f"{name}-{i}.bin"
            path.write_bytes(os.urandom(256))
            results.append(reg.register(str(path), "shared", metrics={"i": i}))

    results = []
    threads = [threading.Thread(target=work, args=(name, 5)) for name in ("alice", "bob", "carol", "dave")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(v.version for v in results) == list(range(1, 21))
    assert remote.list_versions("shared").total == 20
    assert {v.author for v in remote.list_versions("shared")} == {"alice", "bob", "carol", "dave"}
    assert remote.verify().ok
