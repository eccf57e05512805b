"""The ``nbregistry`` command line: a face over the core ``Registry`` (parse, call, render).

HOW TO ADD A VERB (keep business rules in the core; a verb only parses, calls and renders):

1. Write two functions, here or in your own module:

       def add_<verb>_parser(sub):                 # sub: the argparse subparsers object
           p = sub.add_parser("<verb>", help="one line for `nbregistry --help`")
           p.add_argument(...)

       def cmd_<verb>(reg, args):                  # reg: the Registry (origin="cli")
           result = reg.<method>(...)
           return output(args, result, human_fn)   # --json prints to_dict(); else human_fn(result)

   ``cmd_*`` returns an exit code (``None`` means 0). Raise core errors as they come: ``main``
   turns them into one ``nbregistry: error: ...`` line and an exit code (1 refused/not found,
   2 bad input). Import heavy packages inside ``cmd_*`` only: the CLI must start fast.
2. Add one line to ``VERBS`` below: ``"<verb>": (add_<verb>_parser, cmd_<verb>)``, or, for a verb
   living in another module, ``"<verb>": "package.module"`` (that module defines
   ``add_<verb>_parser`` and ``cmd_<verb>``; keep its top-level imports light).
3. Document it in docs/cli.md (a test fails when a verb is missing there) and test it in tests/.

``--root`` and ``--json`` are global and also accepted after the verb (``nbregistry ls --json``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from typing import Any, Callable

from .core.entities import to_jsonable

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# Core error codes (see core/errors.py) that mean "the input was wrong" -> exit 2; any other
# RegistryError (not found, conflict, forbidden, integrity, a refused promotion...) -> exit 1.
USAGE_CODES = {"bad_request"}


class UsageError(Exception):
    """Bad command-line input the CLI itself detects (e.g. ``k=v`` without ``=``): exit 2."""


# ==================================================================== rendering helpers
def output(args, obj: Any, human: Callable[[Any], str] | None = None, *, json_obj: Any = None) -> int:
    """Print ``obj``: JSON (``json_obj`` if given, else ``to_jsonable(obj)``) with ``--json``,
    else ``human(obj)`` (or ``str(obj)``). Returns exit code 0."""
    if getattr(args, "json", False):
        data = to_jsonable(obj) if json_obj is None else to_jsonable(json_obj)
        sys.stdout.write(json.dumps(data, indent=2, default=str, allow_nan=False) + "\n")
    else:
        text = human(obj) if human else str(obj)
        if text:
            sys.stdout.write(text.rstrip("\n") + "\n")
    return EXIT_OK


def table(rows: list[list[Any]], headers: list[str], *, max_width: int = 48) -> str:
    """An aligned plain-text table; numbers right-aligned, long cells cut with '…'."""
    def cell(value):
        if value is None:
            return "-"
        text = fmt_value(value).replace("\n", " ")
        return text if len(text) <= max_width else text[:max_width - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    numeric = [bool(rows) and all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) or r[i] is None
                                  for r in rows) for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def fmt_time(iso: str | None) -> str:
    """``2026-11-27T06:45:20.123456Z`` -> ``2026-11-27 06:45:20``."""
    if not iso:
        return "-"
    return iso.replace("T", " ")[:19]


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def fmt_pairs(d: dict | None, limit: int = 4) -> str:
    if not d:
        return ""
    items = [f"{k}={fmt_value(v)}" for k, v in d.items()]
    return ", ".join(items[:limit]) + (f", … (+{len(items) - limit})" if len(items) > limit else "")


def kv_block(pairs: list[tuple[str, Any]]) -> str:
    """``key: value`` lines with the keys aligned; ``None`` values are left out."""
    pairs = [(k, v) for k, v in pairs if v is not None]
    width = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in pairs)


class Progress:
    """A one-line progress report on stderr, only when stderr is a terminal.

    ``Progress.maybe(label, total)`` returns ``None`` when stderr is not a TTY, so the core does no
    callback work at all in scripts and CI.
    """

    def __init__(self, label: str, total: int | None = None, stream=None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._shown = False

    @classmethod
    def maybe(cls, label: str, total: int | None = None) -> "Progress | None":
        isatty = getattr(sys.stderr, "isatty", None)
        return cls(label, total) if isatty is not None and isatty() else None

    def __call__(self, nbytes: int) -> None:
        self.done += nbytes
        now = time.monotonic()
        if now - self._last >= 0.1:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        text = f"{self.label}: {fmt_bytes(self.done)}"
        if self.total:
            text += f" / {fmt_bytes(self.total)} ({min(100, 100 * self.done // self.total)}%)"
        self.stream.write("\r" + text + "\033[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def close_progress(progress: Progress | None) -> None:
    if progress is not None:
        progress.close()


# ==================================================================== input helpers
def parse_pairs(items: list[str] | None, what: str) -> dict:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; the core validates keys and values."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"bad {what} {item!r}: write KEY=VALUE")
        out[key] = value
    return out


def parse_metrics(items: list[str] | None) -> dict:
    """Metric values become floats when they read as numbers ('nan' included: the core refuses it
    with its own message); anything else goes to the core as text, which refuses it too."""
    out = {}
    for key, value in parse_pairs(items, "metric").items():
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def metrics_summary(metrics: dict, limit: int = 3) -> str:
    return fmt_pairs(metrics, limit)


# ==================================================================== human renderers
def render_models(results) -> str:
    if not results:
        return "no models"
    rows = [[m.name, m.latest_version, m.version_count,
             " ".join(f"@{a}:{v}" for a, v in sorted(m.aliases.items())), fmt_time(m.created_at),
             "archived" if m.archived else "", m.description] for m in results]
    text = table(rows, ["NAME", "LATEST", "VERSIONS", "ALIASES", "CREATED", "STATUS", "DESCRIPTION"])
    return text + _page_note(results)


def render_versions(results) -> str:
    if not results:
        return "no versions"
    rows = [[v.ref, v.status, " ".join("@" + a for a in v.aliases), v.author, fmt_time(v.created_at),
             v.flavor, metrics_summary(v.metrics)] for v in results]
    text = table(rows, ["REF", "STATUS", "ALIASES", "AUTHOR", "CREATED", "FLAVOR", "METRICS"], max_width=60)
    return text + _page_note(results)


def _page_note(results) -> str:
    total = getattr(results, "total", len(results))
    shown = f"{total:,}+" if getattr(results, "total_capped", False) else total
    return f"\n({len(results)} of {shown} shown; use --limit/--offset for more)" if total > len(results) else ""


def render_version(v) -> str:
    artifact = v.artifact or {}
    lines = [kv_block([
        ("ref", v.ref),
        ("status", v.status),
        ("aliases", " ".join("@" + a for a in v.aliases) or "-"),
        ("author", v.author),
        ("created", fmt_time(v.created_at)),
        ("flavor", v.flavor),
        ("description", v.description or "-"),
        ("revert of", ((v.lineage or {}).get("revert_of") or {}).get("ref")),
        ("artifact", f"sha256 {artifact.get('sha256')}, {fmt_bytes(artifact.get('size'))}"),
        ("signature", _signature_text(v.signature)),
        ("input example", "stored" if v.has_input_example else "none"),
    ])]
    for title, section in (("metrics", v.metrics), ("params", v.params), ("tags", v.tags)):
        if section:
            lines.append(f"\n{title}:")
            lines.append(table([[k, val] for k, val in section.items()], ["KEY", "VALUE"], max_width=80))
    files = artifact.get("files") or []
    if files:
        lines.append("\nfiles:")
        lines.append(table([[f["path"], f["size"], f["sha256"][:12]] for f in files], ["PATH", "SIZE", "SHA256"]))
    lineage = v.lineage or {}
    if lineage:
        git = lineage.get("git") or {}
        lines.append("\nlineage:")
        lines.append(kv_block([
            ("python", lineage.get("python")),
            ("platform", lineage.get("platform")),
            ("git", f"{git.get('commit', '')[:12]} on {git.get('branch')}{' (dirty)' if git.get('dirty') else ''}"
             if git else None),
            ("data", ", ".join(sorted(lineage.get("data") or {})) or None),
            ("mlflow metric history", ", ".join(f"{k} ({len(p)} points, last {p[-1][1]:g} at step {p[-1][0]})"
                                                for k, p in sorted(((lineage.get("mlflow") or {}).get("metric_history")
                                                                    or {}).items())) or None),
        ]))
    return "\n".join(lines)


def _signature_text(sig: dict | None) -> str:
    if not sig:
        return "none"
    if sig.get("type") == "dataframe":
        cols = sig.get("columns", [])
        return f"dataframe, {len(cols)} columns: " + ", ".join(f"{c['name']} ({c['dtype']})" for c in cols[:8]) + \
            (" …" if len(cols) > 8 else "")
    return f"{sig.get('type')} {sig.get('shape')} {sig.get('dtype')}"


def render_model(m) -> str:
    return kv_block([
        ("name", m.name),
        ("status", "archived" if m.archived else "active"),
        ("latest version", m.latest_version if m.latest_version is not None else "-"),
        ("versions", m.version_count),
        ("aliases", " ".join(f"@{a}:{v}" for a, v in sorted(m.aliases.items())) or "-"),
        ("created", f"{fmt_time(m.created_at)} by {m.created_by}"),
        ("description", m.description or "-"),
        ("tags", fmt_pairs(m.tags, 50) or "-"),
    ])


def render_comparison(c) -> str:
    if not c.versions:
        return "nothing to compare"
    return _comparison_table(c) + "".join(f"\nnote: {n}" for n in getattr(c, "notes", None) or [])


def _comparison_table(c) -> str:
    headers = ["REF", "ALIASES"] + list(c.metrics)
    rows = []
    for i, v in enumerate(c.versions):
        row = [v["ref"], " ".join("@" + a for a in v["aliases"])]
        for info in c.metrics.values():
            value = info["values"][i]
            row.append(None if value is None else fmt_value(value) + (" *" if i in info["best"] else ""))
        rows.append(row)
    lines = [table(rows, headers)]
    if c.metrics:
        lines.append("* best (" + ", ".join(f"{k}: {m['goal']}" for k, m in c.metrics.items()) + ")")
    differing = {k: info for k, info in c.params.items() if info["differs"]}
    if differing:
        lines.append("\nparams that differ:")
        lines.append(table([[v["ref"]] + [info["values"][i] for info in differing.values()]
                            for i, v in enumerate(c.versions)], ["REF"] + list(differing)))
    return "\n".join(lines)


def render_diff(d) -> str:
    if not d:
        return f"{d.a} and {d.b}: no differences"
    lines = [f"{d.a} -> {d.b}"]
    for section, changes in d.changes.items():
        lines.append(f"\n{section}:")
        lines.append(table([[c["key"], c["a"], c["b"]] for c in changes], ["KEY", d.a, d.b], max_width=72))
    return "\n".join(lines)


def render_move(m) -> str:
    prev = f"{m.model}:{m.previous}" if m.previous is not None else "nothing"
    if m.version is None:
        return f"removed {m.model}@{m.alias} (was {prev})"
    return f"{m.model}@{m.alias} -> {m.model}:{m.version} (was {prev})"


def render_history(results) -> str:
    if not results:
        return "no alias moves"
    rows = [[m.time and fmt_time(m.time), m.alias, m.kind, m.previous, m.version, m.actor, m.reason]
            for m in results]
    return table(rows, ["TIME", "ALIAS", "KIND", "FROM", "TO", "ACTOR", "REASON"])


def render_verify(r) -> str:
    mode = "sizes checked (--fast)" if r.fast else "re-hashed"
    head = (f"{r.checked_versions} versions, {r.checked_blobs} blobs, {fmt_bytes(r.checked_bytes)} {mode}: "
            + ("clean" if r.ok else f"{len(r.problems)} problem(s)"))
    if r.ok:
        return head
    rows = [[p["ref"], p.get("path"), (p.get("blob") or "")[:12], p["problem"]] for p in r.problems]
    return head + "\n" + table(rows, ["REF", "PATH", "BLOB", "PROBLEM"], max_width=80)


def render_gc(r) -> str:
    verb = "would remove" if r.dry_run else "removed"
    text = (f"{verb} {r.removed_blobs} unreferenced blobs ({fmt_bytes(r.removed_bytes)}); "
            f"kept {r.kept_recent} recent unreferenced blobs (within the grace period)")
    if not r.dry_run:
        text += f"; removed {r.removed_tmp} stale temporary files"
    return text


# ==================================================================== verbs
def add_ls_parser(sub):
    p = sub.add_parser("ls", help="list models")
    p.add_argument("--q", metavar="TEXT", help="only models whose name contains TEXT (case-insensitive)")
    p.add_argument("--archived", action="store_true", help="include archived models")
    _add_page_args(p)


def cmd_ls(reg, args):
    results = reg.list_models(args.q, archived=args.archived, limit=args.limit, offset=args.offset)
    return output(args, results, render_models, json_obj={"models": results, "total": results.total})


def add_show_parser(sub):
    p = sub.add_parser("show", help="show one version (or a model with --model)")
    p.add_argument("ref", help="churn, churn:3 or churn@production (a model name with --model)")
    p.add_argument("--model", action="store_true", help="show the model itself, not a version")


def cmd_show(reg, args):
    if args.model:
        return output(args, reg.get_model(args.ref), render_model)
    return output(args, reg.get(args.ref), render_version)


def add_versions_parser(sub):
    p = sub.add_parser("versions", help="list a model's versions, newest first")
    p.add_argument("name", help="model name")
    p.add_argument("--active", action="store_true", help="leave archived versions out")
    _add_page_args(p)


def cmd_versions(reg, args):
    results = reg.list_versions(args.name, limit=args.limit, offset=args.offset, archived=not args.active)
    return output(args, results, render_versions, json_obj={"versions": results, "total": results.total})


def add_search_parser(sub):
    p = sub.add_parser("search", help="search versions with an expression (see docs/search.md)")
    p.add_argument("expr", help="e.g. \"metrics.auc > 0.8 AND tags.team = 'growth'\"")
    p.add_argument("--order-by", metavar="FIELD", help="e.g. 'metrics.auc desc'")
    _add_page_args(p)


def cmd_search(reg, args):
    results = reg.search(args.expr, order_by=args.order_by, limit=args.limit, offset=args.offset)
    return output(args, results, render_versions,
                  json_obj={"versions": results, "total": results.total, "total_capped": results.total_capped})


def add_compare_parser(sub):
    p = sub.add_parser("compare", help="compare a model's versions, or the refs given")
    p.add_argument("refs", nargs="+", metavar="NAME|REF", help="one model name, or refs (churn:1 churn@production)")
    p.add_argument("--goal", action="append", metavar="METRIC:max|min",
                   help="which way is better for a metric (repeatable, or comma-separated)")
    p.add_argument("--limit", type=int, default=1000, help="at most this many versions of a model (default 1000)")


def cmd_compare(reg, args):
    from .core.compare import parse_goals

    goals = parse_goals(",".join(args.goal or []))
    target = args.refs[0] if len(args.refs) == 1 else args.refs
    return output(args, reg.compare(target, goals=goals or None, limit=args.limit), render_comparison)


def add_diff_parser(sub):
    p = sub.add_parser("diff", help="what changed between two versions")
    p.add_argument("a", help="first ref")
    p.add_argument("b", help="second ref")


def cmd_diff(reg, args):
    return output(args, reg.diff(args.a, args.b), render_diff)


def add_alias_parser(sub):
    p = sub.add_parser("alias", help="point an alias at a version (or remove it with --remove)",
                       description="nbregistry alias REF ALIAS [--reason TEXT]   |   "
                                   "nbregistry alias --remove NAME ALIAS")
    p.add_argument("ref", metavar="REF|NAME", help="the version to point at (a model name with --remove)")
    p.add_argument("alias", help="alias name, e.g. production")
    p.add_argument("--reason", help="why (kept in the alias history)")
    p.add_argument("--remove", action="store_true", help="remove the alias from model NAME")


def cmd_alias(reg, args):
    if args.remove:
        return output(args, reg.remove_alias(args.ref, args.alias, reason=args.reason), render_move)
    return output(args, reg.set_alias(args.ref, args.alias, reason=args.reason), render_move)


def add_history_parser(sub):
    p = sub.add_parser("history", help="alias moves of a model (or of one alias: NAME@ALIAS)")
    p.add_argument("ref", metavar="NAME[@ALIAS]")
    p.add_argument("--at", metavar="TIME", help="which version NAME@ALIAS named at TIME (ISO 8601, UTC if no offset)")


def cmd_history(reg, args):
    if args.at:  # time travel: the version the ref named at that moment
        version = reg.resolve(args.ref, at=args.at)
        return output(args, version, lambda v: render_version(v) if v else f"{args.ref} named nothing at {args.at}",
                      json_obj={"version": version})
    results = reg.history(args.ref)
    return output(args, results, render_history, json_obj={"moves": results})


def add_tag_parser(sub):
    p = sub.add_parser("tag", help="set or remove tags on a version (or a model with --model)")
    p.add_argument("ref", help="a ref (a model name with --model)")
    p.add_argument("tags", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--remove", action="append", metavar="KEY", help="remove a tag (repeatable)")
    p.add_argument("--model", action="store_true", help="tag the model, not a version")


def cmd_tag(reg, args):
    tags: dict = parse_pairs(args.tags, "tag")
    for key in args.remove or []:
        tags[key] = None
    if not tags:
        raise UsageError("give tags as KEY=VALUE and/or --remove KEY")
    if args.model:
        return output(args, reg.update_model(args.ref, tags=tags), render_model)
    return output(args, reg.tag(args.ref, tags), render_version)


def add_describe_parser(sub):
    p = sub.add_parser("describe", help="set the description of a version (or a model with --model)")
    p.add_argument("ref", help="a ref (a model name with --model)")
    p.add_argument("text", help="the new description ('' clears it)")
    p.add_argument("--model", action="store_true", help="describe the model, not a version")


def cmd_describe(reg, args):
    if args.model:
        return output(args, reg.update_model(args.ref, description=args.text), render_model)
    return output(args, reg.describe(args.ref, args.text), render_version)


def add_archive_parser(sub):
    p = sub.add_parser("archive", help="archive a version (or a model with --model); --restore undoes it")
    p.add_argument("ref", help="a ref (a model name with --model)")
    p.add_argument("--restore", action="store_true", help="restore instead of archiving")
    p.add_argument("--model", action="store_true", help="archive the model, not a version")


def cmd_archive(reg, args):
    if args.model:
        return output(args, reg.update_model(args.ref, archived=not args.restore), render_model)
    version = reg.restore(args.ref) if args.restore else reg.archive(args.ref)
    return output(args, version, render_version)


def add_delete_parser(sub):
    p = sub.add_parser("delete", help="delete one version (explicit NAME:VERSION), or a whole model with --model; "
                                      "blobs stay until gc")
    p.add_argument("ref", metavar="NAME:VERSION|NAME")
    p.add_argument("--model", action="store_true", help="delete the model NAME with all its versions (name retired)")
    p.add_argument("--force", action="store_true", help="--model: delete although aliases are held (needs --reason)")
    p.add_argument("--reason", help="--model: why (recorded)")


def cmd_delete(reg, args):
    if args.model:
        out = reg.delete_model(args.ref, force=args.force, reason=args.reason)
        return output(args, out, lambda d: f"deleted model {d['deleted']} ({len(d['versions'])} versions); the "
                                           "name is retired (see release-name); files stay until `nbregistry gc`")
    if args.force or args.reason:
        raise UsageError("--force and --reason go with --model (deleting a whole model)")
    deleted = reg.delete_version(args.ref)
    return output(args, deleted, lambda d: f"deleted {d} (its files stay until `nbregistry gc`)",
                  json_obj={"deleted": deleted})


def add_register_parser(sub):
    p = sub.add_parser("register", help="register a file, folder or URI as the next version of a model")
    p.add_argument("path", help="a file, a folder or a URI (https://, s3://, models:/, ...)")
    p.add_argument("name", help="model name")
    p.add_argument("--metric", action="append", metavar="KEY=NUMBER", help="a metric (repeatable)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE", help="a parameter (repeatable)")
    p.add_argument("--tag", action="append", metavar="KEY=VALUE", help="a tag (repeatable)")
    p.add_argument("--description", default="", help="what this version is")


def cmd_register(reg, args):
    metrics = parse_metrics(args.metric)
    params = parse_pairs(args.param, "param")
    tags = parse_pairs(args.tag, "tag")
    progress = Progress.maybe(f"registering {args.path}", _size_of(args.path))
    try:
        version = reg.register(args.path, args.name, metrics=metrics, params=params, tags=tags,
                               description=args.description, flavor="file", progress=progress)
    finally:
        close_progress(progress)

    def human(v):
        note = " (identical content was already stored: no new bytes)" if v.deduplicated else ""
        return f"registered {v.ref}: {len(v.artifact.get('files', []))} file(s), {fmt_bytes(v.artifact.get('size'))}{note}"

    return output(args, version, human)


def _size_of(path: str) -> int | None:
    """Total bytes under ``path`` for the progress line (best effort; the core does the real work)."""
    try:
        if os.path.isfile(path):
            return os.path.getsize(path)
        total = 0
        for folder, _, files in os.walk(path):
            for f in files:
                total += os.path.getsize(os.path.join(folder, f))
        return total
    except OSError:
        return None


def add_verify_parser(sub):
    p = sub.add_parser("verify", help="re-hash every stored blob (exit 1 when anything is wrong)")
    p.add_argument("--fast", action="store_true", help="check presence and sizes only")


def cmd_verify(reg, args):
    progress = Progress.maybe("verifying")
    try:
        report = reg.verify(fast=args.fast, progress=progress)
    finally:
        close_progress(progress)
    output(args, report, render_verify, json_obj=dict(report.to_dict(), ok=report.ok))
    return EXIT_OK if report.ok else EXIT_REFUSED


def add_gc_parser(sub):
    p = sub.add_parser("gc", help="remove blobs no version references (older than the grace period)")
    p.add_argument("--grace", type=float, default=None, metavar="SECONDS",
                   help="keep unreferenced blobs younger than this (default: the core's, 3600)")
    p.add_argument("--dry-run", action="store_true", help="report what would be removed, remove nothing")


def cmd_gc(reg, args):
    kwargs = {} if args.grace is None else {"grace": args.grace}
    return output(args, reg.gc(dry_run=args.dry_run, **kwargs), render_gc)


def _add_page_args(p):
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    p.add_argument("--offset", type=int, default=0, help="skip this many first")


# Verb name -> (add_<verb>_parser, cmd_<verb>), or "module.path" for a verb defined elsewhere.
VERBS: dict[str, Any] = {
    "ls": (add_ls_parser, cmd_ls),
    "show": (add_show_parser, cmd_show),
    "versions": (add_versions_parser, cmd_versions),
    "search": (add_search_parser, cmd_search),
    "compare": (add_compare_parser, cmd_compare),
    "diff": (add_diff_parser, cmd_diff),
    "alias": (add_alias_parser, cmd_alias),
    "history": (add_history_parser, cmd_history),
    "tag": (add_tag_parser, cmd_tag),
    "describe": (add_describe_parser, cmd_describe),
    "archive": (add_archive_parser, cmd_archive),
    "delete": (add_delete_parser, cmd_delete),
    "register": (add_register_parser, cmd_register),
    "verify": (add_verify_parser, cmd_verify),
    "gc": (add_gc_parser, cmd_gc),
    "revert": "nbregistry.cli_versioning",
    "rename": "nbregistry.cli_versioning",
    "release-name": "nbregistry.cli_versioning",
    "card": "nbregistry.cli_versioning",
    "evaluations": "nbregistry.cli_versioning",
    "log-metrics": "nbregistry.cli_versioning",
    "comment": "nbregistry.cli_collab",
    "comments": "nbregistry.cli_collab",
    "review": "nbregistry.cli_collab",
    "promote": "nbregistry.cli_collab",
    "check": "nbregistry.cli_collab",
    "rollback": "nbregistry.cli_collab",
    "policy": "nbregistry.cli_collab",
    "activity": "nbregistry.cli_collab",
    "server": "nbregistry.server.cli",
    "serve": "nbregistry.deploy.cli",
    "export": "nbregistry.deploy.cli",
    "import": "nbregistry.deploy.cli",
    "webhooks": "nbregistry.deploy.cli",
    "predict": "nbregistry.deploy.cli",
    "cache": "nbregistry.cli_cache",
    "move": "nbregistry.cli_move",
}


# ==================================================================== parser and main
class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def verb_functions(name: str) -> tuple[Callable, Callable]:
    entry = VERBS[name]
    if isinstance(entry, str):
        module = importlib.import_module(entry)
        attr = name.replace("-", "_")
        return getattr(module, f"add_{attr}_parser"), getattr(module, f"cmd_{attr}")
    return entry


def chosen_verb(argv: list[str] | None) -> str | None:
    """The verb ``argv`` names (skipping global options), or ``None``."""
    args = list(sys.argv[1:] if argv is None else argv)
    i = 0
    while i < len(args):
        token = args[i]
        if token in ("--root", "--objects", "--db"):
            i += 2
            continue
        if token.startswith("-"):
            i += 1
            continue
        return token if token in VERBS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``argv``, verbs defined in other modules are imported only when named
    (``nbregistry ls`` does not import the server's or any other face's module)."""
    from ._version import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default=argparse.SUPPRESS, metavar="PATH",
                        help="registry folder (default: NBREGISTRY_ROOT, else the Jupyter data dir)")
    common.add_argument("--objects", default=argparse.SUPPRESS, metavar="URL",
                        help="where blobs are stored: s3://bucket/prefix or a folder (default: NBREGISTRY_OBJECTS, "
                             "else the registry folder)")
    common.add_argument("--db", default=argparse.SUPPRESS, metavar="URL",
                        help="where metadata is stored: postgresql://user@host/dbname or a SQLite file "
                             "(default: NBREGISTRY_DB, else registry.db in the registry folder)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output (the entities' to_dict())")

    parser = _Parser(prog="nbregistry", parents=[common],
                     description="A model registry that lives inside Jupyter. Refs: churn, churn:3, churn@production.",
                     epilog="Exit codes: 0 ok, 1 refused / not found / failed check, 2 bad input.")
    parser.add_argument("-V", "--version", action="version", version=f"nbregistry {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    original = sub.add_parser

    def add_parser(name, **kwargs):  # every verb also accepts the global options after it
        kwargs.setdefault("parents", [])
        kwargs["parents"] = [common, *kwargs["parents"]]
        return original(name, **kwargs)

    sub.add_parser = add_parser
    only = chosen_verb(argv) if argv is not None else None
    for name in VERBS:
        if only is not None and name != only and isinstance(VERBS[name], str):
            original(name, add_help=False)  # a placeholder: its module is not imported
            continue
        add, cmd = verb_functions(name)
        add(sub)
        sub.choices[name].set_defaults(_cmd=cmd)
    return parser


# Verbs that only read: they never create a registry where there is none (they say where they looked).
READ_ONLY_VERBS = frozenset({"ls", "show", "versions", "search", "compare", "diff", "history", "verify",
                             "comments", "activity", "check", "export", "serve", "cache", "move"})
# Verbs that work without opening a registry at all.
NO_REGISTRY_VERBS = frozenset({"cache"})


def open_registry(args):
    from .core.errors import NotFound
    from .core.registry import Registry

    if args.verb in NO_REGISTRY_VERBS:
        return None
    root = getattr(args, "root", None)
    try:
        return Registry(root, origin="cli", create=args.verb not in READ_ONLY_VERBS,
                        objects=getattr(args, "objects", None), db=getattr(args, "db", None))
    except NotFound as exc:
        where = ("--root" if root is not None else
                 "NBREGISTRY_ROOT" if os.environ.get("NBREGISTRY_ROOT") else
                 "the default location; pass --root or set NBREGISTRY_ROOT or NBREGISTRY_URL")
        raise NotFound(f"{exc} (looked at {where}); `nbregistry {args.verb}` does not create one") from None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    from .core.errors import RegistryError

    reg = None
    argv = sys.argv[1:] if argv is None else argv
    as_json = "--json" in argv
    try:
        parser = build_parser(argv)
        args, extras = parser.parse_known_args(argv)
        if extras:
            _take_trailing_positionals(parser, args, extras)
        if not getattr(args, "verb", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        args.json = getattr(args, "json", False)
        args._argv = list(argv)  # as given: `nbregistry server --workers N` starts its workers with it
        reg = open_registry(args)
        code = args._cmd(reg, args)
        return EXIT_OK if code is None else code
    except UsageError as exc:
        return _fail(exc, EXIT_USAGE, as_json)
    except RegistryError as exc:
        return _fail(exc, EXIT_USAGE if getattr(exc, "code", None) in USAGE_CODES else EXIT_REFUSED, as_json)
    except OSError as exc:  # unreadable root, full disk, ...
        if isinstance(exc, BrokenPipeError):  # `nbregistry ls | head`
            _silence_stdout()
            return EXIT_OK
        return _fail(exc, EXIT_REFUSED, as_json)
    except KeyboardInterrupt:
        sys.stderr.write("\nnbregistry: interrupted\n")
        return 130
    finally:
        if reg is not None and hasattr(reg, "close"):
            reg.close()


def _take_trailing_positionals(parser, args, extras: list[str]) -> None:
    """argparse stops filling a positional list at the first option, so `export churn:3 --format
    mlflow DIR` would leave DIR over. A verb that names its list in ``trailing_positionals`` gets such
    leftovers appended; anything else left over is the usual "unrecognized arguments" error."""
    name = getattr(args, "trailing_positionals", None)
    if name is None or any(item.startswith("-") for item in extras):
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    getattr(args, name).extend(extras)


def _fail(exc: BaseException, code: int, as_json: bool = False) -> int:
    """Report an error in one line on stderr, or with ``--json`` as a JSON object on stdout
    (``{"error": {"code", "type", "message"}, "exit_code"}``); the exit code is the same either way."""
    message = " ".join((str(exc) or type(exc).__name__).split())
    if as_json:
        error = {"code": getattr(exc, "code", None) or ("bad_request" if code == EXIT_USAGE else "error"),
                 "type": type(exc).__name__, "message": message}
        report = getattr(exc, "report", None)
        if report is not None:  # a refused promotion: which gates failed
            error["report"] = to_jsonable(report)
        sys.stdout.write(json.dumps({"error": error, "exit_code": code}) + "\n")
    else:
        sys.stderr.write(f"nbregistry: error: {message}\n")
    return code


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
