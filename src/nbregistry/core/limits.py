"""Input limits of a registry and THE checks of untrusted values, shared by every face.

:class:`Limits` says how much one registration or edit may hold (``Registry.limits``; the REST
server sets it from its ``NBRegistry`` settings, see docs/server.md "Limits"). The checks below turn
what would otherwise be a crash deep inside SQLite or ``json`` (a 400-digit integer, a lone
surrogate, JSON nested 100,000 deep, ``int("١")``) into a one-line :class:`ValidationError`; the
REST server parses every JSON body with :func:`loads_json`, so the API, the CLI and the server
refuse the same input with the same words.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError

MAX_INT = 2**63 - 1  # what SQLite stores in an INTEGER column
ASCII_INT_RE = re.compile(r"-?[0-9]{1,19}")


@dataclass
class Limits:
    """How much a registry accepts. Every field is a maximum; change them on ``Registry.limits``."""

    description_chars: int = 65_536      # a model's or version's description
    lineage_bytes: int = 8 * 1024**2     # a version's lineage record, as JSON
    metrics: int = 10_000                # metrics of one version
    params: int = 10_000                 # params of one version
    tags: int = 1_000                    # tags of one model or version (per request when editing)
    compare_refs: int = 1_000            # refs in one comparison
    json_depth: int = 64                 # nesting of any JSON value (bodies, lineage, flavor metadata)
    body_bytes: int = 2 * 1024**2        # a JSON request body (REST server; uploads have their own limit)


DEFAULT_LIMITS = Limits()


# ==================================================================== scalars
def check_int(value: Any, what: str, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """``value`` if it is an integer from ``minimum`` to ``maximum`` (bools are not integers)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        shown = value if not isinstance(value, int) or abs(value) < 10**30 else f"a {len(str(value))}-digit number"
        raise ValidationError(f"{what} must be an integer from {minimum} to {maximum}, not {shown!r}")
    return value


def parse_int(text: str, what: str, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """An integer written in ASCII digits (``int()`` would also take ``'١'`` or ``'²'``-like text)."""
    if not isinstance(text, str) or not ASCII_INT_RE.fullmatch(text.strip()):
        shown = text if len(str(text)) <= 40 else f"{str(text)[:40]}…"
        raise ValidationError(f"{what} must be an integer from {minimum} to {maximum}, not {shown!r}")
    return check_int(int(text), what, minimum=minimum, maximum=maximum)


def check_text(value: Any, what: str, *, max_chars: int | None = None) -> str:
    """``value`` if it is a string that can be stored (UTF-8: no lone surrogates) within ``max_chars``."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, not {type(value).__name__}")
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(f"{what} holds {len(value)} characters; the limit is {max_chars}")
    _encodable(value, what)
    return value


def _encodable(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} holds a lone surrogate (\\u{ord(text[exc.start]):04x}) at character "
                              f"{exc.start}: text must be valid Unicode") from None


# ==================================================================== JSON values
def check_json(value: Any, what: str, *, max_depth: int = DEFAULT_LIMITS.json_depth, strict: bool = True) -> Any:
    """``value`` if it is plain JSON data (dict/list/str/finite number/bool/None) nested at most
    ``max_depth`` deep, with integers SQLite can hold and text without lone surrogates. Iterative:
    a value nested 100,000 deep is refused, not a RecursionError. ``strict=False`` (records the core
    builds itself, such as lineage) lets other values through; they are stored as text."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list, tuple)):
            if depth > max_depth:
                raise ValidationError(f"{what} is nested too deep (more than {max_depth} levels)")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ValidationError(f"{what} has a non-text key {key!r}")
                    _encodable(key, what)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _encodable(item, what)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                raise ValidationError(f"{what} holds a number too large ({len(str(abs(item)))} digits); "
                                      f"integers must fit in 64 bits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValidationError(f"{what} holds the number {item}: numbers must be finite")
        elif strict:
            raise ValidationError(f"{what} holds a {type(item).__name__}, which is not JSON data")
    return value


def loads_json(raw: bytes | str, what: str, *, max_depth: int = DEFAULT_LIMITS.json_depth) -> Any:
    """Parse untrusted JSON: refused with a :class:`ValidationError` naming the problem when it is
    not JSON, nests deeper than ``max_depth``, holds integers beyond 64 bits, non-finite numbers
    (``NaN``, ``1e400``) or lone surrogates."""
    def big_int(text: str) -> int:
        if len(text.lstrip("-")) > 19 or not -MAX_INT - 1 <= int(text) <= MAX_INT:
            raise ValidationError(f"{what} holds a number too large ({len(text.lstrip('-'))} digits); "
                                  "integers must fit in 64 bits")
        return int(text)

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValidationError(f"{what} holds the number {text[:40]}, which is not a finite number")
        return number

    def constant(text: str):
        raise ValidationError(f"{what} holds {text}: numbers must be finite")

    try:
        value = json.loads(raw, parse_int=big_int, parse_float=finite, parse_constant=constant)
    except RecursionError:
        raise ValidationError(f"{what} is nested too deep (more than {max_depth} levels)") from None
    except ValidationError:
        raise
    except ValueError as exc:  # also bad UTF-8
        raise ValidationError(f"{what} is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if _SURROGATE_ESCAPE.search(raw if isinstance(raw, str) else raw.decode("utf-8", "replace")):
        return check_json(value, what, max_depth=max_depth)
    # No \uD800-\uDFFF escape in the text, so no lone surrogate in the value (decoded UTF-8 holds none),
    # and the hooks above already refused big integers and non-finite numbers: only the depth is left.
    _check_depth(value, what, max_depth)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_depth(value: Any, what: str, max_depth: int) -> None:
    """Refuse a parsed JSON value whose containers nest deeper than ``max_depth`` (as check_json does)."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise ValidationError(f"{what} is nested too deep (more than {max_depth} levels)")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def json_size(value: Any, what: str, *, max_bytes: int) -> int:
    """The size of ``value`` as compact JSON (what the store writes); refused above ``max_bytes`` or
    when it is nested too deep to encode. (Cheap: no walk; text is escaped, so any string stores.)"""
    try:
        size = len(json.dumps(value, separators=(",", ":"), default=str))
    except RecursionError:
        raise ValidationError(f"{what} is nested too deep to store") from None
    except ValueError as exc:  # a circular reference, a 5000-digit integer
        raise ValidationError(f"{what} cannot be stored as JSON ({str(exc)[:80]})") from None
    if size > max_bytes:
        raise ValidationError(f"{what} is {size} bytes as JSON; the limit is {max_bytes}")
    return size
