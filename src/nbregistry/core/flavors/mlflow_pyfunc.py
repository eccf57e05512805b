"""The ``mlflow_pyfunc`` flavor: an MLflow model directory (imported from an MLflow registry) that
only MLflow knows how to load — a ``python_model``, or a flavor nbregistry has no loader of its own
for. ``load`` returns MLflow's pyfunc model (``mlflow.pyfunc.load_model``), whose ``predict`` the
scoring server and ``Registry.predict`` call. Loading unpickles, so it needs trust like a pickle.
Never chosen for an object at registration: only the MLflow import writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import Flavor


class MlflowPyfuncFlavor(Flavor):
    name = "mlflow_pyfunc"
    pickle_based = True
    priority = -1000  # never detected for an object

    def handles(self, obj: Any) -> bool:
        return False

    def save(self, obj: Any, folder: Path) -> dict:
        raise NotImplementedError("mlflow_pyfunc versions come from `nbregistry import --from-mlflow`")

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        import os

        try:
            import mlflow.pyfunc
        except ImportError:
            from ..errors import ValidationError

            raise ValidationError("loading an MLflow pyfunc version needs mlflow (or mlflow-skinny)") from None
        # The core's trust rule already decided (this flavor is pickle-based); tell MLflow so too.
        saved = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION")
        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        try:
            return mlflow.pyfunc.load_model(str(folder))
        finally:
            if saved is None:
                os.environ.pop("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", None)
            else:
                os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = saved
