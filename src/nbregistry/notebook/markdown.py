"""Markdown to sanitized HTML, for cards (and any other markdown the registry shows).

mistune renders (raw HTML in the source is escaped, not passed through), then bleach keeps only an
allow-list of tags and attributes and only http(s)/mailto links: no script, no event handler, no
``javascript:`` URL, no inline style survives. Both libraries come with Jupyter (nbconvert uses
them); without them the text is shown escaped in a ``<pre>``.
"""

from __future__ import annotations

from .html_parts import esc

TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "i", "img", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
        "tr", "ul"}
ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "th": ["align"], "td": ["align"],
              "code": ["class"]}
PROTOCOLS = {"http", "https", "mailto"}


def markdown_html(text: str) -> str:
    """Sanitized HTML for ``text`` (markdown)."""
    try:
        import bleach
        import mistune
    except ImportError:  # pragma: no cover - both ship with jupyter_server's nbconvert
        return f'<pre style="white-space:pre-wrap">{esc(text)}</pre>'
    render = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])
    html = render(text or "")
    return bleach.clean(html, tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=True)
