"""How a search runs fast at 100,000 versions: which index drives it, and a cheap true count.

:mod:`core.search` compiles the language; this module decides how the SQL is shaped:

- **Count** (``Results.total``): exact up to :data:`COUNT_CAP`; beyond that the search says
  "10,000+" (``total_capped``). The count is driven by the most selective *driver* — a top-level
  ``AND`` term the ``(key, value)`` indexes answer (``metrics.auc > 0.9``, ``params.solver = lbfgs``)
  — so a selective filter counts a few index entries instead of probing every version.
- **Page**: when the matches are few (fewer than about ``sqrt(all versions x rows wanted)``) they
  are fetched through the driver and sorted; when they are many, the query walks an index in the
  requested order and stops after the page — ``metrics_key_value_version`` for ``order_by
  metrics.<key>``, ``versions_created`` for the default newest-first — testing the other terms
  per row. Versions lacking the ordering metric come after, as the language says.

SQL text is assembled only from fixed fragments; every value and key is a parameter. What differs
between SQL engines (index hints, the plan-explaining statement) goes through a :class:`Dialect`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import search as lang

COUNT_CAP = 10_000
DRIVER_OPS = {"=", "<", "<=", ">", ">=", "IN"}
FROM = "FROM versions v JOIN models m ON m.id = v.model_id"


class Dialect:
    """What SQLite writes differently from other engines (PostgreSQL will subclass this)."""

    name = "sqlite"
    explain = "EXPLAIN QUERY PLAN "

    def index_hint(self, index: str) -> str:
        return f" INDEXED BY {index}"


SQLITE = Dialect()


@dataclass
class Driver:
    table: str
    key: str
    cond: str  # over d.value
    params: list
    rest: list  # the other top-level AND terms (parsed nodes)


@dataclass
class SearchQuery:
    """A compiled search, ready to count and page (see :meth:`Store.search_page`)."""

    node: object
    items: list
    where: str  # the whole expression, correlated EXISTS form
    where_params: list
    order: str
    order_params: list
    drivers: list = field(default_factory=list)
    dialect: Dialect = SQLITE

    @classmethod
    def build(cls, expr: str | None, order_by: str | None, dialect: Dialect = SQLITE) -> "SearchQuery":
        node = lang.parse(expr)
        items = lang.order_items(order_by)
        where_params: list = []
        where = lang.node_sql(node, where_params)
        order, order_params = lang.compile_order(order_by)
        return cls(node, items, where, where_params, order, order_params, _drivers(node), dialect)

    # -- statements ----------------------------------------------------------------------------
    def estimate_sql(self, d: Driver) -> tuple[str, list]:
        """Capped count of the index entries a driver selects (no table rows are read)."""
        return (f"SELECT COUNT(*) FROM (SELECT 1 FROM {d.table} d WHERE d.key = ? AND {d.cond} LIMIT ?)",
                [d.key, *d.params, COUNT_CAP + 1])

    def count_sql(self, d: Driver | None) -> tuple[str, list]:
        if d is None:
            if self.node is None:
                return "SELECT COUNT(*) FROM (SELECT 1 FROM versions LIMIT ?)", [COUNT_CAP + 1]
            inner, args = self._in_form(self.node)
            return f"SELECT COUNT(*) FROM (SELECT 1 {FROM} WHERE {inner} LIMIT ?)", [*args, COUNT_CAP + 1]
        rest, rest_args = self._rest(d)
        if rest == "1":
            return self.estimate_sql(d)
        return (f"SELECT COUNT(*) FROM (SELECT 1 {self._driven_from(d)} AND {rest} LIMIT ?)",
                [d.key, *d.params, *rest_args, COUNT_CAP + 1])

    def few_sql(self, d: Driver | None, limit: int, offset: int) -> tuple[str, list]:
        """The page when the matches are few: select them all (through the driver), then sort."""
        if d is None:
            inner, args = self._in_form(self.node)
            return (f"SELECT v.id {FROM} WHERE {inner} ORDER BY {self.order} LIMIT ? OFFSET ?",
                    [*args, *self.order_params, limit, offset])
        rest, rest_args = self._rest(d)
        return (f"SELECT v.id {self._driven_from(d)} AND {rest} ORDER BY {self.order} LIMIT ? OFFSET ?",
                [d.key, *d.params, *rest_args, *self.order_params, limit, offset])

    def ordered_metric(self) -> lang.OrderItem | None:
        first = self.items[0] if self.items else None
        return first if first is not None and first.field == "metrics" else None

    def many_sql(self, limit: int, offset: int) -> tuple[str, list]:
        """The page when the matches are many: walk the ordering index, test each row, stop early."""
        first = self.ordered_metric()
        if first is None:
            return (f"SELECT v.id {FROM} WHERE {self.where} ORDER BY {self.order} LIMIT ? OFFSET ?",
                    [*self.where_params, *self.order_params, limit, offset])
        rest_items = self.items[1:]
        tie = "o.version_id DESC" if not rest_items else ", ".join([i.sql for i in rest_items] + ["v.id DESC"])
        return (f"SELECT v.id FROM metrics o{self.dialect.index_hint('metrics_key_value_version')}"
                f" JOIN versions v ON v.id = o.version_id JOIN models m ON m.id = v.model_id"
                f" WHERE o.key = ? AND {self.where} ORDER BY o.value {first.direction}, {tie} LIMIT ? OFFSET ?",
                [first.key, *self.where_params, *[p for i in rest_items for p in i.params], limit, offset])

    def lacking_sql(self, limit: int, offset: int) -> tuple[str, list]:
        """After the versions holding the ordering metric: those without it, in the other items' order."""
        first = self.ordered_metric()
        rest_items = self.items[1:]
        order = ", ".join([i.sql for i in rest_items] + ["v.id DESC"])
        return (f"SELECT v.id {FROM} WHERE NOT EXISTS (SELECT 1 FROM metrics o WHERE o.version_id = v.id"
                f" AND o.key = ?) AND {self.where} ORDER BY {order} LIMIT ? OFFSET ?",
                [first.key, *self.where_params, *[p for i in rest_items for p in i.params], limit, offset])

    def holding_count_sql(self) -> tuple[str, list]:
        first = self.ordered_metric()
        return (f"SELECT COUNT(*) FROM metrics o JOIN versions v ON v.id = o.version_id"
                f" JOIN models m ON m.id = v.model_id WHERE o.key = ? AND {self.where}",
                [first.key, *self.where_params])

    @staticmethod
    def few(total: int, all_versions: int, limit: int, offset: int) -> bool:
        """Whether sorting every match is cheaper than walking an index until the page is full."""
        return total <= COUNT_CAP and total <= math.sqrt(max(1, all_versions) * (limit + offset))

    # -- pieces --------------------------------------------------------------------------------
    def _driven_from(self, d: Driver) -> str:
        return (f"FROM {d.table} d JOIN versions v ON v.id = d.version_id JOIN models m ON m.id = v.model_id"
                f" WHERE d.key = ? AND {d.cond}")

    @staticmethod
    def _rest(d: Driver) -> tuple[str, list]:
        if not d.rest:
            return "1", []
        args: list = []
        node = d.rest[0] if len(d.rest) == 1 else ("AND", d.rest)
        return lang.node_sql(node, args), args

    @staticmethod
    def _in_form(node) -> tuple[str, list]:
        args: list = []
        return lang.node_sql(node, args, form="in"), args


def indexed(expr: str | None) -> bool:
    """Whether a search is answered through an index: no expression, or a top-level term a
    ``(key, value)`` index drives. Without one, counting and paging scan every version."""
    return not (expr or "").strip() or bool(_drivers(lang.parse(expr)))


def _drivers(node) -> list[Driver]:
    """Top-level AND terms a ``(key, value)`` index answers, each with the terms left over."""
    terms = node[1] if isinstance(node, tuple) and node[0] == "AND" else [node] if node is not None else []
    out = []
    for i, term in enumerate(terms):
        if not isinstance(term, lang.Compare) or term.op not in DRIVER_OPS:
            continue
        table = lang.KEYED.get(term.field)
        if table not in ("metrics", "params", "version_tags"):
            continue
        numeric = all(t.kind == "num" for t in term.values)
        if term.field != "metrics" and numeric:  # compared as CAST(value AS REAL): no index order
            continue
        params: list = []
        try:
            cond = lang.keyed_condition(term, params, alias="d")
        except lang.InvalidSearch:
            continue
        out.append(Driver(table, term.key, cond, params, terms[:i] + terms[i + 1:]))
    return out
