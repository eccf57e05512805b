"""The comparison view: an HTML table, a Vega-Lite chart and the MIME bundle of a ``Comparison``.

The bundle carries the same data three ways: ``text/html`` (best value per metric highlighted,
differing params highlighted, identical rows folded), ``application/vnd.nbregistry.comparison+json``
(``Comparison.to_dict()``, schema in docs/rest-api.md, for the labextension's renderer) and
``application/vnd.vegalite.v5+json`` (metric trends; JupyterLab renders Vega-Lite natively).
"""

from __future__ import annotations

import math

from .html_parts import (BEST, DIFFERS, MANY_ROWS, MUTED, badge, box, cell, details, esc, table)

COMPARISON_MIME = "application/vnd.nbregistry.comparison+json"
VEGALITE_MIME = "application/vnd.vegalite.v5+json"


def comparison_html(c, *, hide_identical: bool = True) -> str:
    """Versions as columns; best metric values and differing params highlighted; identical rows in
    a collapsed ``<details>`` (no JavaScript needed)."""
    refs = [v["ref"] for v in c.versions]
    headers = ["", *(esc(r) + "".join(" " + badge(f"@{a}") for a in v.get("aliases", []))
                     for r, v in zip(refs, c.versions))]
    title = f"<div><b>compare {esc(c.model or ', '.join(refs))}</b> <span style=\"{MUTED}\">({len(refs)} versions)</span></div>"
    if not refs:
        return box(title)
    # metrics
    rows, styles = [], []
    for key, info in c.metrics.items():
        arrow = "↑" if info.get("goal") == "max" else "↓"
        best = set(info.get("best", []))
        # the best value is bold as well as shaded: still visible where inline styles are stripped
        rows.append([f"{esc(key)} <span style=\"{MUTED}\">{arrow}</span>",
                     *(f"<b>{cell(x)}</b>" if i in best else cell(x) for i, x in enumerate(info["values"]))])
        styles.append(["", *(BEST if i in best else "" for i in range(len(refs)))])
    body = f"<div><b>metrics</b> <span style=\"{MUTED}\">(best in bold; ↑ higher is better, ↓ lower)</span></div>"
    body += table(headers, rows, cell_styles=styles) if rows else f'<span style="{MUTED}">none</span>'
    for section in ("params", "tags"):
        data = getattr(c, section)
        if not data:
            continue
        differ = {k: v for k, v in data.items() if v.get("differs")}
        same = {k: v for k, v in data.items() if not v.get("differs")}
        body += f"<div><b>{section}</b> <span style=\"{MUTED}\">({len(differ)} differ, {len(same)} identical)</span></div>"
        if differ:
            differ_table = table(headers, [[esc(k), *(cell(x) for x in v["values"])] for k, v in differ.items()],
                                 row_styles=[DIFFERS] * len(differ))
            body += differ_table if len(differ) <= MANY_ROWS else details(
                f"{len(differ)} {section} differ", differ_table)
        if same:
            same_table = table(headers, [[esc(k), *(cell(x) for x in v["values"])] for k, v in same.items()])
            body += same_table if not hide_identical else details(f"{len(same)} identical {section}", same_table)
    return box(title + body)


def vegalite_spec(c, metrics: list[str] | None = None) -> dict:
    """A Vega-Lite v5 chart: one small line chart per metric across versions (oldest first)."""
    order = sorted(range(len(c.versions)), key=lambda i: (c.versions[i]["name"], c.versions[i]["version"]))
    keys = [k for k in (metrics or list(c.metrics)) if k in c.metrics]
    values = []
    for key in keys:
        info = c.metrics[key]
        for i in order:
            x = info["values"][i]
            if x is None or (isinstance(x, float) and math.isnan(x)):
                continue
            values.append({"ref": c.versions[i]["ref"], "metric": key, "value": x, "goal": info.get("goal"),
                           "best": i in info.get("best", [])})
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": f"metrics across versions of {c.model or 'the compared models'}",
        "data": {"values": values},
        "facet": {"field": "metric", "type": "nominal", "title": None},
        "columns": min(3, max(1, len(keys))),
        "resolve": {"scale": {"y": "independent"}},
        "spec": {
            "width": 220, "height": 140,
            "mark": {"type": "line", "point": {"filled": True, "size": 60}},
            "encoding": {
                "x": {"field": "ref", "type": "ordinal", "sort": [c.versions[i]["ref"] for i in order],
                      "title": None},
                "y": {"field": "value", "type": "quantitative", "scale": {"zero": False}, "title": None},
                "tooltip": [{"field": "ref"}, {"field": "metric"}, {"field": "value", "format": ".4g"},
                            {"field": "best"}],
            },
        },
    }


def comparison_bundle(comparison, metrics: list[str] | None = None) -> dict:
    """The MIME bundle of a Comparison: HTML, the documented JSON, a Vega-Lite chart and plain text."""
    return {
        "text/plain": repr(comparison),
        "text/html": comparison_html(comparison),
        COMPARISON_MIME: comparison.to_dict(),
        VEGALITE_MIME: vegalite_spec(comparison, metrics),
    }
