"""Building blocks of nbregistry's static HTML: inline styles, escaping, tables, folding.

No scripts, no classes needing a stylesheet: what these produce reads the same in JupyterLab, on
GitHub and nbviewer, and after the kernel is gone. Every piece of text goes through :func:`esc`.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;font-size:13px"
BOX = f"{FONT};border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:4px 0;max-width:960px"
TABLE = "border-collapse:collapse;margin:4px 0"
TH = "text-align:left;padding:3px 8px;border-bottom:1px solid #d0d7de;background:#f6f8fa;color:#1f2328;font-weight:600"
TD = "text-align:left;padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top"
MUTED = "color:#57606a"
BEST = "background:#dafbe1;color:#1f2328;font-weight:600"
DIFFERS = "background:#fff8c5;color:#1f2328"
WARN = "background:#fff8c5;color:#1f2328;border-left:3px solid #d4a72c;padding:2px 8px;margin:2px 0"
BAD = "background:#ffebe9;color:#1f2328;border-left:3px solid #cf222e;padding:2px 8px;margin:2px 0"
GOOD = "background:#dafbe1;color:#1f2328;border-left:3px solid #1a7f37;padding:2px 8px;margin:2px 0"
MANY_ROWS = 15  # longer tables start folded


# Highlighted cells set their text colour too, so they stay readable under dark themes.
# ==================================================================== small building blocks
def esc(value: Any) -> str:
    """Escaped text of any value (``None`` -> empty)."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """A number shortened for tables (4 significant digits), anything else as text; escaped."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return esc(f"{value:.4g}")
    return esc(value)


def badge(text: str, color: str = "#0969da") -> str:
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
