"""Collaboration and governance: comments and reviews, gated promotion, alias time travel and rollback,
policies and the activity feed. ``CollaborationMixin`` is a base of :class:`Registry`; its methods use
the registry's store, ref resolution, events and ``_move_alias``.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

from . import store_collab as sc
from .entities import ActivityItem, AliasMove, Comment, GateReport, ModelVersion, Policy, Results
from .errors import Conflict, NotFound, PermissionDenied, PolicyRefused, ValidationError
from .identity import counts
from .policy import describe_policy, evaluate, normalize_policy, smoke_test
from .refs import Ref, parse_ref, validate_alias
from .store import now_iso
from .versioning import VERSIONING_ACTIONS, versioning_summary

VERDICTS = ("approve", "request-changes")
MAX_BODY = 50_000
MAX_ANCHOR = 300
SNIPPET = 80


class CollaborationMixin:
    """Comments, reviews, policies, promotion, rollback, time travel and activity (docs/collaboration.md)."""

    # ============================================================ comments
    def comment(self, ref: str, body: str, *, anchor: str | None = None, reply_to: int | None = None) -> Comment:
        """Comment on a model (``"churn"``) or a version (``"churn:3"``, ``"churn@production"``).

        ``body`` is markdown, stored as written. ``anchor`` names the fact discussed (``metrics.auc``,
        ``params.max_depth``, ``tags.team``, ``data.train``, ``cell:12``, ``signature``, ``description``)
        and must exist on the target. ``reply_to`` is the id of a comment on the same target.
        """
        return self._add_comment(ref, body, anchor=anchor, reply_to=reply_to, verdict=None)

    def review(self, ref: str, verdict: str, body: str = "") -> Comment:
        """Review a version: a comment whose verdict is ``"approve"`` or ``"request-changes"``.

        Reviews by the version's author are kept but never count as approvals (see :meth:`review_state`).
        """
        if verdict not in VERDICTS:
            raise ValidationError(f"verdict must be 'approve' or 'request-changes', not {verdict!r}")
        if parse_ref(ref) == Ref(parse_ref(ref).name):
            raise ValidationError(f"a review is of one version: use {ref}:<version> or {ref}@<alias>, not {ref!r}")
        return self._add_comment(ref, body, anchor=None, reply_to=None, verdict=verdict, allow_empty=True)

    def comments(self, ref: str) -> Results:
        """A model's own comments (bare name) or one version's, in thread order: each top-level comment
        followed by its replies (depth first, oldest first). Deleted comments stay as tombstones."""
        with self.store.read() as conn:
            model, number = self._comment_target(ref, conn)
            rows = sc.comment_rows(conn, model["id"], number)
        target = model["name"] if number is None else f"{model['name']}:{number}"
        return Results(_thread_order([_comment(r) for r in rows]), title=f"comments on {target}")

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        """Replace the body of your own comment; the previous body is kept (:meth:`comment_history`)."""
        body = _clean_body(body)
        with self.store.write() as conn:
            row = self._own_comment(conn, comment_id, "edit")
            if row["deleted"]:
                raise Conflict(f"comment {comment_id} was deleted; it cannot be edited")
            if row["body"] == body:
                return _comment(row)
            when = now_iso()
            sc.edit_comment(conn, row["id"], old_body=row["body"], written_at=row["edited_at"] or row["created_at"],
                            body=body, when=when, editor=self.author)
            self._event(conn, "comment.edited", row["model"], row["version"], {"id": row["id"]}, time_=when)
            return _comment(sc.comment_row(conn, row["id"]))

    def delete_comment(self, comment_id: int) -> Comment:
        """Delete your own comment. A tombstone (empty body, ``deleted=True``) keeps its place in the
        thread so replies still make sense; the text and its earlier versions are erased."""
        with self.store.write() as conn:
            row = self._own_comment(conn, comment_id, "delete")
            if row["deleted"]:
                return _comment(row)
            sc.tombstone_comment(conn, row["id"])
            self._event(conn, "comment.deleted", row["model"], row["version"], {"id": row["id"]})
            return _comment(sc.comment_row(conn, row["id"]))

    def comment_history(self, comment_id: int) -> list[dict]:
        """Earlier bodies of a comment, oldest first: ``{"body", "written_at", "replaced_at", "editor"}``."""
        with self.store.read() as conn:
            if sc.comment_row(conn, _comment_id(comment_id)) is None:
                raise NotFound(f"no comment with id {comment_id}")
            return [dict(r) for r in sc.comment_edits(conn, comment_id)]

    def review_state(self, ref: str) -> dict:
        """Derived from the version's reviews: the latest verdict of each reviewer counts.

        ``{"approvals": [...], "changes_requested": [...], "self_reviews_ignored": [...]}`` — reviewers
        other than the version's author whose latest verdict approves / requests changes, and the author
        if they reviewed their own version (which never counts).
        """
        with self.store.read() as conn:
            model, number = self._resolve(ref, conn)
            return self._review_state(conn, model, number)

    def _review_state(self, conn, model, number: int) -> dict:
        row = self.store.version_authors(model["id"], number, conn)
        # The author, and whoever claimed to be: an unproven claim can only make review stricter.
        authors = {row["author"]} | ({row["claimed_by"]} if row["claimed_by"] else set())
        latest: dict[str, str] = {}
        unverified: set[str] = set()
        for r in sc.review_rows(conn, model["id"], number):
            if counts(r["identity"]):
                latest[r["author"]] = r["verdict"]
            else:
                unverified.add(r["claimed_by"] or r["author"])
        return {"approvals": sorted(a for a, v in latest.items() if v == "approve" and a not in authors),
                "changes_requested": sorted(a for a, v in latest.items()
                                            if v == "request-changes" and a not in authors),
                "self_reviews_ignored": sorted(authors & set(latest)),
                "unverified_ignored": sorted(unverified)}

    def _add_comment(self, ref: str, body: str, *, anchor, reply_to, verdict, allow_empty: bool = False) -> Comment:
        body = _clean_body(body, allow_empty=allow_empty)
        if anchor is not None and (not isinstance(anchor, str) or not anchor.strip() or len(anchor) > MAX_ANCHOR):
            raise ValidationError(f"anchor must be a non-empty string of at most {MAX_ANCHOR} characters, not {anchor!r}")
        if reply_to is not None:
            reply_to = _comment_id(reply_to, "reply_to")
        with self.store.write() as conn:
            model, number = self._comment_target(ref, conn)
            target = model["name"] if number is None else f"{model['name']}:{number}"
            if anchor is not None:
                anchor = anchor.strip()
                self._check_anchor(conn, model, number, anchor, target)
            if reply_to is not None:
                parent = sc.comment_row(conn, reply_to)
                if parent is None:
                    raise NotFound(f"reply_to: no comment with id {reply_to}")
                if parent["model_id"] != model["id"] or parent["version"] != number:
                    raise ValidationError(f"reply_to: comment {reply_to} is on {_comment(parent).ref}, not on {target}")
                if parent["deleted"]:
                    raise Conflict(f"reply_to: comment {reply_to} was deleted")
            when = now_iso()
            cid = sc.insert_comment(conn, model_id=model["id"], version=number, author=self.author, body=body,
                                    anchor=anchor, reply_to=reply_to, verdict=verdict, created_at=when,
                                    identity=self.identity, claimed_by=self.claimed_by)
            payload = {"id": cid, "anchor": anchor, "reply_to": reply_to}
            if verdict:
                payload = {"id": cid, "verdict": verdict}
            self._event(conn, "review.added" if verdict else "comment.added", model["name"], number, payload,
                        time_=when)
            return _comment(sc.comment_row(conn, cid))

    def _comment_target(self, ref: str, conn) -> tuple[Any, int | None]:
        """A bare model name targets the model itself; a version or alias ref targets that version."""
        parsed = parse_ref(ref)
        if parsed.version is None and parsed.alias is None:
            return self._model_row(parsed.name, conn), None
        return self._resolve(parsed, conn)

    def _own_comment(self, conn, comment_id: int, verb: str):
        row = sc.comment_row(conn, _comment_id(comment_id))
        if row is None:
            raise NotFound(f"no comment with id {comment_id}")
        if row["author"] != self.author:
            raise PermissionDenied(f"comment {comment_id} was written by {row['author']!r}; only its author can "
                                   f"{verb} it (you are {self.author!r})")
        return row

    def _check_anchor(self, conn, model, number: int | None, anchor: str, target: str) -> None:
        valid = self._anchors(conn, model, number)
        if anchor in valid:
            return
        if anchor.startswith("cell:") and not any(v.startswith("cell:") for v in valid):
            raise ValidationError(f"anchor {anchor!r}: {target} has no recorded notebook cells to point at")
        shown = valid if len(valid) <= 40 else valid[:40] + [f"… and {len(valid) - 40} more"]
        raise ValidationError(f"anchor {anchor!r} names nothing on {target}; valid anchors: {', '.join(shown)}")

    def _anchors(self, conn, model, number: int | None) -> list[str]:
        """Every anchor a comment on this target may use."""
        if number is None:
            tags = self.store.model_tags([model["id"]], conn)[model["id"]]
            return ["description", *(f"tags.{k}" for k in sorted(tags))]
        v = self._versions("v.model_id = ? AND v.version = ?", [model["id"], number], lineage=True, conn=conn)[0]
        lineage = v.lineage or {}
        cells = ((lineage.get("notebook") or {}).get("cells")) or []
        out = [f"metrics.{k}" for k in sorted(v.metrics)] + [f"params.{k}" for k in sorted(v.params)]
        out += [f"tags.{k}" for k in sorted(v.tags)] + [f"data.{k}" for k in sorted(lineage.get("data") or {})]
        out += [f"cell:{c['execution_count']}" for c in cells
                if isinstance(c, dict) and c.get("execution_count") is not None]
        if v.signature is not None:
            out.append("signature")
        return out + ["description"]

    # ============================================================ time travel and rollback
    def resolve(self, ref: str, *, at: datetime | date | str | None = None) -> ModelVersion | None:
        """The version ``ref`` names now, or as of ``at`` (a datetime, a date or ISO-8601 text; naive
        values are UTC). Text names a period, and ``at`` means its END, as search reads ``created <= at``:
        ``at="2026-03-01"`` is "as of 1 March" (moves that day count), ``"2026-03-01T12:00"`` includes
        that minute; a ``datetime`` is an instant. For an alias: the version that held it then, ``None`` if none did.
        For ``name:N``: the version if it existed then, else ``None``. For a bare name: the highest
        version registered by then that is active now."""
        parsed = parse_ref(ref)
        when = None if at is None else as_of_iso(at)
        with self.store.read() as conn:
            model = self._model_row(parsed.name, conn)
            if parsed.alias is not None:
                if when is None:
                    number = self.store.alias_target(model["id"], parsed.alias, conn)
                else:
                    row = sc.alias_holder_at(conn, model["id"], parsed.alias, when)
                    number = None if row is None else row["version"]
            elif parsed.version is not None:
                created = sc.version_created_at(conn, model["id"], parsed.version)
                if created is None:
                    raise NotFound(f"{model['name']} has no version {parsed.version}")
                number = parsed.version if when is None or created <= when else None
            else:
                number = (self.store.latest_version(model["id"], conn) if when is None
                          else sc.latest_version_at(conn, model["id"], when))
            if number is None:
                return None
            found = self._versions("v.model_id = ? AND v.version = ?", [model["id"], number], lineage=True,
                                   conn=conn)
        if not found:
            raise NotFound(f"{model['name']}:{number} held {parsed} at that time but has since been deleted")
        return found[0]

    def rollback(self, alias_ref: str, *, reason: str | None = None) -> AliasMove:
        """Move an alias back to the version that held it before the current one (kind ``rollback``).

        Repeatable: each rollback walks one step further back through the alias's history. Raises
        :class:`Conflict` when there is no earlier holder. Rollbacks are not gated by the policy: they
        return to a version that already held the alias.
        """
        parsed = parse_ref(alias_ref)
        if parsed.alias is None:
            raise ValidationError(f"rollback needs an alias ref such as {parsed.name}@production, not {alias_ref!r}")
        reason = _clean_reason(reason)
        with self.store.write() as conn:
            model = self._model_row(parsed.name, conn)
            moves = self.store.alias_moves(model["id"], parsed.alias, conn=conn)
            if not moves:
                raise NotFound(f"{model['name']} has no alias {parsed.alias!r}")
            stack = _holder_stack(moves)
            current = stack.pop() if stack else None
            while stack and stack[-1] is None:
                stack.pop()
            if not stack:
                now = f" (currently {model['name']}:{current})" if current is not None else ""
                raise Conflict(f"{model['name']}@{parsed.alias} has no previous holder to roll back to{now}")
            target = stack[-1]
            if sc.version_created_at(conn, model["id"], target) is None:
                raise Conflict(f"the previous holder of {model['name']}@{parsed.alias}, {model['name']}:{target}, "
                               "has been deleted; point the alias at a version explicitly")
            return self._move_alias(conn, model, moves[-1]["alias"], target, kind="rollback", reason=reason)

    # ============================================================ policies and promotion
    def get_policy(self, name: str, alias: str) -> Policy:
        """The policy of ``name@alias``; an alias without one has the empty policy (no approvals, no gates)."""
        validate_alias(alias)
        with self.store.read() as conn:
            return self._policy_obj(conn, self._model_row(name, conn), alias)

    def set_policy(self, name: str, alias: str, policy: Policy | dict) -> Policy:
        """Replace the policy of ``name@alias`` (validated first); recorded as a ``policy.set`` event."""
        validate_alias(alias)
        with self.store.write() as conn:
            model = self._model_row(name, conn)
            new = normalize_policy(policy, model["name"], alias)
            stored = {"required_approvals": new.required_approvals, "gates": new.gates,
                      "allow_force": new.allow_force}
            previous = sc.policy(conn, model["id"], alias)
            if previous != stored:
                when = now_iso()
                sc.set_policy(conn, model["id"], alias, stored, actor=self.author, when=when)
                self._event(conn, "policy.set", model["name"], None,
                            {"alias": alias, "policy": stored, "previous": previous}, time_=when)
        return new

    def check(self, ref: str, alias: str) -> GateReport:
        """Evaluate the policy of ``alias`` for ``ref`` without moving anything."""
        validate_alias(alias)
        smoke = _SmokeCache(self)
        with self.store.read() as conn:
            model, number = self._resolve(ref, conn)
            return self._gate_report(conn, model, number, alias, smoke)[1]

    def promote(self, ref: str, alias: str, *, reason: str | None = None, force: bool = False) -> AliasMove:
        """Move ``alias`` to the version ``ref`` names if the alias's policy allows it.

        Refused with :class:`PolicyRefused` (``.report`` names each failing gate and the values compared),
        leaving the registry unchanged. ``force=True`` overrides failing gates only when the policy has
        ``allow_force``, needs a ``reason``, and is recorded (``forced=True`` with the report).
        Without a policy this is :meth:`set_alias` recorded as kind ``promote``.
        """
        validate_alias(alias)
        reason = _clean_reason(reason)
        if not isinstance(force, bool):
            raise ValidationError(f"force must be True or False, not {force!r}")
        if force and not reason:
            raise ValidationError("force=True needs a reason saying why the policy is overridden")
        model, number = self._resolve(ref)
        smoke = _SmokeCache(self)
        with self.store.read() as conn:  # the slow part (loading the model) before taking the write lock
            policy = sc.policy(conn, model["id"], alias)
        if policy and {"type": "smoke"} in policy.get("gates", []):
            smoke.run(f"{model['name']}:{number}")
        with self.store.write() as conn:
            # Everything that decides the move is read again under the write lock, so concurrent
            # promotions serialize: each one is judged against the holder it actually replaces.
            model, number = self._resolve(ref, conn)
            policy, report = self._gate_report(conn, model, number, alias, smoke)
            forced = False
            if not report.allowed:
                failing = "; ".join(f"{g['name']}: {g['detail']}" for g in report.failed)
                if not force:
                    raise PolicyRefused(f"promotion of {report.ref} to {alias} refused: {failing}", report)
                if not policy.allow_force:
                    raise PolicyRefused(f"promotion of {report.ref} to {alias} refused: the policy does not allow "
                                        f"force; failing: {failing}", report)
                forced = True
            stored = None if policy.empty else report.to_dict()
            return self._move_alias(conn, model, alias, number, kind="promote", reason=reason, forced=forced,
                                    report=stored)

    def _policy_obj(self, conn, model, alias: str) -> Policy:
        stored = sc.policy(conn, model["id"], alias) or {}
        gates = [{"type": g["type"], **g} for g in stored.get("gates", [])]  # "type" first, as documented
        return Policy(model=model["name"], alias=alias, **{**stored, "gates": gates})

    def _gate_report(self, conn, model, number: int, alias: str, smoke: "_SmokeCache") -> tuple[Policy, GateReport]:
        policy = self._policy_obj(conn, model, alias)
        candidate = self._versions("v.model_id = ? AND v.version = ?", [model["id"], number], conn=conn)[0]
        if policy.empty:
            return policy, GateReport(ref=candidate.ref, alias=alias, allowed=True, gates=[])
        held = self.store.alias_target(model["id"], alias, conn)
        current = None if held is None else self._versions("v.model_id = ? AND v.version = ?",
                                                            [model["id"], held], conn=conn)[0]
        evaluations = None
        if any("@" in g.get("expr", "") for g in policy.gates):  # metrics.KEY@DATASET gates
            ids = [self._version_id(model["id"], n, conn) for n in (number, held) if n is not None]
            latest = self._latest_evaluations(ids, conn)
            evaluations = {"version": latest[ids[0]], "current": latest[ids[1]] if len(ids) > 1 else {}}
        report = evaluate(policy, candidate=candidate, alias=alias, current=current,
                          reviews=self._review_state(conn, model, number),
                          smoke=lambda: smoke.run(candidate.ref), evaluations=evaluations)
        return policy, report

    # ============================================================ activity
    def activity(self, model: str | None = None, *, since: int | datetime | date | str | None = None,
                 limit: int = 100) -> Results:
        """A readable feed, newest first, built from the events: registrations, comments, reviews,
        alias moves (promotions, rollbacks), archiving, policy changes. ``since`` is an event id
        (items after it) or a time (items at or after it)."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
            raise ValidationError(f"limit must be an integer from 1 to 10000, not {limit!r}")
        since_id = since_time = None
        if isinstance(since, int) and not isinstance(since, bool):
            since_id = since
        elif since is not None:
            since_time = to_utc_iso(since)
        with self.store.read() as conn:
            name = None if model is None else self._model_row(model, conn)["name"]
            rows = self.store.events(since=since_id or 0, model=None if name is None else self._names_of(name),
                                     after_time=since_time, limit=limit,
                                     newest_first=True, conn=conn)
            ids = [json.loads(r["payload"]).get("id") for r in rows if r["action"].startswith(("comment.", "review."))]
            snippets = sc.comment_snippets(conn, [i for i in ids if isinstance(i, int)])
        items = [_activity_item(r, snippets) for r in rows]
        return Results(items, title=f"activity{' of ' + name if name else ''}")


# ==================================================================== helpers
class _SmokeCache:
    """Runs each version's smoke test at most once per call (it loads the model)."""

    def __init__(self, registry):
        self.registry = registry
        self.results: dict[str, tuple[bool, str]] = {}

    def run(self, ref: str) -> tuple[bool, str]:
        if ref not in self.results:
            self.results[ref] = smoke_test(self.registry, ref)
        return self.results[ref]


def _comment(row) -> Comment:
    return Comment(id=row["id"], model=row["model"], version=row["version"], author=row["author"], body=row["body"],
                   anchor=row["anchor"], reply_to=row["reply_to"], verdict=row["verdict"],
                   created_at=row["created_at"], edited_at=row["edited_at"], deleted=bool(row["deleted"]),
                   identity=row["identity"], claimed_by=row["claimed_by"])


def _thread_order(items: list[Comment]) -> list[Comment]:
    children: dict[int | None, list[Comment]] = {}
    ids = {c.id for c in items}
    for c in items:
        children.setdefault(c.reply_to if c.reply_to in ids else None, []).append(c)
    out: list[Comment] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        c = stack.pop()
        out.append(c)
        stack.extend(reversed(children.get(c.id, [])))
    return out


def _clean_body(body: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(body, str):
        raise ValidationError(f"a comment body must be text, not {type(body).__name__}")
    if not allow_empty and not body.strip():
        raise ValidationError("a comment body must not be empty")
    if len(body) > MAX_BODY:
        raise ValidationError(f"a comment body holds at most {MAX_BODY} characters, this one has {len(body)}")
    return body


def _clean_reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise ValidationError(f"reason must be text, not {type(reason).__name__}")
    return reason.strip() or None


def _comment_id(value: Any, what: str = "comment id") -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{what} must be a positive integer, not {value!r}")
    return value


def to_utc_iso(value: datetime | date | str) -> str:
    """A moment as the registry's stored time text (UTC, microseconds). Naive values are UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" and text else text)
        except ValueError:
            raise ValidationError(f"cannot read {text!r} as a time; use ISO 8601 such as 2026-03-01T12:00:00Z") from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise ValidationError(f"a time must be a datetime or ISO-8601 text, not {type(value).__name__}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_of_iso(value: datetime | date | str) -> str:
    """The last stored instant a time-travel ``at`` covers: the end of the period text or a date names
    (see core/times.py), the instant itself for a datetime."""
    from datetime import timedelta

    from .times import iso, period

    if isinstance(value, str):
        try:
            bounds = period(value)
        except (ValueError, OverflowError):
            raise ValidationError(f"invalid time {value!r}") from None
        if bounds is not None:
            return iso(bounds[1] - timedelta(microseconds=1))
    elif isinstance(value, date) and not isinstance(value, datetime):
        return iso(datetime(value.year, value.month, value.day) + timedelta(days=1) - timedelta(microseconds=1))
    return to_utc_iso(value)


def _holder_stack(moves) -> list[int | None]:
    """Replay an alias's moves into the stack rollback walks back through (None = unheld)."""
    stack: list[int | None] = []
    for m in moves:
        if m["kind"] == "rollback":
            if stack:
                stack.pop()
            while stack and stack[-1] != m["version"]:
                stack.pop()
            if not stack:
                stack.append(m["version"])
        elif not stack or stack[-1] != m["version"]:
            stack.append(m["version"])
    return stack


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1] + "…"


def _activity_item(row, snippets: dict) -> ActivityItem:
    payload = json.loads(row["payload"])
    actor, ref, action = row["actor"], row["ref"], row["action"]
    model = row["model"]
    text = None
    if action in ("comment.added", "review.added"):
        c = snippets.get(payload.get("id"))
        if c is None or c["deleted"]:
            text = "(deleted)"
        elif c["body"].strip():
            text = f"“{_snippet(c['body'])}”"
    alias = payload.get("alias")
    was = payload.get("previous")
    was_text = f" (was {model}:{was})" if was is not None else " (was unset)"
    why = f": {payload['reason']}" if payload.get("reason") else ""
    forced = " — FORCED past failing gates" if payload.get("forced") else ""
    if action == "version.registered":
        metrics = payload.get("metrics") or {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in list(metrics.items())[:3])
        summary = f"{actor} registered {ref}" + (f" ({shown})" if shown else "")
    elif action == "comment.added":
        on = f" on {ref}" + (f" [{payload['anchor']}]" if payload.get("anchor") else "")
        verb = "replied" if payload.get("reply_to") else "commented"
        summary = f"{actor} {verb}{on}" + (f": {text}" if text else "")
    elif action == "review.added":
        verb = "approved" if payload.get("verdict") == "approve" else "requested changes on"
        summary = f"{actor} {verb} {ref}" + (f": {text}" if text else "")
    elif action == "comment.edited":
        summary = f"{actor} edited a comment on {ref}"
    elif action == "comment.deleted":
        summary = f"{actor} deleted a comment on {ref}"
    elif action == "alias.promote":
        summary = f"{actor} promoted {ref} to {alias}{was_text}{forced}{why}"
    elif action == "alias.rollback":
        summary = f"{actor} rolled back {model}@{alias} to {ref}" + (f" (from {model}:{was})" if was else "") + why
    elif action == "alias.set":
        summary = f"{actor} pointed {model}@{alias} at {ref}{was_text}{why}"
    elif action == "alias.removed":
        summary = f"{actor} removed {model}@{alias}{was_text}{why}"
    elif action == "policy.set":
        policy = Policy(model=model, alias=alias, **payload.get("policy", {}))
        summary = f"{actor} changed the policy of {model}@{alias}: {describe_policy(policy)}"
    elif action in ("version.archived", "version.restored", "version.deleted", "model.archived", "model.restored"):
        summary = f"{actor} {action.split('.')[1]} {ref}"
    elif action in VERSIONING_ACTIONS:  # revert, rename, delete, cards, evaluations (versioning.py)
        summary = versioning_summary(action, actor, model, ref, payload)
    elif action == "model.created":
        summary = f"{actor} created model {model}"
    elif action in ("version.updated", "model.updated"):
        summary = f"{actor} updated {', '.join(sorted(set(payload) - {'previous'})) or 'nothing'} of {ref}"
    else:
        summary = f"{actor}: {action}" + (f" {ref}" if ref else "")
    return ActivityItem(id=row["id"], time=row["time"], actor=actor, action=action, ref=ref, summary=summary)
