"""Alias history, time travel (``resolve(at=)``), rollback, and promotions racing from two processes."""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime, timedelta, timezone

import pytest

from nbregistry import Registry
from nbregistry.core.errors import Conflict, NotFound, PolicyRefused, ValidationError

from collab_helpers import unchanged


def _t(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@pytest.fixture
def churn(reg, iris_model):
    """churn:1..4 with auc 0.70, 0.80, 0.90, 0.85."""
    for auc in (0.70, 0.80, 0.90, 0.85):
        reg.register(iris_model, "churn", metrics={"auc": auc})
    return reg


def test_replayed_promotions_and_rollbacks_resolve_at_every_moment(churn):
    ops = [("set", 1), ("promote", 2), ("promote", 3), ("rollback", None), ("rollback", None),
           ("promote", 4), ("remove", None), ("rollback", None), ("promote", 2), ("rollback", None),
           ("set", 3), ("rollback", None)]
    start = datetime.now(timezone.utc)
    time.sleep(0.002)
    timeline = []  # (time of the move, holder after it)
    for kind, number in ops:
        if kind == "set":
            move = churn.set_alias(f"churn:{number}", "production")
        elif kind == "promote":
            move = churn.promote(f"churn:{number}", "production", reason=f"step {len(timeline)}")
        elif kind == "rollback":
            move = churn.rollback("churn@production", reason=f"undo {len(timeline)}")
        else:
            move = churn.remove_alias("churn", "production")
        assert move.kind == kind
        timeline.append((_t(move.time), move.version))
        time.sleep(0.002)  # distinct, ordered moments between moves
    # the holders the walk-back semantics give: rollback returns to the holder before the current one
    assert [h for _, h in timeline] == [1, 2, 3, 2, 1, 4, None, 4, 2, 4, 3, 4]

    assert churn.resolve("churn@production", at=start) is None  # before the first move
    previous = None
    for i, (when, holder) in enumerate(timeline):
        moments = [when, when.isoformat(), when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                   when.replace(tzinfo=None),  # naive = UTC
                   when.astimezone(timezone(timedelta(hours=2))).isoformat()]
        for at in moments:
            got = churn.resolve("churn@production", at=at)
            assert (got.version if got else None) == holder, (i, at)
        just_before = when - timedelta(microseconds=1)
        got = churn.resolve("churn@production", at=just_before)
        assert (got.version if got else None) == previous, i
        if i + 1 < len(timeline):
            midpoint = when + (timeline[i + 1][0] - when) / 2
            got = churn.resolve("churn@production", at=midpoint)
            assert (got.version if got else None) == holder, i
        previous = holder
    later = churn.resolve("churn@production", at=datetime.now(timezone.utc) + timedelta(days=1))
    assert later.version == 4 == churn.resolve("churn@production").version

    history = churn.history("churn", "production")
    assert [m.version for m in history] == [h for _, h in timeline]
    assert [m.previous for m in history] == [None] + [h for _, h in timeline][:-1]
    assert [m.kind for m in history] == [k for k, _ in ops]
    assert history[3].reason == "undo 3" and history[1].reason == "step 1"


def test_resolve_other_refs_at_a_moment(churn, iris_model):
    v1 = churn.get("churn:1")
    between = _t(churn.get("churn:4").created_at) + timedelta(microseconds=1)
    time.sleep(0.002)
    churn.register(iris_model, "churn", metrics={"auc": 0.5})
    assert churn.resolve("churn:5", at=between) is None  # did not exist yet
    assert churn.resolve("churn:1", at=between).version == 1
    assert churn.resolve("churn", at=between).version == 4  # latest then
    assert churn.resolve("churn").version == 5
    assert churn.resolve("churn:1", at=_t(v1.created_at) - timedelta(seconds=1)) is None
    assert churn.resolve("churn@staging") is None  # never set
    with pytest.raises(NotFound, match="no version 9"):
        churn.resolve("churn:9", at=between)
    with pytest.raises(ValidationError, match="cannot read 'last tuesday' as a time"):
        churn.resolve("churn@production", at="last tuesday")


def test_resolve_names_a_past_holder_that_was_deleted(churn):
    churn.set_alias("churn:1", "production")
    t = _t(churn.set_alias("churn:2", "production").time) - timedelta(microseconds=1)
    churn.delete_version("churn:1")
    with pytest.raises(NotFound, match="churn:1 held churn@production at that time but has since been deleted"):
        churn.resolve("churn@production", at=t)


def test_rollback_walks_back_then_refuses(churn):
    for n in (1, 2, 3):
        churn.promote(f"churn:{n}", "production")
    back = churn.rollback("churn@production", reason="3 misbehaves")
    assert (back.version, back.previous, back.kind, back.reason, back.actor) == (2, 3, "rollback", "3 misbehaves",
                                                                                 "alice")
    assert churn.get("churn@production").version == 2
    assert churn.rollback("churn@production").version == 1
    with unchanged(churn), pytest.raises(Conflict, match="churn@production has no previous holder to roll back to"
                                                         r" \(currently churn:1\)"):
        churn.rollback("churn@production")
    events = [e for e in churn.events(0) if e.action.startswith("alias.")]
    assert [e.action for e in events] == ["alias.promote"] * 3 + ["alias.rollback"] * 2
    assert events[-1].payload["previous"] == 2 and events[-1].version == 1


def test_rollback_with_no_previous_holder_is_refused(churn):
    churn.promote("churn:1", "production")
    with unchanged(churn), pytest.raises(Conflict, match="no previous holder"):
        churn.rollback("churn@production", reason="oops")
    with unchanged(churn), pytest.raises(NotFound, match="no alias 'staging'"):
        churn.rollback("churn@staging")
    with unchanged(churn), pytest.raises(ValidationError, match="rollback needs an alias ref"):
        churn.rollback("churn:1")


def test_rollback_undoes_a_removal_and_refuses_a_deleted_holder(churn):
    churn.set_alias("churn:1", "staging")
    churn.set_alias("churn:2", "staging")
    churn.remove_alias("churn", "staging")
    assert churn.rollback("churn@staging").version == 2  # the holder before the removal comes back
    churn.set_alias("churn:3", "staging")
    churn.delete_version("churn:2")
    with unchanged(churn), pytest.raises(Conflict, match="churn:2, has been deleted"):
        churn.rollback("churn@staging")


# ---------------------------------------------------------------------------- two processes racing
def _promoter(root: str, author: str, ref: str, rounds: int, barrier, results) -> None:
    reg = Registry(root, author=author)
    try:
        for i in range(rounds):
            barrier.wait(timeout=120)
            try:
                move = reg.promote(ref, "production", reason=f"{author} round {i}")
                results.put((author, i, "moved", move.id, move.previous, move.version))
            except PolicyRefused as exc:
                results.put((author, i, "refused", None, None, exc.report.to_dict()))
            barrier.wait(timeout=120)
    finally:
        reg.close()


def _burst(root: str, author: str, ref: str, count: int, barrier, results) -> None:
    reg = Registry(root, author=author)
    try:
        barrier.wait(timeout=120)
        for i in range(count):
            move = reg.promote(ref, "production", reason=f"{author} #{i}")
            results.put((author, i, move.id, move.previous, move.version))
            time.sleep(0.002)
    finally:
        reg.close()


def _collect(results, n: int) -> list:
    return [results.get(timeout=120) for _ in range(n)]


def test_concurrent_promotions_from_two_processes_serialize(local_reg, iris_model):
    reg = local_reg
    for auc in (0.7, 0.8, 0.9):
        reg.register(iris_model, "churn", metrics={"auc": auc})
    reg.set_alias("churn:1", "production")
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    count = 40
    procs = [ctx.Process(target=_burst, args=(str(reg.root), who, ref, count, barrier, results))
             for who, ref in (("bob", "churn:2"), ("carol", "churn:3"))]
    for p in procs:
        p.start()
    got = _collect(results, 2 * count)
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    history = reg.history("churn", "production")
    assert len(history) == 1 + 2 * count  # both processes' moves, none lost
    for before, move in zip(history, history[1:]):
        assert move.previous == before.version  # each move names the holder it actually replaced
        assert move.time >= before.time and move.id > before.id
    for who in ("bob", "carol"):  # each process's moves appear in the order it made them
        reasons = [m.reason for m in history if m.actor == who]
        assert reasons == [f"{who} #{i}" for i in range(count)]
    by_id = {m.id: m for m in history}
    for _, _, move_id, previous, version in got:  # what each caller was told is what history says
        assert (by_id[move_id].previous, by_id[move_id].version) == (previous, version)
    actors = [m.actor for m in history[1:]]
    switches = sum(a != b for a, b in zip(actors, actors[1:]))
    print(f"\n{2 * count} racing promotions, holder switched between processes {switches} times")


def test_concurrent_gated_promotions_are_judged_against_the_holder_they_replace(local_reg, iris_model):
    """Gate: auc must not drop. bob promotes churn:2 (0.8), carol churn:3 (0.9), both from churn:1 (0.7)
    at the same instant. Whatever the order, churn:2 must never replace churn:3."""
    reg = local_reg
    for auc in (0.7, 0.8, 0.9):
        reg.register(iris_model, "churn", metrics={"auc": auc})
    # allow_force: each round starts with the operator forcing churn:1 back (set_alias refuses guarded aliases)
    reg.set_policy("churn", "production", {"gates": ["metrics.auc >= current.metrics.auc"], "allow_force": True})
    ctx = multiprocessing.get_context("spawn")
    rounds = 12
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_promoter, args=(str(reg.root), who, ref, rounds, barrier, results))
             for who, ref in (("bob", "churn:2"), ("carol", "churn:3"))]
    for p in procs:
        p.start()
    orders = set()
    try:
        _gated_rounds(reg, rounds, barrier, results, orders)
    except BaseException:
        barrier.abort()  # a failed round must not leave the workers waiting
        raise
    finally:
        for p in procs:
            p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    print(f"\norders seen over {rounds} rounds: {sorted(orders)}")


def _gated_rounds(reg, rounds: int, barrier, results, orders: set) -> None:
    for i in range(rounds):
        reg.promote("churn:1", "production", reason=f"reset {i}", force=i > 0)
        barrier.wait(timeout=120)
        barrier.wait(timeout=120)
        outcome = {who: rest for who, _, *rest in _collect(results, 2)}
        assert reg.get("churn@production").version == 3
        moves = reg.history("churn", "production")
        last_reset = max(j for j, m in enumerate(moves) if m.reason == f"reset {i}")
        promos = moves[last_reset + 1:]
        assert [m.previous for m in promos] == [1] + [m.version for m in promos][:-1]
        assert outcome["carol"][0] == "moved"
        if outcome["bob"][0] == "refused":  # carol was first: bob's 0.8 is judged against her 0.9
            report = outcome["bob"][3]
            assert report["gates"][0]["detail"] == ("metrics.auc = 0.8 < current.metrics.auc = 0.9"
                                                    " (current holder churn:3)")
            assert [m.version for m in promos] == [3]
            orders.add("carol first")
        else:  # bob was first: carol replaces bob's churn:2
            assert [(m.previous, m.version) for m in promos] == [(1, 2), (2, 3)]
            orders.add("bob first")
        for m in promos:
            assert m.report["allowed"] and m.kind == "promote" and not m.forced
