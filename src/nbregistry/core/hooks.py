"""What the faces lend the core: named capabilities the core calls but does not implement.

The core never imports a face (``tests/core/test_layout.py`` checks it). Where a core object needs
something only a face has (the notebooks' HTML for ``_repr_html_``, the kernel's cell history for
lineage, the export formats, the HTTP client for ``NBREGISTRY_URL``), it asks for a hook by name and
a face provides it. The package root (``nbregistry/__init__.py``) provides the built-in faces as
``"module:attribute"`` paths, imported only on first use, so ``import nbregistry`` stays cheap;
anything else (a plugin, a test) may provide or replace a hook with a callable.

Hooks the core asks for:

=====================  ====================================================================
``html``               ``f(result) -> str``: HTML of any result object (``_repr_html_``)
``card_html``          ``f(card_text) -> str``: a model card, sanitized
``comparison_bundle``  ``f(comparison) -> dict``: MIME bundle of a comparison
``notebook_lineage``   ``f(obj, metrics=, params=, data=) -> dict | None``: the cells that made ``obj``
``remote_registry``    ``cls(url, token, author=)``: ``Registry()`` when ``NBREGISTRY_URL`` is set
``export.<format>``    ``f(registry, ref, dest, **options) -> ExportReport``
``import.<source>``    ``f(registry, source, **options) -> ImportReport``
=====================  ====================================================================
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .errors import RegistryError

_provided: dict[str, str | Callable[..., Any]] = {}


def provide(name: str, target: str | Callable[..., Any]) -> None:
    """Fill the hook ``name`` with a callable, or a ``"package.module:attribute"`` path to one
    (imported when the hook is first used). Providing again replaces the previous one."""
    if isinstance(target, str) and ":" not in target:
        raise ValueError(f"hook {name!r}: {target!r} is not a 'module:attribute' path")
    _provided[name] = target


def provided(name: str) -> Callable[..., Any]:
    """The callable that fills ``name``; :class:`RegistryError` naming the hook when no face does."""
    target = _provided.get(name)
    if target is None:
        raise RegistryError(f"nothing provides {name!r} here (see nbregistry.core.hooks)")
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        _provided[name] = target
    return target


def names(prefix: str = "") -> list[str]:
    """The provided hooks whose name starts with ``prefix``, sorted (``names("export.")``)."""
    return sorted(n for n in _provided if n.startswith(prefix))
