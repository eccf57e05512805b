"""Model cards: a markdown card per model and per version, written by people or drafted from the
recorded facts. Cards are stored as written (every body kept, the latest one current) and rendered
sanitized by the faces (``nbregistry.notebook.markdown``); the core never interprets them.

``card(ref, draft=True)`` drafts one from what the registry knows: intended use left for the author,
metrics with the data they were computed on (registration metrics: not recorded; evaluations: the
dataset name and fingerprint), training data fingerprints, parameters, environment, lineage, reviews
and who promoted the version and with which approvals.
"""

from __future__ import annotations

import json
from typing import Any

from . import store_versioning as sv
from .entities import Results
from .errors import ValidationError
from .limits import check_text
from .refs import Ref, parse_ref
from .store import now_iso

MAX_CARD = 200_000
INTENDED_USE = ("_To be written by the author: what this model is for, who should use it, on which data it "
                "is valid, and what it must not be used for._")


class CardText(str):
    """A card's markdown (a ``str``), with who wrote it and when; renders sanitized in notebooks."""

    ref: str = ""
    author: str | None = None
    written_at: str | None = None
    draft: bool = False

    @classmethod
    def make(cls, body: str, *, ref: str, author: str | None = None, written_at: str | None = None,
             draft: bool = False) -> "CardText":
        text = cls(body)
        text.ref, text.author, text.written_at, text.draft = ref, author, written_at, draft
        return text

    def to_dict(self) -> dict:
        return {"ref": self.ref, "body": str(self), "author": self.author, "written_at": self.written_at,
                "draft": self.draft}

    @classmethod
    def from_dict(cls, data: dict) -> "CardText":
        return cls.make(data.get("body") or "", ref=data.get("ref", ""), author=data.get("author"),
                        written_at=data.get("written_at"), draft=bool(data.get("draft")))

    def _repr_html_(self) -> str:
        from .hooks import provided

        return provided("card_html")(self)

    def _repr_markdown_(self) -> str:
        return str(self)


class CardsMixin:
    """``set_card``, ``card`` and ``card_history`` (see the module doc)."""

    def set_card(self, name_or_ref: str, markdown: str) -> CardText:
        """Write the card of a model (bare name) or of a version (``churn:3``, ``churn@production``).
        The previous body is kept (:meth:`card_history`); the ``card.updated`` event carries it."""
        if not isinstance(markdown, str):
            raise ValidationError(f"a card is markdown text, not {type(markdown).__name__}")
        check_text(markdown, "a card", max_chars=MAX_CARD)  # also refuses text UTF-8 cannot store
        with self.store.write() as conn:
            model, number = self._card_target(name_or_ref, conn)
            current = sv.card_row(conn, model["id"], number)
            target = model["name"] if number is None else f"{model['name']}:{number}"
            if current is not None and current["body"] == markdown:
                return _card(current, target)
            when = now_iso()
            sv.insert_card(conn, model_id=model["id"], version=number, body=markdown, when=when, author=self.author)
            self._event(conn, "card.updated", model["name"], number,
                        {"length": len(markdown), "previous": None if current is None else current["body"]},
                        time_=when)
            return _card(sv.card_row(conn, model["id"], number), target)

    def card(self, name_or_ref: str, *, draft: bool = False) -> CardText:
        """The card's markdown (empty when none was written). ``draft=True`` drafts one from the
        recorded facts instead (nothing is stored: edit it, then :meth:`set_card`)."""
        if draft:
            return self._draft_card(name_or_ref)
        with self.store.read() as conn:
            model, number = self._card_target(name_or_ref, conn)
            row = sv.card_row(conn, model["id"], number)
        target = model["name"] if number is None else f"{model['name']}:{number}"
        return CardText.make("", ref=target) if row is None else _card(row, target)

    def card_history(self, name_or_ref: str) -> Results:
        """Every body a card has had, oldest first (as :class:`CardText`)."""
        with self.store.read() as conn:
            model, number = self._card_target(name_or_ref, conn)
            rows = sv.card_rows(conn, model["id"], number)
        target = model["name"] if number is None else f"{model['name']}:{number}"
        return Results([_card(r, target) for r in rows], title=f"card history of {target}")

    def _card_target(self, name_or_ref: str, conn) -> tuple[Any, int | None]:
        parsed = parse_ref(name_or_ref)
        if parsed == Ref(parsed.name):
            return self._model_row(parsed.name, conn), None
        return self._resolve(parsed, conn)

    # ============================================================ drafting
    def _draft_card(self, name_or_ref: str) -> CardText:
        parsed = parse_ref(name_or_ref)
        if parsed == Ref(parsed.name):
            return CardText.make(self._draft_model_card(parsed.name), ref=self.get_model(parsed.name).name,
                                 draft=True)
        version = self.get(name_or_ref)
        return CardText.make(self._draft_version_card(version), ref=version.ref, draft=True)

    def _draft_model_card(self, name: str) -> str:
        model = self.get_model(name)
        out = [f"# {md(model.name)}", "", _drafted_note(), "", "## Intended use", "", INTENDED_USE, ""]
        if model.description:
            out += ["## Description", "", md(model.description), ""]
        if model.tags:
            out += ["## Tags", "", *_table(["tag", "value"], sorted(model.tags.items())), ""]
        if model.aliases:
            out += ["## Aliases", "", *_table(["alias", "version"], [(f"@{a}", f"{model.name}:{v}")
                                                                     for a, v in sorted(model.aliases.items())]), ""]
        versions = self.list_versions(model.name, limit=20)
        if versions:
            keys = sorted({k for v in versions for k in v.metrics})[:6]
            rows = [[v.ref, v.author, v.created_at[:10], *(_num(v.metrics.get(k)) for k in keys)] for v in versions]
            out += [f"## Versions ({versions.total})", "", *_table(["version", "author", "registered", *keys], rows),
                    "", "Metrics above are as registered; see each version's card for evaluations and their data.", ""]
        return "\n".join(out)

    def _draft_version_card(self, v) -> str:
        lineage = v.lineage or {}
        out = [f"# {md(v.ref)}", "", _drafted_note(), "", "## Intended use", "", INTENDED_USE, "", "## Model", "",
               f"- Flavor: {md(v.flavor)}" + (f" ({md(v.flavor_meta.get('format'))})" if v.flavor_meta.get("format")
                                                else ""),
               f"- Registered by {md(v.author)} on {md(v.created_at)}",
               f"- Artifact: sha256 `{md((v.artifact or {}).get('sha256'))}`, {len((v.artifact or {}).get('files') or [])}"
               f" file(s), {(v.artifact or {}).get('size')} bytes"]
        if v.description:
            out.append(f"- Description: {md(v.description)}")
        if v.aliases:
            out.append(f"- Aliases: {', '.join('@' + md(a) for a in v.aliases)}")
        link = lineage.get("revert_of")
        if isinstance(link, dict):
            out.append(f"- Revert of {md(link.get('ref'))} (by {md(link.get('reverted_by'))}"
                       + (f": {md(link.get('reason'))}" if link.get("reason") else "") + ")")
        if v.signature:
            out.append(f"- Input signature: {md(_signature_text(v.signature))}")
        out.append("")
        out += self._metrics_section(v, lineage)
        out += _data_section(lineage)
        if v.params:
            out += ["## Parameters", "", *_table(["parameter", "value"], sorted(v.params.items())), ""]
        out += _environment_section(lineage)
        out += _lineage_section(lineage)
        out += self._reviews_section(v)
        out += self._promotions_section(v)
        return "\n".join(out)

    def _metrics_section(self, v, lineage: dict) -> list[str]:
        rows = [[k, _num(x), "as registered (the data they were computed on is not recorded)"]
                for k, x in sorted(v.metrics.items())]
        for e in self.evaluations(v.ref):
            shape = " × ".join(f"{label} {'×'.join(map(str, fp.get('shape') or []))}"
                               for label, fp in sorted((e.data or {}).items()))
            data = (f"evaluation on **{md(e.dataset)}** (sha256 `{(e.fingerprint or 'not fingerprinted')[:12]}`"
                    + (f", {md(shape)}" if shape else "") + f") by {md(e.author)} on {md(e.created_at[:10])}"
                    + (" (logged)" if e.source == "logged" else ""))
            rows += [[k, _num(x), data] for k, x in sorted(e.metrics.items())]
        if not rows:
            return ["## Metrics", "", "No metrics recorded.", ""]
        return ["## Metrics", "", *_table(["metric", "value", "computed on"], rows, raw=(2,)), ""]

    def _reviews_section(self, v) -> list[str]:
        reviews = [c for c in self.comments(v.ref) if c.verdict and not c.deleted]
        if not reviews:
            return ["## Reviews", "", "No reviews yet.", ""]
        state = self.review_state(v.ref)
        lines = [f"- {md(c.author)} {'approved' if c.verdict == 'approve' else 'requested changes'} on "
                 f"{md(c.created_at[:10])}" + (f": {md(' '.join(c.body.split())[:200])}" if c.body.strip() else "")
                 for c in reviews]
        summary = (f"Counted approvals: {', '.join(map(md, state['approvals'])) or 'none'}"
                   + (f"; changes requested by {', '.join(map(md, state['changes_requested']))}"
                      if state["changes_requested"] else "")
                   + (" (the author's own review does not count)" if state["self_reviews_ignored"] else ""))
        return ["## Reviews", "", *lines, "", summary, ""]

    def _promotions_section(self, v) -> list[str]:
        moves = [m for m in self.history(v.name) if m.version == v.version and m.kind in ("promote", "set")]
        if not moves:
            return ["## Promotions", "", "Not promoted.", ""]
        lines = []
        for m in moves:
            approvals = ""
            for gate in (m.report or {}).get("gates") or []:
                if gate.get("name") == "approvals":
                    approvals = f"; approvals: {md(gate.get('detail'))}"
            forced = f"; FORCED: {md(m.reason)}" if m.forced else (f"; reason: {md(m.reason)}" if m.reason else "")
            lines.append(f"- @{md(m.alias)}: {'promoted' if m.kind == 'promote' else 'set'} by {md(m.actor)} on "
                         f"{md(m.time[:19])}{approvals}{forced}")
        return ["## Promotions", "", *lines, ""]


# ==================================================================== helpers
def _card(row, target: str) -> CardText:
    return CardText.make(row["body"], ref=target, author=row["author"], written_at=row["written_at"])


def md(text: Any) -> str:
    """Text safe inside a markdown table cell or list item: no HTML, no pipes, one line."""
    value = " ".join(str(text if text is not None else "").split())
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _num(x: Any) -> str:
    return "" if x is None else f"{x:.6g}" if isinstance(x, float) else md(x)


def _table(headers: list, rows: list, raw: tuple = ()) -> list[str]:
    """A markdown table; cells are escaped except in the ``raw`` columns (markdown built here)."""
    out = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(c if i in raw else (_num(c) if isinstance(c, float) else md(c))
                              for i, c in enumerate(row)) + " |" for row in rows]
    return out


def _drafted_note() -> str:
    return (f"> Drafted by nbregistry from the recorded facts on {now_iso()[:19]}Z. Review it, write the "
            "intended use, then save it with `set_card`.")


def _signature_text(sig: dict) -> str:
    if sig.get("type") == "dataframe":
        cols = sig.get("columns") or []
        return f"a DataFrame of {len(cols)} columns: " + ", ".join(f"{c['name']} ({c['dtype']})" for c in cols[:12]) \
            + (" …" if len(cols) > 12 else "")
    return json.dumps(sig)


def _data_section(lineage: dict) -> list[str]:
    data = lineage.get("data") or {}
    if not data:
        return ["## Training data", "", "No datasets were passed as `data=` at registration.", ""]
    rows = [[label, fp.get("kind"), "×".join(map(str, fp.get("shape") or [])),
             ", ".join(fp.get("columns") or [])[:200], f"`{(fp.get('sha256') or '')[:16]}`"]
            for label, fp in sorted(data.items())]
    return ["## Training data", "", *_table(["dataset", "kind", "shape", "columns", "sha256"], rows, raw=(4,)), ""]


def _environment_section(lineage: dict) -> list[str]:
    if not lineage.get("python"):
        return []
    out = ["## Environment", "", f"- Python {md(lineage.get('python'))} on {md(lineage.get('platform'))}"]
    imported = [p for p in lineage.get("packages") or [] if p.get("imported")]
    if imported:
        shown = ", ".join(f"{md(p['name'])} {md(p['version'])}" for p in imported[:20])
        out.append(f"- Imported packages: {shown}" + (f" (+{len(imported) - 20} more)" if len(imported) > 20 else ""))
    return out + [""]


def _lineage_section(lineage: dict) -> list[str]:
    out = []
    git = lineage.get("git")
    if git:
        out.append(f"- git {md((git.get('commit') or '')[:12])} on {md(git.get('branch'))}"
                   + (" (uncommitted changes)" if git.get("dirty") else "")
                   + (f", {md(git.get('remote'))}" if git.get("remote") else ""))
    nb = lineage.get("notebook") or {}
    if nb:
        cells = nb.get("cells") or []
        out.append(f"- Notebook {md(nb.get('path') or '(path unknown)')}: {len(cells)} recorded cell(s)")
        out += [f"- Warning: {md(w)}" for w in nb.get("warnings") or []]
    return ["## Lineage", "", *out, ""] if out else []
