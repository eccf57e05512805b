"""Cell-level provenance: which executed cells produced a registered object.

Pure Python over a kernel's input history (``(execution_count, source)`` pairs); nothing here imports
IPython. :func:`slice_history` is the algorithm, :func:`capture` reads a live shell.

The slice
    Each cell is parsed into the names it *reads* and *writes* (see :mod:`.cellnames`). Walking the
    history backwards from the target names, a cell is kept when it writes a name still needed; its
    reads become needed, and the names it defines outright (written, not read) stop being needed.
    The kept cells, in execution order, are the slice.

Warnings (stored with the slice, shown in the card)
    * *re-executed*: a cell of the slice ran again (same source) after a slice cell that used what
      it produced — the registered object was built from the earlier run's values.
    * *data reassigned*: a variable passed as data was reassigned after the model was last written,
      so the data fingerprint may describe other data than the model saw.
    * *out of order*: when the notebook file is readable, a slice cell uses a name produced by a
      cell that sits *below* it in the notebook — running the notebook top to bottom would not
      reproduce the object.
    * *undefined*: a needed name that no recorded cell defines (created by ``%run``, a magic, or
      before the history started).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import fit_watch, notebook_file
from .cellnames import BUILTINS, CellNames, analyze

__all__ = ["slice_history", "capture", "capture_for_call", "analyze", "CellNames", "Slice"]


# ==================================================================== the slice
@dataclass
class Cell:
    execution_count: int
    source: str            # as typed (magics and all): what reproduce writes
    code: str = ""         # as executed (IPython-transformed); analysed for names
    reads: set = field(default_factory=set)
    writes: set = field(default_factory=set)


@dataclass
class Slice:
    cells: list            # [Cell] in execution order
    warnings: list
    undefined: list

    def to_dict(self) -> dict:
        return {"cells": [{"execution_count": c.execution_count, "source": c.source} for c in self.cells],
                "warnings": list(self.warnings)}


def slice_history(history: Iterable, targets: Iterable[str], *, data_names: Iterable[str] = (),
                  model_name: str | None = None, notebook_cells: list[str] | None = None) -> Slice:
    """The backward slice of ``history`` from ``targets``.

    ``history``: ``(execution_count, source)`` or ``(execution_count, source, code)`` items in
    execution order (``source`` as typed, ``code`` as executed; they are the same for plain Python).
    ``data_names``: the targets passed as data (checked for reassignment after ``model_name`` was
    last written). ``notebook_cells``: the sources of the notebook's code cells top to bottom, when
    the notebook file is readable (enables the out-of-order check).
    """
    cells = []
    for item in history:
        count, source = item[0], item[1]
        code = item[2] if len(item) > 2 else source
        if not (code or "").strip():
            continue
        names = analyze(code)
        cells.append(Cell(count, source, code, names.reads, names.writes))

    needed = set(targets)
    chosen: list[Cell] = []
    uses: dict[int, dict[str, int]] = {}   # slice cell count -> {name: count of the cell it took it from}
    waiting: dict[str, list[int]] = {n: [] for n in needed}  # name -> slice cells still looking for it
    for cell in reversed(cells):
        hit = cell.writes & needed
        if not hit:
            continue
        chosen.append(cell)
        for name in hit:
            for user in waiting.pop(name, []):
                uses.setdefault(user, {})[name] = cell.execution_count
        needed -= cell.writes - cell.reads
        for name in cell.reads:
            waiting.setdefault(name, []).append(cell.execution_count)
            # a read-and-write (mutation) keeps looking further back for the earlier value
        needed |= cell.reads
    chosen.reverse()
    undefined = sorted(n for n in needed if n not in BUILTINS and not n.startswith("__"))

    warnings = []
    targets = set(targets)
    missing = sorted(targets & set(undefined))
    if missing:
        warnings.append(f"{', '.join(missing)} not defined by any recorded cell (created by %run, a magic or "
                        "before the history started): the slice is incomplete")
    other = [n for n in undefined if n not in targets]
    if other:
        warnings.append(f"the slice uses {', '.join(other)}, which no recorded cell defines: the slice may be incomplete")
    warnings += _reexecuted(cells, chosen, uses)
    warnings += _data_reassigned(cells, data_names, model_name)
    if notebook_cells:
        warnings += _out_of_order(chosen, uses, notebook_cells)
    return Slice(chosen, warnings, undefined)


def _reexecuted(cells: list[Cell], chosen: list[Cell], uses: dict) -> list[str]:
    """A slice cell's source ran again after a slice cell that consumed its result."""
    found: dict[tuple[int, int], tuple[set, set]] = {}
    by_count = {c.execution_count: c for c in chosen}
    for user, sources in uses.items():
        for name, producer in sources.items():
            src = by_count[producer].code
            for later in cells:
                if later.execution_count > user and later.code == src and name in later.writes:
                    users, names = found.setdefault((producer, later.execution_count), (set(), set()))
                    users.add(user)
                    names.add(name)
                    break
    out = []
    for (producer, again), (users, names) in sorted(found.items()):
        used = ", ".join(f"In [{u}]" for u in sorted(users))
        out.append(f"In [{producer}] was re-executed as In [{again}] after {used} used its {', '.join(sorted(names))}:"
                   " the registered object was built from the earlier run's values")
    return out


def _data_reassigned(cells: list[Cell], data_names: Iterable[str], model_name: str | None) -> list[str]:
    if not model_name:
        return []
    trained = max((c.execution_count for c in cells if model_name in c.writes), default=None)
    if trained is None:
        return []
    out = []
    for name in data_names:
        later = [c.execution_count for c in cells if c.execution_count > trained and name in c.writes
                 and name not in c.reads]
        if later:
            out.append(f"{name} was reassigned in In [{later[-1]}] after {model_name} was last changed in In "
                       f"[{trained}]: the data fingerprint describes the new value, not what the model saw")
    return out


def _out_of_order(chosen: list[Cell], uses: dict, notebook_cells: list[str]) -> list[str]:
    position = {}
    stripped = [s.strip() for s in notebook_cells]
    for cell in chosen:
        src = cell.source.strip()
        if stripped.count(src) == 1:
            position[cell.execution_count] = stripped.index(src)
    out = []
    for user, sources in sorted(uses.items()):
        for name, producer in sorted(sources.items()):
            if user in position and producer in position and position[producer] > position[user]:
                out.append(f"cells ran out of order: In [{user}] (notebook cell {position[user] + 1}) uses {name} "
                           f"from In [{producer}] (cell {position[producer] + 1}, further down): running the "
                           "notebook top to bottom would not reproduce this")
    return out


# ==================================================================== the live kernel
def running_shell():
    """The IPython shell this code runs in, or ``None`` (never imports IPython itself)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
    except Exception:
        return None
    return shell if shell is not None and hasattr(shell, "user_ns") else None


def notebook_path(shell) -> str | None:
    """The notebook's path (see :func:`.notebook_file.locate` for how it is found), or ``None``."""
    return locate_notebook(shell)["path"]


def locate_notebook(shell) -> dict:
    ns = shell.user_ns
    session = ns.get("__session__") or ns.get("__vsc_ipynb_file__")
    return notebook_file.locate(session, [raw for _, raw, _ in shell_history(shell)])


def _notebook_code_cells(path: str | None) -> list[str] | None:
    if not path:
        return None
    for candidate in (Path(path), Path.cwd() / Path(path).name):
        cells = notebook_file.code_cells(notebook_file.read_notebook(candidate))
        if cells is not None:
            return cells
    return None


def shell_history(shell) -> list[tuple[int, str, str]]:
    """``(count, raw source, executed code)`` of every input this session, the running cell last."""
    code = list(shell.user_ns.get("_ih") or [])
    raw = list(getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or code)
    if len(raw) != len(code):
        raw = code
    return [(i, raw[i], code[i]) for i in range(1, len(code))]


def _is_register_stmt(stmt: ast.stmt) -> bool:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "register":
                return True
            if name in ("run_line_magic", "run_cell_magic") and node.args and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value in ("register", "registry"):
                return True
    return False


def _without_register(code: str) -> str:
    """The running cell up to the statement that registers (what ran before it produced the model)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return ""
    kept = []
    for stmt in tree.body:
        if _is_register_stmt(stmt):
            break
        kept.append(stmt)
    lines = code.splitlines()
    if not kept:
        return ""
    return "\n".join(lines[: kept[-1].end_lineno])


def names_of(shell, value: Any) -> list[str]:
    """User-namespace names bound to exactly this object (``is``), hidden names last."""
    if value is None:
        return []
    found = [k for k, v in list(shell.user_ns.items()) if v is value and not k.startswith("_")]
    return sorted(found)


def capture(shell, *, model_var: str | None, data_vars: dict | Iterable[str] = (), metrics_var: str | None = None,
            params_var: str | None = None) -> dict:
    """The ``notebook`` lineage record for a registration in ``shell``.

    ``data_vars``: ``{label: variable}`` (or variable names) of the datasets passed as data.
    """
    history = shell_history(shell)
    if history:
        count, raw, code = history[-1]
        trimmed = _without_register(code)
        history[-1] = (count, trimmed if trimmed != code else raw, trimmed)
    data_map = dict(data_vars) if isinstance(data_vars, dict) else {v: v for v in data_vars}
    targets = [n for n in [model_var, *data_map.values(), metrics_var, params_var] if n]
    located = locate_notebook(shell)
    saved_cells = _notebook_code_cells(located["path"])
    result = slice_history(history, targets, data_names=list(data_map.values()), model_name=model_var,
                           notebook_cells=saved_cells)
    record = {**located, **result.to_dict(),
              "variables": {"model": model_var, "data": data_map, "metrics": metrics_var, "params": params_var}}
    if saved_cells is not None:
        record["warnings"] += notebook_file.edited_cells(
            [(c.execution_count, c.source) for c in result.cells], saved_cells)
    fit_data = fit_watch.fit_data(data_map, model_var, shell.user_ns.get(model_var) if model_var else None)
    if fit_data:  # compared with the data's fingerprint at registration by the core
        record["fit_data"] = fit_data
    return record


def capture_for_call(obj: Any, *, metrics: Any = None, params: Any = None, data: Any = None) -> dict | None:
    """Provenance for ``Registry.register`` called directly from a kernel (no magic): the variables
    are found by identity in the user namespace. ``None`` outside IPython."""
    shell = running_shell()
    if shell is None:
        return None
    try:
        model_names = names_of(shell, obj)
        if not model_names:  # the object is not a variable of the shell: not registered from its cells
            return None
        data_map = {}
        if isinstance(data, dict):
            for label, value in data.items():
                names = names_of(shell, value)
                if names:
                    data_map[str(label)] = str(label) if label in names else names[0]
        elif data is not None:
            names = names_of(shell, data)
            if names:
                data_map["data"] = names[0]
            elif isinstance(data, (list, tuple)):
                for i, value in enumerate(data):
                    found = names_of(shell, value)
                    if found:
                        data_map[f"data[{i}]"] = found[0]
        metrics_names = names_of(shell, metrics) if isinstance(metrics, dict) else []
        params_names = names_of(shell, params) if isinstance(params, dict) else []
        return capture(shell, model_var=model_names[0] if model_names else None, data_vars=data_map,
                       metrics_var=metrics_names[0] if metrics_names else None,
                       params_var=params_names[0] if params_names else None)
    except Exception as exc:  # provenance must never break a registration
        return {"path": None, "cells": [], "warnings": [f"cell provenance not captured: {exc}"]}
