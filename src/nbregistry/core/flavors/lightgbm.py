"""The ``lightgbm`` flavor: boosters and scikit-learn-style LightGBM models in LightGBM's text format.

``model.lgb`` is the booster's own text format (no pickle, no trust needed). For scikit-learn-style
models the constructor parameters and classes are kept beside it, and ``load`` rebuilds the same
estimator class around the booster.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor

FILENAME = "model.lgb"


class LightGBMFlavor(Flavor):
    name = "lightgbm"
    priority = 60  # before sklearn: LGBMClassifier is also a scikit-learn estimator

    def handles(self, obj: Any) -> bool:
        lgb = sys.modules.get("lightgbm")
        return lgb is not None and isinstance(obj, (lgb.Booster, lgb.LGBMModel))

    def save(self, obj: Any, folder: Path) -> dict:
        import lightgbm

        cls = type(obj)
        meta = {"model_class": f"{cls.__module__}.{cls.__qualname__}", "filename": FILENAME,
                "library_version": lightgbm.__version__}
        if isinstance(obj, lightgbm.Booster):
            obj.save_model(folder / FILENAME)
            return meta
        obj.booster_.save_model(folder / FILENAME)
        params = {k: v for k, v in obj.get_params().items() if _jsonable(v)}
        meta["params"] = params
        meta["objective"] = obj._objective if isinstance(obj._objective, str) else None
        if hasattr(obj, "classes_"):
            meta["classes"] = obj.classes_.tolist()
        meta["feature_names"] = bool(getattr(obj, "_fitted_with_feature_names", False))
        return meta

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        import lightgbm

        module, _, name = meta["model_class"].rpartition(".")
        if module != "lightgbm" and not module.startswith("lightgbm."):
            raise ValidationError(f"refusing to create {meta['model_class']!r}: not a lightgbm class")
        booster = lightgbm.Booster(model_file=str(folder / meta["filename"]))
        cls = getattr(importlib.import_module(module), name)
        if cls is lightgbm.Booster:
            return booster
        import numpy as np

        model = cls(**meta.get("params", {}))
        model._Booster = booster
        model.fitted_ = True
        model._n_features = model._n_features_in = booster.num_feature()
        model._objective = meta.get("objective") or booster.params.get("objective")
        model._fitted_with_feature_names = meta.get("feature_names", False)
        model._best_iteration = booster.best_iteration
        model._best_score = {}
        model._evals_result = {}
        model._other_params = {}
        if "classes" in meta:
            from sklearn.preprocessing import LabelEncoder

            classes = np.asarray(meta["classes"])
            model._classes = classes
            model._n_classes = len(classes)
            model._le = LabelEncoder().fit(classes)
            model._class_map = dict(zip(classes, model._le.transform(classes)))
        return model

    def predict(self, model: Any, data: Any, method: str) -> Any:
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            if method not in ("predict", "predict_proba"):
                raise ValueError(f"a lightgbm Booster has no {method}")
            return model.predict(data)
        fn = getattr(model, method, None)
        if fn is None:
            raise ValueError(f"{type(model).__name__} has no {method}")
        return fn(data)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False
