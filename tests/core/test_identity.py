"""How an author was established (verified, local, shared, imported) and what that changes: only
counted identities approve, review, or count as the author for the trust rule."""

from __future__ import annotations

import sqlite3

import pytest

from nbregistry import Registry
from nbregistry.core import migrations
from nbregistry.core.errors import TrustRequired


@pytest.fixture
def local(tmp_path):
    registry = Registry(tmp_path / "registry", author="alice")
    yield registry
    registry.close()


def test_the_embedded_registry_acts_as_local_and_server_views_as_verified(local, iris_model):
    v = local.register(iris_model, "churn")
    assert (v.identity, v.claimed_by, v.author_counts) == ("local", None, True)
    bob = local.as_author("bob", origin="server")
    w = bob.register(iris_model, "churn")
    assert (w.author, w.identity, w.author_counts) == ("bob", "verified", True)
    assert w.to_dict()["identity"] == "verified"
    comment = bob.comment("churn:1", "hello")
    assert (comment.identity, comment.author_counts) == ("verified", True)


def test_an_unknown_identity_is_refused(local):
    with pytest.raises(ValueError, match="identity must be one of"):
        local.as_author("bob", identity="trusted-me")


def test_reviews_under_an_unverified_identity_never_count(local, iris_model):
    local.register(iris_model, "churn")  # by alice (local)
    shared = local.as_author("team", identity="shared", claimed_by="bob")
    shared.review("churn:1", "approve")
    shared.review("churn:1", "request-changes", "no")  # a claimed veto does not block either
    state = local.review_state("churn:1")
    assert state["approvals"] == [] and state["changes_requested"] == []
    assert state["unverified_ignored"] == ["bob"]
    local.as_author("carol").review("churn:1", "approve")
    assert local.review_state("churn:1")["approvals"] == ["carol"]


def test_a_verified_review_by_whoever_claimed_the_version_is_a_self_review(local, iris_model):
    local.as_author("team", identity="shared", claimed_by="bob").register(iris_model, "churn")
    local.as_author("bob").review("churn:1", "approve")
    state = local.review_state("churn:1")
    assert state["approvals"] == [] and state["self_reviews_ignored"] == ["bob"]


def test_a_pickle_under_an_unverified_name_needs_trust_even_for_that_name(local):
    shared = local.as_author("team", identity="shared", claimed_by="bob")
    shared.register({"weights": [1, 2, 3]}, "blob", flavor="pickle")
    # The same unverified name reading back: it is not a verified author of its own pickle.
    with pytest.raises(TrustRequired, match="unverified name 'team'"):
        shared.load("blob")
    assert local.as_author("team").load("blob", trust=True) == {"weights": [1, 2, 3]}
    # A verified reader whose name matches an unverified author is not that author either.
    with pytest.raises(TrustRequired):
        local.as_author("team").load("blob")


def test_rows_written_before_identities_existed_migrate_as_local(tmp_path, iris_model):
    root = tmp_path / "old"
    Registry(root, author="alice").register(iris_model, "churn").registry.close()
    # Turn the database back into a schema-3 one: drop the identity columns and the migration record.
    conn = sqlite3.connect(root / "registry.db")
    for table in ("versions", "comments"):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN identity")
        conn.execute(f"ALTER TABLE {table} DROP COLUMN claimed_by")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm004_identity'")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    reopened = Registry(root, author="alice")
    v = reopened.get("churn:1")
    assert (v.identity, v.claimed_by) == ("local", None)
    version = sqlite3.connect(root / "registry.db").execute("PRAGMA user_version").fetchone()[0]
    assert version == migrations.SCHEMA_VERSION
    reopened.close()
