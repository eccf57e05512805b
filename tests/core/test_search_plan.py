"""How searches run: true totals on limited pages, the index-driven plans returning exactly what
the plain compiled SQL returns, and EXPLAIN QUERY PLAN showing the ordering index in use."""

from __future__ import annotations

import pytest

from nbregistry.core import search_plan
from nbregistry.core.search import compile_order, compile_where
from nbregistry.core.search_plan import SearchQuery


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from nbregistry import Registry

    root = tmp_path_factory.mktemp("plan")
    reg = Registry(root / "registry", author="alice")
    f = root / "w.bin"
    for i in range(40):
        f.write_bytes(b"w%d" % i)
        metrics = {"loss": (i * 7 % 40) / 40}
        if i % 4:  # every fourth version has no auc: it must sort after the others
            metrics["auc"] = (i * 13 % 40) / 40 if i != 21 else 0.975  # 0.975 twice: a tie
        reg.register(f, f"m{i % 3}", metrics=metrics, params={"solver": "lbfgs" if i % 2 else "saga"},
                     tags={"team": "a" if i < 20 else "b"})
    reg.update_model("m1", description="Churn model for the growth team", tags={"owner": "risk-team"})
    yield reg
    reg.close()


def naive(reg, expr, order_by, limit, offset):
    """The plain compiled SQL: every match sorted by the compiled ORDER BY."""
    where, args = compile_where(expr)
    order, order_args = compile_order(order_by)
    rows = reg.store.conn.execute(
        f"SELECT m.name || ':' || v.version FROM versions v JOIN models m ON m.id = v.model_id WHERE {where}"
        f" ORDER BY {order} LIMIT ? OFFSET ?", [*args, *order_args, limit, offset]).fetchall()
    count = reg.store.conn.execute(
        f"SELECT COUNT(*) FROM versions v JOIN models m ON m.id = v.model_id WHERE {where}", args).fetchone()[0]
    return [r[0] for r in rows], count


CASES = [
    ("", None), ("metrics.auc > 0.5", None), ("metrics.auc > 0.5", "metrics.auc desc"),
    ("", "metrics.auc desc"), ("", "metrics.auc asc"), ("params.solver = lbfgs", "metrics.auc desc, created asc"),
    ("metrics.loss < 0.5 AND tags.team = a", "metrics.auc desc"), ("metrics.auc >= 0.1 OR name = m2", None),
    ("NOT metrics.auc > 0.3", "metrics.loss asc"), ("metrics.auc > 0.2 AND metrics.loss < 0.9", "version desc"),
    ("name = m1", "metrics.auc desc"),
]


@pytest.mark.parametrize("plan", ["few", "many"])
@pytest.mark.parametrize("expr,order_by", CASES)
def test_plans_return_what_the_plain_sql_returns(seeded, monkeypatch, plan, expr, order_by):
    monkeypatch.setattr(SearchQuery, "few", staticmethod(lambda *a: plan == "few"))
    for limit, offset in ((5, 0), (7, 3), (10, 25), (100, 0), (3, 38)):
        found = seeded.search(expr, order_by=order_by, limit=limit, offset=offset)
        refs, count = naive(seeded, expr, order_by, limit, offset)
        assert [v.ref for v in found] == refs, (limit, offset)
        assert found.total == count and not found.total_capped


def test_total_counts_every_match_of_a_limited_search(seeded):
    everything = seeded.search("metrics.auc > 0.5", limit=1000)
    page = seeded.search("metrics.auc > 0.5", order_by="metrics.auc desc", limit=3)
    assert len(page) == 3 and page.total == len(everything) > 3
    assert seeded.search("", limit=2).total == 40
    assert seeded.search("metrics.auc > 0.5 AND params.solver = saga", limit=1).total == \
        len([v for v in everything if v.params["solver"] == "saga"])


def test_total_is_capped_and_says_so(seeded, monkeypatch):
    monkeypatch.setattr(search_plan, "COUNT_CAP", 12)
    for expr in ("", "metrics.auc > 0.1", "metrics.auc > 0.1 AND tags.team IN (a, b)", "metrics.auc > 0.1 OR version > 0"):
        found = seeded.search(expr, limit=5)
        assert found.total == 12 and found.total_capped, expr
    few = seeded.search("metrics.auc > 0.9", limit=5)
    assert not few.total_capped and few.total == len(seeded.search("metrics.auc > 0.9", limit=100))


def test_an_ordered_metric_search_walks_the_index(seeded):
    query = SearchQuery.build("metrics.loss < 0.5", "metrics.auc desc")
    sql, args = query.many_sql(10, 0)
    plan = [r[3] for r in seeded.store.conn.execute(query.dialect.explain + sql, args)]
    assert any("metrics_key_value_version" in step for step in plan), plan
    assert not any("TEMP B-TREE FOR ORDER BY" in step for step in plan), plan  # no sort of every match
    sql, args = SearchQuery.build("", "metrics.auc desc").many_sql(10, 0)
    plan = [r[3] for r in seeded.store.conn.execute(query.dialect.explain + sql, args)]
    assert any("metrics_key_value_version" in step for step in plan) and not any("B-TREE" in s for s in plan), plan


def test_a_selective_metric_filter_is_counted_from_the_index(seeded):
    query = SearchQuery.build("metrics.auc > 0.9", None)
    sql, args = query.count_sql(query.drivers[0])
    plan = [r[3] for r in seeded.store.conn.execute(query.dialect.explain + sql, args)]
    assert any("COVERING INDEX metrics_key_value" in step for step in plan), plan


def test_model_tags_and_descriptions_are_searchable(seeded):
    assert {v.name for v in seeded.search("model.tags.owner = risk-team", limit=100)} == {"m1"}
    assert {v.name for v in seeded.search("model.description LIKE '%growth%'", limit=100)} == {"m1"}
    assert {v.name for v in seeded.search("NOT model.tags.\"owner\" LIKE 'risk%'", limit=100)} == {"m0", "m2"}
    assert seeded.search("model.tags.owner = nobody").total == 0


@pytest.mark.parametrize("q", ["m1", "GROWTH", "risk-team", "owner"])
def test_list_models_free_text_covers_names_descriptions_and_tags(seeded, q):
    assert [m.name for m in seeded.list_models(q)] == ["m1"]


def test_list_models_updated_at_is_the_newest_versions_time(tmp_path):
    from nbregistry import Registry

    reg = Registry(tmp_path / "registry", author="alice")
    f = tmp_path / "w.bin"
    for i, name in enumerate(["a", "b", "a", "c", "a", "b"]):
        f.write_bytes(b"w%d" % i)
        reg.register(f, name)
    reg.archive("a:3")  # archived versions still count: the model was updated then
    newest = {name: max(v.created_at for v in reg.list_versions(name)) for name in "abc"}
    models = {m.name: m for m in reg.list_models()}
    assert {name: models[name].updated_at for name in "abc"} == newest
    assert [m.name for m in reg.list_models(order="-updated")] == sorted(newest, key=newest.get, reverse=True)
    reg.close()
