"""``VersionCard``: one version, its comment thread, and the buttons that act on it."""

from __future__ import annotations

import ipywidgets as W
from traitlets import Unicode, observe

from .. import display as views
from ._base import HTMLFallback, button, run, status_widget


class VersionCard(HTMLFallback, W.VBox):
    """A version card with comments, reviews and promotion.

    ``VersionCard(reg, "churn:3")``; set ``card.ref`` to show another version. Every button calls
    one core method (``comment``, ``review``, ``check``, ``promote``, ``rollback``); refusals show
    the gate report in ``card.status``.
    """

    ref = Unicode("", help="the version shown (churn, churn:3, churn@production)")

    def __init__(self, registry, ref: str = "", **kwargs):
        self.registry = registry
        self.version = None
        self.thread = []
        self.last_result = None
        self.last_error = None
        self.header = W.HTML()
        self.comments_html = W.HTML()
        self.comment_box = W.Textarea(placeholder="Write a comment (markdown)…", layout=W.Layout(width="100%"))
        self.anchor_box = W.Text(placeholder="anchor (optional): metrics.auc, params.C, cell:12",
                                 layout=W.Layout(width="50%"))
        self.comment_button = button("Comment", icon="comment")
        self.approve_button = button("Approve", button_style="success", icon="check")
        self.request_changes_button = button("Request changes", button_style="warning")
        self.alias_box = W.Combobox(placeholder="alias, e.g. production", ensure_option=False,
                                    layout=W.Layout(width="200px"))
        self.reason_box = W.Text(placeholder="reason (recorded in the history)", layout=W.Layout(width="300px"))
        self.force_box = W.Checkbox(description="force", indent=False, layout=W.Layout(width="70px"))
        self.check_button = button("Check", icon="list")
        self.promote_button = button("Promote", button_style="primary", icon="arrow-up")
        self.rollback_button = button("Roll back alias", icon="undo")
        self.status = status_widget()
        self.comment_button.on_click(lambda _: self.add_comment())
        self.approve_button.on_click(lambda _: self.review("approve"))
        self.request_changes_button.on_click(lambda _: self.review("request-changes"))
        self.check_button.on_click(lambda _: self.check())
        self.promote_button.on_click(lambda _: self.promote())
        self.rollback_button.on_click(lambda _: self.rollback())
        super().__init__(children=[
            self.header, self.comments_html,
            W.VBox([self.comment_box, W.HBox([self.anchor_box, self.comment_button])]),
            W.HBox([self.approve_button, self.request_changes_button]),
            W.HBox([self.alias_box, self.reason_box, self.force_box, self.check_button, self.promote_button,
                    self.rollback_button]),
            self.status], **kwargs)
        self.ref = ref

    @observe("ref")
    def _ref_changed(self, change):
        self.status.value = ""
        self.refresh()

    def refresh(self) -> None:
        """Re-read the version and its thread from the registry."""
        if not self.ref:
            self.version, self.thread = None, []
            self.header.value = views.box(f'<span style="{views.MUTED}">no version selected</span>')
            self.comments_html.value = ""
            return
        version, error = run(self.status, self.registry.get, self.ref)
        if error:
            self.version, self.thread = None, []
            self.header.value = ""
            self.comments_html.value = ""
            return
        self.version = version
        self.header.value = views.version_html(version)
        comments = getattr(self.registry, "comments", None)
        self.thread = list(comments(version.ref)) if comments else []
        self.comments_html.value = views.comments_html(self.thread, title="comments")
        model = self.registry.get_model(version.name)
        self.alias_box.options = tuple(sorted(set(model.aliases) | {"staging", "production"}))

    def _act(self, fn, *args, **kwargs):
        result, error = run(self.status, fn, *args, **kwargs)
        self.last_result, self.last_error = result, error
        if error is None:
            self.refresh()
            self.status.value = views.note("done: " + views.esc(repr(result)), views.GOOD) + (
                views.render_html(result) if type(result).__name__ in ("AliasMove", "GateReport") else "")
        return result

    def _target(self) -> str:
        return self.version.ref if self.version is not None else self.ref

    def add_comment(self):
        body = self.comment_box.value
        result = self._act(self.registry.comment, self._target(), body, anchor=self.anchor_box.value.strip() or None)
        if self.last_error is None:
            self.comment_box.value = ""
            self.anchor_box.value = ""
        return result

    def review(self, verdict: str):
        result = self._act(self.registry.review, self._target(), verdict, self.comment_box.value)
        if self.last_error is None:
            self.comment_box.value = ""
        return result

    def _alias(self) -> str:
        return self.alias_box.value.strip()

    def check(self):
        report, error = run(self.status, self.registry.check, self._target(), self._alias())
        self.last_result, self.last_error = report, error
        if error is None:
            self.status.value = views.gate_report_html(report)
        return report

    def promote(self):
        return self._act(self.registry.promote, self._target(), self._alias(),
                         reason=self.reason_box.value.strip() or None, force=self.force_box.value)

    def rollback(self):
        name = self.version.name if self.version is not None else self.ref.partition(":")[0].partition("@")[0]
        return self._act(self.registry.rollback, f"{name}@{self._alias()}", reason=self.reason_box.value.strip() or None)

    def fallback_html(self) -> str:
        return self.header.value + self.comments_html.value + self.status.value
