"""Provenance in real kernels: a realistic notebook executed by nbclient and by `jupyter nbconvert
--execute` records its path, a slice without loop/with/comprehension/del/global noise, and the
warnings for data changed after fit and for cells edited in the saved notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
from nbhelpers import run
from nbrun import execute

from nbregistry import Registry

CELLS = [
    "import json\nimport numpy as np\nimport pandas as pd\nimport nbregistry as nr\n"
    "from sklearn.linear_model import LogisticRegression",
    "i = 'unrelated: a loop variable name used long before'\nfh = None",
    "rng = np.random.default_rng(0)\nframe = pd.DataFrame(rng.normal(size=(60, 3)), columns=['a', 'b', 'c'])",
    "with open('settings.json') as fh:\n    settings = json.load(fh)",
    "features = [c for c in frame.columns if c != 'c']\nX = frame[features].copy()\ny = (frame['c'] > 0).astype(int)",
    "tmp = X.sum(axis=1)\nweight = 0.0\nfor i in range(3):\n    weight += i\ndel tmp",
    "calls = 0\ndef make(C):\n    global calls\n    calls += 1\n    return LogisticRegression(C=C * (1 + weight / 100))",
    "model = make(settings['C'])\nmodel.fit(X, y)",
    "X['a'] = X['a'] * 10  # the data is changed after the model was fit",
    "reg = nr.Registry()\nv = reg.register(model, 'demo', data={'X': X, 'y': y})\nprint(v.ref)",
]


def write_notebook(path, cells=CELLS):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    (path.parent / "settings.json").write_text('{"C": 0.5}')


def recorded(root, ref="demo:1"):
    reg = Registry(root, author="tester")
    try:
        return reg.get(ref).lineage["notebook"]
    finally:
        reg.close()


def check_slice(nb):
    sources = [c["source"] for c in nb["cells"]]
    assert CELLS[1] not in sources  # `i` and `fh` rebound by for/with: the unrelated cell is not pulled in
    assert sources[:1] == [CELLS[0]] and CELLS[7] in sources and CELLS[6] in sources and CELLS[5] in sources
    assert not any("which no recorded cell defines" in w or "not defined by any" in w for w in nb["warnings"]), nb["warnings"]
    assert any("X changed after model was fit on it in In [8]" in w for w in nb["warnings"]), nb["warnings"]
    assert nb["fit_data"]["X"]["execution_count"] == 8


def test_a_notebook_run_by_nbclient_records_its_path_and_a_clean_slice(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / "analysis.ipynb"
    write_notebook(path)
    write_notebook(folder / "other.ipynb", CELLS[:3])  # another notebook in the folder: not a match
    root = tmp_path / "registry"
    execute(path, monkeypatch, root=root)
    nb = recorded(root)
    assert nb["path"] == str(path.resolve()) and nb["found_by"] == "matching cells in the working folder"
    check_slice(nb)


def test_a_notebook_run_by_nbconvert_is_found_on_its_command_line(tmp_path, monkeypatch):
    folder = tmp_path / "nbc"
    folder.mkdir()
    path = folder / "analysis.ipynb"
    write_notebook(path)
    (folder / "copy.ipynb").write_text(path.read_text())  # an identical copy: the command line decides
    root = tmp_path / "registry"
    env = {**os.environ, "NBREGISTRY_ROOT": str(root), "NBREGISTRY_USER": "tester"}
    env.pop("NBREGISTRY_URL", None)
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "analysis.ipynb",
                    "--output", "executed.ipynb"], cwd=folder, env=env, check=True, capture_output=True, timeout=300)
    nb = recorded(root)
    assert nb["path"] == str(path.resolve())
    assert nb["found_by"] == "command line of nbconvert"
    check_slice(nb)


def test_a_papermill_output_notebook_records_its_input_and_parameters(tmp_path, monkeypatch):
    """papermill is not a dependency: this is the notebook papermill writes (its metadata and an
    injected parameters cell), executed in a real kernel started in its folder."""
    folder = tmp_path / "pm"
    folder.mkdir()
    path = folder / "out.ipynb"
    cells = [CELLS[0], "# Parameters\nC = 0.25", *CELLS[2:]]
    write_notebook(path, cells)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["papermill"] = {"input_path": "in.ipynb", "output_path": "out.ipynb", "parameters": {"C": 0.25}}
    nbformat.write(nb, path)
    root = tmp_path / "registry"
    execute(path, monkeypatch, root=root)
    record = recorded(root)
    assert record["path"] == str(path.resolve())
    assert record["papermill"] == {"input_path": "in.ipynb", "output_path": "out.ipynb", "parameters": {"C": 0.25}}


def test_a_recorded_cell_edited_in_the_saved_notebook_is_warned(shell, reg, tmp_path):
    data = "X = [[0], [1], [2], [3]]\ny = [0, 0, 1, 1]"
    train = "from sklearn.tree import DecisionTreeClassifier\nclf = DecisionTreeClassifier(max_depth=1).fit(X, y)"
    notebook = tmp_path / "edited.ipynb"
    saved_train = train.replace("max_depth=1", "max_depth=3")  # edited and saved, not re-run
    write_notebook(notebook, [data, saved_train, "%register clf --name tree --data X"])
    shell.user_ns["__session__"] = str(notebook)
    run(shell, data)
    run(shell, train)
    run(shell, "%register clf --name tree --data X")
    nb = reg.get("tree:1").lineage["notebook"]
    assert nb["path"] == str(notebook) and nb["found_by"] == "jupyter session"
    assert any("In [2] was edited in the saved notebook after it ran (notebook cell 2" in w for w in nb["warnings"]), nb["warnings"]
    assert not any("In [1]" in w and "edited" in w for w in nb["warnings"])


def test_data_mutated_in_place_after_fit_is_warned_and_unchanged_data_is_not(shell, reg):
    run(shell, "import numpy as np\nfrom sklearn.linear_model import LogisticRegression")
    run(shell, "X = np.arange(40, dtype=float).reshape(20, 2)\ny = np.arange(20) % 2")
    run(shell, "clf = LogisticRegression().fit(X, y)")
    run(shell, "%register clf --name same --data X y")
    assert not any("changed after" in w for w in reg.get("same:1").lineage["notebook"]["warnings"])
    run(shell, "X[:, 0] += 1.0")
    shell.user_ns["reg"] = reg
    run(shell, "v = reg.register(clf, 'changed', data=(X, y))")  # the Python API, not the magic
    nb = reg.get("changed:1").lineage["notebook"]
    assert any("X changed after clf was fit on it in In [3]" in w for w in nb["warnings"]), nb["warnings"]
    assert json.dumps(nb["fit_data"])  # stored with the lineage
