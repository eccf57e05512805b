"""The ``custom`` flavor: your own model class with a ``predict`` method plus the files it needs.

Subclass :class:`CustomModel` (``nbregistry.CustomModel``), keep constructor arguments in
``init_kwargs`` (JSON) and the files the model needs in ``artifacts`` (``{"name": local path}``,
a file or a folder), and implement ``load_artifacts`` (read those files) and ``predict``::

    class Scorer(nr.CustomModel):
        def __init__(self, threshold=0.5):
            self.init_kwargs = {"threshold": threshold}
            self.artifacts = {"weights": "weights.npy"}
        def load_artifacts(self, artifacts):
            self.w = np.load(artifacts["weights"])
        def predict(self, X):
            return (X @ self.w > self.init_kwargs["threshold"]).astype(int)

Saved as the class's import path, ``init_kwargs`` and the artifact files (under ``artifacts/``);
``load`` imports the class, builds it with ``init_kwargs`` and calls ``load_artifacts`` with the
checked-out paths. A class defined in a notebook (``__main__``) cannot be imported elsewhere, so such
a model is saved with cloudpickle instead.

Trust: importing a class named in stored metadata runs that module's code, so this flavor declares
the class (``imported_classes``) and the one rule of core/trust.py decides: loading needs
``trust=True`` unless the class is on the reader's allow-list (``Registry(trusted_classes=[...])`` or
``NBREGISTRY_TRUSTED_CLASSES``, ``module:Class`` or ``module:*``) — the reader, not the author,
decides. The cloudpickle form always needs trust.
"""

from __future__ import annotations

import importlib
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

from ..errors import TrustRequired, ValidationError
from ..objects import safe_relpath
from . import Flavor

class CustomModel:
    """Base class of a custom model: ``predict`` plus the files listed in ``artifacts``."""

    init_kwargs: dict = {}
    artifacts: dict = {}

    def load_artifacts(self, artifacts: dict) -> None:
        """Called after loading with ``{name: Path}`` of the checked-out artifact files/folders."""

    def predict(self, data: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement predict(data)")


class CustomFlavor(Flavor):
    name = "custom"
    priority = 80  # before sklearn/torch: a CustomModel may wrap or subclass anything

    def handles(self, obj: Any) -> bool:
        return any(c.__name__ == "CustomModel" and c.__module__ == __name__ for c in type(obj).__mro__)

    def save(self, obj: Any, folder: Path) -> dict:
        cls = type(obj)
        init_kwargs = dict(getattr(obj, "init_kwargs", None) or {})
        try:
            json.dumps(init_kwargs)
        except (TypeError, ValueError):
            raise ValidationError(f"{cls.__qualname__}.init_kwargs must be JSON-serializable") from None
        artifacts = {}
        for name, src in dict(getattr(obj, "artifacts", None) or {}).items():
            rel = "artifacts/" + safe_relpath(str(name))
            path = Path(src)
            if path.is_symlink() or not path.exists():
                raise ValidationError(f"artifact {name!r}: no file or folder at {str(src)!r}")
            dest = folder / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                shutil.copytree(path, dest, symlinks=False)
            else:
                shutil.copyfile(path, dest)
            artifacts[str(name)] = rel
        meta = {"class": f"{cls.__module__}:{cls.__qualname__}", "init_kwargs": init_kwargs, "artifacts": artifacts}
        if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
            try:
                import cloudpickle
            except ImportError:
                raise ValidationError(f"{cls.__qualname__} is defined in {cls.__module__} and cannot be imported "
                                      "when loading; move it into a module (or install cloudpickle)") from None
            (folder / "model.pkl").write_bytes(cloudpickle.dumps(obj, protocol=pickle.DEFAULT_PROTOCOL))
            return {**meta, "format": "cloudpickle"}
        return {**meta, "format": "import"}

    def needs_trust(self, meta: dict) -> bool:
        return meta.get("format") != "import"  # the cloudpickle form; an imported class is declared below

    def imported_classes(self, meta: dict) -> list[str]:
        return [str(meta.get("class"))] if meta.get("format") == "import" else []

    def load(self, folder: Path, meta: dict, *, trusted) -> Any:
        # the core's rule refuses first; never run code without it (``trusted`` is its Trust)
        if not trusted and (self.needs_trust(meta) or not _allows(trusted, str(meta.get("class")))):
            raise TrustRequired(f"loading {meta.get('class')} runs its code: pass trust=True or allow-list the class")
        paths = {name: folder / safe_relpath(rel) for name, rel in (meta.get("artifacts") or {}).items()}
        if meta.get("format") == "cloudpickle":
            with open(folder / "model.pkl", "rb") as f:
                obj = pickle.load(f)
        else:
            module, _, qualname = str(meta["class"]).partition(":")
            try:
                target = importlib.import_module(module)
                for part in qualname.split("."):
                    target = getattr(target, part)
            except (ImportError, AttributeError) as exc:
                raise ValidationError(f"cannot import {meta['class']} to rebuild the model: {exc}") from None
            obj = target(**(meta.get("init_kwargs") or {}))
        obj.artifacts = {name: str(p) for name, p in paths.items()}
        obj.load_artifacts(paths)
        return obj

    def predict(self, model: Any, data: Any, method: str) -> Any:
        fn = getattr(model, method, None)
        if not callable(fn):
            raise ValueError(f"{type(model).__name__} has no {method}")
        return fn(data)


def _allows(trusted, class_path: str) -> bool:
    allows = getattr(trusted, "allows_class", None)  # a plain bool from an old caller allows nothing extra
    return bool(allows(class_path)) if callable(allows) else False
