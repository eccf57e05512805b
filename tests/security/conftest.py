"""Fixtures of the attack suite: registries acting as two different people, and crafted versions.

Every attack here is a real one: a real registry folder, real processes (``nbregistry serve``, the
team server), and a marker file that the payload would create as the proof that nothing ran.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest


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


def shell_payload(marker: Path) -> dict:
    """Torch flavor metadata that names ``subprocess.run`` as the module class: constructing it
    runs a command that creates ``marker``."""
    return {"format": "safetensors", "filename": "model.safetensors", "module_class": "subprocess:run",
            "init_kwargs": {"args": [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]}}


def safetensors_folder(folder: Path) -> Path:
    """A folder holding a real (tiny) safetensors file, as a torch upload would."""
    import safetensors.torch
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({"weight": torch.zeros(2, 2)}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture
def crafted_torch(mallory, marker, tmp_path):
    """``evil:1``: a torch version by mallory whose metadata would run a command on load."""
    folder = safetensors_folder(tmp_path / "upload")
    return mallory.register_saved(folder, "evil", flavor="torch", flavor_meta=shell_payload(marker))


def folder_hashes(root: Path) -> dict:
    """sha256 of every file under ``root`` (the registry folder), for byte-for-byte comparisons."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}
