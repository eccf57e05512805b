"""Search plans on PostgreSQL (issue 15): the index-driven plans return what the plain compiled SQL
returns, and EXPLAIN shows an ordered metric search walking ``metrics_key_value_version`` instead of
sorting every match.

PostgreSQL's planner takes no hints, so the plan is tested at a realistic size: the seeded versions
are multiplied in SQL to 20,000 (with random metrics) and analyzed, as a grown registry would be.
"""

from __future__ import annotations

import pytest

from nbregistry.core.search_plan import SearchQuery
from test_search_plan import CASES, naive


@pytest.fixture(scope="module")
def pg_seeded(tmp_path_factory, postgres_server, pg_template):
    from nbregistry import Registry

    name = postgres_server.create_database(template=pg_template)
    root = tmp_path_factory.mktemp("plan-pg")
    reg = Registry(root / "registry", db=postgres_server.url(name), author="alice")
    f = root / "w.bin"
    for i in range(40):  # the same versions as test_search_plan.seeded
        f.write_bytes(b"w%d" % i)
        metrics = {"loss": (i * 7 % 40) / 40}
        if i % 4:
            metrics["auc"] = (i * 13 % 40) / 40 if i != 21 else 0.975
        reg.register(f, f"m{i % 3}", metrics=metrics, params={"solver": "lbfgs" if i % 2 else "saga"},
                     tags={"team": "a" if i < 20 else "b"})
    reg.update_model("m1", description="Churn model for the growth team", tags={"owner": "risk-team"})
    yield reg
    reg.close()
    postgres_server.drop_database(name)


@pytest.fixture(scope="module")
def pg_grown(tmp_path_factory, postgres_server, pg_template):
    """A registry of 20,000 versions with auc and loss metrics, analyzed."""
    from nbregistry import Registry

    name = postgres_server.create_database(template=pg_template)
    root = tmp_path_factory.mktemp("plan-pg-grown")
    reg = Registry(root / "registry", db=postgres_server.url(name), author="alice")
    f = root / "w.bin"
    f.write_bytes(b"w")
    reg.register(f, "big", metrics={"auc": 0.5, "loss": 0.5})
    with reg.store.write() as conn:
        conn.execute(
            "INSERT INTO versions (model_id, version, created_at, author, description, status, flavor, flavor_meta,"
            " artifact_sha, artifact_size, lineage) SELECT v.model_id, 1 + g, v.created_at, v.author, '', 'active',"
            " v.flavor, v.flavor_meta, v.artifact_sha, v.artifact_size, v.lineage"
            " FROM versions v, generate_series(1, 19999) g")
        conn.execute("UPDATE models SET last_version = 20000")
        for key in ("auc", "loss"):
            conn.execute("INSERT INTO metrics (version_id, key, value) SELECT id, ?, random() FROM versions v"
                         " WHERE NOT EXISTS (SELECT 1 FROM metrics x WHERE x.version_id = v.id AND x.key = ?)",
                         (key, key))
    reg.store.conn.execute("ANALYZE")
    yield reg
    reg.close()
    postgres_server.drop_database(name)


@pytest.mark.parametrize("plan", ["few", "many"])
@pytest.mark.parametrize("expr,order_by", CASES)
def test_plans_return_what_the_plain_sql_returns_on_postgres(pg_seeded, monkeypatch, plan, expr, order_by):
    monkeypatch.setattr(SearchQuery, "few", staticmethod(lambda *a: plan == "few"))
    for limit, offset in ((5, 0), (7, 3), (10, 25), (100, 0), (3, 38)):
        found = pg_seeded.search(expr, order_by=order_by, limit=limit, offset=offset)
        refs, count = naive(pg_seeded, expr, order_by, limit, offset)
        assert [v.ref for v in found] == refs, (limit, offset)
        assert found.total == count and not found.total_capped


def test_an_ordered_metric_search_walks_the_index_on_postgres(pg_grown):
    dialect = pg_grown.store.dialect
    assert dialect.name == "postgresql"
    for expr in ("metrics.loss < 0.5", ""):
        sql, args = SearchQuery.build(expr, "metrics.auc desc", dialect).many_sql(10, 0)
        plan = pg_grown.store.explain(sql, args)
        assert any("metrics_key_value_version" in step for step in plan), plan
        assert not any(step.lstrip(" ->").startswith(("Sort", "Incremental Sort")) for step in plan), plan
    found = pg_grown.search("metrics.loss < 0.5", order_by="metrics.auc desc", limit=10)
    values = [v.metrics["auc"] for v in found]
    assert len(values) == 10 and values == sorted(values, reverse=True)
    assert all(v.metrics["loss"] < 0.5 for v in found)


def test_a_selective_metric_filter_is_counted_from_the_index_on_postgres(pg_grown):
    query = SearchQuery.build("metrics.auc > 0.99", None, pg_grown.store.dialect)
    plan = pg_grown.store.explain(*query.count_sql(query.drivers[0]))
    assert any("Index" in step and "on metrics_key_value" in step or "using metrics_key_value " in step
               for step in plan), plan
    assert not any("Seq Scan" in step for step in plan), plan  # not a probe of every version
    assert pg_grown.search("metrics.auc > 0.99", limit=1).total == pg_grown.store.conn.execute(
        "SELECT COUNT(*) FROM metrics WHERE key = 'auc' AND value > 0.99").fetchone()[0]
