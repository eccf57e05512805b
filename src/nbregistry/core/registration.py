"""Registration, before anything is stored: validating and cleaning what the caller gives,
picking metrics and params up from the model and serializing it with its flavor. Shared by
``Registry`` and ``RemoteRegistry`` so both refuse the same input the same way. (The trust rule of
loading lives in core/trust.py; ``check_trust`` is re-exported here for older imports.)
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import lineage as lineage_mod
from . import sources
from .errors import ValidationError
from .flavors import detect_flavor, get_flavor
from .limits import DEFAULT_LIMITS, Limits, check_json, check_text, json_size
from .objects import safe_relpath
from .refs import validate_name
from .scoring import with_outputs
from .signature import example_from_data, example_to_json, infer_signature
from .trust import check_trust  # noqa: F401 - re-exported: the rule lives in core/trust.py

MAX_KEY = 250
MAX_PARAM_VALUE = 5000


class RegistrationWarning(UserWarning):
    """Registration went through, but with something the user should know (e.g. a pickle format)."""


@dataclass
class PreparedRegistration:
    """Everything :meth:`Registry.register` decides before storing anything (shared with RemoteRegistry)."""

    flavor: Any
    metrics: dict
    params: dict
    tags: dict
    signature: dict | None
    example_json: bytes | None
    warnings: list
    data_lineage: dict  # data fingerprints, taken before anything is stored (bad data refuses early)
    notebook: dict | None
    pending_git: Callable[[], dict | None]
    source: dict | None = None  # registering from a URI: where from (filled in further by serialize)

    def lineage(self) -> dict:
        """The complete lineage record; waits for the git state started in prepare_registration."""
        record = {**lineage_mod.environment(), "git": self.pending_git(), "data": self.data_lineage,
                  "notebook": self.notebook}
        if self.source is not None:
            record["source"] = self.source
        return record


@dataclass
class StagedVersion:
    """A version whose blobs are stored (no lock was held), waiting for the short metadata
    transaction of :meth:`Registry.commit_staged`."""

    name: str
    entries: list  # [(relative path, source path)]: kept to store blobs again if gc removed one
    flavor: str
    meta: dict
    metrics: dict
    params: dict
    tags: dict
    description: str
    signature: dict | None
    example_json: bytes | None
    lineage: dict  # as captured
    stored_lineage: dict  # with the environment replaced by its blob's sha
    environment_sha: str | None
    manifest_sha: str
    deduplicated: bool
    example_sha: str | None
    blobs: list
    size: int


def prepare_registration(obj: Any, name: str, *, metrics: dict | None, params: dict | None, tags: dict | None,
                         description: str, data: Any, input_example: Any, flavor: str | None,
                         notebook: dict | None, limits: Limits = DEFAULT_LIMITS) -> PreparedRegistration:
    """Validate a registration and collect what it records: cleaned metrics/params/tags (picked up
    from the model when not given), flavor, signature, input example and lineage (with the notebook
    cells when called from a kernel)."""
    validate_name(name)
    check_text(description, "description", max_chars=limits.description_chars)
    if notebook is None and "IPython" in sys.modules:  # from a kernel, without %register
        from .hooks import provided  # nbregistry.notebook.provenance: pure Python, imports no Jupyter

        notebook = provided("notebook_lineage")(obj, metrics=metrics, params=params, data=data)
    if input_example is None:
        input_example = example_from_data(data)
    data_lineage = lineage_mod.fingerprints(data)
    warnings = list((notebook or {}).get("warnings") or []) + changed_since_fit(data_lineage, notebook) \
        + columns_not_fit_on(obj, data_lineage)
    if notebook is not None and warnings:
        notebook = {**notebook, "warnings": warnings}
    chosen = get_flavor(flavor) if flavor else detect_flavor(obj)
    return PreparedRegistration(
        flavor=chosen,
        metrics=clean_metrics(metrics if metrics is not None else _picked_metrics(obj)),
        params=clean_strings("param", params if params is not None else _picked_params(obj)),
        tags=clean_strings("tag", tags or {}),
        signature=with_outputs(infer_signature(input_example), obj, chosen.name, input_example),
        example_json=example_to_json(input_example) if input_example is not None else None,
        warnings=warnings, data_lineage=data_lineage, notebook=notebook,
        pending_git=lineage_mod.start_git(), source=sources.describe(obj) if sources.is_uri(obj) else None)


def changed_since_fit(data_lineage: dict, notebook: dict | None) -> list[str]:
    """Warnings for datasets whose fingerprint now differs from the one taken when the model was fit
    (``notebook["fit_data"]``, recorded by the notebook face's fit hook): the data changed after the
    model saw it, so the lineage describes other data than it was trained on."""
    out = []
    for label, fit in ((notebook or {}).get("fit_data") or {}).items():
        now = data_lineage.get(label)
        if now and isinstance(fit, dict) and fit.get("sha256") and now.get("sha256") != fit["sha256"]:
            model = f"{fit['model']}" if fit.get("model") else "the model"
            out.append(f"{fit.get('variable', label)} changed after {model} was fit on it in In "
                       f"[{fit.get('execution_count')}]: the data fingerprint describes the current data "
                       f"(shape {now.get('shape')}), not what the model saw (shape {fit.get('shape')})")
    return out


def columns_not_fit_on(obj: Any, data_lineage: dict) -> list[str]:
    """Warnings for tables in ``data=`` that lack some of the columns the model was fit on
    (scikit-learn's ``feature_names_in_``): such data cannot be what the model saw. Works without a
    notebook; tables sharing no column with the model (a lookup table, say) are left alone."""
    try:
        names = getattr(obj, "feature_names_in_", None)
        features = [] if names is None else [str(n) for n in names]
    except Exception:  # noqa: BLE001 - an attribute of an arbitrary object
        return []
    out = []
    for label, fp in data_lineage.items():
        columns = set(fp.get("columns") or []) if fp.get("kind") == "dataframe" else set()
        missing = [f for f in features if f not in columns]
        if columns and missing and len(missing) < len(features):
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            out.append(f"data {label!r} lacks column(s) {shown} that {type(obj).__name__} was fit on: "
                       "its fingerprint describes other data than the model saw")
    return out


def serialize(obj: Any, flavor, staging: Path, files: dict | None = None, *, objects=None,
              source: dict | None = None, progress: Callable[[int], None] | None = None) -> tuple[list, dict]:
    """Save ``obj`` with ``flavor`` into ``staging`` (a file or folder is used where it is) and
    return ``([(relative path, source path)], flavor metadata)``; ``files`` are added under ``extra/``.

    A URI (``https://``, ``s3://``, ``models:/``, ...) is fetched: straight into ``objects`` (an
    object store; the entries then hold stored blobs) when given, else into ``staging``; what the
    fetch learnt (ETag, version id) is added to ``source``, the lineage record of the URI."""
    if sources.is_uri(obj):
        describe = getattr(flavor, "describe_saved", None)
        if flavor.name != "file" and describe is None:
            raise ValidationError(f"a URI is registered as the files it names (flavor 'file'); the {flavor.name!r} "
                                  "flavor cannot describe files it did not save")
        if flavor.name == "file":
            sink = sources.store_sink(objects, progress) if objects is not None else sources.staging_sink(staging / "fetched")
            entries, meta, details = sources.fetch(obj, sink, staging)
        else:  # e.g. a saved transformers checkpoint: fetched into staging, described by its flavor
            fetched = staging / "fetched"
            entries, _, details = sources.fetch(obj, sources.staging_sink(fetched), staging)
            meta = describe(fetched)
        if source is not None:
            source.update(details)
    elif flavor.name == "file":
        entries, meta = file_entries(obj)
    else:
        with lineage_mod.own_imports():  # what the flavor imports is not the user's doing
            meta = flavor.save(obj, staging)
        # A flavor that had to pick a weaker format says so; the warning is loud, not stored.
        for message in meta.pop("_warnings", ()):
            warnings.warn(message, RegistrationWarning, stacklevel=4)
        entries = [(p.relative_to(staging).as_posix(), p) for p in sorted(staging.rglob("*")) if p.is_file()]
    for rel, src in (files or {}).items():
        entries.append(("extra/" + safe_relpath(rel), Path(src)))
    return entries, meta


def check_record(limits: Limits, *, description: str, metrics: dict, params: dict, tags: dict,
                 lineage: dict | None = None, flavor_meta: dict | None = None, signature: dict | None = None) -> None:
    """The registry's size rules for one version, checked before anything is stored (``Registry``
    stores every version through here, whether registered in a kernel, from the CLI or uploaded)."""
    check_text(description, "description", max_chars=limits.description_chars)
    for kind, values, most in (("metric", metrics, limits.metrics), ("param", params, limits.params),
                               ("tag", tags, limits.tags)):
        if len(values) > most:
            raise ValidationError(f"a version holds at most {most} {kind}s, this one has {len(values)}")
    if lineage is not None:
        json_size(lineage, "lineage", max_bytes=limits.lineage_bytes)
    for what, value in (("flavor metadata", flavor_meta), ("signature", signature)):
        if value is not None:
            check_json(value, what, max_depth=limits.json_depth, strict=False)


def check_edit(limits: Limits, *, description: str | None, tags: dict | None) -> None:
    """The size rules for editing a model's or a version's description and tags."""
    if description is not None:
        check_text(description, "description", max_chars=limits.description_chars)
    if tags and len(tags) > limits.tags:
        raise ValidationError(f"at most {limits.tags} tags at a time, not {len(tags)}")


def _check_key(kind: str, key: Any) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        shown = key if not isinstance(key, str) or len(key) <= 80 else f"{key[:80]}…"
        raise ValidationError(f"{kind} name {shown!r} must be a non-empty string of at most {MAX_KEY} characters")
    return check_text(key, f"{kind} name")


def clean_metrics(metrics: dict) -> dict:
    if not isinstance(metrics, dict):
        raise ValidationError(f"metrics must be a dict of name -> number, not {type(metrics).__name__}")
    out = {}
    for key, value in metrics.items():
        _check_key("metric", key)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValidationError(f"metric {key!r} must be a number, not {type(value).__name__} {value!r}")
        try:
            value = float(value)
        except OverflowError:
            raise ValidationError(f"metric {key!r} is too large to be a number ({len(str(value))} digits)") from None
        if not math.isfinite(value):
            raise ValidationError(f"metric {key!r} is {value}: metrics must be finite numbers")
        out[key] = value
    return out


def clean_strings(kind: str, values: dict, *, allow_none: bool = False) -> dict:
    if not isinstance(values, dict):
        raise ValidationError(f"{kind}s must be a dict, not {type(values).__name__}")
    out = {}
    for key, value in values.items():
        _check_key(kind, key)
        if value is None and allow_none:
            out[key] = None
            continue
        try:
            text = value if isinstance(value, str) else json.dumps(value, default=str) if isinstance(value, (list, tuple, dict)) else str(value)
        except (ValueError, RecursionError) as exc:  # a 5000-digit int, a dict nested 10,000 deep
            raise ValidationError(f"{kind} {key!r} cannot be stored as text ({str(exc)[:80]})") from None
        if len(text) > MAX_PARAM_VALUE:
            text = text[:MAX_PARAM_VALUE - 1] + "…"
        out[key] = check_text(text, f"{kind} {key!r}")
    return out


def _picked_params(obj: Any) -> dict:
    """Hyper-parameters read from the model when the caller gave none (``get_params()``)."""
    get_params = getattr(obj, "get_params", None)
    if not callable(get_params) or isinstance(obj, (str, os.PathLike)):
        return {}
    try:
        params = get_params(deep=True)
    except TypeError:
        params = get_params()
    except Exception:
        return {}
    return {str(key): _describe(value) for key, value in params.items()}


def _describe(value: Any) -> Any:
    """Estimators and callables inside params become their names (``Pipeline.steps`` etc.)."""
    if hasattr(value, "get_params"):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return value


def _picked_metrics(obj: Any) -> dict:
    """Scores a fitted model already carries (``best_score_``, ``oob_score_``)."""
    out = {}
    for attr in ("best_score_", "oob_score_"):
        try:
            value = getattr(obj, attr, None)
        except Exception:
            continue
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
            out[attr.rstrip("_")] = float(value)
    return out


def file_entries(obj: Any) -> tuple[list, dict]:
    path = Path(obj)
    if path.is_symlink():
        raise ValidationError(f"{path} is a symlink; register the file it points to instead")
    if path.is_file():
        return [(safe_relpath(path.name), path)], {"kind": "file", "filename": path.name}
    if path.is_dir():
        entries = []
        for p in sorted(path.rglob("*")):
            if p.is_symlink():
                raise ValidationError(f"{p} is a symlink; nbregistry stores regular files only")
            if p.is_file():
                entries.append((p.relative_to(path).as_posix(), p))
        if not entries:
            raise ValidationError(f"folder {path} holds no files")
        return entries, {"kind": "dir"}
    raise ValidationError(f"no file or folder at {str(path)!r}")
