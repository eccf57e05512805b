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


def wrap_custom(model):
    """A PythonModel around an ``nbregistry.CustomModel``: ``load_context`` gives the model its
    artifact files from the MLflow directory (``load_artifacts({name: Path})``), then ``predict``
    calls the model's."""
    import mlflow.pyfunc

    class NbregistryCustomModel(mlflow.pyfunc.PythonModel):
        def __init__(self, inner):
            self.inner = inner

        def load_context(self, context):
            from pathlib import Path

            paths = {name: Path(path) for name, path in (context.artifacts or {}).items()}
            if paths:
                self.inner.artifacts = {name: str(path) for name, path in paths.items()}
                self.inner.load_artifacts(paths)

        def predict(self, context, model_input, params=None):
            return self.inner.predict(model_input)

    return NbregistryCustomModel(model)


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


def wrap_transformers(classes: dict):
    """A PythonModel over a transformers checkpoint (the pyfunc artifact ``checkpoint``): each part
    rebuilt with its transformers class's ``from_pretrained`` (safetensors only, no remote code),
    scoring as nbregistry's transformers flavor does — tokenized texts when there is a tokenizer,
    named tensors otherwise; the label (``config.id2label``) of the highest logit."""
    import mlflow.pyfunc

    class NbregistryTransformersModel(mlflow.pyfunc.PythonModel):
        def __init__(self, names):
            self.classes = dict(names)
            self.parts = None

        def __getstate__(self):
            return {"classes": self.classes}

        def __setstate__(self, state):
            self.classes, self.parts = state["classes"], None

        def load_context(self, context):
            import transformers

            path = context.artifacts["checkpoint"]
            self.parts = {}
            for key, name in self.classes.items():
                cls = getattr(transformers, name)  # transformers' own classes only (custom code is refused)
                extra = {"use_safetensors": True} if key == "model" else {}
                self.parts[key] = cls.from_pretrained(path, local_files_only=True, trust_remote_code=False, **extra)
            self.parts["model"].eval()

        def predict(self, context, model_input, params=None):
            import numpy as np
            import torch

            net, tokenizer = self.parts["model"], self.parts.get("tokenizer")
            with torch.no_grad():
                if tokenizer is not None:
                    data = model_input.iloc[:, 0] if hasattr(model_input, "columns") else model_input
                    texts = [str(t) for t in (data.tolist() if hasattr(data, "tolist") else list(data))]
                    inputs = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
                elif hasattr(model_input, "columns"):
                    inputs = {str(c): torch.as_tensor(np.asarray(model_input[c].tolist())) for c in model_input.columns}
                else:
                    inputs = {k: torch.as_tensor(np.asarray(v)) for k, v in dict(model_input).items()}
                out = net(**inputs)
            logits = getattr(out, "logits", out[0] if isinstance(out, tuple) else out)
            labels = getattr(net.config, "id2label", None) or {}
            return np.asarray([labels.get(int(i), int(i)) for i in logits.argmax(dim=-1).numpy()], dtype=object)

    return NbregistryTransformersModel(classes)
