"""The read/write analysis follows execution order: loop/with targets, comprehension variables,
del, augmented assignment and global are neither false inputs nor lost outputs."""

from __future__ import annotations

from nbregistry.notebook.cellnames import analyze
from nbregistry.notebook.provenance import slice_history


def test_loop_and_with_targets_are_bound_not_read():
    names = analyze("for i in range(3):\n    print(i)\n"
                    "with open(path) as fh:\n    text = fh.read()\n"
                    "for k, (a, b) in enumerate(pairs):\n    total += a * b + k\n")
    assert not {"i", "fh", "k", "a", "b"} & names.reads
    assert {"path", "pairs", "total", "range", "open", "enumerate"} <= names.reads
    assert {"i", "fh", "text", "k", "a", "b", "total"} <= names.writes


def test_a_name_read_before_it_is_bound_in_the_same_statement_is_an_input():
    assert "x" in analyze("x = x + 1").reads
    assert "n" in analyze("n += 1").reads and "n" in analyze("n += 1").writes
    assert "lr" in analyze("for epoch in range(3):\n    lr = lr * 0.9\n").reads
    assert "x" not in analyze("x = 1\nx += 1").reads


def test_comprehension_variables_stay_inside_even_when_they_shadow():
    names = analyze("rows = [r for r in data if r]\nsquares = {k: v * v for k, v in pairs.items()}\n"
                    "flat = [y for x in nested for y in x]\n")
    assert not {"r", "k", "v", "x", "y"} & (names.reads | names.writes)
    assert {"data", "pairs", "nested"} <= names.reads
    # the first iterable runs in the cell, so a name bound earlier in the cell is not an input
    assert "items" not in analyze("items = load()\nn = [i for i in items]").reads
    walrus = analyze("hits = [y for x in data if (y := f(x))]")
    assert "y" in walrus.writes and "x" not in walrus.reads


def test_del_unbinds_and_subscript_del_mutates():
    names = analyze("tmp = load()\nX = tmp.values\ndel tmp\n")
    assert names.writes == {"X"} and "tmp" not in names.reads
    assert "junk" not in analyze("del junk").writes
    frame = analyze("del df['col']")
    assert "df" in frame.reads and "df" in frame.writes


def test_global_in_functions_including_nested_ones():
    names = analyze("def outer():\n    def inner():\n        global counter\n        counter += 1\n    inner()\n")
    assert "counter" in names.writes and "counter" in names.reads
    local = analyze("def f():\n    counter = 0\n    return counter\n")
    assert "counter" not in local.writes | local.reads
    module_level = analyze("global seen\nseen = set()")  # a no-op at cell level
    assert "seen" in module_level.writes and "seen" not in module_level.reads


def test_function_bodies_read_names_when_called_so_names_bound_later_in_the_cell_are_not_inputs():
    names = analyze("def score():\n    return model.score(X_test, y_test)\nX_test, y_test = split()\n")
    assert {"model", "split"} <= names.reads and not {"X_test", "y_test"} & names.reads
    lam = analyze("key = lambda row: row[col]")
    assert "col" in lam.reads and "row" not in lam.reads


def test_exception_names_do_not_leak():
    names = analyze("try:\n    run()\nexcept ValueError as err:\n    print(err)\n")
    assert "err" not in names.reads and "err" not in names.writes


def test_loop_targets_pull_in_no_unrelated_cells_and_cause_no_false_warning():
    history = [
        (1, "import numpy as np"),
        (2, "i = 'an unrelated value from long ago'"),
        (3, "fh = None  # unrelated too"),
        (4, "with open(__file__) as fh:\n    header = fh.readline()"),
        (5, "scores = []\nfor i in range(3):\n    scores.append(np.sqrt(i))"),
        (6, "model = {'scores': scores, 'header': header, 'squares': [s * s for s in scores]}"),
    ]
    result = slice_history(history, ["model"])
    assert [c.execution_count for c in result.cells] == [1, 4, 5, 6]
    assert result.warnings == [] and result.undefined == []
