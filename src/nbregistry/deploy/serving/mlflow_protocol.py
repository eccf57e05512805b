"""MLflow's scoring protocol: the body of ``POST /invocations`` turned into a model's input.

Accepted, as ``mlflow models serve`` accepts them (``Content-Type`` is required):

- ``application/json``: an object with exactly one of ``dataframe_split`` (``{"columns": [...],
  "data": [[...]]}``), ``dataframe_records`` (``[{column: value}, ...]``), ``instances`` or ``inputs``
  (an object of named columns, a list of records, or, for a tensor signature, a list of rows/values),
  plus optionally ``params`` (ignored: nbregistry models take no inference parameters).
- ``text/csv``: a CSV with a header row (named-column signatures only).

Columns are taken by name only. Rows without names (``instances``/``inputs`` as lists of lists,
``dataframe_split`` without ``columns``) are refused for a named-column signature unless the request
says they are in the signature's order: ``?positional=true`` or ``X-Nbregistry-Positional: true``.
"""

from __future__ import annotations

import io
import json
from typing import Any

from .errors import ServingError, bad_input, bad_request

FORMAT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv",)


def media_type(content_type: str | None, accepted: tuple[str, ...]) -> str:
    """The request's media type, or a 415 naming what is accepted (a missing one included)."""
    if not content_type:
        raise ServingError(415, "BAD_REQUEST",
                           f"a Content-Type header is required: one of {', '.join(accepted)}")
    parts = [p.strip() for p in content_type.split(";")]
    media = parts[0].lower()
    params = dict(p.partition("=")[::2] for p in parts[1:] if p)
    charset = params.pop("charset", "utf-8").strip('"').lower()
    if charset not in ("utf-8", "utf8"):
        raise ServingError(415, "BAD_REQUEST", f"only UTF-8 bodies are accepted, not charset={charset}")
    if params:
        raise ServingError(415, "BAD_REQUEST", f"unknown Content-Type parameters: {', '.join(params)}")
    if media not in accepted:
        raise ServingError(415, "BAD_REQUEST",
                           f"unsupported Content-Type {media!r}: use one of {', '.join(accepted)}")
    return media


def load_json(body: bytes) -> Any:
    if not body:
        raise bad_input("the body is empty: send a JSON object")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_input(f"the body is not valid JSON: {exc}") from None


def parse_invocation(body: bytes, content_type: str | None, signature: dict | None) -> Any:
    """The model input (a DataFrame, an array, or rows for ``validate_input``) from a request body."""
    media = media_type(content_type, JSON_TYPES + CSV_TYPES)
    if media in CSV_TYPES:
        return _csv(body, signature)
    payload = load_json(body)
    if not isinstance(payload, dict):
        raise bad_request(f"the JSON body must be an object with exactly one of {', '.join(FORMAT_KEYS)},"
                          f" not a {type(payload).__name__}")
    keys = [k for k in FORMAT_KEYS if k in payload]
    if len(keys) != 1:
        raise bad_request(f"the JSON body must be an object with exactly one of {', '.join(FORMAT_KEYS)};"
                          f" got {', '.join(map(repr, payload)) or 'none'}")
    others = sorted(set(payload) - {keys[0], "params"})
    if others:
        raise bad_request(f"unknown field(s) next to {keys[0]}: {', '.join(others)}")
    key, value = keys[0], payload[keys[0]]
    tensor = signature is not None and signature["type"] == "tensor"
    if key == "dataframe_split":
        return _split(value, tensor)
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise bad_request("dataframe_records must be a list of objects (one per row)")
        if tensor:
            raise bad_input("this model takes a tensor: send {\"inputs\": [[...], ...]}, not named records")
        return _frame_records(value)
    # instances / inputs
    if isinstance(value, dict):
        if tensor:
            raise bad_input(f"this model takes one tensor: send {key} as a list of rows, not an object of columns")
        import pandas as pd

        try:
            return pd.DataFrame(value)
        except ValueError as exc:
            raise bad_input(f"{key}: {exc}") from None
    if not isinstance(value, list):
        raise bad_request(f"{key} must be a list (rows or values) or an object of named columns")
    if value and all(isinstance(r, dict) for r in value):
        if tensor:
            raise bad_input(f"this model takes one tensor: send {key} as a list of rows, not records")
        return _frame_records(value)
    if signature is None or tensor:
        import numpy as np

        try:
            return np.asarray(value)
        except ValueError as exc:
            raise bad_input(f"{key} is not a regular array: {exc}") from None
    return value  # unnamed rows for a named signature: validate_input decides (positional or refused)


def _split(value, tensor: bool):
    import pandas as pd

    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise bad_request("dataframe_split must be an object with 'columns' and 'data' (a list of rows)")
    unknown = sorted(set(value) - {"columns", "data", "index"})
    if unknown:
        raise bad_request(f"dataframe_split has unknown field(s) {', '.join(unknown)}")
    if "columns" not in value:
        if tensor:
            return _array(value["data"], "dataframe_split.data")
        return value["data"]  # rows without names: positional or refused
    columns = value["columns"]
    if not isinstance(columns, list) or len(set(map(str, columns))) != len(columns):
        raise bad_request("dataframe_split.columns must be a list of distinct column names")
    try:
        frame = pd.DataFrame(value["data"], columns=[str(c) for c in columns], index=value.get("index"))
    except (ValueError, TypeError, AssertionError) as exc:
        raise bad_request(f"dataframe_split: {exc}") from None
    return frame.to_numpy() if tensor else frame


def _frame_records(rows: list[dict]):
    import pandas as pd

    return pd.DataFrame.from_records(rows)


def _array(value, where: str):
    import numpy as np

    try:
        return np.asarray(value)
    except ValueError as exc:
        raise bad_input(f"{where} is not a regular array: {exc}") from None


def _csv(body: bytes, signature: dict | None):
    import pandas as pd

    if signature is not None and signature["type"] == "tensor":
        raise bad_input("this model takes a tensor: CSV is for named-column signatures;"
                        " send application/json {\"inputs\": [[...], ...]}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"the CSV body is not UTF-8: {exc}") from None
    if not text.strip():
        raise bad_request("the CSV body is empty: send a header row and data rows")
    try:
        return pd.read_csv(io.StringIO(text))
    except Exception as exc:  # noqa: BLE001 - pandas raises several kinds
        raise bad_request(f"could not parse the CSV body (a header row, then rows): {exc}") from None
