"""Building blocks of nbregistry's static HTML: inline styles, escaping, tables, folding.

No scripts, no classes needing a stylesheet: what these produce reads the same in JupyterLab, on
GitHub and nbviewer, and after the kernel is gone. Every piece of text goes through :func:`esc`.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

def jp(name: str, fallback: str) -> str:
    """A JupyterLab theme variable with the colour GitHub and nbviewer (no theme) get instead."""
    return f"var(--jp-{name}, {fallback})"


def tint(name: str, fallback: str, percent: int) -> str:
    """A theme colour, mostly transparent: a tint that reads on light and dark themes alike."""
    return f"color-mix(in srgb, {jp(name, fallback)} {percent}%, transparent)"


TEXT = jp("ui-font-color1", "#1f2328")
MUTED_COLOR = jp("ui-font-color2", "#57606a")
BORDER = jp("border-color2", "#d0d7de")
BLUE = jp("brand-color1", "#0969da")
RED = jp("error-color1", "#cf222e")
GREEN = jp("success-color1", "#1a7f37")
AMBER = jp("warn-color1", "#d4a72c")
CODE_BG = jp("cell-editor-background", "#f6f8fa")
FONT = f"font-family:{jp('ui-font-family', '-apple-system,BlinkMacSystemFont,Segoe UI,Helvetica,Arial,sans-serif')};font-size:13px;color:{TEXT}"
BOX = f"{FONT};border:1px solid {BORDER};border-radius:6px;padding:8px 12px;margin:4px 0;max-width:960px"
TABLE = "border-collapse:collapse;margin:4px 0"
TH = (f"text-align:left;padding:3px 8px;border-bottom:1px solid {BORDER};background:{jp('layout-color2', '#f6f8fa')};"
      f"color:{TEXT};font-weight:600")
TD = f"text-align:left;padding:3px 8px;border-bottom:1px solid {jp('border-color3', '#eaeef2')};vertical-align:top"
MUTED = f"color:{MUTED_COLOR}"
BEST = f"background:{tint('success-color1', '#1a7f37', 24)};color:{TEXT};font-weight:600"
DIFFERS = f"background:{tint('warn-color1', '#d4a72c', 22)};color:{TEXT}"
WARN = f"background:{tint('warn-color1', '#d4a72c', 22)};color:{TEXT};border-left:3px solid {AMBER};padding:2px 8px;margin:2px 0"
BAD = f"background:{tint('error-color1', '#cf222e', 18)};color:{TEXT};border-left:3px solid {RED};padding:2px 8px;margin:2px 0"
GOOD = f"background:{tint('success-color1', '#1a7f37', 22)};color:{TEXT};border-left:3px solid {GREEN};padding:2px 8px;margin:2px 0"
MANY_ROWS = 15  # longer tables start folded


# Colours are JupyterLab theme variables (dark themes work) with GitHub-like fallbacks elsewhere.
# ==================================================================== small building blocks
def esc(value: Any) -> str:
    """Escaped text of any value (``None`` -> empty)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def when(iso: str | None) -> str:
    """A stored ISO time shown to the second in the local time zone (that of the kernel, which runs
    where the notebook's reader works), e.g. ``2026-12-01 11:33:36 CET``; the exact ISO text stays in
    ``datetime`` and the tooltip."""
    if not iso:
        return ""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00")).astimezone()
    except ValueError:
        return esc(iso)
    shown = moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return f'<time datetime="{esc(iso)}" title="{esc(iso)}">{esc(shown)}</time>'


def fmt(value: Any) -> str:
    """A number shortened for tables (4 significant digits), anything else as text; escaped."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return esc(f"{value:.4g}")
    return esc(value)


def badge(text: str, color: str = BLUE) -> str:
    return (f'<span style="display:inline-block;padding:0 6px;margin:0 2px;border-radius:10px;'
            f'border:1px solid {color};color:{color};font-size:11px">{esc(text)}</span>')


def table(headers: list[str], rows: list[list[str]], row_styles: list[str] | None = None,
          cell_styles: list[list[str]] | None = None) -> str:
    """A table from already-escaped cell HTML."""
    head = "".join(f'<th style="{TH}">{h}</th>' for h in headers)
    body = []
    for i, row in enumerate(rows):
        rstyle = row_styles[i] if row_styles else ""
        cells = []
        for j, cell in enumerate(row):
            extra = cell_styles[i][j] if cell_styles else ""
            cells.append(f'<td style="{TD};{rstyle};{extra}">{cell}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table style="{TABLE}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def kv_table(data: dict, *, fmt_value=fmt) -> str:
    if not data:
        return f'<span style="{MUTED}">none</span>'
    return table(["name", "value"], [[esc(k), fmt_value(v)] for k, v in data.items()])


def details(summary: str, body: str, *, open_: bool = False) -> str:
    return (f'<details{" open" if open_ else ""} style="margin:4px 0"><summary style="cursor:pointer">'
            f"{summary}</summary>{body}</details>")


def box(body: str) -> str:
    return f'<div style="{BOX}">{body}</div>'


def note(text_html: str, style: str = WARN) -> str:
    return f'<div style="{style}">{text_html}</div>'


def size_text(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def as_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(vars(obj))


def cell(value: Any) -> str:
    if value is None:
        return f'<span style="{MUTED}">—</span>'
    if isinstance(value, (dict, list)):
        return f"<code>{esc(json.dumps(value, default=str))}</code>"
    return fmt(value)
