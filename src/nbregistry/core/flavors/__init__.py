"""Flavors: how an object is saved to files and loaded back.

A flavor is a class with ``name``, ``pickle_based``, ``priority`` and three methods::

    handles(obj) -> bool                    # may this flavor save obj? (must not import heavy packages)
    save(obj, folder: Path) -> dict         # write files into folder; return JSON-able metadata
    load(folder: Path, meta: dict, *, trusted) -> object

and two questions the trust rule (core/trust.py) asks about stored metadata::

    needs_trust(meta) -> bool               # does loading unpickle (or run other stored code)?
    imported_classes(meta) -> list[str]     # "module:qualname" classes the load imports and constructs

``trusted`` is the rule's :class:`~nbregistry.core.trust.Trust`: true only when the reader trusts
the author. A flavor given a false ``trusted`` must refuse anything that unpickles, and import a
class named in ``meta`` only when ``trusted.allows_class(path)``. File names read from ``meta``
go through ``safe_relpath`` (see :func:`artifact_file`): metadata is never a path by itself.

Third-party flavors are found through the ``nbregistry.flavors`` entry-point group; the built-in
ones (sklearn, pickle, file) are always present. Detection asks flavors in decreasing ``priority``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ..errors import ValidationError


class Flavor:
    name: ClassVar[str] = ""
    pickle_based: ClassVar[bool] = False
    priority: ClassVar[int] = 0

    def handles(self, obj: Any) -> bool:
        raise NotImplementedError

    def save(self, obj: Any, folder: Path) -> dict:
        raise NotImplementedError

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        raise NotImplementedError

    def needs_trust(self, meta: dict) -> bool:
        """Whether loading a version with this metadata can run arbitrary code (unpickling)."""
        return self.pickle_based

    def imported_classes(self, meta: dict) -> list[str]:
        """Classes (``module:qualname``) that loading imports and constructs because ``meta`` names
        them; each needs trust unless it is on the reader's allow-list."""
        return []


def artifact_file(folder: Path, meta: dict, key: str = "filename") -> Path:
    """``folder / meta[key]``, refusing a stored name that is not a safe relative path."""
    from ..objects import safe_relpath

    return folder / safe_relpath(meta.get(key))


def refuse_untrusted(meta: dict, what: str) -> None:
    """Raise :class:`TrustRequired`: a flavor asked to unpickle without trust (the rule was bypassed)."""
    from ..errors import TrustRequired

    raise TrustRequired(f"refusing to {what} without trust: it can run code its author chose")


_FLAVORS: dict[str, Flavor] | None = None


def all_flavors() -> dict[str, Flavor]:
    global _FLAVORS
    if _FLAVORS is None:
        from .files import FileFlavor
        from .pickle import PickleFlavor
        from .sklearn import SklearnFlavor

        found: dict[str, Flavor] = {f.name: f for f in (FileFlavor(), SklearnFlavor(), PickleFlavor())}
        from importlib.metadata import entry_points

        for ep in entry_points(group="nbregistry.flavors"):
            if ep.name in found:
                continue
            try:
                cls = ep.load()
            except Exception:  # a broken plug-in must not break the registry
                continue
            found[cls.name or ep.name] = cls()
        _FLAVORS = found
    return _FLAVORS


def get_flavor(name: str) -> Flavor:
    flavors = all_flavors()
    if name not in flavors:
        raise ValidationError(f"unknown flavor {name!r}; installed flavors: {', '.join(sorted(flavors))}")
    return flavors[name]


def detect_flavor(obj: Any) -> Flavor:
    for flavor in sorted(all_flavors().values(), key=lambda f: -f.priority):
        if flavor.handles(obj):
            return flavor
    raise ValidationError(f"no flavor can save an object of type {type(obj).__name__}")
