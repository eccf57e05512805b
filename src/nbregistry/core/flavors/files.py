"""The ``file`` flavor: a plain file or folder registered as it is; ``load`` returns its path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import Flavor, artifact_file


class FileFlavor(Flavor):
    name = "file"
    priority = 100

    def handles(self, obj: Any) -> bool:
        return isinstance(obj, (str, os.PathLike))

    def save(self, obj, folder: Path) -> dict:  # files are stored by the registry directly
        raise NotImplementedError("the registry stores file artifacts itself")

    def load(self, folder: Path, meta: dict, *, trusted) -> Path:
        """The checked-out path: the file itself for a single file, else the folder."""
        if meta.get("kind") == "file":
            return artifact_file(folder, meta)
        return folder
