"""The ``torch`` flavor: PyTorch modules.

- A TorchScript module (``torch.jit.script``/``trace``) is saved with ``torch.jit.save`` as
  ``model.pt`` and loaded with ``torch.jit.load``: no Python class needed.
- Any other ``nn.Module`` is saved as its weights in safetensors (``model.safetensors``, no pickle)
  plus its class's import path. ``load`` imports the class, builds it with the keyword arguments
  recorded at registration (``module.init_kwargs`` if the module has such a dict, else none) and
  loads the weights. A class defined in a notebook (``__main__``) cannot be imported elsewhere: such
  a module is scripted to TorchScript instead, or refused with a message saying what to do.

Neither format unpickles, so neither needs trust. ``predict`` runs the module under
``torch.no_grad()`` on a float tensor of the input; ``predict_proba`` applies softmax to the output.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor


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
        safetensors.torch.save_model(obj, str(folder / "model.safetensors"))
        return {**meta, "format": "safetensors", "filename": "model.safetensors",
                "module_class": f"{cls.__module__}:{cls.__qualname__}", "init_kwargs": init_kwargs}

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        import torch

        if meta["format"] == "torchscript":
            model = torch.jit.load(str(folder / meta["filename"]), map_location="cpu")
            model.eval()
            return model
        import safetensors.torch

        module, _, qualname = meta["module_class"].partition(":")
        try:
            target = importlib.import_module(module)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ValidationError(f"cannot import {meta['module_class']} to rebuild the module: {exc}") from None
        model = target(**meta.get("init_kwargs", {}))
        safetensors.torch.load_model(model, str(folder / meta["filename"]), device="cpu")
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
