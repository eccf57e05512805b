"""Input signatures and stored input examples.

A signature is inferred from the ``input_example`` given at registration (or, without one, from the
first rows of ``data=``: :func:`example_from_data`): column names and dtypes for a DataFrame, a
Series or a dict of columns, shape and dtype for an array, names, shapes and dtypes for a dict of
arrays (``tensors``). The example itself is stored (first rows only) as
JSON, so that it can be shown, used as a smoke test, and fed to a scoring server.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .errors import ValidationError

MAX_EXAMPLE_ROWS = 5


def _is_dataframe(obj) -> bool:
    return "pandas" in sys.modules and isinstance(obj, sys.modules["pandas"].DataFrame)


def _is_series(obj) -> bool:
    return "pandas" in sys.modules and isinstance(obj, sys.modules["pandas"].Series)


def _is_ndarray(obj) -> bool:
    return "numpy" in sys.modules and isinstance(obj, sys.modules["numpy"].ndarray)


def _series_frame(series):
    """A Series as the one-column DataFrame it stands for (unnamed: column ``"0"``, as pandas names it)."""
    return series.to_frame(name=str(series.name) if series.name is not None else "0")


def _tensor_dtype(arr) -> str:
    """numpy's fixed-width text dtypes (``<U5``) are recorded as ``str``: longer texts must still fit."""
    return "str" if arr.dtype.kind == "U" else str(arr.dtype)


def _named_tensors(example: dict) -> dict | None:
    """``{name: ndarray}`` when a dict example holds arrays of two or more dimensions (named model
    inputs such as ``input_ids``/``attention_mask``), else ``None`` (a dict of columns)."""
    import numpy as np

    arrays = {}
    for key, value in example.items():
        if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
            value = value.detach().cpu().numpy()
        arrays[str(key)] = np.asarray(value)
    if not arrays or all(a.ndim <= 1 for a in arrays.values()):
        return None
    lengths = {a.shape[0] if a.ndim else 1 for a in arrays.values()}
    if len(lengths) != 1:
        raise ValidationError(f"the arrays of a dict input example must have the same number of rows, not {sorted(lengths)}")
    return arrays


def infer_signature(example: Any) -> dict | None:
    """The signature an input example stands for: ``dataframe`` (columns: a DataFrame, a Series or
    a dict of 1-D columns), ``tensor`` (shape and dtype: an array or a list of rows) or ``tensors``
    (named arrays: a dict holding 2-D or larger arrays)."""
    if example is None:
        return None
    if _is_dataframe(example):
        return {"type": "dataframe",
                "columns": [{"name": str(c), "dtype": str(t)} for c, t in example.dtypes.items()]}
    if _is_series(example):
        return {**infer_signature(_series_frame(example)), "series": True}
    if _is_ndarray(example):
        if example.ndim == 0:
            raise ValidationError("an input example must have rows: got a 0-dimensional array")
        return {"type": "tensor", "shape": [-1, *example.shape[1:]], "dtype": _tensor_dtype(example)}
    if isinstance(example, (list, tuple)):
        import numpy as np

        try:
            return infer_signature(np.asarray(example))
        except ValueError as exc:  # ragged rows
            raise ValidationError(f"the input example is not a regular list of rows: {exc}") from None
    if isinstance(example, dict):
        arrays = _named_tensors(example)
        if arrays is not None:
            return {"type": "tensors", "inputs": [{"name": k, "shape": [-1, *a.shape[1:]], "dtype": _tensor_dtype(a)}
                                                  for k, a in arrays.items()]}
        import pandas as pd

        try:
            return infer_signature(pd.DataFrame(example))
        except ValueError as exc:  # columns of different lengths
            raise ValidationError(f"the input example's columns do not form a table: {exc}") from None
    raise ValidationError(
        f"cannot infer a signature from an input example of type {type(example).__name__}: "
        "pass a pandas DataFrame or Series, a numpy array, a list of rows or a dict of columns or arrays")


def example_from_data(data: Any, rows: int = MAX_EXAMPLE_ROWS) -> Any:
    """The input example a registration uses when it was given ``data=`` but no ``input_example``:
    the first rows of the first dataset (``data=X``, ``data=(X, y)``, ``data={"train": X, ...}``)
    when that dataset is a table (a DataFrame or a 2-D array); ``None`` otherwise. The one rule for
    ``register(data=...)`` in the Python API and ``%register --data`` in a notebook."""
    if data is None:
        return None
    if isinstance(data, dict):
        data = next(iter(data.values()), None)
    elif isinstance(data, (list, tuple)) and data and (_is_dataframe(data[0]) or _is_ndarray(data[0])):
        data = data[0]
    if _is_dataframe(data):
        return data.head(rows)
    if _is_ndarray(data) and data.ndim == 2:
        return data[:rows]
    return None


def example_to_json(example: Any) -> bytes:
    """The first rows of an input example as JSON (MLflow's ``dataframe_split`` or ``inputs``)."""
    if _is_series(example):
        payload = json.loads(example_to_json(_series_frame(example)))
        return json.dumps({**payload, "series": True}).encode()
    if _is_dataframe(example):
        head = example.head(MAX_EXAMPLE_ROWS)
        payload = {"type": "dataframe", "columns": [str(c) for c in head.columns],
                   "dtypes": [str(t) for t in head.dtypes],
                   "data": json.loads(head.to_json(orient="values", date_format="iso"))}
    else:
        import numpy as np

        if isinstance(example, dict):
            arrays = _named_tensors(example)
            if arrays is None:
                import pandas as pd

                return example_to_json(pd.DataFrame(example))
            payload = {"type": "tensors", "inputs": {k: {"dtype": _tensor_dtype(a), "data": a[:MAX_EXAMPLE_ROWS].tolist()}
                                                     for k, a in arrays.items()}}
            return json.dumps(payload).encode()
        arr = np.asarray(example)
        payload = {"type": "tensor", "dtype": _tensor_dtype(arr), "data": arr[:MAX_EXAMPLE_ROWS].tolist()}
    return json.dumps(payload).encode()


def example_from_json(data: bytes) -> Any:
    payload = json.loads(data)
    if payload["type"] == "dataframe":
        import pandas as pd

        frame = pd.DataFrame(payload["data"], columns=payload["columns"])
        for col, dtype in zip(payload["columns"], payload["dtypes"]):
            try:
                frame[col] = frame[col].astype(dtype)
            except (TypeError, ValueError):
                pass
        if payload.get("series") and len(payload["columns"]) == 1:
            series = frame.iloc[:, 0]
            return series.rename(None) if payload["columns"][0] == "0" else series
        return frame
    import numpy as np

    if payload["type"] == "tensors":
        return {k: np.asarray(v["data"], dtype=v["dtype"]) for k, v in payload["inputs"].items()}
    return np.asarray(payload["data"], dtype=payload["dtype"])


def check_compatible(old: dict | None, new: dict | None) -> str | None:
    """``None`` when ``new`` accepts what ``old`` accepted, else the reason it does not.

    A reordered column list is incompatible too: a client that sends rows without names (CSV
    without a header, ``instances`` as lists, a positional request) would feed the values to the
    wrong columns. Promoting it anyway is a decision to say out loud (a forced promotion).
    """
    if old is None or new is None:
        return None
    if old["type"] != new["type"]:
        return f"input type changed from {old['type']} to {new['type']}"
    if old["type"] == "tensors":
        return _tensors_compatible(old, new)
    if old["type"] == "dataframe":
        old_cols = {c["name"]: c["dtype"] for c in old["columns"]}
        new_cols = {c["name"]: c["dtype"] for c in new["columns"]}
        missing = [c for c in new_cols if c not in old_cols]
        if missing:
            return f"new version requires columns the current one did not: {', '.join(missing)}"
        changed = [f"{c} ({old_cols[c]} -> {t})" for c, t in new_cols.items() if old_cols[c] != t]
        if changed:
            return f"column dtypes changed: {', '.join(changed)}"
        old_order = [c for c in old_cols if c in new_cols]
        if old_order != list(new_cols):
            return (f"column order changed from {', '.join(old_order)} to {', '.join(new_cols)}"
                    " (rows sent without names would reach the wrong columns)")
        return None
    if old["shape"][1:] != new["shape"][1:]:
        return f"input shape changed from {old['shape']} to {new['shape']}"
    if old.get("dtype") != new.get("dtype"):
        return f"input dtype changed from {old.get('dtype')} to {new.get('dtype')}"
    return None


def validate_input(signature: dict | None, data: Any, *, positional: bool = False) -> Any:
    """Check ``data`` (a DataFrame, array or list of rows) against a version's signature and return it
    in the form the model expects: a DataFrame with the signature's columns, in its order and dtypes
    (extra columns dropped), or an array of its dtype. Raises :class:`ValidationError` naming the
    offending column or shape. Without a signature ``data`` is returned unchanged.

    Columns are matched by name only: rows without names for a named-column signature are refused
    unless ``positional=True`` says that they are in the signature's order (a flat list for a
    one-column signature is that column: there is no order to get wrong). Casts are safe ones only
    (integral floats to integers, integers to floats, in range); text is never parsed into numbers.
    """
    if signature is None:
        return data
    import numpy as np

    if signature["type"] == "tensors":
        return _validate_tensors(signature, data)
    if signature["type"] == "dataframe":
        import pandas as pd

        columns = [c["name"] for c in signature["columns"]]
        if _is_series(data):
            data = _series_frame(data).set_axis(columns[:1], axis=1) if len(columns) == 1 else data
        if not _is_dataframe(data):
            # One column leaves no order to get wrong: a flat list of values is that column (a Series
            # example's signature). Rows for several named columns still need names or ``positional``.
            flat = len(columns) == 1 and np.asarray(data, dtype=object).ndim == 1
            if not positional and not flat:
                raise ValidationError(
                    f"columns are matched by name: send named columns ({', '.join(columns)}), e.g."
                    " dataframe_split with 'columns', dataframe_records, or inputs as an object of columns;"
                    " rows in the signature's order are accepted only when the request says so (positional)")
            arr = np.asarray(data, dtype=object)
            if arr.ndim == 1 and len(columns) == 1:
                arr = arr.reshape(-1, 1)
            if arr.ndim != 2 or arr.shape[1] != len(columns):
                raise ValidationError(
                    f"expected rows of {len(columns)} values ({', '.join(columns)}), got shape {list(arr.shape)}")
            data = pd.DataFrame(arr, columns=columns)
        if len(data) == 0:
            raise ValidationError("the input has no rows")
        names = [str(c) for c in data.columns]
        missing = [c for c in columns if c not in names]
        if missing:
            raise ValidationError(f"missing column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(repr(c) for c in missing)} (expected: {', '.join(columns)})")
        data = data.set_axis(names, axis=1)
        out = {}
        for spec in signature["columns"]:
            out[spec["name"]] = _coerce_column(data[spec["name"]], spec["name"], spec["dtype"])
        return pd.DataFrame(out, index=data.index)

    dtype = np.dtype(signature["dtype"])
    try:
        arr = np.asarray(data.to_numpy() if _is_dataframe(data) else data)
    except ValueError as exc:  # ragged rows
        raise ValidationError(f"input is not a regular array of shape {signature['shape']}: {exc}") from None
    expected = signature["shape"]
    if arr.ndim != len(expected) or any(e not in (-1, a) for e, a in zip(expected[1:], arr.shape[1:])):
        raise ValidationError(f"expected shape {expected} ({dtype}), got {list(arr.shape)}")
    if arr.shape[0] == 0:
        raise ValidationError("the input has no rows")
    if dtype.kind in "iuf" and arr.dtype.kind not in "iufb":
        first = arr.flat[0]
        raise ValidationError(f"expected {dtype} values, got {arr.dtype} (e.g. {getattr(first, 'item', lambda: first)()!r})")
    if dtype.kind in "iu" and arr.dtype.kind == "f" and not np.all(np.mod(arr, 1) == 0):
        raise ValidationError(f"expected integer ({dtype}) values, got fractions")
    try:
        return arr.astype(dtype)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"cannot convert the input to {dtype}: {exc}") from None


def _coerce_column(col, name: str, dtype_name: str):
    """One column converted to its signature dtype, or a ValidationError naming it."""
    import numpy as np
    import pandas as pd

    if dtype_name == "object":
        return col
    if dtype_name in ("str", "string"):  # pandas' text dtypes (``str`` is pandas 3's default)
        _only_text(col, name, dtype_name)
        try:
            return col.astype(dtype_name)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"column {name!r} must be {dtype_name}: {exc}") from None
    try:
        dtype = np.dtype(dtype_name)
    except TypeError:  # pandas extension dtypes (category, string, datetime64[ns, UTC], ...)
        try:
            return col.astype(dtype_name)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"column {name!r} must be {dtype_name}: {exc}") from None
    if dtype.kind in "iufb":
        values = col
        if col.dtype.kind not in "iufb":  # text (JSON strings, CSV cells) is refused, not parsed
            is_text = col.map(lambda v: isinstance(v, (str, bytes)))
            converted = pd.to_numeric(col.mask(is_text), errors="coerce")
            bad = col[is_text | (converted.isna() & col.notna())]
            if len(bad):
                raise ValidationError(f"column {name!r} must be {dtype_name}, got {bad.iloc[0]!r}")
            values = converted
        if values.isna().any() and dtype.kind in "iub":
            raise ValidationError(f"column {name!r} must be {dtype_name}, got a missing value")
        if dtype.kind in "iu" and values.dtype.kind == "f" and not np.all(np.mod(values.dropna(), 1) == 0):
            raise ValidationError(f"column {name!r} must be {dtype_name}, got fractional values")
        if dtype.kind == "b" and values.dtype.kind != "b" and not values.isin([0, 1]).all():
            raise ValidationError(f"column {name!r} must be bool, got {values[~values.isin([0, 1])].iloc[0]!r}")
        if dtype.kind in "iu" and values.dtype.kind in "iuf" and len(values):
            info = np.iinfo(dtype)
            if values.min() < info.min or values.max() > info.max:
                raise ValidationError(f"column {name!r} must be {dtype_name}: values out of its range")
        try:
            return values.astype(dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValidationError(f"column {name!r} must be {dtype_name}: {exc}") from None
    if dtype.kind == "M":
        try:
            return pd.to_datetime(col).astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"column {name!r} must be {dtype_name}: {exc}") from None
    return col.astype(dtype) if dtype.kind != "O" else col


def _only_text(col, name: str, dtype_name: str) -> None:
    """Refuse numbers and other non-text values in a text column (no silent ``str(3)``)."""
    if col.dtype.kind in "OSU" or str(col.dtype) in ("str", "string"):
        bad = col[col.notna() & ~col.map(lambda v: isinstance(v, str))]
    else:
        bad = col
    if len(bad):
        raise ValidationError(f"column {name!r} must be {dtype_name} (text), got {bad.iloc[0]!r}")


# ==================================================================== named tensors (dict examples)
def _tensors_compatible(old: dict, new: dict) -> str | None:
    old_inputs = {i["name"]: i for i in old["inputs"]}
    for spec in new["inputs"]:
        before = old_inputs.get(spec["name"])
        if before is None:
            return f"new version requires input {spec['name']!r}, which the current one did not"
        if before["shape"][1:] != spec["shape"][1:]:
            return f"input {spec['name']!r} shape changed from {before['shape']} to {spec['shape']}"
        if before["dtype"] != spec["dtype"]:
            return f"input {spec['name']!r} dtype changed from {before['dtype']} to {spec['dtype']}"
    return None


def _validate_tensors(signature: dict, data: Any) -> dict:
    """A dict of named arrays checked against a ``tensors`` signature (each input's name, trailing
    shape and dtype); returns ``{name: ndarray}`` with the signature's dtypes."""
    import numpy as np

    if not isinstance(data, dict):
        names = ", ".join(i["name"] for i in signature["inputs"])
        raise ValidationError(f"expected named inputs ({names}), got {type(data).__name__}")
    out = {}
    for spec in signature["inputs"]:
        if spec["name"] not in data:
            raise ValidationError(f"missing input {spec['name']!r}")
        try:
            arr = np.asarray(data[spec["name"]])
        except ValueError as exc:
            raise ValidationError(f"input {spec['name']!r} is not a regular array: {exc}") from None
        expected = spec["shape"]
        if arr.ndim != len(expected) or any(e not in (-1, a) for e, a in zip(expected[1:], arr.shape[1:])):
            raise ValidationError(f"input {spec['name']!r}: expected shape {expected}, got {list(arr.shape)}")
        try:
            out[spec["name"]] = arr.astype(spec["dtype"])
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"input {spec['name']!r} must be {spec['dtype']}: {exc}") from None
    return out
