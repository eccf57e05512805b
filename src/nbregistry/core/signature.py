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
    """``None`` when ``new`` accepts what ``old`` accepted, else the reason it does not."""
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
        return None
    if old["shape"][1:] != new["shape"][1:]:
        return f"input shape changed from {old['shape']} to {new['shape']}"
    return None
