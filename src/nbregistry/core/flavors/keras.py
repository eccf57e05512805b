"""The ``keras`` flavor: Keras 3 models, saved in Keras' own ``.keras`` format.

Loaded with ``safe_mode=True`` (Keras then refuses to deserialize Python lambdas), so no trust is
needed; only a trusted load (the reader's ``trust=True``, or the reader's own version) turns safe
mode off, for models that need it (a ``Lambda`` layer). A refused lambda is a :class:`TrustRequired`. The backend used at
registration is recorded and chosen at load time when Keras has not been imported yet
(``KERAS_BACKEND``): a model saved with the torch backend loads without TensorFlow.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..errors import TrustRequired
from . import Flavor, artifact_file

FILENAME = "model.keras"


class KerasFlavor(Flavor):
    name = "keras"
    priority = 60

    def handles(self, obj: Any) -> bool:
        keras = sys.modules.get("keras")
        model = getattr(keras, "Model", None) if keras is not None else None
        return model is not None and isinstance(obj, model)

    def save(self, obj: Any, folder: Path) -> dict:
        import keras

        obj.save(folder / FILENAME)
        return {"filename": FILENAME, "library_version": keras.__version__, "backend": keras.backend.backend()}

    def load(self, folder: Path, meta: dict, *, trusted) -> Any:
        path = artifact_file(folder, meta)
        if "keras" not in sys.modules and meta.get("backend"):
            os.environ.setdefault("KERAS_BACKEND", str(meta["backend"]))
        import keras

        if trusted:
            return keras.saving.load_model(path, safe_mode=False)
        try:
            return keras.saving.load_model(path, safe_mode=True)
        except ValueError as exc:
            if "safe_mode" not in str(exc):
                raise
            raise TrustRequired("this Keras model holds Python code (a Lambda layer) that only loads with "
                                "safe_mode off; pass trust=True if you trust its author") from None

    def predict(self, model: Any, data: Any, method: str) -> Any:
        import numpy as np

        if method not in ("predict", "predict_proba"):
            raise ValueError(f"a Keras model has no {method}")
        values = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
        return np.asarray(model.predict(np.asarray(values, dtype="float32"), verbose=0))
