"""CLI verbs for versioning, model cards and evaluations: ``revert``, ``rename``, ``release-name``,
``card``, ``evaluations`` and ``log-metrics`` (deleting a whole model is ``delete NAME --model`` in
cli.py). Each parses, calls one core method and renders; the rules are in ``nbregistry.core``.
"""

from __future__ import annotations

import sys

from .cli import UsageError, fmt_pairs, fmt_time, output, parse_metrics, render_model, render_version, table


# ==================================================================== renderers
def render_evaluations(items) -> str:
    if not items:
        return "no evaluations"
    rows = [[e.ref, e.dataset, (e.fingerprint or "-")[:12], e.source, e.author, fmt_time(e.created_at),
             fmt_pairs(e.metrics, 6)] for e in items]
    return table(rows, ["REF", "DATASET", "DATA SHA256", "SOURCE", "BY", "WHEN", "METRICS"], max_width=80)


def render_evaluation(e) -> str:
    return render_evaluations([e])


def render_card(c) -> str:
    if not str(c):
        return f"{c.ref} has no card yet (draft one: nbregistry card {c.ref} --draft)"
    return str(c)


# ==================================================================== revert, rename, release-name
def add_revert_parser(sub):
    p = sub.add_parser("revert", help="record a new version that is an earlier one again (no bytes copied)")
    p.add_argument("ref", help="the version to return to: churn:2")
    p.add_argument("--reason", help="why (kept in the new version's lineage and the event)")
    p.add_argument("--description", help="the new version's description (default: 'Revert of REF')")


def cmd_revert(reg, args):
    version = reg.revert(args.ref, reason=args.reason, description=args.description)
    return output(args, version, lambda v: f"{v.ref} is a revert of {args.ref}\n\n" + render_version(v))


def add_rename_parser(sub):
    p = sub.add_parser("rename", help="rename a model; its old name is retired (never names another model)")
    p.add_argument("name", help="the model's current name")
    p.add_argument("new_name", help="its new name")
    p.add_argument("--force", action="store_true", help="rename although aliases are held (needs --reason)")
    p.add_argument("--reason", help="why (recorded)")


def cmd_rename(reg, args):
    return output(args, reg.rename_model(args.name, args.new_name, force=args.force, reason=args.reason),
                  render_model)


def add_release_name_parser(sub):
    p = sub.add_parser("release-name", help="free a retired model name so a new model may take it")
    p.add_argument("name")
    p.add_argument("--reason", help="why (recorded)")


def cmd_release_name(reg, args):
    released = reg.release_name(args.name, reason=args.reason)
    return output(args, released, lambda n: f"{n} may now name a new model", json_obj={"released": released})


# ==================================================================== card
def add_card_parser(sub):
    p = sub.add_parser("card", help="show, draft or write the markdown card of a model (NAME) or a version (REF)")
    p.add_argument("ref", help="churn (the model's card), churn:3 or churn@production")
    p.add_argument("--draft", action="store_true", help="draft one from the recorded facts (not saved)")
    p.add_argument("--set", metavar="FILE", help="write the card from a markdown file ('-' reads stdin)")
    p.add_argument("--history", action="store_true", help="every body the card has had, oldest first")


def cmd_card(reg, args):
    if sum(map(bool, (args.draft, args.set, args.history))) > 1:
        raise UsageError("give at most one of --draft, --set and --history")
    if args.set:
        if args.set == "-":
            text = sys.stdin.read()
        else:
            try:
                with open(args.set, encoding="utf-8") as f:
                    text = f.read()
            except OSError as exc:
                raise UsageError(f"cannot read {args.set}: {exc.strerror}") from None
        card = reg.set_card(args.ref, text)
        return output(args, card, lambda c: f"wrote the card of {c.ref} ({len(c)} characters)")
    if args.history:
        cards = reg.card_history(args.ref)
        return output(args, cards, lambda cs: "\n\n".join(f"--- {fmt_time(c.written_at)} by {c.author}\n{c}"
                                                          for c in cs) or "no card yet",
                      json_obj={"cards": cards})
    return output(args, reg.card(args.ref, draft=args.draft), render_card)


# ==================================================================== evaluations
def add_evaluations_parser(sub):
    p = sub.add_parser("evaluations", help="evaluations of a version (REF) or of every version of a model (NAME)")
    p.add_argument("ref")
    p.add_argument("--dataset", help="only this dataset's")


def cmd_evaluations(reg, args):
    results = reg.evaluations(args.ref, dataset=args.dataset)
    return output(args, results, render_evaluations, json_obj={"evaluations": results})


def add_log_metrics_parser(sub):
    p = sub.add_parser("log-metrics", help="record metrics computed elsewhere for a version on a named dataset")
    p.add_argument("ref", help="the version: churn:3 or churn@production")
    p.add_argument("metrics", nargs="+", metavar="KEY=NUMBER")
    p.add_argument("--dataset", required=True, help="the dataset's name, e.g. holdout-2026-12")
    p.add_argument("--data", metavar="PATH", help="the data file or folder, fingerprinted (so comparisons know it)")
    p.add_argument("--fingerprint", metavar="SHA256", help="the data's fingerprint, if computed elsewhere")


def cmd_log_metrics(reg, args):
    evaluation = reg.log_metrics(args.ref, parse_metrics(args.metrics), dataset=args.dataset, data=args.data,
                                 fingerprint=args.fingerprint)
    return output(args, evaluation, render_evaluation)
