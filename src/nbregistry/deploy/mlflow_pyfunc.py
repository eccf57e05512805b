"""The MLflow ``python_model`` that wraps a pickle-flavored object on export (``export --format mlflow``).

Pickled *by value* into ``python_model.pkl`` (cloudpickle), so an MLflow environment loads it
without nbregistry installed. Kept tiny and free of nbregistry imports for that reason.
"""

from __future__ import annotations


def wrap(model):
    import mlflow.pyfunc

    class NbregistryPythonModel(mlflow.pyfunc.PythonModel):
        def __init__(self, inner):
            self.inner = inner

        def predict(self, context, model_input, params=None):
            fn = getattr(self.inner, "predict", None)
            return fn(model_input) if fn is not None else self.inner(model_input)

    return NbregistryPythonModel(model)


def wrap_torchscript(data: bytes):
    """A PythonModel holding a TorchScript archive, loaded with ``torch.jit.load`` on first use."""
    import mlflow.pyfunc

    class NbregistryTorchScriptModel(mlflow.pyfunc.PythonModel):
        def __init__(self, archive):
            self.archive = archive
            self.module = None

        def __getstate__(self):
            return {"archive": self.archive}

        def __setstate__(self, state):
            self.archive, self.module = state["archive"], None

        def predict(self, context, model_input, params=None):
            import io

            import numpy as np
            import torch

            if self.module is None:
                self.module = torch.jit.load(io.BytesIO(self.archive), map_location="cpu").eval()
            values = model_input.to_numpy() if hasattr(model_input, "to_numpy") else np.asarray(model_input)
            with torch.no_grad():
                return self.module(torch.as_tensor(values, dtype=torch.float32)).numpy()

    return NbregistryTorchScriptModel(data)
