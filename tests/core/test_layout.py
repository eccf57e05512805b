"""Faces depend on the core, never the reverse: no module under ``nbregistry/core/`` imports a face
(or Jupyter), not even lazily inside a function. What the core needs from a face it asks for through
``core/hooks.py``; these tests also check that the hooks the package root fills still work."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import nbregistry
from nbregistry.core import hooks
from nbregistry.core.errors import RegistryError

CORE = Path(nbregistry.__file__).parent / "core"
FACES = ("nbregistry.notebook", "nbregistry.server", "nbregistry.deploy", "nbregistry.cli", "nbregistry.remote",
         "nbregistry.labextension")
JUPYTER = ("IPython", "ipywidgets", "jupyter_server", "jupyter_client", "jupyterlab", "tornado", "traitlets",
           "nbformat", "jupyterhub")


def _package(path: Path) -> str:
    """The dotted package a file under core/ belongs to (``nbregistry.core.flavors`` for flavors/x.py)."""
    parts = ["nbregistry", *path.relative_to(CORE.parent).parts]
    return ".".join(parts[:-1])


def imported_names(source: str, package: str) -> list[tuple[int, str]]:
    """Every module ``source`` imports (absolute names; relative ones resolved against ``package``),
    at any depth, plus string arguments of ``importlib.import_module``/``__import__`` calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # from .. import notebook
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FACES + JUPYTER)


def core_violations() -> list[str]:
    problems = []
    for path in sorted(CORE.rglob("*.py")):
        for line, name in imported_names(path.read_text(encoding="utf-8"), _package(path)):
            if forbidden(name):
                problems.append(f"{path.relative_to(CORE.parent)}:{line} imports {name}")
    return problems


def test_no_core_module_imports_a_face_or_jupyter():
    modules = list(CORE.rglob("*.py"))
    assert len(modules) > 30  # the walk really sees the core (registry.py, store.py, flavors/, objects/, ...)
    assert core_violations() == []


@pytest.mark.parametrize("source, package, name", [
    ("from ..deploy.api import DeployMixin", "nbregistry.core", "nbregistry.deploy.api"),
    ("def f():\n    from ..notebook.display import render_html\n", "nbregistry.core", "nbregistry.notebook.display"),
    ("from ... import remote", "nbregistry.core.flavors", "nbregistry.remote"),
    ("import nbregistry.server.routes as r", "nbregistry.core", "nbregistry.server.routes"),
    ("import importlib\nimportlib.import_module('nbregistry.cli')", "nbregistry.core", "nbregistry.cli"),
    ("from IPython import get_ipython", "nbregistry.core", "IPython"),
])
def test_the_check_catches_each_way_of_importing_a_face(source, package, name):
    names = [n for _, n in imported_names(source, package)]
    assert name in names and any(forbidden(n) for n in names)


def test_the_check_allows_the_core_importing_itself():
    names = [n for _, n in imported_names("from .errors import NotFound\nfrom ..objects import BlobStore\n"
                                          "from .._version import __version__", "nbregistry.core.flavors")]
    assert names[0] == "nbregistry.core.flavors.errors" and not any(forbidden(n) for n in names)


def test_the_package_root_fills_the_hooks_without_importing_the_faces():
    code = ("import sys, nbregistry\nfrom nbregistry.core import hooks\n"
            "print((hooks.names(), sorted(m for m in sys.modules if m.startswith(('nbregistry.notebook', "
            "'nbregistry.deploy', 'nbregistry.remote', 'nbregistry.core.registry')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str((sorted(["html", "card_html", "comparison_bundle", "notebook_lineage", "remote_registry",
                                       "export.bundle", "export.mlflow", "export.docker", "export.hf",
                                       "import.bundle", "import.mlflow"]), []))


def test_every_provided_hook_resolves_to_a_callable():
    for name in hooks.names():
        assert callable(hooks.provided(name)), name


def test_a_hook_nobody_provides_is_a_clear_error():
    with pytest.raises(RegistryError, match="nothing provides 'export.nope'"):
        hooks.provided("export.nope")


def test_a_provided_export_format_is_a_registry_method(tmp_path, monkeypatch):
    from nbregistry import Registry

    reg = Registry(tmp_path / "reg", author="alice")
    reg.register({"a": 1}, "toy", flavor="pickle")
    written = []
    monkeypatch.setitem(hooks._provided, "export.list", lambda r, ref, dest: written.append((r.get(ref).ref, dest)))
    reg.export("toy:1", tmp_path / "out", format="list")
    assert written == [("toy:1", tmp_path / "out")]
    with pytest.raises(RegistryError, match="unknown export format 'nope'.*bundle.*hf.*list"):
        reg.export("toy:1", tmp_path / "out", format="nope")
