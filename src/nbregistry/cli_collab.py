"""CLI verbs for collaboration and governance: ``comment``, ``comments``, ``review``, ``promote``,
``check``, ``rollback``, ``policy show|set`` and ``activity`` (``history --at`` lives with ``history``
in cli.py). Each parses, calls one core method and renders; the rules are in ``nbregistry.core``.
"""

from __future__ import annotations

import argparse
import json
import sys

from .cli import EXIT_OK, EXIT_REFUSED, UsageError, fmt_time, kv_block, output, render_move, table


# ==================================================================== renderers
def render_comment(c) -> str:
    kind = {"approve": "approval", "request-changes": "request for changes"}.get(c.verdict, "comment")
    anchor = f" [{c.anchor}]" if c.anchor else ""
    reply = f" (reply to #{c.reply_to})" if c.reply_to else ""
    state = " (deleted)" if c.deleted else (" (edited)" if c.edited_at else "")
    return f"{kind} #{c.id} on {c.ref}{anchor}{reply} by {c.author}{state}"


def render_thread(comments) -> str:
    if not comments:
        return "no comments"
    depth: dict[int, int] = {}
    lines = []
    for c in comments:  # the core returns thread order: parents before their replies
        depth[c.id] = depth.get(c.reply_to, -1) + 1 if c.reply_to in depth else 0
        pad = "    " * depth[c.id]
        verdict = {"approve": " APPROVED", "request-changes": " REQUESTED CHANGES"}.get(c.verdict, "")
        anchor = f" [{c.anchor}]" if c.anchor else ""
        edited = " (edited)" if c.edited_at and not c.deleted else ""
        lines.append(f"{pad}#{c.id} {c.author} {fmt_time(c.created_at)}{verdict}{anchor}{edited}")
        body = "(deleted)" if c.deleted else (c.body or "")
        lines += [f"{pad}    {line}" for line in body.splitlines()] if body.strip() else []
    return "\n".join(lines)


def render_report(r) -> str:
    if not r.gates:
        return f"{r.ref} -> {r.alias}: allowed (the alias has no policy)"
    rows = [["pass" if g["passed"] else "FAIL", g["name"], g["detail"]] for g in r.gates]
    verdict = "allowed" if r.allowed else "REFUSED"
    return f"{r.ref} -> {r.alias}: {verdict}\n" + table(rows, ["", "GATE", "DETAIL"], max_width=100)


def render_promotion(m) -> str:
    text = render_move(m)
    if m.forced:
        text += f"\nFORCED past failing gates (reason: {m.reason})"
    elif m.report:
        text += f"\n{len(m.report['gates'])} gate(s) passed"
    return text


def render_policy(p) -> str:
    gates = [g["expr"] if g["type"] == "metric" else g["type"] for g in p.gates]
    return kv_block([
        ("policy", f"{p.model}@{p.alias}"),
        ("required approvals", f"{p.required_approvals} (from people other than the version's author)"),
        ("gates", "; ".join(gates) or "none"),
        ("force", "allowed (with a reason, recorded)" if p.allow_force else "not allowed"),
    ])


def render_activity(items) -> str:
    if not items:
        return "no activity"
    return "\n".join(f"{fmt_time(i.time)}  #{i.id}  {i.summary}" for i in items)


# ==================================================================== comment, comments, review
def add_comment_parser(sub):
    p = sub.add_parser("comment", help="comment on a model (NAME) or a version (REF); markdown")
    p.add_argument("ref", help="churn (the model itself), churn:3 or churn@production")
    p.add_argument("body", help="the comment, markdown ('-' reads it from stdin)")
    p.add_argument("--anchor", help="the fact discussed: metrics.auc, params.max_depth, data.train, cell:12, ...")
    p.add_argument("--reply-to", type=int, metavar="ID", help="answer comment ID (same model or version)")


def cmd_comment(reg, args):
    body = sys.stdin.read() if args.body == "-" else args.body
    return output(args, reg.comment(args.ref, body, anchor=args.anchor, reply_to=args.reply_to), render_comment)


def add_comments_parser(sub):
    p = sub.add_parser("comments", help="the comment thread of a model (NAME) or a version (REF)")
    p.add_argument("ref", help="churn (model-level comments), churn:3 or churn@production")


def cmd_comments(reg, args):
    results = reg.comments(args.ref)
    return output(args, results, render_thread, json_obj={"comments": results})


def add_review_parser(sub):
    p = sub.add_parser("review", help="approve a version or request changes")
    p.add_argument("ref", help="the version: churn:3 or churn@staging")
    p.add_argument("verdict", choices=["approve", "request-changes"])
    p.add_argument("body", nargs="?", default="", help="what you checked or what must change")


def cmd_review(reg, args):
    return output(args, reg.review(args.ref, args.verdict, args.body), render_comment)


# ==================================================================== promote, check, rollback
def add_promote_parser(sub):
    p = sub.add_parser("promote", help="move an alias to a version if its policy allows (exit 1 when refused)")
    p.add_argument("ref", help="the version: churn:3 or churn@staging")
    p.add_argument("alias", help="e.g. production")
    p.add_argument("--reason", help="why (kept in the alias history)")
    p.add_argument("--force", action="store_true",
                   help="override failing gates (only if the policy allows force; needs --reason; recorded)")


def cmd_promote(reg, args):
    from .core.errors import PolicyRefused

    try:
        move = reg.promote(args.ref, args.alias, reason=args.reason, force=args.force)
    except PolicyRefused as exc:
        report = exc.report
        if args.json:  # the same body as the REST API's 409
            body = {"message": str(exc), "code": exc.code, "report": report.to_dict() if report else None}
            sys.stdout.write(json.dumps(body, indent=2) + "\n")
        elif report is not None:
            sys.stdout.write(render_report(report) + "\n")
        sys.stderr.write(f"nbregistry: error: {' '.join(str(exc).split())}\n")
        return EXIT_REFUSED
    return output(args, move, render_promotion)


def add_check_parser(sub):
    p = sub.add_parser("check", help="run an alias's policy for a version without moving it (exit 1 if refused)")
    p.add_argument("ref", help="the version: churn:3 or churn@staging")
    p.add_argument("alias", help="e.g. production")


def cmd_check(reg, args):
    report = reg.check(args.ref, args.alias)
    output(args, report, render_report)
    return EXIT_OK if report.allowed else EXIT_REFUSED


def add_rollback_parser(sub):
    p = sub.add_parser("rollback", help="move an alias back to its previous holder (repeatable)")
    p.add_argument("ref", metavar="NAME@ALIAS", help="e.g. churn@production")
    p.add_argument("--reason", help="why (kept in the alias history)")


def cmd_rollback(reg, args):
    return output(args, reg.rollback(args.ref, reason=args.reason), render_move)


# ==================================================================== policy
def add_policy_parser(sub):
    p = sub.add_parser("policy", help="show or set the promotion policy of an alias",
                       description="nbregistry policy show NAME ALIAS | nbregistry policy set NAME ALIAS "
                                   "[--approvals N] [--gate GATE ...] [--allow-force] | --file policy.json")
    actions = p.add_subparsers(dest="action", metavar="show|set", required=True)
    for name, text in (("show", "print the policy"), ("set", "replace the policy (every change is an event)")):
        q = actions.add_parser(name, help=text)
        q.add_argument("name", help="model name")
        q.add_argument("alias", help="e.g. production")
        if name == "set":
            q.add_argument("--approvals", type=int, default=0, metavar="N",
                           help="approvals required from people other than the version's author (default 0)")
            q.add_argument("--gate", action="append", default=[], metavar="GATE",
                           help="'signature', 'smoke' or a metric condition such as "
                                "'metrics.auc >= current.metrics.auc - 0.01' (repeatable, in order)")
            q.add_argument("--allow-force", action="store_true", help="let promote --force override failing gates")
            q.add_argument("--file", metavar="PATH",
                           help="the whole policy as JSON (docs/rest-api.md), '-' for stdin; replaces the flags")
        # the global options, also accepted after the action (`policy show churn production --json`)
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
        q.add_argument("--root", default=argparse.SUPPRESS, metavar="PATH", help="registry folder")


def cmd_policy(reg, args):
    if args.action == "show":
        return output(args, reg.get_policy(args.name, args.alias), render_policy)
    if args.file:
        if args.approvals or args.gate or args.allow_force:
            raise UsageError("give the policy either as --file or as --approvals/--gate/--allow-force, not both")
        text = sys.stdin.read() if args.file == "-" else _read(args.file)
        try:
            policy = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{args.file}: not valid JSON ({exc})") from None
    else:
        policy = {"required_approvals": args.approvals, "gates": args.gate, "allow_force": args.allow_force}
    return output(args, reg.set_policy(args.name, args.alias, policy), render_policy)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


# ==================================================================== activity
def add_activity_parser(sub):
    p = sub.add_parser("activity", help="what happened, newest first: registrations, comments, reviews, promotions")
    p.add_argument("--model", metavar="NAME", help="only this model")
    p.add_argument("--since", metavar="ID|TIME", help="after event ID, or at/after an ISO time (2026-03-01T12:00Z)")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")


def cmd_activity(reg, args):
    since = args.since
    if since is not None and since.strip().isdigit():
        since = int(since)
    results = reg.activity(args.model, since=since, limit=args.limit)
    return output(args, results, render_activity, json_obj={"items": results})
