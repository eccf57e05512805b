"""Batch scoring: ``Registry.predict(ref, frame)`` and ``nbregistry predict REF INPUT -o OUT.parquet``.

The ref is resolved once (an alias moving meanwhile changes nothing), the version is loaded through
``Registry.load`` (its trust rule), and the input is scored in chunks with ``core.scoring.score``:
the same validation as the scoring server, by column name, with the output checked against the
recorded output schema. The answer is a DataFrame of predictions (one column per output, in input
order) whose ``attrs["nbregistry"]`` names the version used; a parquet output carries the same in
its schema metadata (key ``nbregistry``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .errors import ValidationError

METADATA_KEY = b"nbregistry"
INPUT_SUFFIXES = (".csv", ".parquet", ".jsonl")


def predictions_frame(prediction: Any, method: str, index=None):
    """A model's answer as a DataFrame: a frame as is, a vector as one column named ``method``,
    a matrix as ``method_0, method_1, ...``."""
    import pandas as pd

    from .scoring import as_array

    if hasattr(prediction, "columns") and hasattr(prediction, "dtypes"):
        return prediction.reset_index(drop=True).set_axis(index, axis=0) if index is not None else prediction
    arr = as_array(prediction)
    if arr.ndim == 1:
        return pd.DataFrame({method: arr}, index=index)
    arr = arr.reshape(arr.shape[0], -1)
    return pd.DataFrame(arr, columns=[f"{method}_{i}" for i in range(arr.shape[1])], index=index)


def _chunks(data: Any, size: int) -> Iterable:
    if hasattr(data, "iloc"):
        for start in range(0, len(data), size):
            yield data.iloc[start:start + size]
    elif hasattr(data, "shape") and hasattr(data, "__getitem__"):
        for start in range(0, data.shape[0], size):
            yield data[start:start + size]
    else:
        yield from data  # an iterable of frames (a file read in chunks)


def predict(reg, ref: str, data: Any, *, method: str = "predict", chunk_size: int = 10_000, trust: bool = False,
            positional: bool = False, progress=None):
    """Score ``data`` (a DataFrame, an array, or an iterable of DataFrames) with ``ref``."""
    import pandas as pd

    from .scoring import check_method, score

    check_method(method)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValidationError("chunk_size must be a positive integer")
    version = reg.get(ref)
    model = reg.load(version.ref, trust=trust)
    parts, rows = [], 0
    for chunk in _chunks(data, chunk_size):
        prediction, n = score(model, version.flavor, version.signature, chunk, method, positional=positional)
        parts.append(predictions_frame(prediction, method, getattr(chunk, "index", None)))
        rows += n
        if progress is not None:
            progress.update(n) if hasattr(progress, "update") else progress(n)
    if not parts:
        raise ValidationError("the input has no rows")
    out = pd.concat(parts) if len(parts) > 1 else parts[0]
    out.attrs["nbregistry"] = {"ref": version.ref, "model": version.name, "version": version.version,
                               "method": method, "rows": rows, "requested": ref}
    return out


def read_chunks(path: Path, size: int) -> Iterable:
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from pd.read_csv(path, chunksize=size)
    elif suffix == ".jsonl":
        yield from pd.read_json(path, lines=True, chunksize=size)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=size):
            yield batch.to_pandas()
    else:
        raise ValidationError(f"cannot read {path.name}: the input must be one of {', '.join(INPUT_SUFFIXES)}")


def predict_file(reg, ref: str, source, dest, *, method: str = "predict", chunk_size: int = 10_000,
                 trust: bool = False, progress=None) -> dict:
    """Score the file ``source`` into the parquet file ``dest`` (written atomically)."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise ValidationError(f"no input file {source}")
    if dest.suffix.lower() != ".parquet":
        raise ValidationError(f"the output must be a .parquet file (it records the version used), not {dest.name}")
    if source.suffix.lower() not in INPUT_SUFFIXES:
        raise ValidationError(f"cannot read {source.name}: the input must be one of {', '.join(INPUT_SUFFIXES)}")
    out = predict(reg, ref, read_chunks(source, chunk_size), method=method, chunk_size=chunk_size, trust=trust,
                  progress=progress)
    meta = dict(out.attrs["nbregistry"], input=source.name)
    table = pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()})
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return {**meta, "output": str(dest), "input": str(source)}


def version_of(path) -> dict:
    """The ``nbregistry`` metadata of a parquet file written by :func:`predict_file`."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}
