"""HTML views and MIME bundles of the registry's result objects.

Everything here is static HTML with inline styles: it reads the same in JupyterLab, on GitHub and
nbviewer, and after the kernel is gone. Every piece of user text (names, descriptions, comment bodies,
tag values) goes through ``html.escape`` (``html_parts.esc``); nothing here emits a script. Collapsible parts use
``<details>``, which needs no JavaScript.

``render_html(obj)`` dispatches on the object's class name, so collaboration entities added to the
core later (``Comment``, ``GateReport``, ``ActivityItem``) render without this module importing them.
"""

from __future__ import annotations

import json
from typing import Any

from .comparison_view import COMPARISON_MIME, VEGALITE_MIME, comparison_bundle, comparison_html, vegalite_spec
from .html_parts import (BAD, BEST, BORDER, BOX, CODE_BG, DIFFERS, FONT, GOOD, GREEN, MANY_ROWS, MUTED, MUTED_COLOR,
                         RED, TABLE, TD, TEXT, TH, WARN, as_dict, badge, box, cell, details, esc, fmt, kv_table, note,
                         size_text, table, tint, when)

BAD_CELL = f"background:{tint('error-color1', '#cf222e', 18)};color:{TEXT}"

# The names other modules and tests reach through ``display`` (views.BEST, views.comparison_html...).
__all__ = ["render_html", "comparison_bundle", "comparison_html", "vegalite_spec", "RegisterCard", "COMPARISON_MIME",
           "VEGALITE_MIME", "BAD", "BEST", "BOX", "DIFFERS", "FONT", "GOOD", "MANY_ROWS", "MUTED", "TABLE", "TD",
           "TH", "WARN", "as_dict", "badge", "box", "cell", "details", "esc", "fmt", "kv_table", "note", "size_text",
           "table"]


# ==================================================================== one view per entity
def model_html(m) -> str:
    aliases = " ".join(badge(f"@{a} → {v}") for a, v in sorted((m.aliases or {}).items()))
    archived = badge("archived", RED) if m.archived else ""
    latest = f":{m.latest_version}" if m.latest_version else ""
    head = f'<div><b style="font-size:15px">{esc(m.name)}{esc(latest)}</b> {archived} {aliases}</div>'
    meta = (f'<div style="{MUTED}">{m.version_count} version(s) · created {when(m.created_at)} '
            f"by {esc(m.created_by)}</div>")
    desc = f'<div style="white-space:pre-wrap;margin:4px 0">{esc(m.description)}</div>' if m.description else ""
    tags = f"<div>tags: {' '.join(badge(f'{k}={v}', MUTED_COLOR) for k, v in m.tags.items())}</div>" if m.tags else ""
    return box(head + meta + desc + tags)


def lineage_html(lineage: dict | None) -> str:
    if not lineage:
        return ""
    parts = [f"Python {esc(lineage.get('python'))} on {esc(lineage.get('platform'))}"]
    git = lineage.get("git")
    if git:
        dirty = " (dirty)" if git.get("dirty") else ""
        parts.append(f"git {esc((git.get('commit') or '')[:10])} on {esc(git.get('branch'))}{dirty}")
    packages = lineage.get("packages") or []
    imported = [p for p in packages if p.get("imported")]
    body = "<br>".join(parts)
    if packages:
        rows = [[esc(p["name"]), esc(p["version"])] for p in imported]
        body += details(f"{len(packages)} packages installed, {len(imported)} imported",
                        table(["imported package", "version"], rows))
    data = lineage.get("data") or {}
    if data:
        rows = [[esc(label), esc(fp.get("kind")), esc("×".join(map(str, fp.get("shape") or []))),
                 f'<code>{esc((fp.get("sha256") or "")[:12])}</code>',
                 esc(", ".join(fp.get("columns") or [])[:200])] for label, fp in data.items()]
        body += "<div>data</div>" + table(["label", "kind", "shape", "sha256", "columns"], rows)
    nb = lineage.get("notebook")
    if nb:
        body += notebook_lineage_html(nb)
    return details("lineage", body)


def notebook_lineage_html(nb: dict) -> str:
    cells = nb.get("cells") or []
    out = f"<div>notebook: <code>{esc(nb.get('path') or '(unknown path)')}</code>, {len(cells)} cell(s) in the slice</div>"
    out += "".join(note(esc(w)) for w in nb.get("warnings") or [])
    code = "".join(f'<div style="{MUTED}">In [{esc(c.get("execution_count"))}]:</div>'
                   f'<pre style="margin:0 0 4px 0;padding:4px;background:{CODE_BG};color:{TEXT};white-space:pre-wrap">'
                   f'{esc(c.get("source"))}</pre>' for c in cells)
    if cells:
        out += details("cells that produced it", code)
    return out


def version_html(v) -> str:
    aliases = " ".join(badge(f"@{a}") for a in v.aliases)
    status = badge("archived", RED) if v.status != "active" else ""
    head = f'<div><b style="font-size:15px">{esc(v.ref)}</b> {aliases} {status}</div>'
    meta = (f'<div style="{MUTED}">{esc(v.flavor)} · by {esc(v.author)} · {when(v.created_at)}'
            f' · {esc(size_text((v.artifact or {}).get("size")))}</div>')
    desc = f'<div style="white-space:pre-wrap;margin:4px 0">{esc(v.description)}</div>' if v.description else ""
    notes = ""
    if getattr(v, "deduplicated", False):
        notes += note("identical artifact already stored: deduplicated", GOOD)
    for w in getattr(v, "warnings", None) or []:
        notes += note("⚠ " + esc(w))
    metrics = f"<div><b>metrics</b></div>{kv_table(v.metrics)}"
    params = details(f"<b>params</b> ({len(v.params)})", kv_table(v.params), open_=len(v.params) <= 8)
    tags = f"<div>tags: {' '.join(badge(f'{k}={t}', MUTED_COLOR) for k, t in v.tags.items())}</div>" if v.tags else ""
    sig = ""
    if v.signature:
        if v.signature.get("type") == "dataframe":
            columns = v.signature.get("columns", [])
            text = ", ".join(f"{c['name']}: {c['dtype']}" for c in columns)
            cols = f"<code>{esc(text)}</code>"
            sig = details(f"signature: a DataFrame of {len(columns)} columns", cols, open_=len(columns) <= 8)
        else:
            sig = f"<div>signature: <code>{esc(json.dumps(v.signature))}</code></div>"
    files = (v.artifact or {}).get("files") or []
    art = ""
    if files:
        rows = [[f"<code>{esc(f['path'])}</code>", esc(size_text(f.get("size"))),
                 f"<code>{esc((f.get('sha256') or '')[:12])}</code>"] for f in files]
        art = details(f"files ({len(files)})", table(["path", "size", "sha256"], rows))
    return box(head + meta + desc + notes + metrics + params + tags + sig + lineage_html(v.lineage) + art)


def alias_move_html(m) -> str:
    return box(_alias_move_line(m) + (gate_report_html(m.report) if getattr(m, "report", None) else ""))


def _alias_move_line(m) -> str:
    prev = f":{m.previous}" if m.previous is not None else "(none)"
    new = f":{m.version}" if m.version is not None else "(removed)"
    forced = badge("forced", RED) if m.forced else ""
    reason = f' — <i>{esc(m.reason)}</i>' if m.reason else ""
    return (f"<div>{badge(m.kind)} <b>{esc(m.model)}@{esc(m.alias)}</b> {esc(prev)} → <b>{esc(new)}</b> "
            f'{forced}<span style="{MUTED}">by {esc(m.actor)} at {when(m.time)}</span>{reason}</div>')


def event_html(e) -> str:
    payload = esc(json.dumps(e.payload, default=str)[:300]) if e.payload else ""
    return box(f"<div>#{e.id} <b>{esc(e.action)}</b> {esc(e.ref or '')} "
               f'<span style="{MUTED}">by {esc(e.actor)} ({esc(e.origin)}) at {when(e.time)}</span></div>'
               + (f'<div style="{MUTED}"><code>{payload}</code></div>' if payload else ""))


def gate_report_html(report) -> str:
    r = as_dict(report)
    allowed = r.get("allowed")
    title = (f"{esc(r.get('ref'))} → @{esc(r.get('alias'))}: "
             + ("<b>allowed</b>" if allowed else "<b>refused</b>"))
    rows, styles = [], []
    for g in r.get("gates") or []:
        rows.append(["✔" if g.get("passed") else "✘", esc(g.get("name")), esc(g.get("detail"))])
        styles.append("" if g.get("passed") else BAD_CELL)
    body = note(title, GOOD if allowed else BAD)
    if rows:
        body += table(["", "gate", "detail"], rows, styles)
    return body


def policy_html(p) -> str:
    d = as_dict(p)
    gates = d.get("gates") or []
    rows = [[esc(g.get("type")), f"<code>{esc(g.get('expr', ''))}</code>"] for g in gates]
    head = (f"<div>policy of <b>{esc(d.get('model'))}@{esc(d.get('alias'))}</b>: "
            f"{esc(d.get('required_approvals', 0))} approval(s) from someone other than the author"
            f"{'; force allowed with a reason' if d.get('allow_force') else ''}</div>")
    return box(head + (table(["gate", "condition"], rows) if rows else f'<span style="{MUTED}">no gates</span>'))


def comment_html(c, *, replies: dict | None = None, depth: int = 0) -> str:
    d = as_dict(c)
    if d.get("deleted"):
        body = f'<i style="{MUTED}">(deleted)</i>'
    else:
        body = f'<div style="white-space:pre-wrap">{esc(d.get("body"))}</div>'
    verdict = d.get("verdict")
    vbadge = ""
    if verdict:
        vbadge = badge("approved" if verdict == "approve" else "changes requested",
                       GREEN if verdict == "approve" else RED)
    anchor = f" on <code>{esc(d.get('anchor'))}</code>" if d.get("anchor") else ""
    target = f"{d.get('model')}:{d.get('version')}" if d.get("version") is not None else d.get("model")
    edited = " (edited)" if d.get("edited_at") else ""
    head = (f"<div><b>{esc(d.get('author'))}</b> {vbadge}"
            f'<span style="{MUTED}"> on {esc(target)}{anchor} · {when(d.get("created_at"))}{edited} · #{esc(d.get("id"))}'
            f"</span></div>")
    inner = "".join(comment_html(r, replies=replies, depth=depth + 1) for r in (replies or {}).get(d.get("id"), []))
    indent = "margin-left:20px;" if depth else ""
    return (f'<div style="{indent}border-left:2px solid {BORDER};padding:2px 8px;margin:4px 0">'
            f"{head}{body}{inner}</div>")


def comments_html(items: list, title: str = "") -> str:
    """A thread: top-level comments with their replies nested under them."""
    dicts = [as_dict(c) for c in items]
    ids = {d.get("id") for d in dicts}
    replies: dict = {}
    for d in dicts:
        if d.get("reply_to") in ids:
            replies.setdefault(d["reply_to"], []).append(d)
    top = [d for d in dicts if d.get("reply_to") not in ids]
    head = f"<div><b>{esc(title)}</b> ({len(dicts)})</div>" if title else ""
    if not dicts:
        return box(head + f'<span style="{MUTED}">no comments yet</span>')
    return box(head + "".join(comment_html(d, replies=replies) for d in top))


def activity_html(a) -> str:
    d = as_dict(a)
    text = d.get("text") or d.get("summary") or d.get("action") or ""
    return (f'<div>{esc(text)} <span style="{MUTED}">{esc(d.get("actor") or "")} '
            f'{esc(d.get("time") or "")}</span></div>')


def diff_html(d) -> str:
    head = f"<div><b>{esc(d.a)}</b> → <b>{esc(d.b)}</b></div>"
    if not d:
        return box(head + f'<span style="{MUTED}">identical</span>')
    body = ""
    for section, changes in d.changes.items():
        rows = []
        for c in changes:
            a, b = c.get("a"), c.get("b")
            delta = ""
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
                delta = fmt(b - a) if b - a < 0 else "+" + fmt(b - a)
            rows.append([esc(c.get("key")), cell(a), cell(b), delta])
        body += f"<div><b>{esc(section)}</b> ({len(changes)})</div>" + table(["key", esc(d.a), esc(d.b), "Δ"], rows)
    return box(head + body)


def verify_html(r) -> str:
    state = note("clean", GOOD) if r.ok else note(f"{len(r.problems)} problem(s)", BAD)
    head = (f"<div>verified {r.checked_versions} versions, {r.checked_blobs} blobs, "
            f"{esc(size_text(r.checked_bytes))}{' (fast: sizes only)' if r.fast else ''}</div>")
    rows = [[esc(p.get("ref")), esc(p.get("path")), f"<code>{esc((p.get('blob') or '')[:12])}</code>",
             esc(p.get("problem"))] for p in r.problems]
    return box(head + state + (table(["ref", "path", "blob", "problem"], rows) if rows else ""))


def gc_html(r) -> str:
    verb = "would remove" if r.dry_run else "removed"
    return box(f"<div>{verb} {r.removed_blobs} blob(s), {esc(size_text(r.removed_bytes))}; kept "
               f"{r.kept_recent} recent unreferenced; {r.removed_tmp} stale temp file(s)</div>")


def generic_html(obj) -> str:
    data = as_dict(obj)
    return box(f"<div><b>{esc(type(obj).__name__)}</b></div>" + kv_table(
        data, fmt_value=lambda v: cell(v)))


# ==================================================================== lists
def results_html(items) -> str:
    title = getattr(items, "title", "")
    total = getattr(items, "total", len(items))
    count = f"{len(items)} of {total}" if total != len(items) else f"{len(items)}"
    head = f"<div><b>{esc(title or 'results')}</b> <span style=\"{MUTED}\">({count})</span></div>"
    if not items:
        return box(head + f'<span style="{MUTED}">nothing</span>')
    kind = type(items[0]).__name__
    if kind == "Model":
        rows = [[f"<b>{esc(m.name)}</b>", esc(m.latest_version), esc(m.version_count),
                 " ".join(badge(f"@{a}→{v}") for a, v in sorted(m.aliases.items())),
                 esc(m.description[:120])] for m in items]
        return box(head + table(["model", "latest", "versions", "aliases", "description"], rows))
    if kind == "ModelVersion":
        keys = []
        for v in items:
            keys += [k for k in v.metrics if k not in keys]
        keys = keys[:8]
        rows = [[f"<b>{esc(v.ref)}</b>", " ".join(badge(f"@{a}") for a in v.aliases), esc(v.author),
                 when(v.created_at), *(fmt(v.metrics.get(k)) for k in keys), esc(v.description[:80])]
                for v in items]
        return box(head + table(["version", "aliases", "author", "created", *map(esc, keys), "description"], rows))
    if kind == "AliasMove":
        return box(head + "".join(_alias_move_line(m) for m in items))
    if kind == "Event":
        rows = [[esc(e.id), when(e.time), esc(e.actor), esc(e.origin), f"<b>{esc(e.action)}</b>", esc(e.ref)]
                for e in items]
        return box(head + table(["#", "time", "actor", "origin", "action", "ref"], rows))
    if kind == "Comment":
        return comments_html(list(items), title=title or "comments")
    if kind == "ActivityItem":
        return box(head + "".join(activity_html(a) for a in items))
    return box(head + "".join(render_html(x) for x in items))


# ==================================================================== dispatch
_VIEWS = {
    "Model": model_html, "ModelVersion": version_html, "AliasMove": alias_move_html, "Event": event_html,
    "Comparison": comparison_html, "Diff": diff_html, "VerifyReport": verify_html, "GCReport": gc_html,
    "GateReport": lambda r: box(gate_report_html(r)), "Policy": policy_html, "Comment": lambda c: comments_html([c]), "ActivityItem": lambda a: box(activity_html(a)),
}


def render_html(obj: Any) -> str:
    """The HTML view of any registry result object (or a list of them)."""
    if isinstance(obj, list):
        return results_html(obj)
    view = _VIEWS.get(type(obj).__name__)
    return view(obj) if view else generic_html(obj)


# ==================================================================== the %register card
class RegisterCard:
    """The compact card ``%register`` prints: ref, metrics, what lineage was captured, dedup, warnings."""

    def __init__(self, version, notebook: dict | None = None, move=None):
        self.version = version
        self.notebook = notebook or {}
        self.move = move

    def _lines(self) -> list[tuple[str, str]]:
        v, nb = self.version, self.notebook
        lineage = v.lineage or {}
        cells = nb.get("cells") or []
        captured = [f"{len(cells)} cell(s)" + (f" of {nb['path']}" if nb.get("path") else "")]
        if lineage.get("data"):
            captured.append("data " + ", ".join(lineage["data"]))
        if lineage.get("git"):
            captured.append(f"git {(lineage['git'].get('commit') or '')[:8]}")
        captured.append(f"Python {lineage.get('python', '?')} + {len(lineage.get('packages') or [])} packages")
        lines = [("metrics", ", ".join(f"{k}={x:.4g}" for k, x in v.metrics.items()) or "none"),
                 ("lineage", "; ".join(captured))]
        if v.signature:
            lines.append(("signature", v.signature.get("type", "")))
        if getattr(v, "deduplicated", False):
            lines.append(("storage", "identical artifact already stored: deduplicated"))
        if self.move is not None:
            lines.append(("alias", f"@{self.move.alias} → :{self.move.version}"))
        return lines

    def _warnings(self) -> list[str]:
        return list(dict.fromkeys([*(self.notebook.get("warnings") or []), *(getattr(self.version, "warnings", []) or [])]))

    def __repr__(self) -> str:
        head = f"registered {self.version.ref} ({self.version.flavor})"
        body = [f"  {k}: {x}" for k, x in self._lines()]
        return "\n".join([head, *body, *(f"  ⚠ {w}" for w in self._warnings())])

    def _repr_html_(self) -> str:
        v = self.version
        head = (f'<div>registered <b style="font-size:14px">{esc(v.ref)}</b> '
                f'<span style="{MUTED}">{esc(v.flavor)} · by {esc(v.author)}</span></div>')
        rows = "".join(f'<tr><td style="{TD};{MUTED}">{esc(k)}</td><td style="{TD}">{esc(x)}</td></tr>'
                       for k, x in self._lines())
        warn = "".join(note("⚠ " + esc(w)) for w in self._warnings())
        return box(head + f'<table style="{TABLE}">{rows}</table>' + warn)
