"""Fixtures of the attack suite: registries acting as two different people, and crafted versions.

Every attack here is a real one: a real registry folder, real processes (``nbregistry serve``, the
team server), and a marker file that the payload would create as the proof that nothing ran.
"""

from __future__ import annotations

import pytest

from trust_helpers import safetensors_folder, shell_payload


@pytest.fixture
def root(tmp_path):
    return tmp_path / "registry"


@pytest.fixture
def mallory(root):
    """The registry acting as the author of crafted versions."""
    from nbregistry import Registry

    reg = Registry(root, author="mallory")
    yield reg
    reg.close()


@pytest.fixture
def alice(root, mallory):
    """The same registry acting as a reader who trusts nobody."""
    from nbregistry import Registry

    reg = Registry(root, author="alice")
    yield reg
    reg.close()


@pytest.fixture
def marker(tmp_path):
    """A file the payload would create: its absence is the proof that nothing ran."""
    return tmp_path / "PWNED"


@pytest.fixture
def crafted_torch(mallory, marker, tmp_path):
    """``evil:1``: a torch version by mallory whose metadata would run a command on load."""
    folder = safetensors_folder(tmp_path / "upload")
    return mallory.register_saved(folder, "evil", flavor="torch", flavor_meta=shell_payload(marker))
