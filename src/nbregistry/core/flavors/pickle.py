"""The ``pickle`` flavor: any picklable object, with cloudpickle when installed."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor, refuse_untrusted


class PickleFlavor(Flavor):
    name = "pickle"
    pickle_based = True
    priority = -100  # the fallback

    def handles(self, obj: Any) -> bool:
        return True

    def save(self, obj: Any, folder: Path) -> dict:
        try:
            import cloudpickle as dumper

            library = "cloudpickle"
        except ImportError:
            dumper, library = pickle, "pickle"
        try:
            data = dumper.dumps(obj, protocol=pickle.DEFAULT_PROTOCOL)
        except Exception as exc:
            raise ValidationError(f"cannot serialize object of type {type(obj).__name__}: {exc}") from None
        (folder / "model.pkl").write_bytes(data)
        return {"library": library, "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}

    def load(self, folder: Path, meta: dict, *, trusted) -> Any:
        if not trusted:
            refuse_untrusted(meta, "unpickle model.pkl")
        with open(folder / "model.pkl", "rb") as f:
            return pickle.load(f)  # cloudpickle output loads with plain pickle
