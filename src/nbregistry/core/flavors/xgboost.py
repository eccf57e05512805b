"""The ``xgboost`` flavor: boosters and scikit-learn-style XGBoost models in XGBoost's own format.

Saved with ``save_model`` as UBJSON (``model.ubj``), which loads without unpickling, so no trust is
needed. The model's class (``xgboost.sklearn.XGBClassifier``, ``xgboost.core.Booster``, ...) is
recorded and only classes from the ``xgboost`` package are re-created.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor

FILENAME = "model.ubj"


class XGBoostFlavor(Flavor):
    name = "xgboost"
    priority = 60  # before sklearn: XGBClassifier is also a scikit-learn estimator

    def handles(self, obj: Any) -> bool:
        xgb = sys.modules.get("xgboost")
        return xgb is not None and isinstance(obj, (xgb.Booster, xgb.XGBModel))

    def save(self, obj: Any, folder: Path) -> dict:
        import xgboost

        obj.save_model(folder / FILENAME)
        cls = type(obj)
        return {"model_class": f"{cls.__module__}.{cls.__qualname__}", "filename": FILENAME,
                "library_version": xgboost.__version__}

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        module, _, name = meta["model_class"].rpartition(".")
        if module != "xgboost" and not module.startswith("xgboost."):
            raise ValidationError(f"refusing to create {meta['model_class']!r}: not an xgboost class")
        cls = getattr(importlib.import_module(module), name)
        model = cls()
        model.load_model(folder / meta["filename"])
        return model

    def predict(self, model: Any, data: Any, method: str) -> Any:
        import xgboost

        if isinstance(model, xgboost.Booster):
            if method not in ("predict", "predict_proba"):
                raise ValueError(f"an xgboost Booster has no {method}")
            return model.predict(xgboost.DMatrix(data))
        fn = getattr(model, method, None)
        if fn is None:
            raise ValueError(f"{type(model).__name__} has no {method}")
        return fn(data)
