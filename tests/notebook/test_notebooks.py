"""Every notebook in notebooks/ runs top to bottom in a fresh kernel and leaves the registry in the
state it promises. Notebooks are stored without outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from nbrun import execute, reproduce_result

from nbregistry import Registry

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


def output_of(nb, starts: str, mime: str = "text/html", *, exact: bool = False) -> str:
    """The ``mime`` output of the one code cell whose source starts with (or is) ``starts``."""
    cells = [c for c in nb.cells if c.cell_type == "code"
             and (c.source.strip() == starts if exact else c.source.startswith(starts))]
    assert len(cells) == 1, starts
    return "".join(o.get("data", {}).get(mime, "") for o in cells[0].outputs)


def check_quickstart(reg: Registry, folder: Path, monkeypatch, nb) -> None:
    # what the saved notebook shows a reader: the card rendered, the evaluation on shared data ranked,
    # the revert and its diff
    assert "<h1>Wine cultivar classifier</h1>" in output_of(nb, "%%registry card wine")
    draft = output_of(nb, 'reg.card(f"wine:{forest_v}", draft=True)', "text/markdown")
    assert "## Intended use" in draft and "holdout" in draft and "reviewer-bob" in draft
    assert "evaluations on holdout" in output_of(nb, "%registry evaluate wine")
    assert "'accuracy@holdout': 'wine:3'" in output_of(nb, "%registry compare wine", "text/plain", exact=True)
    assert "wine:4" in output_of(nb, "%registry revert") and "Revert of wine:2" in output_of(nb, "%registry revert")
    assert "<b>revert</b> (1)" in output_of(nb, "%registry diff wine:{tree_v} wine", exact=True)
    versions = reg.list_versions("wine")
    assert [v.version for v in versions] == [4, 3, 2, 1]
    # the revert: wine:4 is wine:2 again, and its diff shows only the link
    assert reg.get("wine:4").lineage["revert_of"]["ref"] == "wine:2"
    assert reg.diff("wine:2", "wine:4").changes == {"revert": [{"key": "revert_of", "a": None, "b": "wine:2"}]}
    # the evaluation on shared data: every version scored on the same holdout, so it is ranked
    evaluations = reg.evaluations("wine", dataset="holdout")
    assert sorted(e.ref for e in evaluations) == ["wine:1", "wine:2", "wine:3"]
    assert len({e.fingerprint for e in evaluations}) == 1
    assert all(e.metrics["accuracy"] == reg.get(e.ref).metrics["accuracy"] for e in evaluations)
    assert reg.compare(["wine:1", "wine:2", "wine:3"]).best["accuracy@holdout"] == "wine:3"
    # the card written from a cell
    assert reg.card("wine").startswith("# Wine cultivar classifier")
    versions = [v for v in versions if v.version != 4]
    assert all(set(v.metrics) == {"accuracy", "f1_macro"} for v in versions)
    assert reg.get("wine:2").tags == {"kind": "tree"}
    for v in versions:
        nb = reg.get(v.ref).lineage["notebook"]
        assert nb["path"].endswith("quickstart.ipynb") and nb["warnings"] == []
        sources = "".join(c["source"] for c in nb["cells"])
        assert "train_test_split" in sources and "def evaluate" in sources
    forest = reg.get("wine:3").lineage["notebook"]
    assert "RandomForestClassifier" in forest["cells"][-1]["source"] and "LogisticRegression" not in \
        "".join(c["source"] for c in forest["cells"])
    assert reg.get("wine@production").version == 3
    assert reg.get("wine@staging").version == 1
    assert [(m.alias, m.kind, m.version) for m in reg.history("wine")] == [
        ("staging", "promote", 1), ("staging", "promote", 3), ("production", "promote", 3),
        ("staging", "rollback", 1)]
    thread = reg.comments("wine:3")
    assert [(c.author, c.anchor, c.verdict) for c in thread] == [
        ("tester", "metrics.f1_macro", None), ("reviewer-bob", None, "approve")]
    assert reg.get_policy("wine", "production").required_approvals == 1
    # the reproduce notebook it wrote runs too, and gets the same metrics
    result = reproduce_result(execute(folder / "reproduce-wine-forest.ipynb", monkeypatch, root=folder / "scratch"))
    assert result["match"] is True and result["registered"] == reg.get("wine:3").metrics


CHECKS = {"quickstart.ipynb": check_quickstart}


def test_every_notebook_has_a_state_check():
    assert NOTEBOOKS, "notebooks/ holds no notebook"
    assert {p.name for p in NOTEBOOKS} == set(CHECKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
    assert "widgets" not in nb["metadata"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_and_leaves_the_registry_in_the_promised_state(path, tmp_path, monkeypatch):
    folder = tmp_path / "work"
    folder.mkdir()
    copy = folder / path.name
    shutil.copy(path, copy)
    monkeypatch.setenv("JPY_SESSION_NAME", str(copy))  # what Jupyter tells a kernel about its notebook
    executed = execute(copy, monkeypatch, root=tmp_path / "registry", cwd=folder)
    reg = Registry(tmp_path / "registry")
    try:
        CHECKS[path.name](reg, folder, monkeypatch, executed)
    finally:
        reg.close()
