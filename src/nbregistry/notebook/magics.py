"""``%load_ext nbregistry``: the ``%register`` and ``%registry`` magics.

The magics parse a line, resolve variables from the user namespace, call one method of the core
``Registry`` and display its answer. They hold no rule of their own: a refused promotion, an unknown
ref or a bad metric is the core's verdict, shown as a one-line ``UsageError``.

Configuration (``ipython_config.py`` / ``jupyter_notebook_config.py``)::

    c.RegistryMagics.root = "/srv/registry"   # or a team server URL (http://...)
    c.RegistryMagics.author = "alice"
"""

from __future__ import annotations

import argparse
import keyword
import os
import re
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.display import display
from traitlets import Unicode, observe

from ..core.errors import PolicyRefused, RegistryError, TrustRequired
from . import display as views
from . import provenance
from .progress import ByteProgress

EXAMPLE_ROWS = 5


# ==================================================================== argparse that never exits
class _Parser(argparse.ArgumentParser):
    """argparse raising ``UsageError`` with one readable line instead of printing and exiting."""

    def __init__(self, prog: str, description: str, **kwargs):
        if not description or not description.strip():
            raise ValueError(f"{prog}: every verb needs help text")
        super().__init__(prog=prog, description=description, add_help=False, allow_abbrev=False,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog.split()[0]}?)")

    def exit(self, status=0, message=None):  # pragma: no cover - only reached through -h, which we do not add
        raise UsageError(message or self.prog)


def _register_parser() -> _Parser:
    p = _Parser("%register", "Register a variable of the notebook as the next version of a model.\n"
                "Metrics, params and data are variables of the notebook (dicts for metrics/params) or\n"
                "key=value literals. Lineage, including the cells that produced the model, is captured.")
    p.add_argument("variable", help="the model (or a path) to register, a variable of the notebook")
    p.add_argument("--name", "-n", help="model name (default: the variable's name)")
    p.add_argument("--metrics", "-m", nargs="+", default=[], metavar="DICT_OR_K=V",
                   help="a dict variable and/or name=number literals")
    p.add_argument("--params", "-p", nargs="+", default=[], metavar="DICT_OR_K=V",
                   help="a dict variable and/or name=value literals (default: the model's get_params())")
    p.add_argument("--data", "-d", nargs="+", default=[], metavar="VAR",
                   help="dataset variables to fingerprint into the lineage (LABEL=VAR to rename)")
    p.add_argument("--example", "-e", metavar="VAR",
                   help=f"input example variable (default: the first {EXAMPLE_ROWS} rows of the first --data)")
    p.add_argument("--tag", "-t", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    p.add_argument("--description", default="", help="free text describing this version")
    p.add_argument("--alias", "-a", help="promote the new version to this alias (runs the alias's policy)")
    p.add_argument("--flavor", help="force a flavor (sklearn, pickle, file, ...)")
    p.add_argument("--quiet", "-q", action="store_true", help="do not display the card")
    return p


VERB_HELP: dict[str, str] = {}
VERBS: dict[str, _Parser] = {}


def _verb(name: str, help_text: str) -> _Parser:
    parser = _Parser(f"%registry {name}", help_text)
    VERB_HELP[name] = help_text
    VERBS[name] = parser
    return parser


def _build_verbs() -> None:
    p = _verb("list", "List models (optionally whose name contains QUERY).")
    p.add_argument("query", nargs="?", help="substring of the model name")
    p.add_argument("--archived", action="store_true", help="include archived models")
    p.add_argument("--limit", type=int, default=100)
    p = _verb("show", "Show a version card (REF: churn, churn:3, churn@production).")
    p.add_argument("ref")
    p = _verb("versions", "List the versions of a model, newest first.")
    p.add_argument("name")
    p.add_argument("--limit", type=int, default=100)
    p = _verb("search", "Search versions with an expression, e.g. metrics.auc > 0.8 AND alias = production.")
    p.add_argument("expr", nargs="*", help="the search expression (see docs/search.md)")
    p.add_argument("--order-by", help="e.g. 'metrics.auc desc'")
    p.add_argument("--limit", type=int, default=100)
    p = _verb("compare", "Compare the versions of a model, or several refs, metric by metric.")
    p.add_argument("refs", nargs="+", help="a model name, or two or more refs")
    p.add_argument("--goals", help="override metric goals: loss:min,auc:max")
    p = _verb("diff", "What changed between two versions (params, metrics, environment, data...).")
    p.add_argument("a")
    p.add_argument("b")
    p = _verb("promote", "Move an alias to a version, running the alias's policy (approvals and gates).")
    p.add_argument("ref")
    p.add_argument("alias")
    p.add_argument("--reason", help="why (recorded in the history)")
    p.add_argument("--force", action="store_true", help="override failing gates, when the policy allows it")
    p = _verb("check", "Run an alias's policy against a version without moving anything.")
    p.add_argument("ref")
    p.add_argument("alias")
    p = _verb("rollback", "Move an alias back to its previous holder (e.g. churn@production).")
    p.add_argument("alias_ref")
    p.add_argument("--reason")
    p = _verb("history", "Every move of a model's aliases; --at tells which version held an alias then.")
    p.add_argument("ref", help="churn or churn@production")
    p.add_argument("--alias")
    p.add_argument("--at", help="an ISO 8601 time (with an alias ref: which version held it)")
    p = _verb("comment", "Comment on a model or version. As %%registry comment REF, the cell body is the "
                         "comment (markdown).")
    p.add_argument("ref")
    p.add_argument("body", nargs="*", help="the comment text (or the cell body with %%registry)")
    p.add_argument("--anchor", help="the fact discussed: metrics.auc, params.max_depth, cell:12, ...")
    p.add_argument("--reply-to", type=int, help="id of the comment answered")
    p = _verb("comments", "The comment thread of a model or version.")
    p.add_argument("ref")
    p = _verb("review", "Approve a version or request changes (a comment with a verdict).")
    p.add_argument("ref")
    p.add_argument("verdict", choices=["approve", "request-changes"])
    p.add_argument("body", nargs="*", help="the review text (or the cell body with %%registry)")
    p = _verb("activity", "Recent activity: registrations, comments, reviews, promotions, rollbacks.")
    p.add_argument("--model")
    p.add_argument("--limit", type=int, default=50)
    p = _verb("load", "Load a version's object: %registry load churn@production as model.")
    p.add_argument("ref")
    p.add_argument("rest", nargs="*", metavar="as VAR", help="bind the object to VAR instead of returning it")
    p.add_argument("--trust", action="store_true", help="allow unpickling an object someone else saved")
    p = _verb("reproduce", "Write a notebook that re-runs the cells that produced a version and compares metrics.")
    p.add_argument("ref")
    p.add_argument("-o", "--output", help="the notebook to write (default: reproduce-NAME-V.ipynb)")
    p.add_argument("--trust", action="store_true", help="write someone else's recorded cells as runnable code")


_build_verbs()
REGISTER_PARSER = _register_parser()


def _help_text() -> str:
    lines = ["%registry VERB [arguments]: the model registry from a notebook.", "",
             "Verbs (%registry VERB --help-style usage below):", ""]
    for name, parser in VERBS.items():
        lines.append(f"  {name:<10} {VERB_HELP[name]}")
    lines += ["", "Usage of each verb:", ""]
    for parser in VERBS.values():
        lines.append(parser.format_help().rstrip())
        lines.append("")
    lines.append("Configure with c.RegistryMagics.root and c.RegistryMagics.author.")
    return "\n".join(lines)


# ==================================================================== the magics
@magics_class
class RegistryMagics(Magics):
    """The notebook face of nbregistry (see ``%registry?`` and ``%register?``)."""

    root = Unicode(None, allow_none=True,
                   help="Registry root folder or team server URL (default: NBREGISTRY_URL / NBREGISTRY_ROOT / "
                        "the Jupyter data dir).").tag(config=True)
    author = Unicode(None, allow_none=True,
                     help="Author recorded for registrations, comments and promotions "
                          "(default: NBREGISTRY_USER / JUPYTERHUB_USER / the OS user).").tag(config=True)

    def __init__(self, shell=None, **kwargs):
        self._registry = None  # before super(): loading the config already notifies _settings_changed
        super().__init__(shell=shell, **kwargs)

    @observe("root", "author")
    def _settings_changed(self, change):
        self.close()

    @property
    def reg(self):
        """The registry these magics talk to (created on first use)."""
        if self._registry is None:
            from ..core.registry import Registry

            root = self.root or None
            if root and re.match(r"https?://", root):
                from ..remote import RemoteRegistry

                self._registry = RemoteRegistry(root, os.environ.get("NBREGISTRY_TOKEN"), author=self.author or None)
            else:
                self._registry = Registry(root, author=self.author or None, origin="kernel")
        return self._registry

    def close(self) -> None:
        if self._registry is not None and hasattr(self._registry, "close"):
            self._registry.close()
        self._registry = None

    # ---------------------------------------------------------------- helpers
    def _var(self, name: str, what: str) -> Any:
        ns = self.shell.user_ns
        if name not in ns:
            raise UsageError(f"no variable named {name!r} in the notebook (needed as {what})")
        return ns[name]

    def _mapping(self, tokens: list[str], what: str) -> tuple[dict | None, str | None]:
        """``--metrics scores auc=0.9`` -> (merged dict, name of the first dict variable)."""
        if not tokens:
            return None, None
        out: dict = {}
        first_var = None
        for token in tokens:
            if "=" in token:
                key, _, raw = token.partition("=")
                if not key:
                    raise UsageError(f"{what}: {token!r} needs a name before '='")
                out[key] = _literal(raw, numeric=what == "metrics")
            else:
                value = self._var(token, what)
                if not isinstance(value, dict):
                    raise UsageError(f"{what}: variable {token!r} is a {type(value).__name__}, not a dict")
                out.update(value)
                first_var = first_var or token
        return out, first_var

    def _call(self, fn, *args, **kwargs):
        """Call the core; its refusals and lookups become one-line UsageErrors."""
        try:
            return fn(*args, **kwargs)
        except PolicyRefused as exc:
            if exc.report is not None:
                display(exc.report)
            raise UsageError(str(exc)) from None
        except RegistryError as exc:
            raise UsageError(str(exc)) from None

    # ---------------------------------------------------------------- %register
    @line_magic("register")
    def register_magic(self, line: str = ""):
        args = REGISTER_PARSER.parse_args(_split(line))
        obj = self._var(args.variable, "the object to register")
        name = args.name or args.variable
        metrics, metrics_var = self._mapping(args.metrics, "metrics")
        params, params_var = self._mapping(args.params, "params")
        data, data_vars = {}, {}
        for token in args.data:
            label, _, var = token.rpartition("=")
            data[label or var] = self._var(var, "data")
            data_vars[label or var] = var
        tags = {}
        for token in args.tag:
            key, sep, value = token.partition("=")
            if not sep or not key:
                raise UsageError(f"--tag {token!r}: write KEY=VALUE")
            tags[key] = value
        example = self._var(args.example, "input example") if args.example else _head(next(iter(data.values()), None))
        try:
            notebook = provenance.capture(self.shell, model_var=args.variable, data_vars=data_vars,
                                          metrics_var=metrics_var, params_var=params_var)
        except Exception as exc:  # provenance must never stop a registration
            notebook = {"path": None, "cells": [], "warnings": [f"cell provenance not captured: {exc}"]}
        with ByteProgress(f"registering {name}") as bar:
            version = self._call(self.reg.register, obj, name, metrics=metrics, params=params, tags=tags,
                                 description=args.description, data=data or None, input_example=example,
                                 flavor=args.flavor, notebook=notebook, progress=bar)
        move = None
        if args.alias:
            promote = getattr(self.reg, "promote", None)
            move = self._call(promote or self.reg.set_alias, version.ref, args.alias)
        if not args.quiet:
            display(views.RegisterCard(version, notebook, move))

    # ---------------------------------------------------------------- %registry
    @line_cell_magic("registry")
    def registry_magic(self, line: str = "", cell: str | None = None):
        head, _, remainder = (line or "").strip().partition(" ")
        if head == "search" and cell is None:  # the expression keeps its quotes: name LIKE 'churn%'
            return self._verb_search(_search_args(remainder), cell)
        try:
            tokens = shlex.split(line or "")
        except ValueError:
            if head not in ("comment", "review"):
                raise UsageError(f"cannot parse arguments of %registry {head}: check the quotes") from None
            tokens = line.split()  # a comment like: looks good, it's fine -> keep the apostrophe
        if not tokens:
            raise UsageError("%registry needs a verb: " + ", ".join(VERBS) + " (see %registry?)")
        verb, rest = tokens[0], tokens[1:]
        if verb not in VERBS:
            raise UsageError(f"unknown verb {verb!r}: use one of {', '.join(VERBS)} (see %registry?)")
        if cell is not None and verb not in ("comment", "review"):
            raise UsageError(f"%%registry takes a cell body only for comment and review, not {verb!r}")
        args = VERBS[verb].parse_intermixed_args(rest)
        return getattr(self, "_verb_" + verb)(args, cell)

    def _verb_list(self, args, cell):
        return self._call(self.reg.list_models, args.query, archived=args.archived, limit=args.limit)

    def _verb_show(self, args, cell):
        return self._call(self.reg.get, args.ref)

    def _verb_versions(self, args, cell):
        return self._call(self.reg.list_versions, args.name, limit=args.limit)

    def _verb_search(self, args, cell):
        return self._call(self.reg.search, " ".join(args.expr), order_by=args.order_by, limit=args.limit)

    def _verb_compare(self, args, cell):
        from ..core.compare import parse_goals

        goals = self._call(parse_goals, args.goals)
        target = args.refs[0] if len(args.refs) == 1 else args.refs
        return self._call(self.reg.compare, target, goals=goals or None)

    def _verb_diff(self, args, cell):
        return self._call(self.reg.diff, args.a, args.b)

    def _verb_promote(self, args, cell):
        promote = self._need("promote")
        return self._call(promote, args.ref, args.alias, reason=args.reason, force=args.force)

    def _verb_check(self, args, cell):
        return self._call(self._need("check"), args.ref, args.alias)

    def _verb_rollback(self, args, cell):
        return self._call(self._need("rollback"), args.alias_ref, reason=args.reason)

    def _verb_history(self, args, cell):
        if args.at:
            version = self._call(self._need("resolve"), args.ref, at=args.at)
            if version is None:
                print(f"nothing: {args.ref} named no version at {args.at}")
            return version
        return self._call(self.reg.history, args.ref, args.alias)

    def _verb_comment(self, args, cell):
        body = cell if cell is not None else " ".join(args.body)
        if not body.strip():
            raise UsageError("%registry comment: the comment is empty (write it after the ref, or use %%registry)")
        return self._call(self._need("comment"), args.ref, body.strip("\n"), anchor=args.anchor,
                          reply_to=args.reply_to)

    def _verb_comments(self, args, cell):
        return self._call(self._need("comments"), args.ref)

    def _verb_review(self, args, cell):
        body = cell if cell is not None else " ".join(args.body)
        return self._call(self._need("review"), args.ref, args.verdict, body.strip("\n"))

    def _verb_activity(self, args, cell):
        return self._call(self._need("activity"), args.model, limit=args.limit)

    def _verb_load(self, args, cell):
        target = None
        if args.rest:
            if len(args.rest) != 2 or args.rest[0] != "as":
                raise UsageError(f"%registry load: expected 'as VARIABLE' after the ref, not {' '.join(args.rest)!r}")
            target = args.rest[1]
            if not target.isidentifier() or keyword.iskeyword(target):
                raise UsageError(f"%registry load: {target!r} is not a valid variable name")
        version = self._call(self.reg.get, args.ref)
        with ByteProgress(f"loading {version.ref}", total=(version.artifact or {}).get("size")) as bar:
            try:
                obj = self.reg.load(version.ref, trust=args.trust, progress=bar)
            except TrustRequired as exc:
                raise UsageError(f"{exc} (add --trust to %registry load)") from None
            except RegistryError as exc:
                raise UsageError(str(exc)) from None
        if target is None:
            return obj
        self.shell.user_ns[target] = obj
        print(f"loaded {version.ref} ({version.flavor}) into {target}")

    def _verb_reproduce(self, args, cell):
        path = self._call(self._need("reproduce"), args.ref, args.output, trust=args.trust)
        print(f"wrote {path}")
        return None

    def _need(self, method: str):
        fn = getattr(self.reg, method, None)
        if fn is None:
            raise UsageError(f"this registry ({type(self.reg).__name__}) does not support {method!r} yet")
        return fn


RegistryMagics.registry_magic.__doc__ = _help_text()
RegistryMagics.register_magic.__doc__ = REGISTER_PARSER.format_help()


# ==================================================================== small helpers
def _split(line: str) -> list[str]:
    try:
        return shlex.split(line or "")
    except ValueError as exc:
        raise UsageError(f"cannot parse arguments ({exc}): check the quotes") from None


_SEARCH_OPTION = re.compile(r"(?:^|\s)--(order-by|limit)(?:\s+|=)(\"[^\"]*\"|'[^']*'|\S+(?:\s+(?:asc|desc)\b)?)",
                            re.IGNORECASE)


def _search_args(text: str) -> argparse.Namespace:
    """``%registry search`` reads its expression raw (quotes matter in the search language); only
    ``--order-by`` and ``--limit`` are taken out of it."""
    args = argparse.Namespace(expr=[], order_by=None, limit=100)
    for match in _SEARCH_OPTION.finditer(text):
        value = match.group(2)
        if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1:
            value = value[1:-1]
        if match.group(1).lower() == "limit":
            if not value.isdigit():
                raise UsageError(f"%registry search: --limit needs a number, not {value!r} (see %registry?)")
            args.limit = int(value)
        else:
            args.order_by = value
    leftover = _SEARCH_OPTION.sub(" ", text)
    if re.search(r"(?:^|\s)--", leftover):
        raise UsageError(f"%registry search: unknown option in {text.strip()!r}: use --order-by and --limit "
                         "(see %registry?)")
    args.expr = [leftover.strip()] if leftover.strip() else []
    return args


def _literal(raw: str, *, numeric: bool) -> Any:
    try:
        return float(raw) if numeric else raw
    except ValueError:
        raise UsageError(f"metric value {raw!r} is not a number") from None


def _head(data: Any) -> Any:
    """The first rows of a dataset, used as the input example when none was given."""
    if data is None:
        return None
    if hasattr(data, "iloc") and getattr(data, "ndim", 1) == 2:
        return data.head(EXAMPLE_ROWS)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(data, np.ndarray) and data.ndim == 2:
        return data[:EXAMPLE_ROWS]
    return None


# ==================================================================== extension entry points
def load_ipython_extension(ipython) -> None:
    magics = RegistryMagics(ipython)
    ipython.register_magics(magics)


def unload_ipython_extension(ipython) -> None:
    table = ipython.magics_manager.magics
    owners = set()
    for kind in ("line", "cell"):
        for name in list(table[kind]):
            fn = table[kind][name]
            owner = getattr(fn, "__self__", None)
            if isinstance(owner, RegistryMagics):
                owners.add(owner)
                del table[kind][name]
    for owner in owners:
        owner.close()
        if owner in getattr(ipython, "configurables", []):
            ipython.configurables.remove(owner)
    if isinstance(ipython.magics_manager.registry.get("RegistryMagics"), RegistryMagics):
        del ipython.magics_manager.registry["RegistryMagics"]
