"""``ComparisonWidget``: pick versions and metrics, set a goal per metric, diff two versions."""

from __future__ import annotations

import ipywidgets as W
from traitlets import observe

from .. import display as views
from ._base import HTMLFallback, button, run, status_widget

DEFAULT_SELECTED = 10


class ComparisonWidget(HTMLFallback, W.VBox):
    """``ComparisonWidget(reg, "churn")`` (all active versions) or ``ComparisonWidget(reg, ["a:1", "b:2"])``.

    ``versions.value`` and ``metrics.value`` choose what is compared; ``goals[metric].value`` is
    ``"max"`` or ``"min"``; ``comparison`` is the core's current :class:`Comparison`. The two
    dropdowns and the Diff button show :meth:`Registry.diff` of two versions.
    """

    def __init__(self, registry, model_or_refs, **kwargs):
        self.registry = registry
        if isinstance(model_or_refs, str):
            refs = [v.ref for v in registry.list_versions(model_or_refs, archived=False, limit=1000)]
        else:
            refs = [registry.get(r).ref for r in model_or_refs]
        self.comparison = None
        self.diff = None
        # a model's newest versions come first; a long history starts with the newest few selected
        self.versions = W.SelectMultiple(options=refs, value=tuple(refs[:DEFAULT_SELECTED]),
                                         rows=min(8, max(2, len(refs))), description="versions")
        self.metrics = W.SelectMultiple(options=(), rows=6, description="metrics")
        self.hide_identical = W.Checkbox(value=True, description="hide identical params")
        self.goals: dict[str, W.ToggleButtons] = {}
        self.goal_box = W.VBox()
        self.table = W.HTML()
        self.diff_a = W.Dropdown(options=refs, value=refs[-1] if refs else None, description="diff")
        self.diff_b = W.Dropdown(options=refs, value=refs[0] if refs else None, description="→")
        self.diff_button = button("Diff", icon="columns")
        self.diff_html = W.HTML()
        self.status = status_widget()
        self.versions.observe(lambda _: self.update(), names="value")
        self.metrics.observe(lambda _: self.update(rebuild_goals=False), names="value")
        self.hide_identical.observe(lambda _: self._render(), names="value")
        self.diff_button.on_click(lambda _: self.show_diff())
        super().__init__(children=[
            W.HBox([self.versions, self.metrics, self.goal_box]), self.hide_identical, self.table,
            W.HBox([self.diff_a, self.diff_b, self.diff_button]), self.diff_html, self.status], **kwargs)
        self.update()

    def _goal_map(self) -> dict:
        return {k: w.value for k, w in self.goals.items()}

    def update(self, rebuild_goals: bool = True) -> None:
        """Re-run the comparison in the core for the selected versions and goals."""
        refs = list(self.versions.value)
        if not refs:
            self.comparison = None
            self.table.value = views.box(f'<span style="{views.MUTED}">select at least one version</span>')
            return
        comparison, error = run(self.status, self.registry.compare, refs, goals=self._goal_map() or None)
        if error:
            return
        self.comparison = comparison
        keys = tuple(comparison.metrics)
        if rebuild_goals and set(keys) != set(self.metrics.options):
            chosen = [k for k in self.metrics.value if k in keys] or list(keys)
            self.metrics.options = keys
            self.metrics.value = tuple(chosen)
        for key in keys:
            if key not in self.goals:
                toggle = W.ToggleButtons(options=["max", "min"], value=comparison.metrics[key]["goal"],
                                         description=key, style={"button_width": "auto"})
                toggle.observe(lambda _: self.update(rebuild_goals=False), names="value")
                self.goals[key] = toggle
        self.goal_box.children = [self.goals[k] for k in self.metrics.value if k in self.goals]
        self._render()

    def shown(self):
        """The comparison restricted to the chosen metrics (what the table and chart show)."""
        if self.comparison is None:
            return None
        from ...core.compare import Comparison

        c = self.comparison
        return Comparison(model=c.model, versions=c.versions,
                          metrics={k: v for k, v in c.metrics.items() if k in self.metrics.value},
                          params=c.params, tags=c.tags)

    def _render(self) -> None:
        shown = self.shown()
        if shown is not None:
            self.table.value = views.comparison_html(shown, hide_identical=self.hide_identical.value)

    def show_diff(self):
        diff, error = run(self.status, self.registry.diff, self.diff_a.value, self.diff_b.value)
        if error is None:
            self.diff = diff
            self.diff_html.value = views.diff_html(diff)
        return diff

    def fallback_html(self) -> str:
        return self.table.value + self.diff_html.value

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        shown = self.shown()
        if shown is not None:  # the side panel and JupyterLab render these without a kernel
            bundle[views.COMPARISON_MIME] = shown.to_dict()
            bundle[views.VEGALITE_MIME] = views.vegalite_spec(shown)
        return bundle
