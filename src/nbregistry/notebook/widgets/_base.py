"""What every nbregistry widget shares: the static-HTML fallback and error reporting."""

from __future__ import annotations

import ipywidgets as W

from ...core.errors import PolicyRefused, RegistryError
from .. import display as views


class HTMLFallback:
    """Mixin for a ``DOMWidget``: adds ``text/html`` (``fallback_html()``) to the widget's MIME bundle."""

    def fallback_html(self) -> str:  # pragma: no cover - every widget overrides it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.fallback_html()
        return bundle


def button(description: str, **kwargs) -> W.Button:
    """A button as wide as its label: never truncated to "Pro…" in a crowded row."""
    return W.Button(description=description, layout=W.Layout(width="auto", min_width="max-content", flex="0 0 auto"),
                    **kwargs)


def status_widget() -> W.HTML:
    return W.HTML(value="")


def run(status: W.HTML, fn, *args, **kwargs):
    """Call the core and show the outcome in ``status``: the result's HTML, a gate report on refusal,
    or the error's one line. Returns ``(result, error)``."""
    try:
        result = fn(*args, **kwargs)
    except PolicyRefused as exc:
        report = views.gate_report_html(exc.report) if exc.report is not None else ""
        status.value = views.note(views.esc(str(exc)), views.BAD) + report
        return None, exc
    except RegistryError as exc:
        status.value = views.note(views.esc(str(exc)), views.BAD)
        return None, exc
    return result, None
