"""``RegistryBrowser``: models → versions → a version card."""

from __future__ import annotations

import ipywidgets as W

from .. import display as views
from ._base import HTMLFallback, button, run, status_widget
from .card import VersionCard


class RegistryBrowser(HTMLFallback, W.VBox):
    """Browse a registry: filter models by name, pick a model, pick a version, read its card."""

    def __init__(self, registry, *, limit: int = 500, **kwargs):
        self.registry = registry
        self.limit = limit
        self.search = W.Text(placeholder="filter models by name…", layout=W.Layout(width="260px"))
        self.refresh_button = button("Refresh", icon="refresh")
        self.models = W.Select(options=[], rows=12, layout=W.Layout(width="260px"))
        self.versions = W.Select(options=[], rows=12, layout=W.Layout(width="200px"))
        self.count = W.HTML()
        self.status = status_widget()
        self.card = VersionCard(registry)
        self.search.observe(lambda _: self.refresh(), names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.models.observe(self._model_changed, names="value")
        self.versions.observe(self._version_changed, names="value")
        super().__init__(children=[
            W.HBox([self.search, self.refresh_button, self.count]),
            W.HBox([self.models, self.versions, self.card]), self.status], **kwargs)
        self.refresh()

    def refresh(self) -> None:
        models, error = run(self.status, self.registry.list_models, self.search.value.strip() or None, limit=self.limit)
        if error:
            return
        names = tuple(m.name for m in models)
        self.count.value = f'<span style="{views.MUTED}">{len(names)} of {models.total} models</span>'
        current = self.models.value
        self.models.options = names
        self.models.value = current if current in names else (names[0] if names else None)
        if self.models.value == current:
            self._model_changed({"new": current})

    def _model_changed(self, change) -> None:
        name = change["new"]
        if not name:
            self.versions.options = ()
            return
        versions, error = run(self.status, self.registry.list_versions, name, limit=self.limit)
        if error:
            return
        labels = tuple((f"{v.version}" + "".join(f" @{a}" for a in v.aliases), v.ref) for v in versions)
        self.versions.options = labels
        self.versions.value = labels[0][1] if labels else None

    def _version_changed(self, change) -> None:
        self.card.ref = change["new"] or ""

    def fallback_html(self) -> str:
        models = self.registry.list_models(self.search.value.strip() or None, limit=self.limit)
        return views.results_html(models) + self.card.fallback_html()
