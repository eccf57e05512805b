"""Promotion policies: what must hold before an alias may move to a version.

A policy (per model and alias) asks for approvals from people other than the version's author and
runs gates:

- ``metric``: a condition such as ``metrics.auc >= current.metrics.auc - 0.01`` or
  ``metrics.latency_ms < 50``, read by the small parser below (numbers, metric references, ``+ - * /``,
  parentheses, one comparison). Nothing is ever passed to ``eval``.
- ``signature``: the version accepts what the current holder accepted (``signature.check_compatible``).
- ``smoke``: the version loads and predicts on its stored input example.

Evaluation produces a :class:`GateReport` whose details name the values compared.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

from .entities import GateReport, ModelVersion, Policy
from .errors import RegistryError, TrustRequired, ValidationError
from .signature import check_compatible

GATE_TYPES = ("metric", "signature", "smoke")
POLICY_KEYS = ("model", "alias", "required_approvals", "gates", "allow_force")
MAX_GATES = 50
MAX_APPROVALS = 100
MAX_EXPR = 500


# ============================================================================ metric conditions
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<ref>(?:current\.)?metrics\.(?:[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*|"[^"]*"|'[^']*'|`[^`]*`))
  | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<cmp><=|>=|==|!=|<|>|=)
  | (?P<op>[-+*/()])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
""", re.VERBOSE)
_NEGATION = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int
    end: int


class _Missing(Exception):
    def __init__(self, scope: str, key: str):
        self.scope, self.key = scope, key


def _bad(expr: str, message: str, pos: int | None = None) -> ValidationError:
    where = "" if pos is None else f" at position {pos + 1}"
    return ValidationError(f"metric gate {expr!r}: {message}{where}")


def _tokens(expr: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise _bad(expr, f"unexpected {expr[pos]!r}", pos)
        kind = m.lastgroup
        if kind == "word":
            raise _bad(expr, f"unknown name {m.group()!r}; use metrics.<key>, current.metrics.<key> or a number",
                       pos)
        if kind != "space":
            out.append(_Tok(kind, m.group(), pos, m.end()))
        pos = m.end()
    out.append(_Tok("end", "", len(expr), len(expr)))
    return out


class MetricCondition:
    """One parsed comparison, e.g. ``metrics.auc >= current.metrics.auc - 0.01``."""

    def __init__(self, expr: str):
        if not isinstance(expr, str) or not expr.strip():
            raise ValidationError("a metric gate needs an expression such as 'metrics.auc >= 0.8'")
        if len(expr) > MAX_EXPR:
            raise ValidationError(f"metric gate expression is longer than {MAX_EXPR} characters")
        self.expr = expr.strip()
        self._toks = _tokens(self.expr)
        self._i = 0
        start = self._peek().pos
        self.left = self._sum(0)
        self.left_text = self.expr[start:self._toks[self._i - 1].end]
        tok = self._peek()
        if tok.kind != "cmp":
            raise _bad(self.expr, "expected a comparison (<, <=, >, >=, ==, !=)"
                       + (f", found {tok.text!r}" if tok.text else " after the expression"), tok.pos)
        self.op = "==" if tok.text == "=" else tok.text
        self._i += 1
        start = self._peek().pos
        self.right = self._sum(0)
        self.right_text = self.expr[start:self._toks[self._i - 1].end]
        if self._peek().kind != "end":
            tok = self._peek()
            raise _bad(self.expr, f"unexpected {tok.text!r} after the comparison", tok.pos)
        self.refs = sorted(set(_refs(self.left)) | set(_refs(self.right)))
        if not self.refs:
            raise _bad(self.expr, "the condition must mention at least one metric (metrics.<key>)")
        if all(scope == "current" for scope, _ in self.refs):
            raise _bad(self.expr, "the condition must mention a metric of the version being promoted "
                                  "(metrics.<key>), not only current.metrics")
        del self._toks

    @property
    def relative(self) -> bool:
        """True when it compares with the current holder (``current.metrics...``)."""
        return any(scope == "current" for scope, _ in self.refs)

    # -- recursive descent: sum := term (+|- term)*; term := unary (*|/ unary)*; unary := -unary | atom
    def _peek(self) -> _Tok:
        return self._toks[self._i]

    def _sum(self, depth: int):
        node = self._term(depth)
        while self._peek().kind == "op" and self._peek().text in "+-":
            op = self._peek().text
            self._i += 1
            node = ("bin", op, node, self._term(depth))
        return node

    def _term(self, depth: int):
        node = self._unary(depth)
        while self._peek().kind == "op" and self._peek().text in "*/":
            op = self._peek().text
            self._i += 1
            node = ("bin", op, node, self._unary(depth))
        return node

    def _unary(self, depth: int):
        if depth > 30:
            raise _bad(self.expr, "too deeply nested")
        tok = self._peek()
        if tok.kind == "op" and tok.text in "+-":
            self._i += 1
            inner = self._unary(depth + 1)
            return ("neg", inner) if tok.text == "-" else inner
        if tok.kind == "num":
            self._i += 1
            return ("num", float(tok.text))
        if tok.kind == "ref":
            self._i += 1
            scope, _, rest = tok.text.partition("metrics.")
            key = rest[1:-1] if rest[:1] in "\"'`" else rest
            if not key:
                raise _bad(self.expr, "empty metric name", tok.pos)
            return ("ref", "current" if scope else "version", key)
        if tok.kind == "op" and tok.text == "(":
            self._i += 1
            node = self._sum(depth + 1)
            if self._peek().text != ")":
                raise _bad(self.expr, "missing ')'", self._peek().pos)
            self._i += 1
            return node
        found = f"{tok.text!r}" if tok.text else "the end"
        raise _bad(self.expr, f"expected a number or a metric, found {found}", tok.pos)

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, metrics: dict, current: dict | None, current_ref: str | None) -> tuple[bool, str]:
        """``(passed, detail)``; ``current`` is the current holder's metrics (None when nothing holds the alias)."""
        if self.relative and current is None:
            return True, "no version holds the alias yet, so there is nothing to compare with"
        scopes = {"version": metrics, "current": current or {}}
        try:
            left, right = _value(self.left, scopes), _value(self.right, scopes)
        except _Missing as exc:
            who = f"the current holder {current_ref}" if exc.scope == "current" else "this version"
            return False, f"{who} has no metric {exc.key!r}"
        except ZeroDivisionError:
            return False, "division by zero while evaluating the condition"
        if not (math.isfinite(left) and math.isfinite(right)):
            return False, f"the values compared are not finite ({left} {self.op} {right})"
        passed = _COMPARE[self.op](left, right)
        shown_op = self.op if passed else _NEGATION[self.op]
        a, b = _fmt_pair(left, right)
        detail = f"{_side(self.left_text, self.left, a)} {shown_op} {_side(self.right_text, self.right, b)}"
        if self.relative:
            detail += f" (current holder {current_ref})"
        return passed, detail


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _refs(node) -> list[tuple[str, str]]:
    if node[0] == "ref":
        return [(node[1], node[2])]
    if node[0] == "neg":
        return _refs(node[1])
    if node[0] == "bin":
        return _refs(node[2]) + _refs(node[3])
    return []


def _value(node, scopes: dict) -> float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "ref":
        values = scopes[node[1]]
        if node[2] not in values:
            raise _Missing(node[1], node[2])
        return float(values[node[2]])
    if kind == "neg":
        return -_value(node[1], scopes)
    a, b = _value(node[2], scopes), _value(node[3], scopes)
    return {"+": a + b, "-": a - b, "*": a * b}[node[1]] if node[1] != "/" else a / b


def _fmt_pair(a: float, b: float) -> tuple[str, str]:
    """Short numbers, but never two equal-looking numbers for values that differ."""
    sa, sb = f"{a:.6g}", f"{b:.6g}"
    if sa == sb and a != b:
        return repr(a), repr(b)
    return sa, sb


def _side(text: str, node, value: str) -> str:
    return value if not _refs(node) else f"{text} = {value}"  # a constant shows only its value


def _one_line(exc: Exception, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ============================================================================ policies
def normalize_policy(data: Any, model: str, alias: str) -> Policy:
    """Validate a policy given as a :class:`Policy` or a dict (gates may be shorthand strings:
    ``"signature"``, ``"smoke"`` or a metric condition). Raises :class:`ValidationError` naming the problem."""
    if isinstance(data, Policy):
        data = data.to_dict()
    if not isinstance(data, dict):
        raise ValidationError(f"a policy must be a dict or a Policy, not {type(data).__name__}")
    unknown = sorted(set(data) - set(POLICY_KEYS))
    if unknown:
        raise ValidationError(f"unknown policy field(s) {', '.join(unknown)}; allowed: {', '.join(POLICY_KEYS)}")
    # "model" and "alias" inside the data are ignored: the arguments (the REST path) say where the policy
    # goes, so a policy read from one alias can be copied to another.
    approvals = data.get("required_approvals", 0)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 0 <= approvals <= MAX_APPROVALS:
        raise ValidationError(f"required_approvals must be an integer from 0 to {MAX_APPROVALS}, not {approvals!r}")
    allow_force = data.get("allow_force", False)
    if not isinstance(allow_force, bool):
        raise ValidationError(f"allow_force must be true or false, not {allow_force!r}")
    gates = data.get("gates", [])
    if not isinstance(gates, (list, tuple)):
        raise ValidationError(f"gates must be a list, not {type(gates).__name__}")
    if len(gates) > MAX_GATES:
        raise ValidationError(f"a policy holds at most {MAX_GATES} gates")
    clean: list[dict] = []
    for i, gate in enumerate(gates):
        gate = _normalize_gate(gate, i)
        if gate["type"] != "metric" and gate in clean:
            raise ValidationError(f"gate {i + 1}: the {gate['type']} gate is listed twice")
        clean.append(gate)
    return Policy(model=model, alias=alias, required_approvals=approvals, gates=clean, allow_force=allow_force)


def _normalize_gate(gate: Any, i: int) -> dict:
    if isinstance(gate, str):
        gate = {"type": gate} if gate.strip() in ("signature", "smoke") else {"type": "metric", "expr": gate}
    if not isinstance(gate, dict):
        raise ValidationError(f"gate {i + 1} must be a dict like {{'type': 'smoke'}}, not {gate!r}")
    kind = gate.get("type")
    if kind not in GATE_TYPES:
        raise ValidationError(f"gate {i + 1} has unknown type {kind!r}; types: {', '.join(GATE_TYPES)}")
    allowed = {"type", "expr"} if kind == "metric" else {"type"}
    extra = sorted(set(gate) - allowed)
    if extra:
        raise ValidationError(f"gate {i + 1} ({kind}) has unknown field(s) {', '.join(extra)}")
    if kind == "metric":
        return {"type": "metric", "expr": MetricCondition(gate.get("expr")).expr}
    return {"type": kind}


def gate_name(gate: dict) -> str:
    return f"metric {gate['expr']}" if gate["type"] == "metric" else gate["type"]


def describe_policy(policy: Policy) -> str:
    """One line, for the activity feed and the CLI."""
    parts = [f"{policy.required_approvals} approval(s) required"]
    parts += [gate_name(g) for g in policy.gates]
    parts.append("force allowed" if policy.allow_force else "no force")
    return "; ".join(parts)


# ============================================================================ evaluation
def evaluate(policy: Policy, *, candidate: ModelVersion, alias: str, current: ModelVersion | None,
             reviews: dict, smoke: Callable[[], tuple[bool, str]]) -> GateReport:
    """Run every requirement of ``policy`` for moving ``alias`` to ``candidate``.

    ``reviews`` is the candidate's review state; ``smoke`` runs the smoke test (called only when the
    policy has a smoke gate).
    """
    gates = []
    if policy.required_approvals:
        gates.append(_approvals_gate(policy.required_approvals, reviews, candidate.author))
    current_ref = current.ref if current is not None else None
    for gate in policy.gates:
        if gate["type"] == "metric":
            passed, detail = MetricCondition(gate["expr"]).evaluate(
                candidate.metrics, None if current is None else current.metrics, current_ref)
        elif gate["type"] == "signature":
            passed, detail = _signature_gate(candidate, current)
        else:
            passed, detail = smoke()
        gates.append({"name": gate_name(gate), "passed": bool(passed), "detail": detail})
    return GateReport(ref=candidate.ref, alias=alias, allowed=all(g["passed"] for g in gates), gates=gates)


def _approvals_gate(required: int, reviews: dict, author: str) -> dict:
    approvals, changes = reviews["approvals"], reviews["changes_requested"]
    count = f"{len(approvals)} approval{'s' if len(approvals) != 1 else ''}"
    detail = f"{count}{' (' + ', '.join(approvals) + ')' if approvals else ''} of {required} required"
    if reviews["self_reviews_ignored"]:
        detail += f"; the author's own review ({author}) does not count"
    if reviews.get("unverified_ignored"):
        detail += f"; unverified reviews ({', '.join(reviews['unverified_ignored'])}) do not count"
    if changes:
        detail += f"; changes requested by {', '.join(changes)}"
    return {"name": "approvals", "passed": len(approvals) >= required and not changes, "detail": detail}


def _signature_gate(candidate: ModelVersion, current: ModelVersion | None) -> tuple[bool, str]:
    if current is None:
        return True, "no version holds the alias yet, so there is no signature to stay compatible with"
    if current.signature is None:
        return True, f"the current holder {current.ref} has no signature to stay compatible with"
    if candidate.signature is None:
        return False, (f"{candidate.ref} has no signature (register it with an input_example) while the "
                       f"current holder {current.ref} has one")
    problem = check_compatible(current.signature, candidate.signature)
    if problem:
        return False, f"not compatible with the current holder {current.ref}: {problem}"
    return True, f"accepts the inputs of the current holder {current.ref}"


def smoke_test(registry, ref: str) -> tuple[bool, str]:
    """Load ``ref`` and predict on its stored input example; ``(passed, detail)``, never raises.

    Loading follows the trust rule of core/trust.py (someone else's pickle is not unpickled, a class
    named in stored metadata is not imported; in a registry with ``code_allowed = False``, the team
    server, no stored code runs at all, whoever asks).
    """
    try:
        obj = registry.load(ref)
    except TrustRequired as exc:
        if not getattr(registry, "code_allowed", True) or not getattr(registry, "trust_own_pickles", True):
            return False, (f"not loaded: {ref} is stored in a format that runs code when loaded, and the server "
                           "never unpickles for a smoke test (nor imports a class named in stored metadata); "
                           "register it in a format that loads safely "
                           "(scikit-learn models: install skops) or run `check` from your own machine ({exc})")
        return False, f"not loaded: {exc}"
    except Exception as exc:  # a smoke test reports any failure to load
        return False, f"loading {ref} failed: {_one_line(exc)}"
    try:
        example = registry.input_example(ref)
    except RegistryError as exc:
        return False, f"reading the input example of {ref} failed: {exc}"
    if example is None:
        return False, f"{ref} has no stored input example to predict on (register it with input_example=)"
    predict = getattr(obj, "predict", None)
    if not callable(predict):
        predict = obj if callable(obj) else None
    if predict is None:
        return False, f"the loaded {type(obj).__name__} has no predict() and is not callable"
    try:
        out = predict(example)
    except Exception as exc:
        return False, f"predict() on the input example raised {_one_line(exc)}"
    rows = len(example)
    try:
        got = len(out)
    except TypeError:
        got = None
    if got != rows:
        return False, f"predict() returned {got if got is not None else 'a ' + type(out).__name__} " \
                      f"for {rows} example rows"
    return True, f"loaded {type(obj).__name__} and predicted {rows} example row{'s' if rows != 1 else ''}"
