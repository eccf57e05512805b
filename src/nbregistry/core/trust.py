"""THE trust rule: whether loading a version may run code that its author chose.

A load may run such code (unpickle, or import and construct a class named in stored metadata) only if

1. the format is data-only (safetensors weights, skops with its trusted types, ONNX, native
   xgboost/lightgbm, Keras with ``safe_mode``) — then nothing the author wrote runs, for anyone; or
2. every class the load would import and construct is on the reader's own allow-list
   (``trusted_classes``: ``Registry(trusted_classes=[...])`` or ``NBREGISTRY_TRUSTED_CLASSES``); or
3. the reader is the version's author, both identities count (verified or local, see
   core/identity.py) and the registry trusts its own pickles (``trust_own_pickles``); or
4. the reader passed ``trust=True``.

A registry with ``code_allowed = False`` (the team server) ignores 3 and 4: it never runs code a user
stored, whoever asks. Every face loads through :func:`decide` (``Registry.load``, ``RemoteRegistry.load``,
``serve``, the smoke gate of ``check``/``promote``, ``reproduce``); flavors only answer two questions
about their metadata (``needs_trust(meta)``, ``imported_classes(meta)``) and receive the decision as
``trusted`` in ``flavor.load``: a :class:`Trust` that is true only for full trust (3 or 4), and whose
:meth:`Trust.allows_class` says whether one class may be imported. See docs/security.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from .errors import TrustRequired, ValidationError
from .identity import counts

ENV_CLASSES = "NBREGISTRY_TRUSTED_CLASSES"
# the custom flavor's former, separate allow-list (module names); read for one release, with a warning
ENV_MODULES_DEPRECATED = "NBREGISTRY_TRUSTED_MODULES"


@dataclass(frozen=True)
class Trust:
    """What a load may run. ``bool(trust)`` is full trust (the reader trusts the author)."""

    full: bool = False
    classes: frozenset = field(default_factory=frozenset)

    def __bool__(self) -> bool:
        return self.full

    def allows_class(self, path: str) -> bool:
        """Whether the class ``module:qualname`` may be imported (and, if a flavor's rules allow, built)."""
        return self.full or class_allowed(path, self.classes)


NO_TRUST = Trust()


def parse_classes(values: Iterable[str] | str | None) -> frozenset:
    """An allow-list from ``module:Class`` / ``module:*`` entries (a string is split on commas and spaces)."""
    if values is None:
        return frozenset()
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    out = set()
    for entry in values:
        if not isinstance(entry, str) or entry.count(":") != 1 or not all(entry.split(":")):
            raise ValidationError(f"trusted class {entry!r} must be written 'module:Class' or 'module:*'")
        out.add(entry.strip())
    return frozenset(out)


def allowed_classes(extra: Iterable[str] | str | None = None) -> frozenset:
    """The reader's allow-list: ``extra`` plus ``NBREGISTRY_TRUSTED_CLASSES`` from the environment
    (plus the deprecated ``NBREGISTRY_TRUSTED_MODULES``, each module ``m`` read as ``m:*``)."""
    return parse_classes(extra) | parse_classes(os.environ.get(ENV_CLASSES)) | _deprecated_modules()


def _deprecated_modules() -> frozenset:
    """``NBREGISTRY_TRUSTED_MODULES=a.b,c`` as the allow-list entries ``a.b:* c:*``, with a warning
    that names the replacement setting. Submodules no longer match: each module is its own entry."""
    raw = os.environ.get(ENV_MODULES_DEPRECATED, "")
    modules = [m.strip() for m in raw.replace(",", " ").split() if m.strip()]
    if not modules:
        return frozenset()
    entries = [m if ":" in m else f"{m}:*" for m in modules]
    import warnings

    warnings.warn(f"{ENV_MODULES_DEPRECATED} is deprecated and will be removed in the next release; "
                  f"it is read as {ENV_CLASSES}={' '.join(entries)!r} (the one allow-list for every flavor; "
                  "a module's submodules need their own entries)", FutureWarning, stacklevel=3)
    return parse_classes(entries)


def class_allowed(path: str, allow: frozenset) -> bool:
    if not isinstance(path, str) or path.count(":") != 1:
        return False
    module = path.split(":")[0]
    return path in allow or f"{module}:*" in allow


def decide(version, flavor, meta: dict, *, reader: str, reader_identity: str | None = "local",
           trust: bool = False, trust_own: bool = True, code_allowed: bool = True,
           classes: frozenset = frozenset(), also_authors: Iterable[str] = (), also_counted: bool = True) -> Trust:
    """Apply the rule to loading ``version`` (a :class:`ModelVersion`) with ``flavor`` and its
    stored ``meta``; return the :class:`Trust` to pass to ``flavor.load`` or raise :class:`TrustRequired`."""
    full = trusts_author(version, reader=reader, reader_identity=reader_identity, trust=trust,
                         trust_own=trust_own, code_allowed=code_allowed, also_authors=also_authors,
                         also_counted=also_counted)
    granted = Trust(full=full, classes=frozenset(classes))
    if granted.full:
        return granted
    imported = [c for c in imported_classes(flavor, meta) if not class_allowed(c, granted.classes)]
    if flavor.needs_trust(meta) or imported:
        raise TrustRequired(_refusal(version, meta, reader=reader, trust_own=trust_own,
                                     code_allowed=code_allowed, imported=imported,
                                     reader_counts=counts(reader_identity),
                                     others=sorted(set(also_authors) - {reader}), also_counted=also_counted))
    return granted


def trusts_author(version, *, reader: str, reader_identity: str | None = "local", trust: bool = False,
                  trust_own: bool = True, code_allowed: bool = True, also_authors: Iterable[str] = (),
                  also_counted: bool = True) -> bool:
    """Whether the reader may run code that ``version``'s author wrote: ``trust=True``, or the reader
    is the author and both identities count (and the registry trusts its own); never where
    ``code_allowed`` is false. ``also_authors`` are other authors of the same artifact (a revert's
    original authors, ``versioning.revert_authors``): each must be the reader too, and
    ``also_counted`` says whether all of them were counted identities. Used for loads (through
    :func:`decide`) and for ``reproduce``'s cells."""
    if not code_allowed:
        return False
    own = (trust_own and version.author == reader and version.author_counts and counts(reader_identity)
           and all(a == reader for a in also_authors) and also_counted)
    return bool(trust or own)


def imported_classes(flavor, meta: dict) -> list[str]:
    """Classes (``module:qualname``) a load imports and constructs because stored metadata names them."""
    named = getattr(flavor, "imported_classes", None)
    return list(named(meta)) if callable(named) else []


def check_trust(version, meta: dict, *, reader: str, trust: bool, trust_own: bool = True,
                reader_identity: str | None = "local", code_allowed: bool = True,
                classes: frozenset = frozenset(), also_authors: Iterable[str] = (),
                also_counted: bool = True) -> Trust:
    """:func:`decide` with the version's own flavor (the form faces and older callers use)."""
    from .flavors import get_flavor

    return decide(version, get_flavor(version.flavor), meta, reader=reader, reader_identity=reader_identity,
                  trust=trust, trust_own=trust_own, code_allowed=code_allowed, classes=classes,
                  also_authors=also_authors, also_counted=also_counted)


def _refusal(version, meta: dict, *, reader: str, trust_own: bool, code_allowed: bool, imported: list,
             reader_counts: bool, others: list = (), also_counted: bool = True) -> str:
    if imported:
        what = f"it names {', '.join(imported)} to import and construct"
    else:
        what = f"it is stored in a format that runs code when loaded ({version.flavor}/" \
               f"{meta.get('format') or meta.get('library', 'pickle')})"
    if not code_allowed:
        return (f"{version.ref}: {what}, and this server never runs code a user stored, whoever asks; "
                "register it in a data-only format (see docs/security.md) or load it on your own machine")
    if version.author != reader or others:
        whose = f"saved by {', '.join(map(repr, sorted({version.author, *others} - {reader})))}"
    elif not version.author_counts or not also_counted:
        whose = f"saved under the unverified name {version.author!r} ({version.identity})"
    elif not reader_counts:
        whose = "saved under your name, but your own identity here is not verified"
    elif not trust_own:
        whose = "saved by you, but this registry trusts no pickles"
    else:
        whose = "saved by you"
    hint = "pass trust=True if you trust its author"
    if imported:
        hint += f", or add the class to your allow-list ({ENV_CLASSES} or Registry(trusted_classes=[...]))"
    return f"{version.ref} was {whose} and {what}; {hint}"
