"""Helpers of the trust attack suite (a module of its own: conftest modules are not importable by
name when several test folders run together)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path


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


def folder_hashes(root: Path) -> dict:
    """sha256 of every file under ``root`` (the registry folder), for byte-for-byte comparisons."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}
