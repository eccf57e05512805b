"""Attack: a torch version whose metadata names a class to import and construct (``subprocess:run``
with the uploader's arguments). It must run nothing for another reader: not on load, not in the
smoke gate of ``check``, not in ``nbregistry serve``, not in the team server."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from trust_helpers import safetensors_folder, shell_payload
from nbregistry.core.errors import TrustRequired, ValidationError


def test_loading_a_crafted_torch_version_runs_nothing(alice, crafted_torch, marker):
    with pytest.raises(TrustRequired, match="subprocess:run"):
        alice.load("evil:1")
    assert not marker.exists()


def test_even_with_trust_only_an_nn_module_is_constructed(alice, crafted_torch, marker):
    with pytest.raises(ValidationError, match="not a torch.nn.Module"):
        alice.load("evil:1", trust=True)
    assert not marker.exists()


def test_the_smoke_gate_of_check_runs_nothing(alice, mallory, crafted_torch, marker):
    mallory.set_policy("evil", "production", {"gates": ["smoke"]})
    report = alice.check("evil:1", "production")
    assert not report.allowed
    assert "subprocess:run" in report.gates[0]["detail"]
    assert not marker.exists()


def test_nbregistry_serve_runs_nothing(root, crafted_torch, marker, tmp_path):
    from server.remote_fixture import free_port

    env = {**os.environ, "NBREGISTRY_USER": "alice", "NBREGISTRY_URL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "nbregistry.cli", "--root", str(root), "serve", "evil:1",
                             "--host", "127.0.0.1", "--port", str(free_port())],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert not marker.exists()
    assert proc.returncode != 0
    assert b"trust" in out


def test_the_team_server_runs_nothing_whoever_asks(tmp_path, marker):
    from nbregistry.remote import RemoteRegistry
    from server.remote_fixture import start_server, stop_server

    tokens = {"mallory": "mallory-token", "alice": "alice-token"}
    proc, url = start_server(tmp_path / "team", users=tokens, log_path=tmp_path / "server.log")
    try:
        mallory = RemoteRegistry(url, tokens["mallory"])
        alice = RemoteRegistry(url, tokens["alice"])
        mallory.register_saved(safetensors_folder(tmp_path / "upload"), "evil", flavor="torch",
                               flavor_meta=shell_payload(marker))
        mallory.set_policy("evil", "production", {"gates": ["smoke"]})
        for who in (alice, mallory):  # a stranger, and the author herself: the server runs neither
            report = who.check("evil:1", "production")
            assert not report.allowed and not report.gates[0]["passed"]
            assert not marker.exists()
        import requests  # a REST client asking for trust changes nothing

        answer = requests.post(f"{url}/nbregistry/api/check", timeout=60,
                               json={"ref": "evil:1", "alias": "production", "trust": True},
                               headers={"Authorization": f"token {tokens['mallory']}"})
        assert answer.status_code == 400 or (answer.status_code == 200 and not answer.json()["allowed"])
        assert not marker.exists()
        with pytest.raises(TrustRequired):  # RemoteRegistry's local load follows the same rule
            alice.load("evil:1")
        assert not marker.exists()
    finally:
        stop_server(proc)
    assert not marker.exists()


def test_an_allow_listed_class_loads_without_trust(root, tmp_path):
    import torch

    from nbregistry import Registry
    from security_modules import SmallNet

    bob = Registry(root, author="bob")
    torch.manual_seed(0)
    net = SmallNet(5)
    bob.register(net, "net")
    with pytest.raises(TrustRequired, match="security_modules:SmallNet"):
        Registry(root, author="alice").load("net")
    reader = Registry(root, author="alice", trusted_classes=["security_modules:SmallNet"])
    loaded = reader.load("net")
    assert isinstance(loaded, SmallNet) and loaded.lin.out_features == 5
    assert torch.equal(loaded.lin.weight, net.lin.weight)
    # the environment variable is the same allow-list for faces that take no argument (serve, CLI)
    os.environ["NBREGISTRY_TRUSTED_CLASSES"] = "security_modules:*"
    try:
        assert isinstance(Registry(root, author="alice").load("net"), SmallNet)
    finally:
        del os.environ["NBREGISTRY_TRUSTED_CLASSES"]


def test_an_allow_listed_class_that_is_no_module_is_never_constructed(alice, mallory, tmp_path, marker):
    from nbregistry import Registry

    meta = {"format": "safetensors", "filename": "model.safetensors",
            "module_class": "security_modules:NotAModule", "init_kwargs": {"path": str(marker)}}
    mallory.register_saved(safetensors_folder(tmp_path / "up"), "fake", flavor="torch", flavor_meta=meta)
    reader = Registry(alice.root, author="alice", trusted_classes=["security_modules:NotAModule"])
    with pytest.raises(ValidationError, match="not a torch.nn.Module"):
        reader.load("fake")
    assert not marker.exists()


def test_a_module_whose_arguments_were_not_recorded_is_refused_at_registration(alice):
    from security_modules import NeedsArguments

    with pytest.raises(ValidationError, match="width"):
        alice.register(NeedsArguments(3), "needs")
    assert alice.list_models().total == 0


def test_torchscript_stays_trust_free(root):
    import torch

    from nbregistry import Registry
    from security_modules import SmallNet

    Registry(root, author="bob").register(torch.jit.script(SmallNet(2)), "scripted")
    loaded = Registry(root, author="alice").load("scripted")
    assert isinstance(loaded, torch.jit.ScriptModule)


def test_a_stored_file_name_cannot_leave_the_checkout(alice, mallory, tmp_path):
    meta = {"format": "torchscript", "filename": "../../../../etc/passwd"}
    mallory.register_saved(safetensors_folder(tmp_path / "up"), "escape", flavor="torch", flavor_meta=meta)
    with pytest.raises(ValidationError, match="unsafe"):
        alice.load("escape")
