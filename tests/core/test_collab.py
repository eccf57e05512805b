"""Comments and reviews: anchors, threads, edits with history, tombstones, derived review state.

Behavioural tests run against every registry kind (``reg``); each refusal also proves that nothing
changed (``unchanged``: the whole disk state for a local registry, the event log for a remote one).
"""

from __future__ import annotations

import pytest

from collab_helpers import unchanged
from nbregistry.core.entities import Comment
from nbregistry.core.errors import Conflict, NotFound, PermissionDenied, ValidationError

NOTEBOOK = {"path": "train.ipynb", "warnings": [],
            "cells": [{"execution_count": 3, "source": "X = load()"}, {"execution_count": 12, "source": "fit()"}]}


@pytest.fixture
def churn(reg, iris, iris_model):
    """churn:1 by alice with metrics, params, tags, data lineage, notebook cells and an input example;
    churn:2 by alice without notebook cells or input example."""
    X, y = iris
    reg.register(iris_model, "churn", metrics={"auc": 0.91, "val auc": 0.9}, params={"max_depth": 5},
                 tags={"team": "growth"}, data={"train": X, "labels": y}, input_example=X.head(),
                 notebook=NOTEBOOK)
    reg.register(iris_model, "churn", metrics={"auc": 0.93})
    return reg


def test_comment_on_version_and_model_are_separate_threads(churn, as_user):
    c1 = churn.comment("churn:1", "Looks **good**\n\n- really", anchor="metrics.auc")
    assert isinstance(c1, Comment)
    assert (c1.model, c1.version, c1.author, c1.anchor, c1.verdict) == ("churn", 1, "alice", "metrics.auc", None)
    assert c1.body == "Looks **good**\n\n- really"  # markdown stored as written
    assert c1.created_at.endswith("Z") and c1.edited_at is None and not c1.deleted
    m = churn.comment("churn", "About the model as a whole")
    assert (m.model, m.version) == ("churn", None)
    with as_user(churn, "bob"):
        c2 = churn.comment("churn:2", "v2 note")
    assert [c.id for c in churn.comments("churn:1")] == [c1.id]
    assert [c.id for c in churn.comments("churn:2")] == [c2.id]
    assert [c.id for c in churn.comments("churn")] == [m.id]  # bare name: model-level only
    assert churn.comments("churn:2")[0].author == "bob"


def test_comment_through_an_alias_lands_on_the_version(churn):
    churn.set_alias("churn:1", "staging")
    c = churn.comment("churn@staging", "staging candidate")
    assert c.version == 1
    assert [x.id for x in churn.comments("churn:1")] == [c.id]
    assert [x.id for x in churn.comments("churn@staging")] == [c.id]


@pytest.mark.parametrize("anchor", ["metrics.auc", "metrics.val auc", "params.max_depth", "tags.team", "data.train",
                                    "data.labels", "cell:3", "cell:12", "signature", "description"])
def test_anchors_that_name_a_fact_are_accepted(churn, anchor):
    assert churn.comment("churn:1", "about this", anchor=anchor).anchor == anchor


@pytest.mark.parametrize("anchor,needle", [
    ("metrics.f1", "metrics.f1"), ("params.depth", "params.depth"), ("tags.owner", "tags.owner"),
    ("data.test", "data.test"), ("cell:4", "cell:4"), ("lineage", "lineage"), ("metrics", "metrics"),
])
def test_anchors_that_name_nothing_are_refused_listing_valid_ones(churn, anchor, needle):
    with unchanged(churn), pytest.raises(ValidationError) as exc:
        churn.comment("churn:1", "hm", anchor=anchor)
    message = str(exc.value)
    assert repr(needle) in message and "valid anchors" in message
    assert "metrics.auc" in message and "params.max_depth" in message and "cell:12" in message


def test_cell_anchor_without_recorded_cells_is_refused(churn):
    with unchanged(churn), pytest.raises(ValidationError, match="no recorded notebook cells"):
        churn.comment("churn:2", "which cell?", anchor="cell:12")
    with unchanged(churn), pytest.raises(ValidationError, match="'signature' names nothing"):
        churn.comment("churn:2", "no signature here", anchor="signature")


def test_model_level_anchors_are_the_models_facts(churn):
    churn.update_model("churn", tags={"owner": "alice"})
    assert churn.comment("churn", "ok", anchor="tags.owner").anchor == "tags.owner"
    with unchanged(churn), pytest.raises(ValidationError, match="'metrics.auc' names nothing on churn;"):
        churn.comment("churn", "a model has no metrics", anchor="metrics.auc")


def test_replies_come_in_thread_order(churn, as_user):
    a = churn.comment("churn:1", "first")
    b = churn.comment("churn:1", "second")
    with as_user(churn, "bob"):
        a1 = churn.comment("churn:1", "reply to first", reply_to=a.id)
    a1x = churn.comment("churn:1", "reply to the reply", reply_to=a1.id)
    a2 = churn.comment("churn:1", "another reply to first", reply_to=a.id)
    assert a1.reply_to == a.id
    assert [c.id for c in churn.comments("churn:1")] == [a.id, a1.id, a1x.id, a2.id, b.id]


def test_replies_must_stay_on_their_target(churn):
    other = churn.comment("churn:2", "on v2")
    model_level = churn.comment("churn", "on the model")
    for parent in (other.id, model_level.id):
        with unchanged(churn), pytest.raises(ValidationError, match="reply_to: comment .* is on churn"):
            churn.comment("churn:1", "misplaced reply", reply_to=parent)
    with unchanged(churn), pytest.raises(NotFound, match="no comment with id 999"):
        churn.comment("churn:1", "reply to nothing", reply_to=999)


@pytest.mark.parametrize("body", ["", "   \n", None, 42])
def test_empty_or_non_text_bodies_are_refused(churn, body):
    with unchanged(churn), pytest.raises(ValidationError, match="body"):
        churn.comment("churn:1", body)


def test_comments_on_unknown_targets_are_refused(churn):
    with unchanged(churn), pytest.raises(NotFound, match="no version 9"):
        churn.comment("churn:9", "ghost")
    with unchanged(churn), pytest.raises(NotFound, match="no alias 'production'"):
        churn.comment("churn@production", "ghost")
    with unchanged(churn), pytest.raises(NotFound, match="no model named 'nope'"):
        churn.comment("nope", "ghost")


def test_authors_edit_their_comments_and_history_is_kept(churn):
    c = churn.comment("churn:1", "auc looks low", anchor="metrics.auc")
    e1 = churn.edit_comment(c.id, "auc looks fine")
    e2 = churn.edit_comment(c.id, "auc looks great")
    assert e2.body == "auc looks great" and e2.edited_at and e2.edited_at >= e1.edited_at
    assert (e2.anchor, e2.created_at) == ("metrics.auc", c.created_at)
    history = churn.comment_history(c.id)
    assert [h["body"] for h in history] == ["auc looks low", "auc looks fine"]
    assert history[0]["written_at"] == c.created_at
    assert history[0]["replaced_at"] == e1.edited_at == history[1]["written_at"]
    assert history[1]["replaced_at"] == e2.edited_at
    assert churn.comments("churn:1")[0].body == "auc looks great"
    assert [e.action for e in churn.events(0)][-2:] == ["comment.edited", "comment.edited"]


def test_editing_or_deleting_someone_elses_comment_is_refused(churn, as_user):
    c = churn.comment("churn:1", "mine")
    with as_user(churn, "bob"):
        with unchanged(churn), pytest.raises(PermissionDenied, match="written by 'alice'; only its author can edit"):
            churn.edit_comment(c.id, "bob was here")
        with unchanged(churn), pytest.raises(PermissionDenied, match="only its author can delete"):
            churn.delete_comment(c.id)
    assert churn.comments("churn:1")[0].body == "mine"


def test_unknown_comment_ids_are_refused(churn):
    with unchanged(churn), pytest.raises(NotFound, match="no comment with id 404"):
        churn.edit_comment(404, "x")
    with unchanged(churn), pytest.raises(NotFound):
        churn.delete_comment(404)
    with pytest.raises(NotFound):
        churn.comment_history(404)
    with unchanged(churn), pytest.raises(ValidationError, match="positive integer"):
        churn.edit_comment(-1, "x")


def test_delete_leaves_a_tombstone_in_the_thread(churn, as_user):
    a = churn.comment("churn:1", "secret token abc123")
    churn.edit_comment(a.id, "secret token abc123 (again)")
    with as_user(churn, "bob"):
        reply = churn.comment("churn:1", "please delete that", reply_to=a.id)
    gone = churn.delete_comment(a.id)
    assert (gone.body, gone.deleted, gone.id) == ("", True, a.id)
    thread = churn.comments("churn:1")
    assert [(c.id, c.deleted) for c in thread] == [(a.id, True), (reply.id, False)]
    assert churn.comment_history(a.id) == []  # the deleted text is erased everywhere
    assert "abc123" not in str(churn.activity().to_dict())
    assert churn.delete_comment(a.id).deleted  # deleting again changes nothing
    with unchanged(churn), pytest.raises(Conflict, match="deleted; it cannot be edited"):
        churn.edit_comment(a.id, "resurrect")
    with unchanged(churn), pytest.raises(Conflict, match="was deleted"):
        churn.comment("churn:1", "reply to a tombstone", reply_to=a.id)


def test_review_is_a_comment_with_a_verdict(churn, as_user):
    with as_user(churn, "bob"):
        r = churn.review("churn:1", "approve", "LGTM")
    assert (r.verdict, r.body, r.author, r.version) == ("approve", "LGTM", "bob", 1)
    assert churn.comments("churn:1")[0].verdict == "approve"
    assert churn.events(0)[-1].action == "review.added"


def test_review_state_is_derived_latest_verdict_wins_and_self_reviews_do_not_count(churn, as_user):
    assert churn.review_state("churn:1") == {"approvals": [], "changes_requested": [], "self_reviews_ignored": [],
                                             "unverified_ignored": []}
    churn.review("churn:1", "approve", "my own work is great")  # alice is the author
    with as_user(churn, "bob"):
        churn.review("churn:1", "approve")
    with as_user(churn, "carol"):
        churn.review("churn:1", "approve")
        churn.review("churn:1", "request-changes", "wait, the data leaks")
    assert churn.review_state("churn:1") == {"approvals": ["bob"], "changes_requested": ["carol"],
                                             "self_reviews_ignored": ["alice"], "unverified_ignored": []}
    with as_user(churn, "carol"):
        churn.review("churn:1", "approve", "fixed")
    state_ = churn.review_state("churn:1")
    assert state_["approvals"] == ["bob", "carol"] and state_["changes_requested"] == []
    assert churn.review_state("churn:2")["approvals"] == []  # per version


def test_deleting_a_review_withdraws_it(churn, as_user):
    with as_user(churn, "bob"):
        r = churn.review("churn:1", "approve")
        churn.delete_comment(r.id)
    assert churn.review_state("churn:1")["approvals"] == []


@pytest.mark.parametrize("ref,verdict,error", [
    ("churn:1", "lgtm", "verdict must be"), ("churn:1", "APPROVE", "verdict must be"),
    ("churn", "approve", "a review is of one version"),
])
def test_bad_reviews_are_refused(churn, ref, verdict, error):
    with unchanged(churn), pytest.raises(ValidationError, match=error):
        churn.review(ref, verdict)


def test_comment_and_review_events_feed_activity(churn, as_user):
    c = churn.comment("churn:1", "what about calibration?", anchor="metrics.auc")
    with as_user(churn, "bob"):
        churn.comment("churn:1", "fine", reply_to=c.id)
        churn.review("churn:1", "request-changes", "needs a holdout")
    churn.edit_comment(c.id, "what about calibration? (plot attached)")
    summaries = [i.summary for i in churn.activity("churn", limit=4)]
    assert summaries == [
        "alice edited a comment on churn:1",
        "bob requested changes on churn:1: “needs a holdout”",
        "bob replied on churn:1: “fine”",
        "alice commented on churn:1 [metrics.auc]: “what about calibration? (plot attached)”",
    ]


def test_a_registry_from_before_collaboration_is_upgraded_in_place(tmp_path, iris_model):
    import sqlite3

    import sqlite_utils

    from nbregistry import Registry
    from nbregistry.core import migrations

    root = tmp_path / "old"
    root.mkdir()
    conn = sqlite3.connect(root / "registry.db", isolation_level=None)
    migrations.build().apply(sqlite_utils.Database(conn), stop_before="m002_collaboration")
    conn.execute("PRAGMA user_version = 1")
    assert "comments" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    reg = Registry(root, author="alice")
    try:
        reg.register(iris_model, "churn")
        assert reg.comment("churn:1", "works after the upgrade").id == 1
        assert reg.set_policy("churn", "production", {"required_approvals": 1}).required_approvals == 1
        assert reg.store.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
    finally:
        reg.close()


def test_the_documented_collaboration_schema_is_the_migration():
    import re
    from pathlib import Path

    from nbregistry.core.migrations import COLLABORATION_DDL

    doc = (Path(__file__).resolve().parents[2] / "docs" / "schema.md").read_text()
    block = next(b for b in re.findall(r"```sql\n(.*?)```", doc, re.S) if "CREATE TABLE comments" in b)

    def norm(sql: str) -> list[str]:
        sql = re.sub(r"--[^\n]*", "", sql)
        return [" ".join(s.split()) for s in sql.split(";") if s.strip()]

    assert norm(block) == norm(COLLABORATION_DDL)
