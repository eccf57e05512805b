"""The Open Inference Protocol (KServe V2 REST): tensors in and out.

- A named-column signature takes one input per column, named as the column, with shape ``[N]`` or
  ``[N, 1]`` (as MLServer's pandas codec sends a DataFrame); every column must be present, no
  input may be unknown.
- A tensor signature takes exactly one input whose shape matches the signature's.

``data`` may be flat (row-major, as the protocol specifies) or nested; its length must match the
shape. ``datatype`` is checked against the data (``BYTES`` = text). ``parameters.method`` picks
the model's method (``predict_proba``, ...). The answer has one output per prediction column (a
tensor named after the method, or a frame's columns). Errors are ``{"error": message}`` (the
protocol's shape) plus MLflow's ``error_code``.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_input, bad_request

DATATYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
             "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "FP16": "float16",
             "FP32": "float32", "FP64": "float64", "BYTES": "object"}


def datatype_of(dtype_name: str) -> str:
    """The V2 datatype of a numpy/pandas dtype name (text and objects are ``BYTES``)."""
    import numpy as np

    try:
        dtype = np.dtype(dtype_name)
    except TypeError:
        return "BYTES"
    for v2, np_name in DATATYPES.items():
        if np_name != "object" and dtype == np.dtype(np_name):
            return v2
    return "BYTES"


def tensor_specs(schema: dict | None, *, output_name: str = "predict") -> list[dict]:
    """Metadata tensors (``name``, ``datatype``, ``shape``) for a signature or an output schema."""
    if schema is None:
        return []
    if schema["type"] == "dataframe":
        return [{"name": c["name"], "datatype": datatype_of(c["dtype"]), "shape": [-1]} for c in schema["columns"]]
    return [{"name": output_name, "datatype": datatype_of(schema["dtype"]), "shape": list(schema["shape"])}]


def model_metadata(live) -> dict:
    sig = live.signature or {}
    inputs = tensor_specs(sig if sig.get("type") else None, output_name="input-0")
    return {"name": live.name, "versions": [str(live.version)], "platform": f"nbregistry-{live.flavor}",
            "inputs": inputs, "outputs": tensor_specs(sig.get("outputs"))}


def parse_infer(payload: Any, signature: dict | None) -> tuple[Any, str | None, dict]:
    """``(model input, requested method or None, request)`` from an inference request object."""
    if not isinstance(payload, dict):
        raise bad_request("an inference request is a JSON object with 'inputs'")
    unknown = sorted(set(payload) - {"id", "parameters", "inputs", "outputs"})
    if unknown:
        raise bad_request(f"unknown field(s) in the inference request: {', '.join(unknown)}")
    inputs = payload.get("inputs")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(i, dict) for i in inputs):
        raise bad_request("'inputs' must be a non-empty list of tensors {name, shape, datatype, data}")
    params = payload.get("parameters") or {}
    if not isinstance(params, dict):
        raise bad_request("'parameters' must be an object")
    method = params.get("method")
    if method is not None and not isinstance(method, str):
        raise bad_request("parameters.method must be a string such as 'predict_proba'")
    tensors = {}
    for spec in inputs:
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise bad_request("every input needs a 'name'")
        if name in tensors:
            raise bad_request(f"input {name!r} is given twice")
        tensors[name] = _tensor(spec)
    if signature is not None and signature["type"] == "dataframe":
        return _frame(tensors, signature), method, payload
    if len(tensors) != 1:
        raise bad_input(f"this model takes one tensor input, got {len(tensors)}: {', '.join(tensors)}")
    return next(iter(tensors.values())), method, payload


def _tensor(spec: dict):
    import numpy as np

    name = spec["name"]
    shape, datatype, data = spec.get("shape"), spec.get("datatype"), spec.get("data")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise bad_request(f"input {name!r}: 'shape' must be a list of non-negative integers")
    if datatype not in DATATYPES:
        raise bad_request(f"input {name!r}: unknown datatype {datatype!r}; use one of {', '.join(DATATYPES)}")
    if not isinstance(data, list):
        raise bad_request(f"input {name!r}: 'data' must be a list (flat, row-major, or nested)")
    try:
        flat = np.asarray(data, dtype=object).reshape(-1)
    except ValueError as exc:
        raise bad_input(f"input {name!r}: data is not a regular array: {exc}") from None
    count = int(np.prod(shape)) if shape else 1
    if flat.size != count:
        raise bad_input(f"input {name!r}: shape {shape} holds {count} values, data has {flat.size}")
    if datatype == "BYTES":
        bad = [v for v in flat if not isinstance(v, str)]
        if bad:
            raise bad_input(f"input {name!r} is BYTES: expected text, got {bad[0]!r}")
        return flat.reshape(shape)
    kind = np.dtype(DATATYPES[datatype]).kind
    for v in flat:
        ok = (isinstance(v, bool) if kind == "b" else
              isinstance(v, (int, float)) and not isinstance(v, bool) and (kind == "f" or float(v).is_integer()))
        if not ok:
            raise bad_input(f"input {name!r} is {datatype}: got {v!r}")
    try:
        return np.asarray(flat.tolist(), dtype=DATATYPES[datatype]).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise bad_input(f"input {name!r}: values do not fit {datatype}: {exc}") from None


def _frame(tensors: dict, signature: dict):
    import pandas as pd

    columns = [c["name"] for c in signature["columns"]]
    missing = [c for c in columns if c not in tensors]
    if missing:
        raise bad_input(f"missing input(s) {', '.join(map(repr, missing))}: a named-column model takes one input"
                        f" per column ({', '.join(columns)})")
    unknown = [n for n in tensors if n not in columns]
    if unknown:
        raise bad_input(f"unknown input(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(columns)}")
    out = {}
    rows = None
    for name in columns:
        arr = tensors[name]
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise bad_input(f"input {name!r} is a column: shape [N] or [N, 1], not {list(arr.shape)}")
        if rows is not None and len(arr) != rows:
            raise bad_input(f"input {name!r} has {len(arr)} rows, the others {rows}")
        rows = len(arr)
        out[name] = arr
    return pd.DataFrame(out)


def infer_response(live, prediction: Any, method: str, request: dict) -> dict:
    from ...core.scoring import as_array, jsonable

    outputs = []
    if hasattr(prediction, "columns") and hasattr(prediction, "dtypes"):
        for col, dtype in prediction.dtypes.items():
            values = prediction[col].to_numpy()
            outputs.append({"name": str(col), "datatype": datatype_of(str(dtype)), "shape": [len(values)],
                            "data": jsonable(values)})
    else:
        arr = as_array(prediction)
        outputs.append({"name": method, "datatype": datatype_of(str(arr.dtype)), "shape": list(arr.shape),
                        "data": jsonable(arr.reshape(-1))})
    answer = {"model_name": live.name, "model_version": str(live.version), "outputs": outputs,
              "parameters": {"method": method}}
    if request.get("id") is not None:
        answer["id"] = request["id"]
    return answer
