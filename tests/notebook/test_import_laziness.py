"""``import nbregistry`` stays cheap: no widgets, IPython, pandas, numpy, tornado or sklearn."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["ipywidgets", "IPython", "pandas", "numpy", "tornado", "sklearn", "traitlets", "nbformat", "jupyter_server"]


def loaded_after(statement: str) -> set[str]:
    code = (f"import sys\n{statement}\n"
            f"print(__import__('json').dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_nbregistry_loads_nothing_heavy():
    assert loaded_after("import nbregistry") == set()


def test_the_core_registry_loads_no_jupyter_machinery():
    assert not loaded_after("import nbregistry.core.registry, nbregistry.core.reproduce") & {
        "ipywidgets", "IPython", "tornado", "jupyter_server", "nbformat", "traitlets"}


def test_the_check_can_fail_the_faces_do_load_their_machinery():
    # if the module names above were misspelt, these would not show up either
    assert {"ipywidgets"} <= loaded_after("import nbregistry.notebook.widgets")
    assert {"IPython", "traitlets"} <= loaded_after("import nbregistry.notebook.magics")
    assert {"pandas"} <= loaded_after("import nbregistry, pandas")


def test_display_and_provenance_are_pure_python():
    assert loaded_after("import nbregistry.notebook.display, nbregistry.notebook.provenance") == set()
