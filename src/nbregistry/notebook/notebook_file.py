"""Which notebook file a kernel runs, and whether the recorded cells still match it.

Finding the path, first answer wins:

1. ``__session__`` / ``JPY_SESSION_NAME``: set when Jupyter Server started the kernel for a notebook;
   ``__vsc_ipynb_file__`` in VS Code;
2. the command line of the process that started the kernel (``JPY_PARENT_PID``, read from
   ``/proc``): ``jupyter nbconvert --execute a.ipynb``, ``jupyter execute a.ipynb`` and
   ``papermill in.ipynb out.ipynb`` name their notebooks there;
3. the notebooks in the kernel's working folder (nbclient and nbconvert start the kernel in the
   notebook's folder): the one whose code cells contain what this kernel ran.

In 2 and 3 the candidate whose code cells hold the most of the executed cells wins, and only if
it holds most of them and no other candidate holds as many. A notebook papermill wrote carries
``metadata.papermill`` (input and output paths, parameters), which is recorded too.

Pure Python: nothing here imports IPython or nbformat.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

MAX_CANDIDATES = 200
MAX_NOTEBOOK_BYTES = 50 << 20
MATCH_SHARE = 0.8   # a candidate must hold at least this share of the executed cells
SIMILAR = 0.5       # a saved cell at least this similar to a recorded one is "the same cell, edited"


def read_notebook(path: str | os.PathLike) -> dict | None:
    try:
        path = Path(path)
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return None
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def code_cells(nb: dict | None) -> list[str] | None:
    if nb is None:
        return None
    cells = []
    for cell in nb.get("cells", []):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            src = cell.get("source", "")
            cells.append("".join(src) if isinstance(src, list) else str(src))
    return cells


def _score(nb: dict | None, executed: list[str]) -> int:
    cells = {c.strip() for c in code_cells(nb) or []}
    return sum(1 for src in executed if src in cells)


def _best(candidates: list[Path], executed: list[str]) -> Path | None:
    executed = [s.strip() for s in executed if s and s.strip()]
    if not executed:
        return None
    scored = sorted(((_score(read_notebook(p), executed), p) for p in candidates), key=lambda t: -t[0])
    if not scored or scored[0][0] < max(1, MATCH_SHARE * len(executed)):
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None  # two notebooks hold the same cells: say nothing rather than guess
    return scored[0][1]


def _parent_command() -> tuple[list[str], Path] | None:
    pid = os.environ.get("JPY_PARENT_PID")
    if not pid or not pid.isdigit():
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\x00")
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None
    return [a.decode(errors="replace") for a in argv if a], cwd


def _runner(argv: list[str]) -> str | None:
    words = " ".join(Path(a).name for a in argv[:3])
    for name in ("papermill", "nbconvert", "execute"):
        if name in words:
            return {"execute": "jupyter execute"}.get(name, name)
    return None


def locate(session_value, executed: list[str]) -> dict:
    """``{"path", "found_by", ...}`` for the running notebook (``path`` None when not found).

    ``session_value``: the shell's ``__session__`` (or the VS Code variable); ``executed``: the raw
    sources of the cells this kernel ran, to match candidates against."""
    for found_by, value in (("jupyter session", session_value), ("jupyter session", os.environ.get("JPY_SESSION_NAME"))):
        if isinstance(value, str) and value.endswith(".ipynb"):
            return {"path": value, "found_by": found_by}
    parent = _parent_command()
    if parent is not None:
        argv, cwd = parent
        named = []
        for arg in argv[1:]:
            if arg.endswith(".ipynb"):
                path = Path(arg) if Path(arg).is_absolute() else cwd / arg
                if path.is_file():
                    named.append(path)
        best = _best(named, executed)
        if best is not None:
            return _describe(best, f"command line of {_runner(argv) or Path(argv[0]).name}")
    try:
        here = sorted(Path.cwd().glob("*.ipynb"))[:MAX_CANDIDATES]
    except OSError:
        here = []
    best = _best(here, executed)
    if best is not None:
        return _describe(best, "matching cells in the working folder")
    return {"path": None, "found_by": None}


def _describe(path: Path, found_by: str) -> dict:
    out = {"path": str(path.resolve()), "found_by": found_by}
    meta = (read_notebook(path) or {}).get("metadata") or {}
    papermill = meta.get("papermill") if isinstance(meta, dict) else None
    if isinstance(papermill, dict):
        out["papermill"] = {k: papermill.get(k) for k in ("input_path", "output_path", "parameters")
                            if papermill.get(k) is not None}
    return out


def edited_cells(recorded: list, notebook_cells: list[str]) -> list[str]:
    """Warnings for recorded cells (``(execution_count, source)``) whose source the saved notebook
    no longer holds: edited after they ran (or the notebook was not saved since)."""
    saved = [c.strip() for c in notebook_cells]
    out = []
    for count, source in recorded:
        src = source.strip()
        if not src or any(src in cell for cell in saved):  # the running cell is recorded cut before register()
            continue
        best, ratio = _most_similar(src, saved)
        if best is not None and ratio >= SIMILAR:
            out.append(f"In [{count}] was edited in the saved notebook after it ran (notebook cell {best + 1} now "
                       "differs): the recorded source is what produced the model")
        else:
            out.append(f"In [{count}] is not in the saved notebook (deleted, or edited and saved since it ran): "
                       "the recorded source is what produced the model")
    return out


def _most_similar(src: str, saved: list[str]) -> tuple[int | None, float]:
    """The index of the saved cell most like ``src`` and how alike (0..1). ``quick_ratio`` (an upper
    bound, cheap) picks three candidates; only those pay for the exact ``ratio``."""
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(src)
    rough = []
    for i, other in enumerate(saved):
        matcher.set_seq1(other)
        if matcher.real_quick_ratio() >= SIMILAR:
            rough.append((matcher.quick_ratio(), i))
    best, ratio = None, 0.0
    for _, i in sorted(rough, reverse=True)[:3]:
        matcher.set_seq1(saved[i])
        exact = matcher.ratio()
        if exact > ratio:
            best, ratio = i, exact
    return best, ratio
