"""nbregistry: a model registry that lives inside Jupyter.

``import nbregistry`` is cheap: the registry, pandas, widgets and flavors load on first use.

    import nbregistry as nr
    reg = nr.Registry()                      # NBREGISTRY_URL / NBREGISTRY_ROOT / Jupyter data dir
    nr.register(model, "churn", metrics={"auc": 0.91}, data=X_train)
    model = nr.load("churn@production")
"""

from __future__ import annotations

from ._version import __version__

__all__ = ["__version__", "Registry", "RemoteRegistry", "register", "load", "get", "compare", "search",
           "default_registry", "CustomModel"]

_default = None


def _lend_faces_to_core() -> None:
    """The core never imports a face: it asks for hooks by name (core/hooks.py). The built-in faces
    fill them here as module paths, imported only when a hook is first used."""
    from .core import hooks

    for name, target in {
        "html": "nbregistry.notebook.display:render_html",
        "card_html": "nbregistry.notebook.display:card_html",
        "comparison_bundle": "nbregistry.notebook.display:comparison_bundle",
        "notebook_lineage": "nbregistry.notebook.provenance:capture_for_call",
        "remote_registry": "nbregistry.remote:RemoteRegistry",
        "export.bundle": "nbregistry.deploy.export:export_bundle",
        "export.mlflow": "nbregistry.deploy.export_mlflow:export_mlflow",
        "export.docker": "nbregistry.deploy.export:export_docker",
        "export.hf": "nbregistry.deploy.export_card:export_hf",
        "import.bundle": "nbregistry.deploy.importer:import_bundle",
        "import.mlflow": "nbregistry.deploy.import_mlflow:import_mlflow",
    }.items():
        hooks.provide(name, target)


_lend_faces_to_core()


def __getattr__(name: str):
    if name == "Registry":
        from .core.registry import Registry

        return Registry
    if name == "RemoteRegistry":
        from .remote import RemoteRegistry

        return RemoteRegistry
    if name == "CustomModel":
        from .core.flavors.custom import CustomModel

        return CustomModel
    if name in ("RegistryError", "NotFound", "ValidationError", "TrustRequired", "Conflict"):
        from .core import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'nbregistry' has no attribute {name!r}")


def default_registry():
    """The registry the module-level shortcuts use (created on first use)."""
    global _default
    if _default is None:
        from .core.registry import Registry

        _default = Registry()
    return _default


def register(obj, name: str, **kwargs):
    """``default_registry().register(...)``; see :meth:`nbregistry.Registry.register`."""
    return default_registry().register(obj, name, **kwargs)


def load(ref: str, **kwargs):
    """``default_registry().load(ref)``; see :meth:`nbregistry.Registry.load`."""
    return default_registry().load(ref, **kwargs)


def get(ref: str):
    return default_registry().get(ref)


def compare(refs_or_model, **kwargs):
    return default_registry().compare(refs_or_model, **kwargs)


def search(expr: str = "", **kwargs):
    return default_registry().search(expr, **kwargs)


def load_ipython_extension(ipython):
    """``%load_ext nbregistry``: the magics (see nbregistry.notebook.magics)."""
    from .notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    from .notebook.magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_server_extension_points():
    from .server import _jupyter_server_extension_points as points

    return points()


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "nbregistry"}]


def _watch_fits_in_a_kernel() -> None:
    """Inside IPython, fingerprint the data of ``fit`` calls from now on (see notebook/fit_watch.py),
    so that a later registration can say when that data changed. Imports nothing heavy."""
    import sys

    if "IPython" not in sys.modules:
        return
    from .notebook.provenance import running_shell

    shell = running_shell()
    if shell is not None:
        from .notebook import fit_watch

        fit_watch.watch(shell)


_watch_fits_in_a_kernel()
