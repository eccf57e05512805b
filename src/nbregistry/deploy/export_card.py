"""Model cards in exports: ``README.md`` in a bundle and in an MLflow model directory, and the Hugging
Face-style folder (``export(..., format="hf")``): the artifact files, ``README.md`` with YAML front
matter (library, tags, metrics with the datasets they were computed on) and ``nbregistry.json``.

The README of a version is its card when one was written, else the model's card, else a draft from
the recorded facts (``Registry.card(ref, draft=True)``), so every export explains what it holds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..core.errors import ValidationError
from ..core.refs import Ref, parse_ref
from .entities import ExportReport

HF_LIBRARIES = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "torch": "pytorch",
                "keras": "keras", "onnx": "onnx", "transformers": "transformers"}


def readme_text(reg, ref_or_model: str | None) -> str:
    """The README of an export: a version's card, its model's card or a draft; for the whole
    registry (``None``) every model's card (or draft), one after the other."""
    if ref_or_model is None:
        parts = [f"# Registry export\n\n{len(reg.list_models(limit=10_000))} model(s).\n"]
        for model in reg.list_models(limit=10_000, archived=True):
            parts.append(str(reg.card(model.name)) or str(reg.card(model.name, draft=True)))
        return "\n\n---\n\n".join(parts) + "\n"
    parsed = parse_ref(ref_or_model)
    if parsed == Ref(parsed.name):
        return (str(reg.card(parsed.name)) or str(reg.card(parsed.name, draft=True))) + "\n"
    version = reg.get(ref_or_model)
    text = str(reg.card(version.ref)) or str(reg.card(version.name))
    return (text or str(reg.card(version.ref, draft=True))) + "\n"


def write_readme(reg, ref: str, folder) -> str:
    """Write ``README.md`` (the card, see :func:`readme_text`) into ``folder``; returns its name."""
    Path(folder, "README.md").write_text(readme_text(reg, ref), encoding="utf-8")
    return "README.md"


def front_matter(reg, version) -> dict:
    """Hugging Face model-card metadata: library, tags and a model-index whose results name the data
    each metric was computed on (registration metrics: ``as-registered``, data not recorded)."""
    results = []
    if version.metrics:
        results.append({"task": {"type": "other"},
                        "dataset": {"name": "as registered (data not recorded)", "type": "as-registered"},
                        "metrics": [{"type": k, "name": k, "value": v} for k, v in sorted(version.metrics.items())]})
    latest: dict = {}
    for e in reg.evaluations(version.ref):
        latest[e.dataset] = e  # oldest first: the latest per dataset wins
    for name, e in sorted(latest.items()):
        dataset = {"name": name, "type": name}
        if e.fingerprint:
            dataset["revision"] = e.fingerprint
        results.append({"task": {"type": "other"}, "dataset": dataset,
                        "metrics": [{"type": k, "name": k, "value": v} for k, v in sorted(e.metrics.items())]})
    meta = {"library_name": HF_LIBRARIES.get(version.flavor, version.flavor),
            "tags": sorted({"nbregistry", version.flavor, *(f"{k}:{v}" for k, v in version.tags.items())}),
            "nbregistry": {"ref": version.ref, "artifact_sha256": version.artifact.get("sha256"),
                           "author": version.author, "created_at": version.created_at}}
    if results:
        meta["model-index"] = [{"name": version.name, "results": results}]
    return meta


def export_hf(reg, ref: str, dest) -> ExportReport:
    """A Hugging Face-style model folder for one version: the artifact files (copies, verified),
    ``README.md`` with YAML front matter, ``nbregistry.json`` (flavor, metadata, signature) and the
    input example when there is one. ``dest`` must be a new or empty folder."""
    import yaml

    version = reg.get(ref)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValidationError(f"{dest} exists and is not empty; give a new folder for the Hugging Face export")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        checkout = reg.objects.checkout(version.artifact["sha256"])
        for entry in version.artifact["files"]:
            target = staging / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(checkout / entry["path"], target)  # a copy, never a link into the store
        card = readme_text(reg, version.ref)
        head = yaml.safe_dump(front_matter(reg, version), sort_keys=False, allow_unicode=True)
        (staging / "README.md").write_text(f"---\n{head}---\n\n{card}", encoding="utf-8")
        info = {"ref": version.ref, "flavor": version.flavor, "flavor_meta": version.flavor_meta,
                "signature": version.signature, "metrics": version.metrics, "params": version.params,
                "tags": version.tags, "files": version.artifact["files"]}
        (staging / "nbregistry.json").write_text(json.dumps(info, indent=1, sort_keys=True, default=str))
        if version.has_input_example:
            from ..core.signature import example_to_json

            (staging / "input_example.json").write_bytes(example_to_json(reg.input_example(version.ref)))
        dest.mkdir(exist_ok=True)
        files = []
        for p in sorted(staging.iterdir()):
            shutil.move(str(p), dest / p.name)
        files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportReport(format="hf", path=str(dest), refs=[version.ref], files=files)
