"""The search language: compiled SQL run against a real registry schema (docs/schema.md)."""

import re
import sqlite3
from pathlib import Path

import pytest

from nbregistry.core.errors import InvalidSearch
from nbregistry.core.search import SearchError, compile_order, compile_where

SCHEMA_MD = Path(__file__).resolve().parents[2] / "docs" / "schema.md"

# model name, version, author, created_at, status, flavor, description
VERSIONS = [
    ("churn", 1, "alice", "2026-01-01T09:00:00.000000Z", "active", "sklearn", "baseline logistic"),
    ("churn", 2, "bob", "2026-01-01T15:30:00.000000Z", "active", "sklearn", "gradient boosting"),
    ("churn", 3, "alice", "2026-02-10T08:00:00.000000Z", "archived", "xgboost", ""),
    ("Fraud", 1, "carol", "2025-12-31T23:59:59.999999Z", "active", "pickle", "first try"),
    ("Fraud", 2, "alice", "2026-03-01T00:00:00.000000Z", "active", "file", "it's \"quoted\""),
]
METRICS = {
    "churn:1": {"auc": 0.71, "loss": 0.5},
    "churn:2": {"auc": 0.85, "val auc": 0.8, "val.auc": 0.7, "val-auc": 0.6},
    "churn:3": {"auc": 0.9, "loss": -2.0},
    "Fraud:1": {"auc": 0.8},
    "Fraud:2": {"f1": 0.6},
}
PARAMS = {
    "churn:1": {"max_depth": "5", "solver": "lbfgs"},
    "churn:2": {"max_depth": "12", "solver": "saga"},
    "churn:3": {"max_depth": "None", "lr": "1e-3"},
    "Fraud:1": {"max_depth": "8.0"},
}
TAGS = {
    "churn:1": {"team": "growth"},
    "churn:2": {"team": "growth"},
    "Fraud:2": {"team": "risk", "priority": "2"},
}
ALIASES = [("churn", "production", 2), ("churn", "Staging", 3), ("Fraud", "production", 1)]
ALL = {"churn:1", "churn:2", "churn:3", "Fraud:1", "Fraud:2"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    ddl = re.search(r"```sql\n(.*?)```", SCHEMA_MD.read_text(), re.S).group(1)
    conn = sqlite3.connect(tmp_path_factory.mktemp("search") / "registry.db")
    conn.executescript(ddl)
    models, ids = {}, {}
    for name, number, author, created, status, flavor, description in VERSIONS:
        if name not in models:
            models[name] = conn.execute(
                "INSERT INTO models (name, created_at, created_by) VALUES (?, ?, ?)",
                (name, created, author),
            ).lastrowid
        ids[f"{name}:{number}"] = conn.execute(
            "INSERT INTO versions (model_id, version, created_at, author, status, flavor, description,"
            " artifact_sha, artifact_size) VALUES (?, ?, ?, ?, ?, ?, ?, 'sha', 1)",
            (models[name], number, created, author, status, flavor, description),
        ).lastrowid
    for table, rows in (("metrics", METRICS), ("params", PARAMS), ("version_tags", TAGS)):
        for ref, values in rows.items():
            for key, value in values.items():
                conn.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (ids[ref], key, value))
    for name, alias, number in ALIASES:
        conn.execute(
            "INSERT INTO aliases VALUES (?, ?, ?, '2026-01-01T00:00:00.000000Z', 'alice')",
            (models[name], alias, ids[f"{name}:{number}"]),
        )
    conn.commit()
    yield conn
    conn.close()


def run(db, where="", order_by=None):
    """Refs (``name:version``) matching ``where``, in the compiled order."""
    where_sql, where_params = compile_where(where)
    order_sql, order_params = compile_order(order_by)
    assert where_sql.count("?") == len(where_params)
    assert order_sql.count("?") == len(order_params)
    rows = db.execute(
        "SELECT m.name || ':' || v.version FROM versions v JOIN models m ON m.id = v.model_id"
        f" WHERE {where_sql} ORDER BY {order_sql} LIMIT ?",
        [*where_params, *order_params, 100],
    )
    return [r[0] for r in rows]


def found(db, where):
    return set(run(db, where))


@pytest.mark.parametrize(
    "where, expected",
    [
        # plain columns and every comparison operator
        ("version = 2", {"churn:2", "Fraud:2"}),
        ("version == 2", {"churn:2", "Fraud:2"}),
        ("version != 1", {"churn:2", "churn:3", "Fraud:2"}),
        ("version <> 1", {"churn:2", "churn:3", "Fraud:2"}),
        ("version < 2", {"churn:1", "Fraud:1"}),
        ("version <= 2", ALL - {"churn:3"}),
        ("version > 2", {"churn:3"}),
        ("version >= 2", {"churn:2", "churn:3", "Fraud:2"}),
        ("version IN (1, 3)", {"churn:1", "churn:3", "Fraud:1"}),
        ("version NOT IN (1, 3)", {"churn:2", "Fraud:2"}),
        ("author = alice", {"churn:1", "churn:3", "Fraud:2"}),
        ("author != alice", {"churn:2", "Fraud:1"}),
        ("status = archived", {"churn:3"}),
        ("flavor = sklearn", {"churn:1", "churn:2"}),
        ("flavor IN (pickle, 'file')", {"Fraud:1", "Fraud:2"}),
        ("description LIKE '%boost%'", {"churn:2"}),
        ("description NOT LIKE '%i%'", {"churn:3"}),
        ("description = 'it\\'s \"quoted\"'", {"Fraud:2"}),
        ('description = "it\'s \\"quoted\\""', {"Fraud:2"}),
        # names compare case-insensitively
        ("name = CHURN", {"churn:1", "churn:2", "churn:3"}),
        ("name = 'fraud'", {"Fraud:1", "Fraud:2"}),
        ("name != fraud", {"churn:1", "churn:2", "churn:3"}),
        ("name IN (FRAUD, nothing)", {"Fraud:1", "Fraud:2"}),
        ("name NOT IN (FRAUD)", {"churn:1", "churn:2", "churn:3"}),
        ("name LIKE 'CH%'", {"churn:1", "churn:2", "churn:3"}),
        ("name NOT LIKE 'ch%'", {"Fraud:1", "Fraud:2"}),
        ("name < d", {"churn:1", "churn:2", "churn:3"}),
        # aliases: holding, not holding, case-insensitive
        ("alias = production", {"churn:2", "Fraud:1"}),
        ("alias = STAGING", {"churn:3"}),
        ("alias = 'staging'", {"churn:3"}),
        ("alias != production", {"churn:1", "churn:3", "Fraud:2"}),
        ("alias IN (staging, Production)", {"churn:2", "churn:3", "Fraud:1"}),
        ("alias NOT IN (staging, production)", {"churn:1", "Fraud:2"}),
        ("alias LIKE 'prod%'", {"churn:2", "Fraud:1"}),
        ("alias NOT LIKE 'prod%'", {"churn:1", "churn:3", "Fraud:2"}),
        ("alias = champion", set()),
        ("NOT alias != production", {"churn:2", "Fraud:1"}),
        # metrics: numeric, and the metric must exist
        ("metrics.auc > 0.8", {"churn:2", "churn:3"}),
        ("metrics.auc >= 0.8", {"churn:2", "churn:3", "Fraud:1"}),
        ("metrics.auc < 0.8", {"churn:1"}),
        ("metrics.auc <= 0.8", {"churn:1", "Fraud:1"}),
        ("metrics.auc = 0.8", {"Fraud:1"}),
        ("metrics.auc != 0.8", {"churn:1", "churn:2", "churn:3"}),
        ("metrics.auc IN (0.71, 0.9)", {"churn:1", "churn:3"}),
        ("metrics.auc NOT IN (0.71, 0.9)", {"churn:2", "Fraud:1"}),
        ("metrics.auc > 8.5e-1", {"churn:3"}),
        ("metrics.auc > 85E-2", {"churn:3"}),
        ("metrics.loss < -1", {"churn:3"}),
        ("metrics.loss > -1", {"churn:1"}),
        ("metrics.loss = -2", {"churn:3"}),
        ("metrics.auc > 0", ALL - {"Fraud:2"}),
        ("metrics.missing > 0", set()),
        ("NOT metrics.auc > 0.8", {"churn:1", "Fraud:1", "Fraud:2"}),
        ("NOT metrics.auc > -1", {"Fraud:2"}),
        # keys: quoted, dotted, hyphenated, case of the prefix
        ('metrics."val auc" > 0.5', {"churn:2"}),
        ("metrics.'val auc' = 0.8", {"churn:2"}),
        ("metrics.`val auc` = 0.8", {"churn:2"}),
        ("metrics.val.auc = 0.7", {"churn:2"}),
        ("metrics.val-auc = 0.6", {"churn:2"}),
        ("Metrics.auc = 0.9", {"churn:3"}),
        # params: numbers compare numerically when the stored value is a number
        ("params.max_depth > 6", {"churn:2", "Fraud:1"}),
        ("params.max_depth = 8", {"Fraud:1"}),
        ("params.max_depth != 5", {"churn:2", "Fraud:1"}),
        ("params.max_depth IN (5, 8)", {"churn:1", "Fraud:1"}),
        ("params.max_depth NOT IN (5, 8)", {"churn:2"}),
        ("params.lr < 0.01", {"churn:3"}),
        # ... and as text when the literal is quoted or a word, or with LIKE
        ("params.max_depth = '8'", set()),
        ("params.max_depth = '8.0'", {"Fraud:1"}),
        ("params.max_depth > '6'", {"Fraud:1", "churn:3"}),
        ("params.max_depth = None", {"churn:3"}),
        ("params.max_depth IN (5, None)", {"churn:1", "churn:3"}),
        ("params.max_depth LIKE '1%'", {"churn:2"}),
        ("params.max_depth NOT LIKE '1%'", {"churn:1", "churn:3", "Fraud:1"}),
        ("params.solver = lbfgs", {"churn:1"}),
        ("params.solver > m", {"churn:2"}),
        ("params.solver != lbfgs", {"churn:2"}),
        # tags behave like params
        ("tags.team = growth", {"churn:1", "churn:2"}),
        ("tags.team IN (growth, risk)", {"churn:1", "churn:2", "Fraud:2"}),
        ("tags.priority >= 2", {"Fraud:2"}),
        ("tags.priority = 2.0", {"Fraud:2"}),
        ("tags.team != growth", {"Fraud:2"}),
        ("NOT tags.team = growth", {"churn:3", "Fraud:1", "Fraud:2"}),
        # created: dates stand for the period they name; times are UTC unless an offset is given
        ("created = 2026-01-01", {"churn:1", "churn:2"}),
        ("created != 2026-01-01", {"churn:3", "Fraud:1", "Fraud:2"}),
        ("created < 2026-01-01", {"Fraud:1"}),
        ("created <= 2026-01-01", {"Fraud:1", "churn:1", "churn:2"}),
        ("created > 2026-01-01", {"churn:3", "Fraud:2"}),
        ("created >= '2026-01-01'", {"churn:1", "churn:2", "churn:3", "Fraud:2"}),
        ("created >= '2026-01-01T10:00'", {"churn:2", "churn:3", "Fraud:2"}),
        ("created = '2026-01-01T15:30'", {"churn:2"}),
        ("created = '2026-01-01 15'", {"churn:2"}),
        ("created = 2026-01-01T15:30:00", {"churn:2"}),
        ("created = '2026-03-01T00:00:00.000000Z'", {"Fraud:2"}),
        ("created > '2025-12-31T23:59:59.999998'", ALL),
        ("created < '2026-01-01T10:00+01:00'", {"Fraud:1"}),
        ("created <= 2026-01-01T10:00+01:00", {"Fraud:1", "churn:1"}),
        ("created = '2026-01-01T10:30-05:00'", {"churn:2"}),
        ("created IN (2025-12-31, 2026-02-10)", {"Fraud:1", "churn:3"}),
        ("created NOT IN (2025-12-31, 2026-02-10)", {"churn:1", "churn:2", "Fraud:2"}),
        ("created = 2026-03-01T00:00:00.0", {"Fraud:2"}),
        ("created = 2026-03-01T00:00:00.000001", set()),
        ("created = 2026-01-01T09", {"churn:1"}),
        ("created LIKE '2026-02%'", {"churn:3"}),
        ("created NOT LIKE '2026-01%'", {"churn:3", "Fraud:1", "Fraud:2"}),
    ],
)
def test_matches(db, where, expected):
    assert found(db, where) == expected


@pytest.mark.parametrize(
    "where, expected",
    [
        # NOT binds tighter than AND, AND tighter than OR
        ("name = fraud OR name = churn AND version = 1", {"Fraud:1", "Fraud:2", "churn:1"}),
        ("name = churn AND version = 1 OR name = fraud", {"Fraud:1", "Fraud:2", "churn:1"}),
        ("(name = fraud OR name = churn) AND version = 1", {"churn:1", "Fraud:1"}),
        ("name = churn AND (version = 1 OR name = fraud)", {"churn:1"}),
        ("NOT name = churn AND version = 1", {"Fraud:1"}),
        ("NOT (name = churn AND version = 1)", ALL - {"churn:1"}),
        ("NOT NOT name = churn", {"churn:1", "churn:2", "churn:3"}),
        ("NOT version = 1 OR NOT version = 2", ALL),
        ("not (version = 1 or version = 2) and author = alice", {"churn:3"}),
        ("((((version = 3))))", {"churn:3"}),
        # keywords in any case
        ("name = churn and Version >= 2 oR alias = production", {"churn:2", "churn:3", "Fraud:1"}),
        ("flavor in (sklearn) AnD description Not Like '%base%'", {"churn:2"}),
        # without spaces
        ("version>=2AND author=alice", None),  # '2AND' is one bare word
        ("(version>=2)AND(author=alice)", {"churn:3", "Fraud:2"}),
    ],
)
def test_boolean_logic(db, where, expected):
    if expected is None:
        with pytest.raises(SearchError, match="unexpected 'author' at position 14"):
            compile_where(where)
    else:
        assert found(db, where) == expected


def test_documented_examples_run(db):
    doc = (SCHEMA_MD.parent / "search.md").read_text()
    examples = re.search(r"```text\n(.*?)```", doc, re.S).group(1).strip().splitlines()
    assert len(examples) == 4
    for example in examples:
        run(db, example, "metrics.auc desc, created asc")
    assert found(db, examples[0]) == {"churn:2"}  # Fraud:1 holds production with auc 0.8


def test_empty_expression_matches_everything(db):
    assert compile_where("") == ("1", [])
    assert compile_where("   \n\t") == ("1", [])
    assert compile_where(None) == ("1", [])
    assert found(db, "") == ALL


def test_sql_in_values_and_keys_is_data(db):
    evil = "x'; DROP TABLE models; --"
    for where in (f'name = "{evil}"', f"metrics.\"{evil}\" > 0", f"tags.`{evil}` LIKE '%'",
                  f"params.max_depth IN (\"{evil}\", 'a')", f"alias = \"{evil}\""):
        sql, params = compile_where(where)
        assert evil in params
        assert "DROP" not in sql and evil not in sql
        assert found(db, where) == set()
    sql, params = compile_order(f'metrics."{evil}" desc')
    assert "DROP" not in sql and params == [evil]
    assert run(db, "", f'metrics."{evil}" desc')
    assert db.execute("SELECT count(*) FROM models").fetchone()[0] == 2


def test_values_are_parameters():
    sql, params = compile_where("name = churn AND metrics.auc >= 0.5 AND version IN (1, 2)")
    assert params == ["churn", "auc", 0.5, 1, 2]
    assert "churn" not in sql and "auc" not in sql and "0.5" not in sql
    assert isinstance(params[3], int) and isinstance(params[2], float)


def test_numbers_keep_their_spelling_for_text_fields(db):
    assert compile_where("name = 007")[1] == ["007"]
    assert compile_where("params.max_depth LIKE 1e2")[1] == ["max_depth", "1e2"]


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["Fraud:2", "churn:3", "churn:2", "churn:1", "Fraud:1"]),
        ("", ["Fraud:2", "churn:3", "churn:2", "churn:1", "Fraud:1"]),
        ("metrics.auc desc", ["churn:3", "churn:2", "Fraud:1", "churn:1", "Fraud:2"]),
        ("metrics.auc", ["churn:1", "Fraud:1", "churn:2", "churn:3", "Fraud:2"]),
        ("metrics.auc ASC", ["churn:1", "Fraud:1", "churn:2", "churn:3", "Fraud:2"]),
        ("metrics.loss desc, metrics.auc desc",
         ["churn:1", "churn:3", "churn:2", "Fraud:1", "Fraud:2"]),
        ('metrics."val auc" desc, created asc',
         ["churn:2", "Fraud:1", "churn:1", "churn:3", "Fraud:2"]),
        # names sort case-insensitively: churn before Fraud although 'F' < 'c' in ASCII
        ("name, version desc", ["churn:3", "churn:2", "churn:1", "Fraud:2", "Fraud:1"]),
        ("NAME DESC, created", ["Fraud:1", "Fraud:2", "churn:1", "churn:2", "churn:3"]),
        ("created", ["Fraud:1", "churn:1", "churn:2", "churn:3", "Fraud:2"]),
        ("author, version", ["churn:1", "Fraud:2", "churn:3", "churn:2", "Fraud:1"]),
        # ties (and missing values) fall back to the newest version first
        # params: numbers numerically (5 < 8.0 < 12), text after them, missing last
        ("params.max_depth", ["churn:1", "Fraud:1", "churn:2", "churn:3", "Fraud:2"]),
        ("params.max_depth desc", ["churn:3", "churn:2", "Fraud:1", "churn:1", "Fraud:2"]),
        ("tags.team desc", ["Fraud:2", "churn:2", "churn:1", "Fraud:1", "churn:3"]),
    ],
)
def test_order(db, order_by, expected):
    assert run(db, "", order_by) == expected


def test_order_with_filter(db):
    assert run(db, "name = churn", "metrics.auc desc") == ["churn:3", "churn:2", "churn:1"]
    assert run(db, "metrics.auc >= 0.8", "version, metrics.auc") == ["Fraud:1", "churn:2", "churn:3"]


def test_default_order_text():
    assert compile_order(None) == ("v.created_at DESC, v.id DESC", [])
    sql, params = compile_order("metrics.auc desc, created asc")
    assert params == ["auc"]
    assert sql.endswith("DESC NULLS LAST, v.created_at ASC, v.id DESC")


@pytest.mark.parametrize(
    "where, message",
    [
        ("metric.auc > 1", "unknown field 'metric.auc' at position 0 (fields: name, version, author,"),
        ("name = a AND colour = red", "unknown field 'colour' at position 13"),
        ("metrics.auc > ", "expected a value after '>' at position 12"),
        ("metrics.auc > )", "expected a value after '>' at position 12, got ')' at position 14"),
        ("name = AND version = 1", "expected a value after '=' at position 5, got 'AND'"),
        ("(name = a", "unbalanced parenthesis: '(' at position 0 is never closed"),
        ("((name = a) OR (name = b)", "unbalanced parenthesis"),
        ("name = a)", "unbalanced parenthesis: unexpected ')' at position 8"),
        ("name IN (a, b", "unbalanced parenthesis: IN list at position 8 is never closed"),
        ("()", "expected a field at position 1, got ')'"),
        ("name = a AND", "expected a field at position 12, got the end of the expression"),
        ("name = a OR OR name = b", "expected a field at position 12, got 'OR'"),
        ("= 3", "expected a field at position 0, got '='"),
        ("name churn", "expected an operator (=, !=, <, <=, >, >=, LIKE, IN, NOT LIKE, NOT IN) at position 5"),
        ("name", "expected an operator"),
        ("name NOT = a", "expected LIKE or IN after NOT at position 5"),
        ("name IN a", "expected '(' after IN at position 8"),
        ("name IN ()", "expected a value after '(' at position 8"),
        ("name IN (a b)", "expected ',' or ')' in IN list at position 11"),
        ("name = a b", "unexpected 'b' at position 9 (expected AND, OR or the end)"),
        ("(name = a b)", "expected AND, OR or ')' at position 10"),
        ("name = 'abc", "unterminated string starting at position 7"),
        ("metrics.`auc > 1", "unterminated string starting at position 8"),
        ("name = a $ b", "unexpected character '$' at position 9"),
        ("name ! a", "unexpected character '!' at position 5"),
        ("metrics. > 1", "missing key after 'metrics.' at position 0"),
        ("params.'' = 1", "missing key after 'params.' at position 0"),
        ("metrics.auc > high", "metrics.auc compares numerically: expected a number at position 14, got 'high'"),
        ("metrics.auc = '0.8'", "metrics.auc compares numerically"),
        ("metrics.auc IN (0.8, x)", "expected a number at position 21, got 'x'"),
        ("metrics.auc LIKE '0.%'", "LIKE needs a text field; metrics.auc is a number"),
        ("version = two", "version compares numerically: expected a number at position 10, got 'two'"),
        ("version NOT LIKE '1%'", "NOT LIKE needs a text field; version is a number"),
        ("alias > a", "alias supports =, !=, IN, NOT IN, LIKE and NOT LIKE; got '>' at position 6"),
        ("created > yesterday", "expected a date like '2026-01-01' or '2026-01-01T10:00' at position 10"),
        ("created > 2026", "expected a date like"),
        ("created = '2026-02-30'", "invalid date \"'2026-02-30'\" at position 10"),
        ("created = 2026-01-01T25:00", "invalid date"),
    ],
)
def test_errors(where, message):
    with pytest.raises(SearchError) as info:
        compile_where(where)
    assert message in str(info.value)


def test_error_classes():
    with pytest.raises(InvalidSearch):
        compile_where("nope = 1")
    with pytest.raises(ValueError):
        compile_where("nope = 1")
    assert SearchError is InvalidSearch
    assert InvalidSearch.code == "bad_request"
    with pytest.raises(SearchError, match="must be a string"):
        compile_where(42)


def test_length_limit(db):
    ok = "name = a" + " OR name = a" * 332
    assert len(ok) == 3992
    assert found(db, ok) == set()  # one flat OR of 333 terms runs fine in SQLite
    too_long = ok + " OR b = 1"
    with pytest.raises(SearchError, match=r"too long \(4001 characters; the limit is 4000\)"):
        compile_where(too_long)
    with pytest.raises(SearchError, match="too long"):
        compile_order("name," * 1000)


def test_depth_limit(db):
    assert found(db, "(" * 50 + "version = 3" + ")" * 50) == {"churn:3"}
    assert found(db, "NOT " * 50 + "version = 3") == {"churn:3"}
    with pytest.raises(SearchError, match="nests deeper than 50 levels at position 50"):
        compile_where("(" * 51 + "version = 3" + ")" * 51)
    with pytest.raises(SearchError, match="nests deeper than 50 levels at position 200"):
        compile_where("NOT " * 51 + "version = 3")
    with pytest.raises(SearchError, match="nests deeper than 50 levels"):
        compile_where("NOT (" * 26 + "version = 3" + ")" * 26)


def alternating(levels, leaf):
    """``leaf AND (leaf OR (leaf AND ...))``: groups that cannot be merged."""
    expr = leaf
    for i in range(levels):
        expr = f"{leaf} {'OR' if i % 2 else 'AND'} ({expr})"
    return expr


@pytest.mark.parametrize("leaf", ["version = 1", "params.max_depth NOT IN (1, 2)",
                                  "created NOT IN (2026-01-01, 2026-01-02)"])
def test_group_depth_limit_keeps_sqlite_parsing(db, leaf):
    # The deepest expressions accepted still fit SQLite's fixed parser stack (no
    # "parser stack overflow" at execution); one level more is refused with a clear error.
    assert found(db, alternating(16, leaf)) is not None
    notted = "NOT (" * 8 + leaf + " OR version = 1)" + " OR version = 2)" * 7  # 16 deep
    assert found(db, notted) is not None
    with pytest.raises(SearchError, match="too complex: AND, OR and NOT groups nest more than 16 deep"):
        compile_where(alternating(17, leaf))
    with pytest.raises(SearchError, match="too complex"):
        compile_where("NOT (" * 9 + leaf + " OR version = 1)" + " OR version = 2)" * 8)
    # redundant parentheses and same-operator groups do not add depth
    assert found(db, "(version = 1 OR (version = 2 OR (version = 3 OR (" * 12 + "version = 9"
                 + "))))" * 12) == ALL


@pytest.mark.parametrize(
    "order_by, message",
    [
        ("metrics.auc down", "unknown order direction 'down' at position 12 (use ASC or DESC)"),
        ("created 1", "unknown order direction '1' at position 8"),
        ("alias", "cannot order by alias"),
        ("colour desc", "unknown field 'colour' at position 0"),
        ("name desc version", "expected ',' or the end of the ordering at position 10, got 'version'"),
        ("metrics.auc desc,", "expected a field at position 17, got the end of the expression"),
        (", name", "expected a field at position 0, got ','"),
        ("metrics.", "missing key after 'metrics.'"),
    ],
)
def test_order_errors(order_by, message):
    with pytest.raises(SearchError) as info:
        compile_order(order_by)
    assert message in str(info.value)
