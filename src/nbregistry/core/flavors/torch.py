"""The ``torch`` flavor: PyTorch modules.

- A TorchScript module (``torch.jit.script``/``trace``) is saved with ``torch.jit.save`` as
  ``model.pt`` and loaded with ``torch.jit.load``: no Python class needed.
- Any other ``nn.Module`` is saved as its weights in safetensors (``model.safetensors``, no pickle)
  plus its class's import path. ``load`` imports the class, builds it with the keyword arguments
  recorded at registration (``module.init_kwargs`` if the module has such a dict, else none) and
  loads the weights. A class defined in a notebook (``__main__``) cannot be imported elsewhere: such
  a module is scripted to TorchScript instead, or refused with a message saying what to do. A class
  whose constructor needs arguments that ``init_kwargs`` does not record is refused at registration.

Neither format unpickles. TorchScript and the weights are data; but importing and constructing the
class that the metadata names is code chosen by whoever wrote the metadata, so (core/trust.py) it
needs trust unless the class is on the reader's allow-list, and it must be an ``nn.Module``
subclass either way (checked before anything is constructed). ``predict`` runs the module under
``torch.no_grad()`` on a float tensor of the input; ``predict_proba`` applies softmax to the output.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import TrustRequired, ValidationError
from . import Flavor, artifact_file


class TorchFlavor(Flavor):
    name = "torch"
    priority = 60

    def handles(self, obj: Any) -> bool:
        torch = sys.modules.get("torch")
        return torch is not None and isinstance(obj, torch.nn.Module)

    def save(self, obj: Any, folder: Path) -> dict:
        import torch

        meta = {"library_version": torch.__version__.split("+")[0]}
        if isinstance(obj, torch.jit.ScriptModule):
            torch.jit.save(obj, str(folder / "model.pt"))
            return {**meta, "format": "torchscript", "filename": "model.pt"}
        cls = type(obj)
        if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
            try:
                scripted = torch.jit.script(obj)
            except Exception as exc:  # noqa: BLE001 - torch raises many kinds
                raise ValidationError(
                    f"{cls.__qualname__} is defined in {cls.__module__} and cannot be imported when loading, "
                    f"and TorchScript cannot compile it ({type(exc).__name__}); move the class into a module "
                    "or register torch.jit.trace(model, example) instead") from None
            torch.jit.save(scripted, str(folder / "model.pt"))
            return {**meta, "format": "torchscript", "filename": "model.pt", "scripted_from": cls.__qualname__}
        import safetensors.torch

        init_kwargs = getattr(obj, "init_kwargs", None) or {}
        try:
            json.dumps(init_kwargs)
        except (TypeError, ValueError):
            raise ValidationError(f"{cls.__qualname__}.init_kwargs must be JSON-serializable") from None
        _check_constructor(cls, init_kwargs)
        safetensors.torch.save_model(obj, str(folder / "model.safetensors"))
        return {**meta, "format": "safetensors", "filename": "model.safetensors",
                "module_class": f"{cls.__module__}:{cls.__qualname__}", "init_kwargs": init_kwargs}

    def imported_classes(self, meta: dict) -> list[str]:
        if meta.get("format") == "torchscript":
            return []
        return [str(meta.get("module_class"))]

    def load(self, folder: Path, meta: dict, *, trusted) -> Any:
        import torch

        path = artifact_file(folder, meta)
        if meta.get("format") == "torchscript":
            model = torch.jit.load(str(path), map_location="cpu")
            model.eval()
            return model
        if meta.get("format") != "safetensors":
            raise ValidationError(f"unknown torch format {meta.get('format')!r}")
        import safetensors.torch

        path_name = meta.get("module_class")
        if not trusted.allows_class(path_name):
            raise TrustRequired(f"refusing to import {path_name!r} without trust (not on your allow-list)")
        init_kwargs = meta.get("init_kwargs") or {}
        if not isinstance(init_kwargs, dict):
            raise ValidationError("init_kwargs of a torch version must be a JSON object")
        model = _module_class(path_name)(**init_kwargs)
        safetensors.torch.load_model(model, str(path), device="cpu")
        model.eval()
        return model

    def predict(self, model: Any, data: Any, method: str) -> Any:
        import numpy as np
        import torch

        if method not in ("predict", "predict_proba"):
            raise ValueError(f"a torch module has no {method}")
        values = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
        dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
        with torch.no_grad():
            out = model(torch.as_tensor(np.asarray(values, dtype=np.float64)).to(dtype))
            if method == "predict_proba":
                out = torch.softmax(out, dim=-1)
        return out.cpu().numpy()


def _module_class(path: str):
    """The ``nn.Module`` subclass ``module:qualname`` names (imported, never constructed here)."""
    import torch

    module, _, qualname = str(path).partition(":")
    try:
        target = importlib.import_module(module)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValidationError(f"cannot import {path} to rebuild the module: {exc}") from None
    if not (isinstance(target, type) and issubclass(target, torch.nn.Module)):
        raise ValidationError(f"{path} is not a torch.nn.Module subclass; refusing to construct it")
    return target


def _check_constructor(cls, init_kwargs: dict) -> None:
    """Refuse, at registration, a class that cannot be rebuilt from the recorded ``init_kwargs``."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return
    named = [p for p in list(params.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [p.name for p in named if p.default is p.empty and p.name not in init_kwargs]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [] if takes_any else [k for k in init_kwargs if k not in {p.name for p in named}]
    if missing or unknown:
        problem = (f"needs {', '.join(missing)}" if missing else f"does not accept {', '.join(unknown)}")
        raise ValidationError(
            f"{cls.__qualname__}.__init__ {problem}, and the module records init_kwargs={init_kwargs!r}: it could "
            "not be rebuilt when loaded. Set module.init_kwargs to the constructor's keyword arguments "
            "(e.g. self.init_kwargs = {'width': width}) or register torch.jit.script(model)")
