"""The backward slice over a kernel's history, and its warnings."""

from __future__ import annotations

from nbhelpers import run

from nbregistry.notebook.cellnames import analyze
from nbregistry.notebook.provenance import slice_history


def counts(result):
    return [c.execution_count for c in result.cells]


def test_names_read_and_written_by_each_kind_of_statement():
    names = analyze(
        "import numpy as np\n"
        "from sklearn import tree as t\n"
        "for i, (a, b) in enumerate(pairs):\n    total += a\n"
        "with open(path) as fh:\n    text = fh.read()\n"
        "del junk\n"
        "frame['col'] = 1\n"
        "obj.attr.deep = 2\n"
        "model.fit(X, y)\n"
        "preds = model.predict(X_test)\n"
        "squares = [k * k for k in rng if k > limit]\n"
        "if (n := count()) > 2:\n    pass\n")
    assert {"np", "t", "i", "a", "b", "total", "fh", "text", "frame", "obj", "model", "preds",
            "squares", "n"} <= names.writes
    assert "junk" not in names.writes  # del unbinds: the cell does not produce junk
    assert {"pairs", "total", "path", "frame", "obj", "model", "X", "y", "X_test", "rng", "limit", "count"} <= names.reads
    assert "k" not in names.reads and "k" not in names.writes  # comprehension variable stays inside
    assert "X_test" not in names.writes  # predict() does not mutate its argument, nor model... (see below)


def test_read_only_methods_do_not_count_as_writes_but_fit_does():
    assert "model" not in analyze("p = model.predict(X)").writes
    assert "df" not in analyze("df.head()").writes
    assert "model" in analyze("model.fit(X, y)").writes
    assert "df" in analyze("df.dropna(inplace=True)").writes


def test_a_name_assigned_before_it_is_read_in_the_same_cell_is_not_an_input():
    names = analyze("X = load()\ny = X.sum()")
    assert "X" not in names.reads and {"X", "y"} <= names.writes


def test_function_bodies_contribute_free_names_not_locals():
    names = analyze("def make(c, *args, **kw):\n    local = Model(C=c * scale)\n    return local\n")
    assert names.writes == {"make"}
    assert {"Model", "scale"} <= names.reads
    assert not {"c", "local", "args", "kw"} & names.reads
    glob = analyze("def bump():\n    global counter\n    counter = counter + 1\n")
    assert "counter" in glob.writes


def test_unparseable_cells_read_and_write_nothing():
    names = analyze("this is not python(")
    assert not names.parsed and not names.reads and not names.writes


def test_slice_follows_imports_data_and_a_function_defined_earlier():
    history = [
        (1, "import numpy as np\nfrom sklearn.linear_model import LogisticRegression"),
        (2, "X = np.arange(20).reshape(-1, 2)\ny = X[:, 0] % 2"),
        (3, "print(X.shape)"),
        (4, "def make(c):\n    return LogisticRegression(C=c)"),
        (5, "unrelated = 42"),
        (6, "model = make(0.5)"),
        (7, "model.fit(X, y)"),
        (8, "scores = {'acc': model.score(X, y)}"),
    ]
    result = slice_history(history, ["model", "scores"])
    assert counts(result) == [1, 2, 4, 6, 7, 8]
    assert result.warnings == [] and result.undefined == []
    assert result.cells[2].source.startswith("def make")


def test_redefinition_uses_the_definition_that_was_live_when_the_model_was_built():
    history = [
        (1, "from sklearn.tree import DecisionTreeClassifier as Tree"),
        (2, "depth = 2"),
        (3, "depth = 5"),
        (4, "model = Tree(max_depth=depth)"),
        (5, "depth = 9"),   # after the model: not part of it
    ]
    result = slice_history(history, ["model"])
    assert counts(result) == [1, 3, 4]


def test_augmented_assignment_keeps_the_earlier_definition():
    result = slice_history([(1, "n = 1"), (2, "n += 2"), (3, "other = 0"), (4, "model = n")], ["model"])
    assert counts(result) == [1, 2, 4]


def test_a_cell_re_executed_after_its_result_was_used_is_reported():
    prep = "X = load()\ny = labels()"
    history = [(1, "def load():\n    return [1]\ndef labels():\n    return [0]"), (2, prep),
               (3, "model = fit(X, y)"), (4, prep)]
    result = slice_history(history, ["model"])
    assert counts(result) == [1, 2, 3]
    assert any("In [2] was re-executed as In [4] after In [3]" in w for w in result.warnings), result.warnings


def test_data_reassigned_after_training_is_reported():
    history = [(1, "X = [1, 2]"), (2, "model = train(X)"), (3, "X = [3, 4]")]
    result = slice_history(history, ["model", "X"], data_names=["X"], model_name="model")
    assert any("X was reassigned in In [3] after model was last changed in In [2]" in w for w in result.warnings)


def test_out_of_order_execution_is_reported_against_the_notebook_order():
    # The notebook has the training cell ABOVE the cell defining X; the user ran the lower one first.
    notebook = ["model = train(X)", "X = [1, 2, 3]"]
    history = [(1, "X = [1, 2, 3]"), (2, "model = train(X)")]
    result = slice_history(history, ["model"], notebook_cells=notebook)
    assert counts(result) == [1, 2]
    assert any("out of order" in w and "In [2]" in w and "X" in w for w in result.warnings), result.warnings
    in_order = slice_history(history, ["model"], notebook_cells=list(reversed(notebook)))
    assert not any("out of order" in w for w in in_order.warnings)


def test_names_no_cell_defines_are_reported():
    result = slice_history([(1, "model = train(mystery)")], ["model", "ghost"])
    assert result.undefined == ["ghost", "mystery", "train"]
    assert any("ghost" in w and "not defined" in w for w in result.warnings)
    assert "train" in " ".join(result.warnings)


def test_code_inside_time_magic_is_analysed():
    code = "get_ipython().run_line_magic('time', 'model.fit(X, y)')"
    history = [(1, "model = Model()"), (2, "%time model.fit(X, y)", code), (3, "X, y = 1, 2")]
    result = slice_history(history[:2], ["model"])
    assert counts(result) == [1, 2]
    assert result.cells[1].source == "%time model.fit(X, y)"  # stored as typed


def test_register_from_a_kernel_without_the_magic_records_the_slice(shell, reg):
    run(shell, "from sklearn.datasets import load_iris\nfrom sklearn.tree import DecisionTreeClassifier")
    run(shell, "X, y = load_iris(return_X_y=True, as_frame=True)")
    run(shell, "noise = 'not needed'")
    run(shell, "clf = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)")
    shell.user_ns["reg"] = reg
    run(shell, "metrics = {'acc': clf.score(X, y)}\nv = reg.register(clf, 'tree', metrics=metrics, data={'X': X})")
    version = reg.get("tree:1")
    nb = version.lineage["notebook"]
    sources = [c["source"] for c in nb["cells"]]
    assert [c["execution_count"] for c in nb["cells"]] == [1, 2, 4, 5]
    assert "noise" not in "".join(sources)
    assert sources[-1] == "metrics = {'acc': clf.score(X, y)}"  # the register call itself is cut off
    assert nb["variables"] == {"model": "clf", "data": {"X": "X"}, "metrics": "metrics", "params": None}


def test_register_outside_a_notebook_variable_records_no_cells(shell, reg, iris_model):
    # the object is not a variable of the shell: its cells cannot have produced it
    version = reg.register(iris_model, "outside")
    assert version.lineage["notebook"] is None


def test_live_out_of_order_cells_are_warned_against_the_saved_notebook(shell, reg, tmp_path):
    import json

    train = "from sklearn.dummy import DummyClassifier\nmodel = DummyClassifier(strategy=strategy).fit(X, y)"
    data = "strategy = 'most_frequent'\nX, y = [[0], [1], [2]], [0, 1, 1]"
    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": train, "metadata": {}, "outputs": [], "execution_count": None},
        {"cell_type": "code", "source": data, "metadata": {}, "outputs": [], "execution_count": None},
    ]}))
    shell.user_ns["__session__"] = str(notebook)
    run(shell, data)      # the lower cell first...
    run(shell, train)     # ...then the one above it
    run(shell, "%register model --name dummy")
    nb = reg.get("dummy:1").lineage["notebook"]
    assert nb["path"] == str(notebook)
    assert [c["source"] for c in nb["cells"]] == [data, train]
    assert any("out of order" in w and "In [2]" in w for w in nb["warnings"]), nb["warnings"]


def test_registry_load_as_binds_the_variable():
    code = "get_ipython().run_line_magic('registry', 'load churn@production as base')"
    history = [(1, "%registry load churn@production as base", code), (2, "model = tune(base)")]
    result = slice_history(history, ["model"])
    assert [c.execution_count for c in result.cells] == [1, 2]
    assert result.undefined == ["tune"]
