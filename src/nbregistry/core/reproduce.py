"""``Registry.reproduce``: a notebook that re-runs the cells which produced a version.

The notebook is written as plain nbformat-4 JSON (no Jupyter import here). It holds

1. a markdown summary of what was recorded: who registered it and when, the notebook it came from,
   Python, platform, the imported packages with their versions, git state, data fingerprints and
   the provenance warnings of the slice;
2. a cell that lists installed package versions that differ from the recorded ones;
3. the sliced cells, in execution order, exactly as they were typed — as code cells only when the
   reader trusts their author (core/trust.py: the reader is the verified author, or passed
   ``trust=True``); otherwise each is a markdown cell showing the recorded code and who wrote it,
   which nothing runs. Every recorded cell carries ``"nbregistry": {"recorded": true, "author": ...}``
   in its metadata;
4. a final cell that compares freshly computed metrics with the registered ones. It re-reads the
   variable that held the metrics dict at registration (``%register ... --metrics scores``) and,
   when nbregistry is importable, re-fingerprints the data variables. It prints a table and one
   machine-readable line: ``nbregistry-reproduce: {"match": ..., "registered": ..., "fresh": ...}``.

Everything recorded (names, packages, variables, metrics) reaches the code cells nbregistry writes
only as ``repr`` of a JSON string, decoded at run time: no recorded text is ever code.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import ValidationError

RESULT_PREFIX = "nbregistry-reproduce:"


class ReproduceMixin:
    def reproduce(self, ref: str, path: str | os.PathLike | None = None, *, trust: bool = False) -> Path:
        """Write a notebook that re-runs the recorded cells of ``ref`` and compares its metrics.

        ``path`` defaults to ``reproduce-<name>-<version>.ipynb`` in the current folder. Versions
        registered outside a kernel have no recorded cells and are refused. The recorded cells are
        their author's code: they are written as runnable code cells only for the verified author
        or with ``trust=True``, else shown as markdown (see docs/security.md).
        """
        from .trust import trusts_author

        version = self.get(ref)
        runnable = trusts_author(version, reader=self.author, reader_identity=getattr(self, "identity", "verified"),
                                 trust=trust, trust_own=getattr(self, "trust_own_pickles", True),
                                 code_allowed=getattr(self, "code_allowed", True))
        lineage = version.lineage or {}
        nb = lineage.get("notebook") or {}
        cells = nb.get("cells") or []
        if not cells:
            raise ValidationError(f"{version.ref} has no recorded notebook cells (it was registered outside a "
                                  "kernel, or with provenance off): there is nothing to reproduce")
        target = Path(path) if path is not None else Path.cwd() / f"reproduce-{version.name}-{version.version}.ipynb"
        if target.suffix != ".ipynb":
            target = target.with_suffix(".ipynb")
        notebook = {
            "cells": [_markdown(_summary(version, lineage, nb, runnable)), _code(_package_check(lineage)),
                      *(_recorded_cell(version, c, runnable) for c in cells),
                      _markdown("## Fresh metrics vs registered"), _code(_final_cell(version, nb))],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                "language_info": {"name": "python", "version": _text(lineage.get("python"))},
                "nbregistry": {"reproduces": version.ref, "source_notebook": _text(nb.get("path")) or None},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
        return target


def _recorded_cell(version, cell, runnable: bool) -> dict:
    """One recorded cell: code when the reader trusts its author, else markdown showing the code."""
    source = _text(cell.get("source") if isinstance(cell, dict) else cell)
    count = cell.get("execution_count") if isinstance(cell, dict) else None
    meta = {"nbregistry": {"recorded": True, "author": _text(version.author),
                           "execution_count": count if isinstance(count, int) and not isinstance(count, bool) else None}}
    if runnable:
        return _code(source, meta)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    text = (f"**Recorded code by {_md(version.author)}** (execution count {meta['nbregistry']['execution_count']}), "
            "shown, not run: it is someone else's code. Read it, then write the notebook again with "
            f"`reproduce({version.ref!r}, trust=True)` to run it.\n\n{fence}python\n{source}\n{fence}")
    return {**_markdown(text), "metadata": meta}


def _text(value) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value, default=str)


def _literal(value) -> str:
    """Python source that evaluates to ``value`` (JSON data): the repr of its JSON text, decoded at
    run time, so no recorded text can become code."""
    return f"__import__('json').loads({json.dumps(value, sort_keys=True, default=str)!r})"


def _lines(text: str) -> list[str]:
    parts = text.splitlines(keepends=True)
    return parts or [""]


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "id": _cell_id(), "metadata": {}, "source": _lines(text)}


def _code(source: str, metadata: dict | None = None) -> dict:
    return {"cell_type": "code", "id": _cell_id(), "metadata": metadata or {}, "execution_count": None,
            "outputs": [], "source": _lines(source)}


_counter = [0]


def _cell_id() -> str:
    _counter[0] += 1
    return f"nbreg-{os.getpid():x}-{_counter[0]:x}"


def _md(text) -> str:
    """Text safe inside markdown table cells and prose (no HTML, no pipes)."""
    return str(text if text is not None else "").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _summary(version, lineage: dict, nb: dict, runnable: bool = True) -> str:
    out = [f"# Reproduce {_md(version.ref)}", "",
           f"Registered by **{_md(version.author)}** at {_md(version.created_at)}"
           + (f" from `{_md(nb.get('path'))}`" if nb.get("path") else "") + ".",
           "Run this notebook top to bottom in an environment like the one below; the last cell compares "
           "the metrics it computes with the registered ones.", "",
           "## Recorded environment", "",
           f"- Python {_md(lineage.get('python'))} ({_md(lineage.get('implementation', 'CPython'))}) on "
           f"{_md(lineage.get('platform'))}"]
    git = lineage.get("git")
    if git:
        out.append(f"- git commit `{_md(git.get('commit'))}` on branch `{_md(git.get('branch'))}`"
                   + (" (uncommitted changes)" if git.get("dirty") else "")
                   + (f", remote {_md(git.get('remote'))}" if git.get("remote") else ""))
    imported = [p for p in lineage.get("packages") or [] if p.get("imported")]
    if imported:
        out += ["", "| imported package | version |", "| --- | --- |"]
        out += [f"| {_md(p['name'])} | {_md(p['version'])} |" for p in imported]
    data = lineage.get("data") or {}
    if data:
        out += ["", "## Data", "", "| label | kind | shape | sha256 |", "| --- | --- | --- | --- |"]
        out += [f"| {_md(k)} | {_md(v.get('kind'))} | {_md('x'.join(map(str, v.get('shape') or [])))} | "
                f"`{_md((v.get('sha256') or '')[:16])}` |" for k, v in data.items()]
    warnings = nb.get("warnings") or []
    if warnings:
        out += ["", "## Warnings recorded with the slice", ""] + [f"- {_md(w)}" for w in warnings]
    out += ["", f"The {len(nb.get('cells') or [])} cells below are the ones that produced the model, in the order they "
            "ran (their original execution counts are in each cell's metadata)."]
    if not runnable:
        out += ["", f"They were recorded by **{_md(version.author)}**, whom you have not said you trust, so they are "
                "shown as markdown and nothing runs them. To get runnable cells, write this notebook again with "
                f"`reproduce({version.ref!r}, trust=True)` (or `%registry reproduce {version.ref} --trust`)."]
    return "\n".join(out)


def _package_check(lineage: dict) -> str:
    recorded = {_text(p.get("name")): _text(p.get("version")) for p in lineage.get("packages") or []
                if isinstance(p, dict) and p.get("imported")}
    return "\n".join([
        "# Installed versions that differ from the recorded environment",
        "from importlib.metadata import PackageNotFoundError, version as _installed_version",
        f"_recorded = {_literal(recorded)}",
        "for _name, _want in _recorded.items():",
        "    try:",
        "        _have = _installed_version(_name)",
        "    except PackageNotFoundError:",
        "        _have = None",
        "    if _have != _want:",
        "        print(f'{_name}: recorded {_want}, installed {_have}')",
    ])


def _final_cell(version, nb: dict) -> str:
    variables = nb.get("variables") if isinstance(nb.get("variables"), dict) else {}
    metrics_var = variables.get("metrics")
    data_vars = variables.get("data") or {}
    if isinstance(data_vars, list):
        data_vars = {_text(v): v for v in data_vars}
    recorded_data = (version.lineage or {}).get("data")
    recorded_data = recorded_data if isinstance(recorded_data, dict) else {}
    data = {_text(label): {"var": _text(var), "sha256": _text((recorded_data.get(label) or {}).get("sha256")
                                                               if isinstance(recorded_data.get(label), dict) else None)}
            for label, var in (data_vars.items() if isinstance(data_vars, dict) else [])}
    fresh = (f"_fresh = {{k: float(v) for k, v in dict(globals().get({_text(metrics_var)!r}) or {{}}).items()}}"
             if metrics_var else
             "_fresh = {}  # the metrics were typed as literals at registration: nothing to recompute")
    return "\n".join([
        "import json as _json, math as _math",
        f"_registered = {_literal(version.metrics)}",
        fresh,
        "_rows, _match = [], True",
        "for _key, _old in _registered.items():",
        "    _new = _fresh.get(_key)",
        "    _same = _new is not None and _math.isclose(_new, _old, rel_tol=1e-9, abs_tol=1e-12)",
        "    _match = _match and _same",
        "    _rows.append((_key, _old, _new, 'same' if _same else ('-' if _new is None else 'DIFFERENT')))",
        "for _row in _rows:",
        "    print('{:<24} registered {:<12.6g} fresh {:<12} {}'.format(_row[0], _row[1], "
        "'-' if _row[2] is None else format(_row[2], '.6g'), _row[3]))",
        "_match = _match if _fresh else None  # None: nothing could be recomputed",
        f"_data = {_literal(data)}",
        "_data_match = {}",
        "try:",
        "    from nbregistry.core.lineage import fingerprint as _fingerprint",
        "    for _label, _info in _data.items():",
        "        _data_match[_label] = _info['var'] in globals() and "
        "_fingerprint(globals()[_info['var']])['sha256'] == _info['sha256']",
        "        print(f\"data {_label}: {'same' if _data_match[_label] else 'DIFFERENT'} fingerprint\")",
        "except ImportError:",
        "    pass",
        f"print({RESULT_PREFIX!r}, _json.dumps({{'ref': {version.ref!r}, 'match': _match, "
        "'registered': _registered, 'fresh': _fresh, 'data': _data_match}))",
    ])
