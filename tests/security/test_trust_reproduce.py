"""Attack: lineage that another author controls (recorded cells, variable names, package names, cell
metadata) turned into code in the notebook ``reproduce`` writes. Only ``repr`` of such text may reach
a code cell, and the recorded cells are someone else's code: the reader must opt in to run them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NBRUN = Path(__file__).parent.parent / "notebook"


def _payload(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('x')"


@pytest.fixture
def crafted(mallory, tmp_path):
    """``evil:1``: its lineage injects code through every text field reproduce uses."""
    cell_marker, inject_marker = tmp_path / "RECORDED-CELL-RAN", tmp_path / "INJECTED"
    inject = _payload(inject_marker)
    lineage = {
        "python": "3.11", "platform": "linux",
        "packages": [{"name": f"x'] = 1; {inject}; _ = ['", "version": "1", "imported": True},
                     {"name": 'y"}; ' + inject + '; {"', "version": "1", "imported": True}],
        "data": {f"l'] ; {inject}; _['": {"kind": "frame", "sha256": "0" * 64}},
        "notebook": {
            "path": "x.ipynb",
            "cells": [{"source": _payload(cell_marker) + "\nscores = {'auc': 0.5}",
                       "execution_count": f"1}}; {inject}; {{"}],
            "variables": {"metrics": f"(lambda: {inject} or {{}})()", "data": {f"a'): 0, {inject}, ('": "X"}},
        },
    }
    (tmp_path / "m.txt").write_text("m")
    mallory.register(str(tmp_path / "m.txt"), "evil", metrics={"auc": 0.5}, description="a\n```\n" + inject)
    with mallory.store.write() as conn:  # the lineage a crafted upload would carry
        conn.execute("UPDATE versions SET lineage = ?", (json.dumps(lineage),))
    return cell_marker, inject_marker


def _run(path, monkeypatch, root):
    sys.path.insert(0, str(NBRUN))
    try:
        from nbrun import execute, stdout
    finally:
        sys.path.remove(str(NBRUN))
    return stdout(execute(path, monkeypatch, root=root))


def test_someone_elses_recorded_cells_are_shown_not_run(alice, crafted, tmp_path, monkeypatch):
    cell_marker, inject_marker = crafted
    path = alice.reproduce("evil:1", tmp_path / "repro.ipynb")
    nb = json.loads(path.read_text())
    recorded = [c for c in nb["cells"] if c["metadata"].get("nbregistry", {}).get("recorded")]
    assert recorded and all(c["cell_type"] == "markdown" for c in recorded)
    assert "mallory" in "".join(recorded[0]["source"])
    _run(path, monkeypatch, tmp_path / "unused")
    assert not cell_marker.exists() and not inject_marker.exists()


def test_with_trust_the_recorded_cells_run_but_nothing_is_injected(alice, crafted, tmp_path, monkeypatch):
    cell_marker, inject_marker = crafted
    path = alice.reproduce("evil:1", tmp_path / "repro.ipynb", trust=True)
    nb = json.loads(path.read_text())
    recorded = [c for c in nb["cells"] if c["metadata"].get("nbregistry", {}).get("recorded")]
    assert recorded and all(c["cell_type"] == "code" for c in recorded)
    _run(path, monkeypatch, tmp_path / "unused")
    assert cell_marker.exists()  # the reader opted in to run mallory's cells
    assert not inject_marker.exists()  # ... but no lineage text became code
