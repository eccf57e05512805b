"""Fingerprints of the data a model was fit on, taken when ``fit`` ran, to compare at registration.

The mechanism: once installed in a shell (``%load_ext nbregistry`` does it, and so does
``import nbregistry`` inside a kernel), a ``post_run_cell`` hook looks at each cell that ran without
error. Only cells whose text contains ``fit``/``train`` are parsed; for every call
``<model>.fit(X, y)`` (also ``fit_transform``, ``fit_predict``, ``partial_fit``, ``train``, and
``clf = Model().fit(X, y)``), the arguments that are plain variable names are fingerprinted — when
they are a DataFrame, Series or array of at most :data:`MAX_BYTES` (bigger ones are skipped, so the
hook never costs more than hashing 16 MiB, about 0.2 s). The fingerprint is the same as the registration's data
lineage (:func:`nbregistry.core.lineage.fingerprint`), kept per variable name with the cell's
execution count and the model variable.

At registration :func:`fit_data` hands the prints of the variables passed as ``data=`` to the core,
which warns when the data's fingerprint now differs (the data changed after the model saw it).
Pure Python: nothing here imports IPython.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from .cellnames import _magic_code

FIT_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "train"})
MAX_BYTES = 16 << 20

_prints: dict[str, dict] = {}   # variable name -> {"execution_count", "model", "sha256", "shape"}
_watched: set[int] = set()


def fit_calls(code: str) -> list[tuple[str | None, list[str]]]:
    """``[(model variable or None, [argument variable names])]`` of the fit calls in a cell."""
    if not any(word in code for word in ("fit", "train")):
        return []
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    assigned: dict[int, str] = {}  # id of a call node -> the name its statement assigns
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            for inner in ast.walk(node.value):
                assigned[id(inner)] = node.targets[0].id
    out = []
    for node in ast.walk(tree):
        inner = _magic_code(node) if isinstance(node, ast.Call) else None
        if inner is not None:  # %time model.fit(X, y)
            out += fit_calls(inner)
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FIT_METHODS):
            continue
        receiver = node.func.value
        model = receiver.id if isinstance(receiver, ast.Name) else assigned.get(id(node))
        args = [a.id for a in node.args if isinstance(a, ast.Name)]
        args += [k.value.id for k in node.keywords if isinstance(k.value, ast.Name)]
        if args:
            out.append((model, args))
    return out


def _size(value: Any) -> int | None:
    pd, np = sys.modules.get("pandas"), sys.modules.get("numpy")
    if pd is not None and isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum())
    if pd is not None and isinstance(value, pd.Series):
        return int(value.memory_usage(index=True, deep=False))
    if np is not None and isinstance(value, np.ndarray) and not value.dtype.hasobject:
        return int(value.nbytes)
    return None


def record(namespace: dict, code: str, execution_count: int | None) -> None:
    """Fingerprint the data of the fit calls in ``code`` as ``namespace`` holds it now."""
    calls = fit_calls(code)
    if not calls:
        return
    from ..core.lineage import fingerprint

    for model, names in calls:
        for name in names:
            value = namespace.get(name)
            size = _size(value)
            if size is None or size > MAX_BYTES:
                continue
            try:
                fp = fingerprint(value)
            except Exception:  # noqa: BLE001 - a hook must never break a cell
                continue
            fitted = namespace.get(model) if model else None
            _prints[name] = {"execution_count": execution_count, "model": model, "sha256": fp["sha256"],
                             "shape": fp["shape"], "model_id": id(fitted) if fitted is not None else None}


def watch(shell) -> None:
    """Install the ``post_run_cell`` hook in ``shell`` (once)."""
    if id(shell) in _watched or not hasattr(shell, "events"):
        return

    def after_cell(result) -> None:
        try:
            if getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None):
                return
            info = getattr(result, "info", None)
            code = getattr(info, "raw_cell", None) or ""
            transformed = shell.user_ns.get("_ih") or []
            if transformed and isinstance(transformed[-1], str):
                code = transformed[-1]  # magics like %time expand into Python the parser reads
            record(shell.user_ns, code, getattr(result, "execution_count", None))
        except Exception:  # noqa: BLE001
            pass

    shell.events.register("post_run_cell", after_cell)
    _watched.add(id(shell))


def fit_data(data_map: dict, model_var: str | None, model: Any = None) -> dict:
    """``{label: fit-time print}`` for the data variables (``{label: variable}``) that ``model``
    (the object in ``model_var``) was fit on: a print taken for another object is not used."""
    out = {}
    for label, var in data_map.items():
        found = _prints.get(var)
        if not found or (model_var is not None and found["model"] not in (None, model_var)):
            continue
        if model is not None and found["model_id"] is not None and found["model_id"] != id(model):
            continue
        out[label] = {"variable": var, **{k: v for k, v in found.items() if k != "model_id"}}
    return out


def forget() -> None:
    """Drop every recorded print (a new session)."""
    _prints.clear()
