"""The ``sklearn`` flavor: scikit-learn estimators, saved with skops when installed, else joblib.

skops files load without unpickling; only types outside skops' trusted set (custom classes in a
pipeline, say) need trust. joblib files are pickles and always do.

skops builds its default trusted set when ``skops.io`` is first imported, by calling
``sklearn.utils.all_estimators()``, which imports every scikit-learn module (and, through them,
torch, pytest, ...): about 2 s in every new kernel, and all those packages then look "imported" by
the user. nbregistry imports ``skops.io`` with that discovery switched off (:func:`skops_io`) and
decides per type instead: the types *in the file* (``skops.io.get_untrusted_types``) are checked
against the same rule ``all_estimators`` applies (:func:`is_default_trusted`), importing only the
modules those types live in. The result is the trusted set skops would use — never larger; it can
only be smaller for a class exposed solely through a public module that is not one of its own
module's ancestors, and such a class then needs ``trust=True`` like any custom type. Estimators
that ``sklearn.experimental`` enables (``IterativeImputer``, the halving searches) are not trusted,
as in a process where skops was imported before they were enabled.

What a flavor imports while saving or loading is counted as nbregistry's own import, so skops
does not appear among the packages the user imported (``lineage.own_imports``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import io
import re
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import Flavor


class SklearnFlavor(Flavor):
    name = "sklearn"
    priority = 50

    def handles(self, obj: Any) -> bool:
        base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
        return base is not None and isinstance(obj, base)

    def save(self, obj: Any, folder: Path) -> dict:
        import sklearn

        meta = {"sklearn_version": sklearn.__version__, "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}
        try:
            sio = skops_io()
        except ImportError:
            sio = None
        why = "skops is not installed (pip install 'nbregistry[sklearn]')"
        if sio is not None:
            try:
                with own_skops_calls():
                    (folder / "model.skops").write_bytes(canonical_skops(sio.dumps(obj)))
                    untrusted = untrusted_types(sio, folder / "model.skops")
                return {**meta, "format": "skops", "untrusted_types": sorted(untrusted)}
            except Exception as exc:
                (folder / "model.skops").unlink(missing_ok=True)  # fall back to joblib below
                why = f"skops cannot save it ({type(exc).__name__}: {exc})"
        import joblib

        try:
            joblib.dump(obj, folder / "model.joblib")
        except Exception as exc:
            raise ValidationError(f"cannot serialize {type(obj).__name__}: {exc}") from None
        return {**meta, "format": "joblib", "_warnings": [
            f"{type(obj).__name__} was saved with joblib, a pickle, because {why}: anyone else will need "
            "trust=True to load it"]}

    def needs_trust(self, meta: dict) -> bool:
        return meta.get("format") != "skops" or bool(meta.get("untrusted_types"))

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        if meta.get("format") == "skops":
            sio = skops_io()
            path = folder / "model.skops"
            vetted = set(meta.get("untrusted_types") or ())  # what the trust rule saw and allowed
            with own_skops_calls():
                in_file = sio.get_untrusted_types(file=path)
                trusted = [t for t in in_file if is_default_trusted(t) or t in vetted]
                return sio.load(path, trusted=trusted or None)
        import joblib

        return joblib.load(folder / "model.joblib")


_IMPORT_LOCK = threading.Lock()


def skops_io():
    """``skops.io``, imported without running scikit-learn's estimator discovery (see the module
    docstring); skops' default list of scikit-learn estimators is then empty in this process, and
    :func:`is_default_trusted` stands in for it."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    with _IMPORT_LOCK:
        import sklearn.utils

        original = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = lambda *args, **kwargs: []
        finder = _FastWhichmodule()
        sys.meta_path.insert(0, finder)
        try:
            import skops.io
        finally:
            sklearn.utils.all_estimators = original
            finder.remove()
        # Anyone else using skops in this process still gets its full default list, computed the
        # first time they need it; nbregistry's own calls (inside own_skops_calls) never compute it.
        import skops.io._general as general
        import skops.io._trusted_types as trusted_types

        lazy = _LazyEstimatorNames()
        trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES = lazy
        general.SKLEARN_ESTIMATOR_TYPE_NAMES = lazy
    return skops.io


_calls = threading.local()


class own_skops_calls:
    """Inside this block (nbregistry's own skops calls) skops' estimator list stays empty, and
    :func:`is_default_trusted` decides instead."""

    def __enter__(self):
        _calls.depth = getattr(_calls, "depth", 0) + 1

    def __exit__(self, *exc):
        _calls.depth -= 1


class _LazyEstimatorNames(list):
    """skops' ``SKLEARN_ESTIMATOR_TYPE_NAMES``, computed (with ``all_estimators()``) only when a
    caller other than nbregistry asks skops for its default trusted types."""

    _filled = False

    def _names(self) -> list:
        if getattr(_calls, "depth", 0):
            return []
        if not self._filled:
            from skops.io._utils import get_type_name
            from sklearn.utils import all_estimators

            with _IMPORT_LOCK:
                if not self._filled:
                    self[:] = [get_type_name(c) for _, c in all_estimators()
                               if get_type_name(c).startswith("sklearn.")]
                    self._filled = True
        return list(self)

    def __add__(self, other):
        return self._names() + list(other)

    def __radd__(self, other):
        return list(other) + self._names()

    def __contains__(self, item):
        return item in self._names()


class _FastWhichmodule:
    """While ``skops.io`` is first imported, give ``skops.io._utils.whichmodule`` an exact but
    faster equivalent. skops names every scipy/numpy ufunc of its default trusted lists by asking
    each module in ``sys.modules`` for it in turn (about 400 ufuncs x every loaded module, ~1 s in a
    kernel with pandas and scikit-learn loaded). The equivalent gives the same answer - the first
    module, in ``sys.modules`` order, whose attribute of that name *is* the object - reading plain
    modules' ``__dict__`` through one index (per type of object asked about: only entries of that type
    can be the object) and asking only modules that compute attributes
    (a module ``__getattr__`` or a module subclass) the way skops does. The original is put back
    right after the import."""

    TARGET = "skops.io._utils"

    def __init__(self):
        self.module = None
        self.original = None

    def find_spec(self, name, path=None, target=None):
        if name != self.TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader, finder = spec.loader, self

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                finder.module, finder.original = module, module.whichmodule
                module.whichmodule = _indexed_whichmodule(module.whichmodule)

        spec.loader = Loader()
        return spec

    def remove(self):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        if self.module is not None:
            self.module.whichmodule = self.original


def _indexed_whichmodule(original):
    import types
    import warnings

    cache: dict = {}

    def whichmodule(obj, name):
        if getattr(obj, "__module__", None) is not None or "." in name:
            return original(obj, name)
        key = (len(sys.modules), next(reversed(sys.modules), None))
        if cache.get("key") != key:  # sys.modules changed: which modules are plain, which compute attributes
            modules = list(sys.modules.items())
            plain, computed = [], []
            for position, (module_name, module) in enumerate(modules):
                if module_name in ("__main__", "__mp_main__") or module is None:
                    continue
                if type(module) is not types.ModuleType or "__getattr__" in vars(module):
                    computed.append((position, module_name, module))
                else:
                    plain.append((position, module_name, module))
            cache.update(key=key, plain=plain, computed=computed, end=len(modules), by_type={})
        kind = type(obj)
        first = cache["by_type"].get(kind)
        if first is None:  # which plain module first holds each (name, object) of this type
            first = cache["by_type"][kind] = {}
            for position, module_name, module in cache["plain"]:
                entries = list(vars(module).items())
                if kind not in map(type, vars(module).values()):  # (a scan in C: most modules hold none)
                    continue
                for attr, value in entries:
                    if type(value) is kind:
                        first.setdefault((attr, id(value)), (position, module_name))
        position, found = first.get((name, id(obj)), (cache["end"], "__main__"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for where, module_name, module in cache["computed"]:
                if where >= position:
                    break
                try:
                    if getattr(module, name, None) is obj:
                        return module_name
                except (AttributeError, ImportError):
                    continue
        return found

    return whichmodule


def untrusted_types(sio, path: Path) -> list[str]:
    """Types in a skops file that skops' default trust (all_estimators included) would refuse."""
    return [t for t in sio.get_untrusted_types(file=path) if not is_default_trusted(t)]


@functools.lru_cache(maxsize=4096)
def is_default_trusted(type_name: str) -> bool:
    """Whether ``sklearn.utils.all_estimators()`` lists the class named ``module.Class``: a
    concrete ``BaseEstimator`` subclass (not ``BaseEstimator`` itself) with a public name, defined
    in scikit-learn and exposed by a public scikit-learn module (no ``._`` part, none of the
    ignored ones such as ``tests`` or ``experimental``). Imports only that class's modules."""
    if not isinstance(type_name, str) or not type_name.startswith("sklearn."):
        return False
    module_name, _, class_name = type_name.rpartition(".")
    if not class_name or class_name.startswith("_") or class_name == "BaseEstimator":
        return False
    from sklearn.base import BaseEstimator
    from sklearn.utils.discovery import _MODULE_TO_IGNORE

    try:
        cls = getattr(importlib.import_module(module_name), class_name, None)
    except ImportError:
        return False
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)) or getattr(cls, "__abstractmethods__", None):
        return False
    if f"{cls.__module__}.{cls.__name__}" != type_name:
        return False
    if class_name in _experimental_names():  # exposed only once sklearn.experimental enables them
        return False
    parts = module_name.split(".")
    for end in range(1, len(parts) + 1):  # the public modules on the way to the class's own
        public = ".".join(parts[:end])
        if "._" in public or parts[end - 1].startswith("_") or any(p in _MODULE_TO_IGNORE for p in parts[:end]):
            break
        module = sys.modules.get(public) or importlib.import_module(public)
        if getattr(module, class_name, None) is cls:
            return True
    return False


@functools.lru_cache(maxsize=1)
def _experimental_names() -> frozenset:
    """Names ``sklearn.experimental.enable_*`` add to public modules. ``all_estimators()`` skips
    ``experimental``, so (in a process where nothing enabled them first) skops does not trust them;
    read from the enablers' source so that nothing gets imported to find out."""
    import sklearn

    folder = Path(sklearn.__file__).parent / "experimental"
    names = set()
    for source in sorted(folder.glob("enable_*.py")):
        names.update(re.findall(r"setattr\(\s*\w+\s*,\s*[\"'](\w+)[\"']", source.read_text("utf-8", "replace")))
    return frozenset(names)


def canonical_skops(data: bytes) -> bytes:
    """The same skops archive with stable ids, member names and timestamps, so equal models give
    equal bytes (and are stored once).

    skops records ``id()`` of objects (``"__id__": N`` in schema.json, and array members named
    ``N.npy``) and stamps the current time; all of these change from one save to the next. Ids are
    renumbered in order of first appearance in the schema, consistently in both places.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    schema = src.read("schema.json").decode()
    mapping: dict[str, str] = {}

    def canonical(old: str) -> str:
        return mapping.setdefault(old, str(len(mapping) + 1))

    schema = re.sub(r'("__id__": )(\d+)|"(\d+)(\.npy)"',
                    lambda m: m.group(1) + canonical(m.group(2)) if m.group(1) else f'"{canonical(m.group(3))}{m.group(4)}"',
                    schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        members = [("schema.json", schema.encode(), src.getinfo("schema.json").compress_type)]
        for info in src.infolist():
            if info.filename == "schema.json":
                continue
            stem, dot, suffix = info.filename.partition(".")
            name = f"{mapping.get(stem, stem)}{dot}{suffix}"
            members.append((name, src.read(info), info.compress_type))
        for name, content, compress in sorted(members, key=lambda m: (m[0] != "schema.json", m[0])):
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = compress
            dst.writestr(entry, content)
    return out.getvalue()
