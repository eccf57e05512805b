"""Registry.reproduce writes a notebook that, executed in a fresh kernel, gets the same metrics."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbhelpers import run
from nbrun import execute, reproduce_result

from nbregistry.core.errors import ValidationError

CELLS = [
    "import numpy as np\nfrom sklearn.datasets import load_wine\nfrom sklearn.model_selection import train_test_split",
    "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.metrics import accuracy_score, f1_score",
    "X, y = load_wine(return_X_y=True, as_frame=True)\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)",
    "X_train.describe()",
    "def build(n):\n    return RandomForestClassifier(n_estimators=n, max_depth=3, random_state=0)",
    "forest = build(5)",
    "junk = list(range(10**6))",
    "forest.fit(X_train, y_train)",
    "pred = forest.predict(X_test)\n"
    "scores = {'accuracy': accuracy_score(y_test, pred), 'f1': f1_score(y_test, pred, average='macro')}",
]


def test_reproduce_notebook_gets_the_same_metrics_in_a_fresh_kernel(shell, reg, tmp_path, monkeypatch):
    for cell in CELLS:
        run(shell, cell)
    run(shell, "%register forest --name wine --metrics scores --data X_train y_train")
    path = reg.reproduce("wine:1", tmp_path / "out" / "wine")
    assert path == tmp_path / "out" / "wine.ipynb"
    nb = json.loads(path.read_text())
    nbformat.validate(nbformat.from_dict(nb))  # a valid nbformat 4 notebook, written without Jupyter
    assert nb["nbformat"] == 4 and nb["metadata"]["nbregistry"]["reproduces"] == "wine:1"
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    sliced = code[1:-1]
    assert sliced == [CELLS[0], CELLS[1], CELLS[2], CELLS[4], CELLS[5], CELLS[7], CELLS[8]]  # no junk, no describe()
    summary = "".join(nb["cells"][0]["source"])
    assert "Recorded environment" in summary and "scikit-learn" in summary and "X_train" in summary

    executed = execute(path, monkeypatch, root=tmp_path / "unused-registry")
    result = reproduce_result(executed)
    registered = reg.get("wine:1").metrics
    assert result["match"] is True
    assert result["registered"] == registered
    assert result["fresh"] == pytest.approx(registered, rel=1e-12)
    assert result["data"] == {"X_train": True, "y_train": True}


def test_reproduce_reports_a_mismatch(shell, reg, tmp_path, monkeypatch):
    for cell in CELLS:
        run(shell, cell)
    run(shell, "scores['accuracy'] = 0.123")  # metrics edited by hand after computing them
    run(shell, "%register forest --name wine --metrics scores")
    # the slice includes the edit, so edit the notebook to drop it and see the comparison fail
    path = reg.reproduce("wine:1", tmp_path / "wine.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"] if "0.123" not in "".join(c["source"]) or "_registered" in "".join(c["source"])]
    path.write_text(json.dumps(nb))
    result = reproduce_result(execute(path, monkeypatch, root=tmp_path / "unused"))
    assert result["match"] is False and result["registered"]["accuracy"] == 0.123
    assert result["fresh"]["accuracy"] != 0.123


def test_reproduce_needs_recorded_cells(reg, iris_model, tmp_path):
    reg.register(iris_model, "plain")
    with pytest.raises(ValidationError, match="no recorded notebook cells"):
        reg.reproduce("plain:1", tmp_path / "x.ipynb")
    assert not (tmp_path / "x.ipynb").exists()
