"""Input signatures and stored input examples.

A signature is inferred from the ``input_example`` given at registration: column names and dtypes
for a DataFrame, shape and dtype for an array. The example itself is stored (first rows only) as
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


def _is_ndarray(obj) -> bool:
    return "numpy" in sys.modules and isinstance(obj, sys.modules["numpy"].ndarray)


def infer_signature(example: Any) -> dict | None:
    if example is None:
        return None
    if _is_dataframe(example):
        return {"type": "dataframe",
                "columns": [{"name": str(c), "dtype": str(t)} for c, t in example.dtypes.items()]}
    if _is_ndarray(example):
        return {"type": "tensor", "shape": [-1, *example.shape[1:]], "dtype": str(example.dtype)}
    if isinstance(example, (list, tuple)):
        import numpy as np

        return infer_signature(np.asarray(example))
    if isinstance(example, dict):
        import pandas as pd

        return infer_signature(pd.DataFrame(example))
    raise ValidationError(
        f"cannot infer a signature from an input example of type {type(example).__name__}: "
        "pass a pandas DataFrame, a numpy array, a list of rows or a dict of columns")


def example_to_json(example: Any) -> bytes:
    """The first rows of an input example as JSON (MLflow's ``dataframe_split`` or ``inputs``)."""
    if _is_dataframe(example):
        head = example.head(MAX_EXAMPLE_ROWS)
        payload = {"type": "dataframe", "columns": [str(c) for c in head.columns],
                   "dtypes": [str(t) for t in head.dtypes],
                   "data": json.loads(head.to_json(orient="values", date_format="iso"))}
    else:
        import numpy as np

        if isinstance(example, dict):
            import pandas as pd

            return example_to_json(pd.DataFrame(example))
        arr = np.asarray(example)
        payload = {"type": "tensor", "dtype": str(arr.dtype), "data": arr[:MAX_EXAMPLE_ROWS].tolist()}
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
        return frame
    import numpy as np

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
    unless ``positional=True`` says that they are in the signature's order. Casts are safe ones only
    (integral floats to integers, integers to floats, in range); text is never parsed into numbers.
    """
    if signature is None:
        return data
    import numpy as np

    if signature["type"] == "dataframe":
        import pandas as pd

        columns = [c["name"] for c in signature["columns"]]
        if not _is_dataframe(data):
            if not positional:
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
