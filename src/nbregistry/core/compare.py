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
    # dataset name -> {"fingerprints": [sha256 | None per version, None where not scored], "shared": bool}
    datasets: dict = field(default_factory=dict)
    shared: list = field(default_factory=list)  # datasets every version was scored on, on the same data
    notes: list = field(default_factory=list)   # where versions were scored on different data, and what to do

    @classmethod
    def build(cls, model: str | None, versions: list, goals: dict | None = None,
              evaluations: list | None = None) -> "Comparison":
        """From ModelVersion objects (with metrics, params and tags loaded) and, per version, its latest
        evaluation per dataset (``[{dataset: {"fingerprint", "metrics"}}]``, same order as ``versions``).

        Registration metrics are ranked as recorded (they carry no ``"dataset"``: the data they came
        from is not recorded). Evaluation metrics appear as ``key@dataset`` and are ranked only when every
        version that has them was scored on the same data (same fingerprint); otherwise ``best`` is
        empty, ``comparable`` false, and a note says so and offers the shared evaluation."""
        header = [{"ref": v.ref, "name": v.name, "version": v.version, "author": v.author,
                   "created_at": v.created_at, "aliases": list(v.aliases)} for v in versions]
        metrics = {}
        for key in sorted({k for v in versions for k in v.metrics}):
            values = [v.metrics.get(key) for v in versions]
            metrics[key] = _ranked(values, metric_goal(key, goals))  # as recorded: no dataset key
        evaluations = evaluations or [{} for _ in versions]
        datasets, shared, notes = {}, [], []
        for name in sorted({d for per in evaluations for d in per}):
            fps = [per[name]["fingerprint"] if name in per else None for per in evaluations]
            scored = [i for i, per in enumerate(evaluations) if name in per]
            distinct = {fps[i] for i in scored}
            same = len(distinct) == 1
            datasets[name] = {"fingerprints": fps, "scored": scored, "same_data": same,
                              "shared": same and len(scored) == len(versions)}
            if datasets[name]["shared"]:
                shared.append(name)
            for key in sorted({k for i in scored for k in evaluations[i][name]["metrics"]}):
                values = [per[name]["metrics"].get(key) if name in per else None for per in evaluations]
                ranked = _ranked(values, metric_goal(key, goals)) if same else {
                    "values": values, "goal": metric_goal(key, goals), "best": []}
                metrics[f"{key}@{name}"] = {**ranked, "dataset": name, "comparable": same, "fingerprints": fps}
            if not same:
                refs = ", ".join(header[i]["ref"] for i in scored)
                notes.append(f"{refs} were scored on different data under the name {name!r}; "
                             f"their {name} metrics are not ranked")
        if datasets and len(versions) > 1 and not shared:
            refs = [h["ref"] for h in header]
            notes.append(f"no dataset scores all of {', '.join(refs)} on the same data, so no evaluation metric "
                         f"is ranked across them: score them together with reg.evaluate({refs!r}, data=(X, y), "
                         "metrics=..., name=...)")
        elif shared and any(not d["same_data"] or not d["shared"] for d in datasets.values()):
            notes.append(f"compare on the shared evaluation{'s' if len(shared) > 1 else ''}: {', '.join(shared)}")
        if datasets and any(m.get("dataset") is None for m in metrics.values()):
            notes.append("registration metrics (no @dataset) are ranked as recorded; the data they were computed "
                         "on is not recorded")

        def table(attr):
            out = {}
            for key in sorted({k for v in versions for k in getattr(v, attr)}):
                values = [getattr(v, attr).get(key) for v in versions]
                out[key] = {"values": values, "differs": len(set(values)) > 1}
            return out

        return cls(model=model, versions=header, metrics=metrics, params=table("params"), tags=table("tags"),
                   datasets=datasets, shared=shared, notes=notes)

    def to_dict(self) -> dict:
        return {"schema": "nbregistry.comparison/1", "model": self.model, "versions": self.versions,
                "metrics": self.metrics, "params": self.params, "tags": self.tags, "datasets": self.datasets,
                "shared": self.shared, "notes": self.notes}

    @classmethod
    def from_dict(cls, data: dict) -> "Comparison":
        return cls(model=data.get("model"), versions=data["versions"], metrics=data.get("metrics", {}),
                   params=data.get("params", {}), tags=data.get("tags", {}), datasets=data.get("datasets", {}),
                   shared=data.get("shared", []), notes=data.get("notes", []))

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
        from .hooks import provided

        return provided("comparison_bundle")(self)

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.versions)} versions, {len(self.metrics)} metrics; best: {self.best}>"


@dataclass
class Diff(_Rich):
    a: str
    b: str
    changes: dict = field(default_factory=dict)  # section -> [{"key", "a", "b"}]

    SECTIONS = ("metrics", "params", "tags", "signature", "flavor", "artifact", "environment", "data", "git",
                "notebook", "revert")

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
        git_a, git_b = la.get("git") or {}, lb.get("git") or {}
        keys = ("commit", "branch", "dirty", "remote")
        changes["git"] = _dict_diff({k: git_a.get(k) for k in keys}, {k: git_b.get(k) for k in keys})
        changes["notebook"] = _notebook_diff(la.get("notebook") or {}, lb.get("notebook") or {})
        link_a, link_b = la.get("revert_of") or {}, lb.get("revert_of") or {}
        changes["revert"] = _dict_diff({"revert_of": link_a.get("ref")}, {"revert_of": link_b.get("ref")})
        return cls(a=a.ref, b=b.ref, changes={k: v for k, v in changes.items() if v})

    def __bool__(self) -> bool:
        return any(self.changes.values())

    def __repr__(self) -> str:
        summary = ", ".join(f"{k}: {len(v)}" for k, v in self.changes.items()) or "identical"
        return f"<Diff {self.a} -> {self.b} ({summary})>"


def _ranked(values: list, goal: str) -> dict:
    present = [x for x in values if x is not None and not math.isnan(x)]
    target = (max if goal == "max" else min)(present) if present else None
    best = [i for i, x in enumerate(values) if x is not None and x == target]
    return {"values": values, "goal": goal, "best": best if len(best) == 1 else []}  # a tie marks no version best


def _notebook_diff(a: dict, b: dict) -> list:
    """The notebook path and the recorded cells (the slice that produced the model), cell by cell."""
    out = _dict_diff({"path": a.get("path")}, {"path": b.get("path")})
    cells_a = [c for c in a.get("cells") or [] if isinstance(c, dict)]
    cells_b = [c for c in b.get("cells") or [] if isinstance(c, dict)]
    for i in range(max(len(cells_a), len(cells_b))):
        sa = cells_a[i].get("source") if i < len(cells_a) else None
        sb = cells_b[i].get("source") if i < len(cells_b) else None
        if sa != sb:
            out.append({"key": f"cell {i + 1}", "a": sa, "b": sb})
    return out


def _dict_diff(a: dict, b: dict) -> list:
    out = []
    for key in sorted(set(a) | set(b), key=str):
        if a.get(key) != b.get(key):
            out.append({"key": key, "a": a.get(key), "b": b.get(key)})
    return out
