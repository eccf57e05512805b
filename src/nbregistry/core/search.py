"""The search language over model versions, compiled to parameterized SQLite SQL.

The language is documented in docs/search.md. Compiled SQL refers to the aliases ``v``
(versions) and ``m`` (models), as in::

    SELECT ... FROM versions v JOIN models m ON m.id = v.model_id
    WHERE <compile_where> ORDER BY <compile_order> LIMIT ?

Every user value and every metrics/params/tags key goes into the parameter list; the SQL text
holds only fixed fragments chosen by this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from .errors import InvalidSearch

SearchError = InvalidSearch  # the name faces may catch; it is a ValueError

MAX_LENGTH = 4000
MAX_DEPTH = 50
MAX_SQL_DEPTH = 16  # SQLite < 3.46 has a fixed parser stack; ~22-30 nested groups overflow it
DEFAULT_ORDER = "v.created_at DESC, v.id DESC"

COLUMNS = {  # field -> SQL column; `created` gets its own date handling
    "name": "m.name COLLATE NOCASE", "version": "v.version", "author": "v.author",
    "created": "v.created_at", "status": "v.status", "flavor": "v.flavor",
    "description": "v.description", "model.description": "m.description",
}
KEYED = {"metrics": "metrics", "params": "params", "tags": "version_tags",
         "model.tags": "model_tags"}  # prefix -> table
OWNER = {"model_tags": "x.model_id = m.id"}  # how a keyed table's row belongs to the version (else by version_id)
FIELDS_HELP = ", ".join([*COLUMNS, "alias", "tags.<key>", "params.<key>", "metrics.<key>", "model.tags.<key>"])
KEYWORDS = {"and", "or", "not", "like", "in"}
NEGATED = {"!=": "=", "NOT IN": "IN", "NOT LIKE": "LIKE"}

# A params/tags value counts as a number when it is a JSON number ('5', '-0.5', '1e-3').
def _is_number(column: str = "x.value") -> str:
    return (f"(CASE WHEN json_valid({column}) THEN json_type({column}) IN ('integer', 'real') "
            "ELSE 0 END)")


_IS_NUMBER = _is_number()

_NUMBER = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?![\w.:+-])")
_WORD = re.compile(r"[\w.:+-]+")
_OPS = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


@dataclass
class Token:
    kind: str  # "op" "(" ")" "," "num" "str" "word" "field" "end"
    text: str  # as written, for messages and for numbers compared as text
    pos: int
    value: object = None  # number, unescaped string, or (prefix, key) for a quoted-key field


@dataclass
class Compare:
    field: str  # a COLUMNS name, "alias", or a KEYED prefix
    key: str | None
    op: str  # = != < <= > >= LIKE, NOT LIKE, IN, NOT IN
    op_token: Token
    values: list[Token]


def _fail(message: str) -> NoReturn:
    raise InvalidSearch(message)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    quote, out, i = text[start], [], start + 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        elif c == quote:
            return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    _fail(f"unterminated string starting at position {start}")


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?[0-9]+", text) and abs(int(text)) < 2**63:
        return int(text)
    return float(text)


def _tokenize(text: str) -> list[Token]:
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if c in "(),":
            tokens.append(Token(c, c, i))
            i += 1
        elif op:
            tokens.append(Token("op", op, i, {"==": "=", "<>": "!="}.get(op, op)))
            i += len(op)
        elif c in "'\"":
            value, end = _read_quoted(text, i)
            tokens.append(Token("str", text[i:end], i, value))
            i = end
        elif m := _NUMBER.match(text, i):
            tokens.append(Token("num", m.group(), i, _number(m.group())))
            i = m.end()
        elif m := _WORD.match(text, i):
            word, end = m.group(), m.end()
            quoted_key = end < n and text[end] in "'\"`" and word.endswith(".")
            if quoted_key and word[:-1].lower() in KEYED:
                key, end = _read_quoted(text, end)  # metrics."val auc", metrics.`x`
                tokens.append(Token("field", text[i:end], i, (word[:-1].lower(), key)))
            else:
                tokens.append(Token("word", word, i, word))
            i = end
        else:
            _fail(f"unexpected character {c!r} at position {i}")
    tokens.append(Token("end", "", n))
    return tokens


def _field(t: Token) -> tuple[str, str | None]:
    """The (field, key) a token names, or an error saying what is wrong with it."""
    if t.kind == "word" and t.text.lower() not in KEYWORDS:
        if t.text.lower() in COLUMNS or t.text.lower() == "alias":
            return t.text.lower(), None
        prefix, dot, key = t.text.partition(".")
        if prefix.lower() == "model" and key.lower().startswith("tags."):
            prefix, key = "model.tags", key[len("tags."):]
        if not (dot and prefix.lower() in KEYED):
            _fail(f"unknown field {t.text!r} at position {t.pos} (fields: {FIELDS_HELP})")
        prefix, key = prefix.lower(), key
    elif t.kind == "field":
        prefix, key = t.value
    else:
        _fail(f"expected a field at position {t.pos}, got {_describe(t)}")
    if not key:
        _fail(f"missing key after '{prefix}.' at position {t.pos}")
    return prefix, key


def _describe(t: Token) -> str:
    return "the end of the expression" if t.kind == "end" else repr(t.text)


def _check_text(text) -> None:
    if not isinstance(text, str):
        _fail("a search expression must be a string")
    if len(text) > MAX_LENGTH:
        _fail(f"search expression is too long ({len(text)} characters; the limit is {MAX_LENGTH})")


def _group(op: str, parse_operand, more) -> Compare | tuple:
    """``operand (op operand)*`` as one flat ("AND"|"OR", [operands]) node, merging nested
    groups of the same operator, so the SQL nests no deeper than the logic does."""
    operands = [parse_operand()]
    while more():
        operands.append(parse_operand())
    if len(operands) == 1:
        return operands[0]
    flat = []
    for node in operands:
        flat.extend(node[1] if isinstance(node, tuple) and node[0] == op else [node])
    return (op, flat)


class _Parser:
    """Recursive descent; precedence from loosest to tightest: OR, AND, NOT, comparison."""

    def __init__(self, text: str):
        self.tokens, self.i, self.depth = _tokenize(text), 0, 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        self.i += 1
        return self.tokens[self.i - 1]

    def keyword(self, *words: str) -> str | None:
        t = self.peek()
        if t.kind == "word" and t.text.lower() in words:
            self.i += 1
            return t.text.upper()
        return None

    def enter(self, t: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            _fail(f"expression nests deeper than {MAX_DEPTH} levels at position {t.pos}")

    def parse(self):
        node = self.parse_or()
        t = self.peek()
        if t.kind == ")":
            _fail(f"unbalanced parenthesis: unexpected ')' at position {t.pos}")
        if t.kind != "end":
            _fail(f"unexpected {t.text!r} at position {t.pos} (expected AND, OR or the end)")
        return node

    def parse_or(self):
        return _group("OR", self.parse_and, lambda: self.keyword("or"))

    def parse_and(self):
        return _group("AND", self.parse_not, lambda: self.keyword("and"))

    def parse_not(self):
        t = self.peek()
        if self.keyword("not"):
            self.enter(t)
            node = self.parse_not()
            self.depth -= 1
            return node[1] if isinstance(node, tuple) and node[0] == "NOT" else ("NOT", node)
        if t.kind != "(":
            return self.comparison()
        self.take()
        self.enter(t)
        node = self.parse_or()
        close = self.take()
        if close.kind == "end":
            _fail(f"unbalanced parenthesis: '(' at position {t.pos} is never closed")
        if close.kind != ")":
            _fail(f"expected AND, OR or ')' at position {close.pos}, got {close.text!r}")
        self.depth -= 1
        return node

    def comparison(self) -> Compare:
        field, key = _field(self.take())
        op_token = self.peek()
        if op_token.kind == "op":
            self.take()
            return Compare(field, key, op_token.value, op_token, [self.value(op_token)])
        negate = self.keyword("not")
        word = self.keyword("like", "in")
        if negate and not word:
            _fail(f"expected LIKE or IN after NOT at position {op_token.pos}")
        if not word:
            _fail(f"expected an operator (=, !=, <, <=, >, >=, LIKE, IN, NOT LIKE, NOT IN) "
                  f"at position {op_token.pos}, got {_describe(op_token)}")
        op = f"NOT {word}" if negate else word
        if word == "LIKE":
            return Compare(field, key, op, op_token, [self.value(op_token)])
        return Compare(field, key, op, op_token, self.value_list(op_token))

    def value(self, after: Token) -> Token:
        t = self.peek()
        if t.kind in ("num", "str") or (t.kind == "word" and t.text.lower() not in KEYWORDS):
            return self.take()
        got = "" if t.kind == "end" else f", got {t.text!r} at position {t.pos}"
        _fail(f"expected a value after {after.text!r} at position {after.pos}{got}")

    def value_list(self, after: Token) -> list[Token]:
        start = self.take()
        if start.kind != "(":
            _fail(f"expected '(' after IN at position {start.pos}, got {_describe(start)}")
        values = [self.value(start)]
        while self.peek().kind == ",":
            values.append(self.value(self.take()))
        close = self.take()
        if close.kind == "end":
            _fail(f"unbalanced parenthesis: IN list at position {start.pos} is never closed")
        if close.kind != ")":
            _fail(f"expected ',' or ')' in IN list at position {close.pos}, got {close.text!r}")
        return values


def _condition(column: str, op: str, values: list, params: list) -> str:
    params.extend(values)
    if op in ("IN", "NOT IN"):
        return f"{column} {op} ({', '.join('?' * len(values))})"
    return f"{column} {op} ?"


def _text(t: Token) -> str:
    return t.text if t.kind == "num" else t.value  # numbers compared as text keep their spelling


def _need_number(t: Token, what: str) -> int | float:
    if t.kind != "num":
        _fail(f"{what} compares numerically: expected a number at position {t.pos}, got {t.text!r}")
    return t.value


def _date_range(t: Token) -> tuple[str, str]:
    """[start, end) in the stored UTC text format for a date written at any precision."""
    m = _DATE.fullmatch(_text(t).strip()) if t.kind != "num" else None
    if not m:
        _fail(f"expected a date like '2026-01-01' or '2026-01-01T10:00' at position {t.pos}, "
              f"got {t.text!r}")
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        start = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                         int((frac or "0").ljust(6, "0")))
        if tz and tz != "Z":
            sign = 1 if tz[0] == "+" else -1
            start -= sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[-2:]))
        step = ("microseconds" if frac else "seconds" if ss else "minutes" if mi
                else "hours" if hh else "days")
        end = start + timedelta(**{step: 1})
    except (ValueError, OverflowError):
        _fail(f"invalid date {t.text!r} at position {t.pos}")
    return tuple(when.isoformat(timespec="microseconds") + "Z" for when in (start, end))


def _created_sql(c: Compare, params: list) -> str:
    col = "v.created_at"
    if c.op in ("LIKE", "NOT LIKE"):
        return _condition(col, c.op, [_text(c.values[0])], params)
    if c.op in ("<", "<=", ">", ">="):
        start, end = _date_range(c.values[0])
        bound = {"<": ("<", start), "<=": ("<", end), ">": (">=", end), ">=": (">=", start)}[c.op]
        return _condition(col, bound[0], [bound[1]], params)
    ranges = []  # =, !=, IN, NOT IN: within (or not within) the periods the dates name
    for t in c.values:
        params.extend(_date_range(t))
        ranges.append(f"{col} >= ? AND {col} < ?")
    within = "(" + " OR ".join(ranges) + ")"
    return within if c.op in ("=", "IN") else f"NOT {within}"


def _compare_sql(c: Compare, params: list, form: str = "exists") -> str:
    like = c.op in ("LIKE", "NOT LIKE")
    if c.field == "created":
        return _created_sql(c, params)
    if c.field in COLUMNS:
        if c.field == "version":
            if like:
                _fail(f"{c.op} needs a text field; version is a number (position {c.op_token.pos})")
            values = [_need_number(t, "version") for t in c.values]
        else:
            values = [_text(t) for t in c.values]
        return _condition(COLUMNS[c.field], c.op, values, params)
    if c.field == "alias":
        if c.op in ("<", "<=", ">", ">="):
            _fail(f"alias supports =, !=, IN, NOT IN, LIKE and NOT LIKE; "
                  f"got {c.op!r} at position {c.op_token.pos}")
        op = NEGATED.get(c.op, c.op)  # "not holding": NOT EXISTS of the positive test
        inner = _condition("a.alias COLLATE NOCASE", op, [_text(t) for t in c.values], params)
        exists = f"EXISTS (SELECT 1 FROM aliases a WHERE a.version_id = v.id AND {inner})"
        return f"NOT {exists}" if op != c.op else exists
    # metrics / params / tags: the key must exist and its value satisfy the comparison.
    params.append(c.key)
    table = KEYED[c.field]
    if table in OWNER:  # model-level tags: one row per model, not per version
        return f"EXISTS (SELECT 1 FROM {table} x WHERE {OWNER[table]} AND x.key = ? AND " \
               f"{_keyed_condition(c, params)})"
    if form == "in":  # selective conditions: SQLite drives the query from the (key, value) index
        return (f"v.id IN (SELECT x.version_id FROM {table} x "
                f"WHERE x.key = ? AND {_keyed_condition(c, params)})")
    return (f"EXISTS (SELECT 1 FROM {table} x "
            f"WHERE x.version_id = v.id AND x.key = ? AND {_keyed_condition(c, params)})")


def _keyed_condition(c: Compare, params: list, alias: str = "x") -> str:
    """The test on ``<alias>.value`` of a metrics/params/tags row."""
    like = c.op in ("LIKE", "NOT LIKE")
    guard, column = "", f"{alias}.value"
    if c.field == "metrics":
        if like:
            _fail(f"{c.op} needs a text field; metrics.{c.key} is a number "
                  f"(position {c.op_token.pos})")
        values = [_need_number(t, f"metrics.{c.key}") for t in c.values]
    elif not like and all(t.kind == "num" for t in c.values):
        guard, column = f"{_is_number(column)} AND ", f"CAST({column} AS REAL)"
        values = [t.value for t in c.values]
    else:
        values = [_text(t) for t in c.values]
    return guard + _condition(column, c.op, values, params)


def _sql(node, params: list, depth: int = 1, form: str = "exists") -> str:
    if isinstance(node, Compare):
        return _compare_sql(node, params, form)
    if depth > MAX_SQL_DEPTH:
        _fail(f"expression is too complex: AND, OR and NOT groups nest more than "
              f"{MAX_SQL_DEPTH} deep")
    if node[0] == "NOT":
        return f"NOT {_sql(node[1], params, depth + 1, form)}"  # comparisons and EXISTS bind tighter
    return "(" + f" {node[0]} ".join(_sql(child, params, depth + 1, form) for child in node[1]) + ")"


def parse(expr: str | None):
    """The parsed expression: ``None`` (matches everything), a :class:`Compare`, or a group
    ``("AND" | "OR", [nodes])`` / ``("NOT", node)``. Raises ``InvalidSearch``."""
    if expr is None or (isinstance(expr, str) and not expr.strip()):
        return None
    _check_text(expr)
    return _Parser(expr).parse()


def node_sql(node, params: list, form: str = "exists") -> str:
    """SQL for a parsed node (see :func:`compile_where`); ``form="in"`` writes metrics/params/tags
    tests as ``v.id IN (SELECT version_id ...)`` instead of correlated ``EXISTS``."""
    return "1" if node is None else _sql(node, params, 1, form)


def compile_where(expr: str | None) -> tuple[str, list]:
    """Compile a search expression to an SQL boolean over ``v`` (versions) and ``m`` (models).

    Returns ``(sql, params)``; an empty or blank expression gives ``("1", [])``.
    Raises ``InvalidSearch`` (alias ``SearchError``, a ``ValueError``) naming the problem and
    its position.
    """
    if expr is None or (isinstance(expr, str) and not expr.strip()):
        return "1", []
    _check_text(expr)
    params: list = []
    return _sql(_Parser(expr).parse(), params), params


def compile_order(order_by: str | None) -> tuple[str, list]:
    """Compile ``"metrics.auc desc, created asc"`` to an ORDER BY body (without ``ORDER BY``).

    Items are ``field [ASC|DESC]`` (ASC by default), comma separated. metrics/params/tags keys
    sort by a scalar subquery; versions lacking the key sort last in either direction. Ties are
    broken by ``v.id DESC``. None or blank gives ``"v.created_at DESC, v.id DESC"``.
    """
    items = order_items(order_by)
    if not items:
        return DEFAULT_ORDER, []
    return ", ".join([item.sql for item in items] + ["v.id DESC"]), [p for item in items for p in item.params]


@dataclass
class OrderItem:
    field: str
    key: str | None
    direction: str  # ASC | DESC
    sql: str  # "<expression> <direction>[ NULLS LAST]"
    params: list


def order_items(order_by: str | None) -> list[OrderItem]:
    """The parsed items of an ``order_by`` (empty for None or blank); see :func:`compile_order`."""
    if order_by is None or (isinstance(order_by, str) and not order_by.strip()):
        return []
    _check_text(order_by)
    tokens, i, items = _tokenize(order_by), 0, []
    while True:
        t = tokens[i]
        field, key = _field(t)
        if field == "alias":
            _fail(f"cannot order by alias (position {t.pos})")
        if field in COLUMNS:
            expr = COLUMNS[field]
        elif field == "metrics":
            expr = "(SELECT x.value FROM metrics x WHERE x.version_id = v.id AND x.key = ?)"
        else:  # numbers sort numerically, and before text when ascending
            owner = OWNER.get(KEYED[field], "x.version_id = v.id")
            expr = (f"(SELECT CASE WHEN {_IS_NUMBER} THEN CAST(x.value AS REAL) ELSE x.value END "
                    f"FROM {KEYED[field]} x WHERE {owner} AND x.key = ?)")
        direction, d = "ASC", tokens[i + 1]
        if d.kind not in (",", "end"):
            if d.kind != "word" or d.text.lower() not in ("asc", "desc"):
                _fail(f"unknown order direction {d.text!r} at position {d.pos} (use ASC or DESC)")
            direction, i = d.text.upper(), i + 1
        items.append(OrderItem(field, key, direction,
                               f"{expr} {direction}" + (" NULLS LAST" if key is not None else ""),
                               [key] if key is not None else []))
        sep = tokens[i + 1]
        if sep.kind == "end":
            break
        if sep.kind != ",":
            _fail(f"expected ',' or the end of the ordering at position {sep.pos}, "
                  f"got {sep.text!r}")
        i += 2
    return items


keyed_condition = _keyed_condition  # for search_plan: the same test on a driving index's rows
