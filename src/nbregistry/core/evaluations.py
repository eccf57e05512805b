"""Evaluations: metrics computed after registration on a named, fingerprinted dataset.

Registration metrics stay as they were recorded (immutable). An evaluation sits beside them: which
version, on which data (a name plus the sha256 fingerprint of the data, from ``lineage.fingerprint``),
when, by whom (author and identity) and with which code (the metric functions, their source hash,
the git state). ``evaluate`` computes them by loading each version through :meth:`Registry.load`
(so the trust rule applies) and predicting on the same data; ``log_metrics`` records metrics
computed elsewhere. ``compare`` ranks evaluation metrics only among versions scored on the same
data, and policy gates can name a dataset (``metrics.auc@holdout``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from . import store_versioning as sv
from .entities import Results, _Rich
from .errors import ValidationError
from .limits import check_json, json_size
from .registration import clean_metrics
from .refs import Ref, parse_ref
from .store import now_iso

DATASET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SHA_RE = re.compile(r"[0-9a-f]{64}")


@dataclass
class Evaluation(_Rich):
    """Metrics of one version on one dataset, computed (``source="evaluate"``) or logged."""

    id: int
    ref: str
    dataset: str
    fingerprint: str | None
    metrics: dict = field(default_factory=dict)
    source: str = "evaluate"
    created_at: str = ""
    author: str = ""
    identity: str = "local"
    claimed_by: str | None = None
    data: dict = field(default_factory=dict)
    code: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in list(self.metrics.items())[:4])
        fp = (self.fingerprint or "not fingerprinted")[:12]
        return f"<Evaluation #{self.id} {self.ref} on {self.dataset} ({fp}) by {self.author}: {shown}>"


def validate_dataset(name: Any) -> str:
    if not isinstance(name, str) or not DATASET_RE.fullmatch(name):
        raise ValidationError(f"invalid dataset name {name!r}: use 1-128 characters of letters, digits, '.', '_' "
                              "or '-', starting with a letter or digit")
    return name


def dataset_fingerprint(data: Any) -> tuple[str, dict]:
    """``(sha256, fingerprints)`` of evaluation data: ``(X, y)`` or one dataset. The sha256 covers every
    part, so two evaluations share it exactly when they were computed on the same data."""
    from .lineage import fingerprint, fingerprints

    if isinstance(data, tuple) and len(data) == 2:
        parts = {"X": fingerprint(data[0]), "y": fingerprint(data[1])}
    else:
        parts = fingerprints(data)
    digest = hashlib.sha256()
    for label in sorted(parts):
        digest.update(f"{label}\x00{parts[label]['sha256']}\x00".encode())
    return digest.hexdigest(), parts


class EvaluationsMixin:
    """``evaluate``, ``log_metrics`` and ``evaluations`` (see the module doc)."""

    def evaluate(self, refs_or_model: str | Iterable[str], *, data: tuple, metrics: dict, name: str | None = None,
                 method: str = "predict", trust: bool = False) -> Results:
        """Score one or many versions on the same data and store an evaluation for each.

        ``data`` is ``(X, y)``; ``metrics`` maps names to functions ``fn(y_true, y_pred)`` (or to
        ``(fn, method)`` to predict with another method, e.g. ``predict_proba``); ``name`` names the
        dataset (default ``data-<sha256 prefix>``). Each version is loaded with :meth:`load` (the
        trust rule applies; ``trust`` as there). All evaluations are stored together or none is.
        """
        if not (isinstance(data, tuple) and len(data) == 2):
            raise ValidationError("data must be a tuple (X, y): the inputs and the true values")
        functions = metric_functions(metrics, method)
        versions = self._evaluation_targets(refs_or_model)
        sha, parts = dataset_fingerprint(data)
        name = validate_dataset(name) if name is not None else f"data-{sha[:12]}"
        computed = compute_metrics(self, versions, data, functions, trust=trust)
        code = code_record(functions)
        return self._store_evaluations(computed, dataset=name, fingerprint=sha, data=parts, source="evaluate",
                                       code=code)

    def log_metrics(self, ref: str, metrics: dict, *, dataset: str, data: Any = None,
                    fingerprint: str | None = None, code: dict | None = None) -> "Evaluation":
        """Record metrics computed elsewhere for one version on the dataset named ``dataset``. Give the
        ``data`` (fingerprinted here) or its ``fingerprint`` (a sha256 from :func:`dataset_fingerprint`)
        so comparisons can tell whether two versions were scored on the same data. ``code`` optionally
        says what computed them (a JSON object, stored as given)."""
        if code is not None:
            if not isinstance(code, dict):
                raise ValidationError("code must be a JSON object")
            check_json(code, "code", max_depth=self.limits.json_depth)
            json_size(code, "code", max_bytes=50_000)
        validate_dataset(dataset)
        if isinstance(metrics, dict) and len(metrics) > self.limits.metrics:
            raise ValidationError(f"at most {self.limits.metrics} metrics at a time, not {len(metrics)}")
        values = clean_metrics(metrics)
        if not values:
            raise ValidationError("log_metrics needs at least one metric")
        parts: dict = {}
        if data is not None and fingerprint is not None:
            raise ValidationError("give data or fingerprint, not both")
        if data is not None:
            fingerprint, parts = dataset_fingerprint(data)
        elif fingerprint is not None and (not isinstance(fingerprint, str) or not SHA_RE.fullmatch(fingerprint)):
            raise ValidationError(f"fingerprint must be 64 lowercase hex digits (a sha256), not {fingerprint!r}")
        version = self._fetch_refs([ref])[0]
        return self._store_evaluations([(version, values)], dataset=dataset, fingerprint=fingerprint, data=parts,
                                       source="logged", code={**(code or {}), "logged": True})[0]

    def evaluations(self, ref_or_model: str, *, dataset: str | None = None) -> Results:
        """Evaluations of a version (``churn:3``, ``churn@production``) or of every version of a model
        (bare name), oldest first; ``dataset`` keeps one dataset's."""
        if dataset is not None:
            validate_dataset(dataset)
        parsed = parse_ref(ref_or_model)
        with self.store.read() as conn:
            if parsed == Ref(parsed.name):
                model = self._model_row(parsed.name, conn)
                ids = self.store.version_ids(model["id"], conn)
                title = f"evaluations of {model['name']}"
            else:
                model, number = self._resolve(parsed, conn)
                ids = [self._version_id(model["id"], number, conn)]
                title = f"evaluations of {model['name']}:{number}"
            rows, metrics = sv.evaluation_rows(conn, ids, dataset=dataset)
        return Results([_evaluation(r, metrics[r["id"]]) for r in rows], title=title)

    # -- helpers used by compare, gates and cards ---------------------------------------------
    def _latest_evaluations(self, version_ids: list[int], conn=None) -> dict[int, dict]:
        """``{version id: {dataset: Evaluation}}``: the latest evaluation per dataset name."""
        rows, metrics = sv.evaluation_rows(conn or self.store.conn, version_ids)
        out: dict[int, dict] = {i: {} for i in version_ids}
        for r in rows:  # oldest first: later ones replace earlier ones
            out[r["version_id"]][r["dataset"]] = _evaluation(r, metrics[r["id"]])
        return out

    def _evaluation_targets(self, refs_or_model) -> list:
        if isinstance(refs_or_model, str) and parse_ref(refs_or_model) == Ref(parse_ref(refs_or_model).name):
            versions = self._versions("m.name = ? AND v.status = 'active'", [refs_or_model], limit=10_000)
            if not versions:
                self._model_row(refs_or_model)
                raise ValidationError(f"{refs_or_model} has no active versions to evaluate")
            return versions
        refs = [refs_or_model] if isinstance(refs_or_model, str) else list(refs_or_model)
        if not refs:
            raise ValidationError("evaluate needs a model name or at least one ref")
        if len(refs) > self.limits.compare_refs:
            raise ValidationError(f"evaluate takes at most {self.limits.compare_refs} refs, not {len(refs)}")
        return self._fetch_refs(refs)

    def _store_evaluations(self, computed: list, *, dataset: str, fingerprint: str | None, data: dict, source: str,
                           code: dict) -> Results:
        when = now_iso()
        identity, claimed_by = self.identity, self.claimed_by
        ids = []
        with self.store.write() as conn:
            for version, values in computed:
                model = self._model_row(version.name, conn)
                row = self.store.version_row(model["id"], version.version, lineage=False, conn=conn)
                if row is None or row["artifact_sha"] != version.artifact.get("sha256"):
                    raise ValidationError(f"{version.ref} changed while it was being evaluated; try again")
                eid = sv.insert_evaluation(conn, version_id=row["id"], dataset=dataset, fingerprint=fingerprint,
                                           data=data, source=source, created_at=when, author=self.author,
                                           identity=identity, claimed_by=claimed_by, code=code, metrics=values)
                ids.append((row["id"], eid))
                self._event(conn, "evaluation.added", model["name"], version.version,
                            {"id": eid, "dataset": dataset, "fingerprint": fingerprint, "source": source,
                             "metrics": values}, time_=when)
            rows, metrics = sv.evaluation_rows(conn, [vid for vid, _ in ids])
        wanted = {eid for _, eid in ids}
        by_id = {r["id"]: _evaluation(r, metrics[r["id"]]) for r in rows if r["id"] in wanted}
        return Results([by_id[eid] for _, eid in ids], title=f"evaluations on {dataset}")


# ==================================================================== helpers
def _evaluation(row, metrics: dict) -> Evaluation:
    return Evaluation(id=row["id"], ref=f"{row['model']}:{row['version']}", dataset=row["dataset"],
                      fingerprint=row["fingerprint"], metrics=dict(metrics), source=row["source"],
                      created_at=row["created_at"], author=row["author"], identity=row["identity"],
                      claimed_by=row["claimed_by"],
                      data=json.loads(row["data"]), code=json.loads(row["code"]))


def compute_metrics(registry, versions: list, data: tuple, functions: dict, *, trust: bool) -> list:
    """``[(version, {metric: value})]``: each version loaded with ``registry.load`` (the trust rule)
    and scored on ``data``. Shared by the local and the remote registry."""
    X, y = data
    computed = []
    for version in versions:
        obj = registry.load(version.ref, trust=trust)
        predictions: dict[str, Any] = {}
        values = {}
        for key, (fn, how) in functions.items():
            if how not in predictions:
                predictions[how] = _predict(obj, X, how, version.ref)
            try:
                values[key] = fn(y, predictions[how])
            except Exception as exc:
                raise ValidationError(f"metric {key!r} raised {type(exc).__name__}: {exc} on {version.ref}") from exc
        computed.append((version, _as_numbers(values, version.ref)))
    return computed


def metric_functions(metrics: Any, method: str) -> dict[str, tuple[Callable, str]]:
    if not isinstance(metrics, dict) or not metrics:
        raise ValidationError("metrics must be a non-empty dict of name -> function(y_true, y_pred)")
    if not isinstance(method, str) or not method.isidentifier():
        raise ValidationError(f"method must be the name of a model method such as 'predict', not {method!r}")
    out = {}
    for key, spec in metrics.items():
        fn, how = (spec if isinstance(spec, tuple) and len(spec) == 2 else (spec, method))
        if not callable(fn):
            raise ValidationError(f"metric {key!r} must be a function fn(y_true, y_pred), not {type(fn).__name__}")
        if not isinstance(how, str) or not how.isidentifier():
            raise ValidationError(f"metric {key!r}: the method must be a name such as 'predict_proba', not {how!r}")
        out[key] = (fn, how)
    clean_metrics({k: 0.0 for k in out})  # the same key rules as registration metrics
    return out


def _predict(obj: Any, X: Any, method: str, ref: str) -> Any:
    fn = getattr(obj, method, None)
    if fn is None and method == "predict" and callable(obj):
        fn = obj
    if not callable(fn):
        raise ValidationError(f"{ref} loads as a {type(obj).__name__}, which has no {method}()")
    return fn(X)


def _as_numbers(values: dict, ref: str) -> dict:
    out = {}
    for key, value in values.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"metric {key!r} returned {type(value).__name__} {value!r} on {ref}, not a number") from None
    return clean_metrics(out)


def code_record(functions: dict) -> dict:
    """Which code computed the metrics: each function's import path and source hash, the method,
    the git state and the Python and nbregistry versions."""
    import inspect
    import platform

    from .._version import __version__
    from .lineage import git_info

    record: dict = {"metrics": {}, "python": platform.python_version(), "nbregistry": __version__}
    for key, (fn, how) in functions.items():
        entry = {"function": f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}",
                 "method": how}
        try:
            entry["source_sha256"] = hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()
        except (OSError, TypeError):
            pass
        record["metrics"][key] = entry
    git = git_info()
    if git:
        record["git"] = {k: git.get(k) for k in ("commit", "branch", "dirty", "remote")}
    return record
