"""Scoring a loaded version: calling one of its methods and checking what comes out.

The scoring server, ``Registry.predict`` (batch scoring) and registration share these, so a
request to ``nbregistry serve`` and a row of ``nbregistry predict`` are checked the same way:
input by ``signature.validate_input``, output by :func:`check_output` against the output schema
recorded at registration (``signature["outputs"]``, inferred from a prediction on the input example).
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ValidationError

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")


class ScoringError(ValidationError):
    """The model could not score this input (it raised, or lacks the method): a client error."""


class OutputMismatch(Exception):
    """The model answered something its recorded output schema does not allow: a server-side error."""


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValidationError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    return method


def call_model(model: Any, flavor_name: str, data: Any, method: str = "predict") -> Any:
    """``method`` of a loaded model on validated input: the flavor's ``predict(model, data, method)``
    when it has one (boosters, ONNX sessions, torch modules), else the object's own method."""
    from .flavors import get_flavor

    check_method(method)
    try:
        flavor = get_flavor(flavor_name)
    except ValidationError:
        flavor = None
    custom = getattr(flavor, "predict", None)
    try:
        if custom is not None:
            return custom(model, data, method)
        fn = getattr(model, method, None)
        if fn is None:
            if method == "predict" and callable(model):
                return model(data)
            raise ScoringError(f"the model ({type(model).__name__}) has no method {method!r}")
        return fn(data)
    except ScoringError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, NotImplementedError) as exc:
        raise ScoringError(f"the model refused the input: {type(exc).__name__}: {exc}") from None


def as_array(value: Any):
    """A prediction as a numpy array (DataFrames, Series, torch tensors, lists)."""
    import numpy as np

    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu().numpy()
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    if isinstance(value, (list, tuple)) and len(value) == 1 and hasattr(value[0], "shape"):
        value = value[0]  # ONNX sessions answer a list of outputs; the first is the prediction
    return np.asarray(value)


def infer_output_schema(prediction: Any) -> dict | None:
    """The output schema of a prediction: ``{"type": "dataframe", "columns": [...]}`` for a frame,
    else ``{"type": "tensor", "shape": [-1, ...], "dtype": ...}``; ``None`` when it has no rows."""
    if hasattr(prediction, "dtypes") and hasattr(prediction, "columns"):
        return {"type": "dataframe",
                "columns": [{"name": str(c), "dtype": str(t)} for c, t in prediction.dtypes.items()]}
    try:
        arr = as_array(prediction)
    except (TypeError, ValueError):
        return None
    if arr.ndim == 0 or arr.dtype.kind == "O" and arr.ndim > 1:
        return None
    return {"type": "tensor", "shape": [-1, *arr.shape[1:]], "dtype": str(arr.dtype)}


def check_output(schema: dict | None, prediction: Any, rows: int) -> None:
    """Raise :class:`OutputMismatch` when ``prediction`` (for ``rows`` input rows) breaks ``schema``."""
    if schema is None:
        return
    if schema["type"] == "dataframe":
        if not (hasattr(prediction, "columns") and hasattr(prediction, "dtypes")):
            raise OutputMismatch(f"expected a frame with columns {[c['name'] for c in schema['columns']]},"
                                 f" got {type(prediction).__name__}")
        names = [str(c) for c in prediction.columns]
        expected = [c["name"] for c in schema["columns"]]
        if names != expected:
            raise OutputMismatch(f"expected output columns {expected}, got {names}")
        got = len(prediction)
    else:
        import numpy as np

        arr = as_array(prediction)
        shape = schema["shape"]
        if arr.ndim != len(shape) or any(e not in (-1, a) for e, a in zip(shape[1:], arr.shape[1:])):
            raise OutputMismatch(f"expected output shape {shape}, got {list(arr.shape)}")
        want = np.dtype(schema["dtype"])
        if want.kind in "iufb" and arr.dtype.kind not in "iufb":
            raise OutputMismatch(f"expected {want} outputs, got {arr.dtype}")
        if want.kind in "OUS" and arr.dtype.kind in "iufb" and want.kind != arr.dtype.kind:
            raise OutputMismatch(f"expected {want} outputs, got {arr.dtype}")
        got = arr.shape[0]
    if got != rows:
        raise OutputMismatch(f"the model answered {got} rows for {rows} input rows")


def jsonable(value: Any) -> Any:
    """Predictions as JSON-ready lists (numpy, pandas, tensors); NaN and infinities become null."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # DataFrame
        value = value.to_dict(orient="records")
    elif hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy().tolist()
    elif hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value


def rows_of(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 1


def with_outputs(signature: dict | None, obj: Any, flavor_name: str, example: Any) -> dict | None:
    """``signature`` plus ``"outputs"``: the schema of ``predict`` on the input example, recorded at
    registration so servers can check what the model answers. Left out when the object cannot
    predict on its example (a file, a transformer without ``predict``): registration never fails here."""
    if signature is None or example is None or flavor_name == "file":
        return signature
    from .signature import validate_input

    try:
        prediction = call_model(obj, flavor_name, validate_input(signature, example), "predict")
        outputs = infer_output_schema(prediction)
    except Exception:  # noqa: BLE001 - the output schema is a bonus, not a requirement
        return signature
    return {**signature, "outputs": outputs} if outputs else signature


def score(model: Any, flavor_name: str, signature: dict | None, data: Any, method: str = "predict", *,
          positional: bool = False) -> tuple[Any, int]:
    """The one scoring path (server requests, batch chunks, swap checks): validate ``data`` against
    the signature, call ``method``, check the output of ``predict`` against the recorded output
    schema. Returns ``(prediction, rows)``; raises ``ValidationError`` (the input), ``ScoringError``
    (the model refused it) or :class:`OutputMismatch`."""
    from .signature import validate_input

    data = validate_input(signature, data, positional=positional)
    prediction = call_model(model, flavor_name, data, method)
    rows = rows_of(data)
    if method == "predict":
        check_output((signature or {}).get("outputs"), prediction, rows)
    return prediction, rows
