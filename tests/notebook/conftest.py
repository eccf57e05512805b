"""Fixtures for the notebook face: a real IPython shell with the extension loaded, talking to ``reg``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def _ipython():
    from IPython.testing.globalipapp import start_ipython

    return start_ipython()


@pytest.fixture
def shell(_ipython, reg):
    """The global test shell, reset to a fresh session (empty namespace, history from In [1]), with
    ``%load_ext nbregistry`` done and its magics talking to ``reg``."""
    ip = _ipython
    if "nbregistry" in ip.extension_manager.loaded:
        ip.run_line_magic("unload_ext", "nbregistry")
    ip.reset(new_session=True)
    ip.run_line_magic("load_ext", "nbregistry")
    magics = ip.magics_manager.registry["RegistryMagics"]
    magics._registry = reg
    yield ip
    magics._registry = None  # the test's registry fixture closes it
    ip.run_line_magic("unload_ext", "nbregistry")
    ip.reset(new_session=True)
