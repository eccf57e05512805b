"""Comparison of many versions and diff of two.

``Comparison`` holds versions × metrics/params/tags as plain lists (the JSON shape documented in
docs/rest-api.md, also the payload of ``application/vnd.nbregistry.comparison+json``) and builds a
pandas DataFrame on demand. Which value is best per metric follows the metric's goal: higher is
better unless the name reads like a loss, error or cost, or the caller said otherwise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .entities import _Rich
from .errors import ValidationError

MINIMIZE = re.compile(r"(loss|err|error|mse|rmse|mae|mape|smape|latency|duration|time|cost|perplexity|brier|"
                      r"deviance|regret|fpr|fnr|size|bytes)", re.I)
COMPARISON_MIME = "application/vnd.nbregistry.comparison+json"


def metric_goal(name: str, goals: dict | None = None) -> str:
    if goals and name in goals:
        goal = goals[name]
        if goal not in ("max", "min"):
            raise ValidationError(f"goal for metric {name!r} must be 'max' or 'min', not {goal!r}")
        return goal
    return "min" if MINIMIZE.search(name) else "max"


def parse_goals(text: str | None) -> dict:
    """``"loss:min,auc:max"`` -> ``{"loss": "min", "auc": "max"}``."""
    goals = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        key, sep, goal = part.rpartition(":")
        if not sep or not key:
            raise ValidationError(f"bad goal {part!r}: write METRIC:max or METRIC:min")
        goals[key] = metric_goal(key, {key: goal})
    return goals


@dataclass
class Comparison(_Rich):
    model: str | None
    versions: list  # [{"ref", "name", "version", "author", "created_at", "aliases"}]
    metrics: dict = field(default_factory=dict)  # key -> {"values", "goal", "best"}
    params: dict = field(default_factory=dict)   # key -> {"values", "differs"}
    tags: dict = field(default_factory=dict)

    @classmethod
    def build(cls, model: str | None, versions: list, goals: dict | None = None) -> "Comparison":
        """From ModelVersion objects (with metrics, params and tags loaded)."""
        header = [{"ref": v.ref, "name": v.name, "version": v.version, "author": v.author,
                   "created_at": v.created_at, "aliases": list(v.aliases)} for v in versions]
        metrics = {}
        for key in sorted({k for v in versions for k in v.metrics}):
            values = [v.metrics.get(key) for v in versions]
            goal = metric_goal(key, goals)
            present = [x for x in values if x is not None and not math.isnan(x)]
            target = (max if goal == "max" else min)(present) if present else None
            best = [i for i, x in enumerate(values) if x is not None and x == target]
            best = best if len(best) == 1 else []  # a tie for best marks no version best
            metrics[key] = {"values": values, "goal": goal, "best": best}

        def table(attr):
            out = {}
            for key in sorted({k for v in versions for k in getattr(v, attr)}):
                values = [getattr(v, attr).get(key) for v in versions]
                out[key] = {"values": values, "differs": len(set(values)) > 1}
            return out

        return cls(model=model, versions=header, metrics=metrics, params=table("params"), tags=table("tags"))

    def to_dict(self) -> dict:
        return {"schema": "nbregistry.comparison/1", "model": self.model, "versions": self.versions,
                "metrics": self.metrics, "params": self.params, "tags": self.tags}

    @classmethod
    def from_dict(cls, data: dict) -> "Comparison":
        return cls(model=data.get("model"), versions=data["versions"], metrics=data.get("metrics", {}),
                   params=data.get("params", {}), tags=data.get("tags", {}))

    @property
    def refs(self) -> list[str]:
        return [v["ref"] for v in self.versions]

    @property
    def best(self) -> dict:
        """Metric -> ref of the best version (first one on ties)."""
        return {k: self.versions[m["best"][0]]["ref"] for k, m in self.metrics.items() if m["best"]}

    @property
    def frame(self):
        """A pandas DataFrame: one row per version, columns ``metrics.*``, ``params.*``, ``tags.*``."""
        import pandas as pd

        columns = {}
        for prefix, section in (("metrics", self.metrics), ("params", self.params), ("tags", self.tags)):
            for key, info in section.items():
                columns[f"{prefix}.{key}"] = info["values"]
        return pd.DataFrame(columns, index=pd.Index(self.refs, name="ref"))

    def _repr_mimebundle_(self, include=None, exclude=None):
        from ..notebook.display import comparison_bundle

        return comparison_bundle(self)

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.versions)} versions, {len(self.metrics)} metrics; best: {self.best}>"


@dataclass
class Diff(_Rich):
    a: str
    b: str
    changes: dict = field(default_factory=dict)  # section -> [{"key", "a", "b"}]

    SECTIONS = ("metrics", "params", "tags", "signature", "flavor", "artifact", "environment", "data")

    @classmethod
    def build(cls, a, b) -> "Diff":
        """From two ModelVersion objects with lineage loaded."""
        changes = {
            "metrics": _dict_diff(a.metrics, b.metrics),
            "params": _dict_diff(a.params, b.params),
            "tags": _dict_diff(a.tags, b.tags),
            "signature": [] if a.signature == b.signature else [{"key": "signature", "a": a.signature, "b": b.signature}],
            "flavor": [] if a.flavor == b.flavor else [{"key": "flavor", "a": a.flavor, "b": b.flavor}],
            "artifact": _dict_diff({"sha256": a.artifact.get("sha256")}, {"sha256": b.artifact.get("sha256")}),
        }
        la, lb = a.lineage or {}, b.lineage or {}
        env_a = {"python": la.get("python"), "platform": la.get("platform"),
                 **{f"package:{p['name']}": p["version"] for p in la.get("packages", [])}}
        env_b = {"python": lb.get("python"), "platform": lb.get("platform"),
                 **{f"package:{p['name']}": p["version"] for p in lb.get("packages", [])}}
        changes["environment"] = _dict_diff(env_a, env_b)
        data_a = {k: v.get("sha256") for k, v in (la.get("data") or {}).items()}
        data_b = {k: v.get("sha256") for k, v in (lb.get("data") or {}).items()}
        changes["data"] = _dict_diff(data_a, data_b)
        return cls(a=a.ref, b=b.ref, changes={k: v for k, v in changes.items() if v})

    def __bool__(self) -> bool:
        return any(self.changes.values())

    def __repr__(self) -> str:
        summary = ", ".join(f"{k}: {len(v)}" for k, v in self.changes.items()) or "identical"
        return f"<Diff {self.a} -> {self.b} ({summary})>"


def _dict_diff(a: dict, b: dict) -> list:
    out = []
    for key in sorted(set(a) | set(b), key=str):
        if a.get(key) != b.get(key):
            out.append({"key": key, "a": a.get(key), "b": b.get(key)})
    return out
