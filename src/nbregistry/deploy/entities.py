"""Result objects of the export and import faces, shaped like the core's
entities: ``to_dict()``/``from_dict()``, a short ``__repr__`` and the notebooks' generic HTML view."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.entities import _Rich


@dataclass
class ExportReport(_Rich):
    format: str
    path: str
    refs: list = field(default_factory=list)       # the versions written, e.g. ["churn:1", "churn:2"]
    tables: dict = field(default_factory=dict)     # table -> rows written (bundle)
    blobs: int = 0
    bytes: int = 0
    files: list = field(default_factory=list)      # files written (mlflow, docker)

    def __repr__(self) -> str:
        return f"<ExportReport {self.format} -> {self.path}: {len(self.refs)} versions>"


@dataclass
class ImportReport(_Rich):
    source: str
    added: dict = field(default_factory=dict)      # table -> rows added
    existing: dict = field(default_factory=dict)   # table -> rows already present (skipped)
    blobs_added: int = 0
    refs: list = field(default_factory=list)       # versions added
    warnings: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(self.added.values()) or self.blobs_added > 0

    def __repr__(self) -> str:
        added = sum(self.added.values())
        return f"<ImportReport {self.source}: {added} rows added, {len(self.refs)} versions, {self.blobs_added} blobs>"
