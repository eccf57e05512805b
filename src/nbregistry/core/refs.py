"""The one parser for names and refs, used by every face.

A ref names a model (``churn`` = its latest active version), a version (``churn:3``) or an alias
(``churn@production``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidName, InvalidRef

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
RESERVED_ALIASES = {"latest"}
VERSION_RE = re.compile(r"[0-9]{1,19}")  # ASCII digits only: int() would also read '١' or '１' as 1
MAX_VERSION = 2**63 - 1  # what SQLite stores


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid model name, else raise :class:`InvalidName`."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid model name {_shown(name)!r}: use 1-128 characters of letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def validate_alias(alias: object) -> str:
    """Return ``alias`` if it is a valid alias name, else raise :class:`InvalidName`."""
    if not isinstance(alias, str) or not ALIAS_RE.fullmatch(alias):
        raise InvalidName(
            f"invalid alias {_shown(alias)!r}: use 1-64 characters of letters, digits, '.', '_' or '-',"
            " starting with a letter"
        )
    if alias.lower() in RESERVED_ALIASES:
        raise InvalidName(f"alias {alias!r} is reserved")
    return alias


@dataclass(frozen=True)
class Ref:
    """A parsed ref: exactly one of ``version`` and ``alias`` is set, or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def parse_ref(ref: object) -> Ref:
    """Parse ``churn``, ``churn:3`` or ``churn@production`` into a :class:`Ref`."""
    if isinstance(ref, Ref):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidRef(f"invalid ref {_shown(ref)!r}: expected 'name', 'name:VERSION' or 'name@ALIAS'")
    text = ref.strip()
    if "@" in text and ":" in text:
        raise InvalidRef(f"invalid ref {_shown(ref)!r}: use either ':VERSION' or '@ALIAS', not both")
    if ":" in text:
        name, _, number = text.partition(":")
        if not VERSION_RE.fullmatch(number) or not 1 <= int(number) <= MAX_VERSION:
            raise InvalidRef(f"invalid ref {_shown(ref)!r}: the version after ':' must be a positive integer"
                             f" (ASCII digits, at most {MAX_VERSION})")
        return Ref(_name_in_ref(name, ref), version=int(number))
    if "@" in text:
        name, _, alias = text.partition("@")
        try:
            validate_alias(alias)
        except InvalidName as exc:
            raise InvalidRef(f"invalid ref {_shown(ref)!r}: {exc}") from None
        return Ref(_name_in_ref(name, ref), alias=alias)
    return Ref(_name_in_ref(text, ref))


def _name_in_ref(name: str, ref: object) -> str:
    try:
        return validate_name(name)
    except InvalidName as exc:
        raise InvalidRef(f"invalid ref {_shown(ref)!r}: {exc}") from None


def _shown(ref: object) -> object:
    """A ref as quoted in an error: long input is cut, so an error stays one line."""
    return ref if not isinstance(ref, str) or len(ref) <= 80 else f"{ref[:80]}…"
