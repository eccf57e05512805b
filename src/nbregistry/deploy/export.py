"""Exports: a lossless bundle and a Docker build context (the MLflow model directory is in
``export_mlflow.py``; see docs/deploy.md)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from ..core.errors import IntegrityError, ValidationError
from ..core.refs import parse_ref
from ..core.store import now_iso
from .bundle import BUNDLE_FORMAT, MANIFEST_NAME, row_order, table_infos
from .entities import ExportReport
from .export_card import readme_text


# ==================================================================== bundle
def export_bundle(reg, ref_or_model: str | None, dest) -> ExportReport:
    """Write the whole registry (``None``), one model (``"churn"``) or one version (``"churn:3"``,
    ``"churn@production"``) to a tar bundle at ``dest``, atomically."""
    dest = Path(dest)
    with reg.store.read() as conn:
        infos = table_infos(conn)
        scope, rows_by_table = _select_rows(reg, conn, infos, ref_or_model)
        vcols = infos["versions"].columns
        blobs = sorted({r[infos["version_blobs"].columns.index("sha")] for r in rows_by_table["version_blobs"]}
                       | ({r[vcols.index("environment_sha")] for r in rows_by_table["versions"]} - {None}
                          if "environment_sha" in vcols else set()))  # environments: m005, docs/schema.md
        names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM models")}
        refs = [f"{names[v[vcols.index('model_id')]]}:{v[vcols.index('version')]}" for v in rows_by_table["versions"]]
        schema_version = reg.store.schema_version()
    from .. import __version__

    manifest = {
        "format": BUNDLE_FORMAT, "created_at": now_iso(), "created_by": reg.author,
        "nbregistry_version": __version__, "schema_version": schema_version, "scope": scope, "refs": refs,
        "tables": {t: {"columns": infos[t].columns, "rows": len(rows)} for t, rows in rows_by_table.items()},
        "blobs": [],
    }
    report = ExportReport(format="bundle", path=str(dest), refs=refs,
                          tables={t: len(r) for t, r in rows_by_table.items()})
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    mode = "w:gz" if dest.name.endswith((".gz", ".tgz")) else "w"
    try:
        with tarfile.open(tmp, mode, format=tarfile.PAX_FORMAT) as tar:
            for table, rows in rows_by_table.items():
                data = "".join(json.dumps([_encode(v) for v in row], separators=(",", ":")) + "\n" for row in rows)
                _add_bytes(tar, f"tables/{table}.jsonl", data.encode())
            for sha in blobs:
                size = _add_blob(tar, reg, sha)
                manifest["blobs"].append({"sha256": sha, "size": size})
                report.blobs += 1
                report.bytes += size
            _add_bytes(tar, "README.md", readme_text(reg, ref_or_model).encode())  # the model card(s)
            _add_bytes(tar, MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


def _select_rows(reg, conn, infos, ref_or_model):
    """``(scope, {table: [row tuples]})`` for the export, every table in parent-first order."""
    model_ids: set[int] | None = None
    version_ids: set[int] | None = None
    version_number = None
    scope: dict = {"kind": "registry"}
    if ref_or_model is not None:
        ref = parse_ref(ref_or_model)
        model = reg._model_row(ref.name, conn)
        model_ids = {model["id"]}
        scope = {"kind": "model", "model": model["name"]}
        if ref.version is not None or ref.alias is not None:
            _, version_number = reg._resolve(ref, conn)
            version_ids = {reg._version_id(model["id"], version_number, conn)}
            scope = {"kind": "version", "model": model["name"], "version": version_number, "ref": str(ref)}
        model_names = {model["name"].lower()}
    included: dict[str, set] = {}
    out: dict[str, list] = {}
    for name, info in infos.items():
        cols = ", ".join(f'"{c}"' for c in info.columns)
        rows = conn.execute(f'SELECT {cols} FROM "{name}" ORDER BY {row_order(conn, info)}').fetchall()
        if model_ids is not None:
            rows = [r for r in rows if _in_scope(name, info, r, infos, included, model_ids, version_ids,
                                                 version_number, model_names)]
        elif any(p in included for p in info.fks.values()):  # whole registry: keep parents consistent
            rows = [r for r in rows if _parents_present(info, r, included)]
        if info.has_id:
            included[name] = {r[0] for r in rows}
        out[name] = [tuple(r) for r in rows]
    return scope, out


def _in_scope(name, info, row, infos, included, model_ids, version_ids, version_number, model_names) -> bool:
    values = dict(zip(info.columns, row))
    if name == "models":
        return values["id"] in model_ids
    if name == "versions" and version_ids is not None:
        return values["id"] in version_ids
    if name == "events":
        return (values.get("model") or "").lower() in model_names
    related = False
    if "model_id" in values:
        if values["model_id"] not in model_ids:
            return False
        related = True
        if (version_ids is not None and "version" in values and "previous" not in values
                and values["version"] is not None and values["version"] != version_number):
            return False  # a comment on another version (alias_moves keep the whole history)
    for col, parent in info.fks.items():
        if parent in included:
            related = True
            if values[col] is not None and values[col] not in included[parent]:
                return False
    return related


def _parents_present(info, row, included) -> bool:
    values = dict(zip(info.columns, row))
    return all(values[c] is None or values[c] in included[p] for c, p in info.fks.items() if p in included)


def _encode(value):
    if isinstance(value, bytes):
        import base64

        return {"$base64": base64.b64encode(value).decode()}
    return value


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


class _HashingReader:
    def __init__(self, f):
        self.f = f
        self.digest = hashlib.sha256()

    def read(self, n=-1):
        data = self.f.read(n)
        self.digest.update(data)
        return data


def _add_blob(tar: tarfile.TarFile, reg, sha: str) -> int:
    stat = reg.objects.blob_stat(sha)
    if stat is None:
        raise IntegrityError(f"blob {sha} is missing from the object store; run `nbregistry verify`")
    info = tarfile.TarInfo(f"blobs/{sha[:2]}/{sha}")
    info.size, mtime = stat
    info.mtime = int(mtime)
    info.mode = 0o444
    with reg.objects.open(sha) as f:
        reader = _HashingReader(f)
        tar.addfile(info, reader)
    if reader.digest.hexdigest() != sha:
        raise IntegrityError(f"blob {sha} is corrupted (its content no longer matches its hash); not exported")
    return info.size


# ==================================================================== shared with export_mlflow.py
def _flavor_meta(reg, version) -> dict:
    model, _ = reg._resolve(version.ref)
    return reg.store.flavor_meta(model["id"], version.version)


def _pin(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return package



# ==================================================================== Docker build context
DOCKERFILE = """\
# Serves {ref} with the nbregistry scoring server (POST /invocations, GET /ping, GET /version).
# Built from an nbregistry export; the model travels as a bundle, verified when the image is built.
FROM python:{python}-slim
WORKDIR /srv
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 NBREGISTRY_ROOT=/srv/registry NBREGISTRY_USER=nbregistry-serve
# wheels/ may hold wheels your package index does not have (nbregistry itself, private packages).
COPY requirements.txt ./
COPY wheels/ /srv/wheels/
RUN pip install --find-links /srv/wheels -r requirements.txt
COPY model.nbregistry.tar ./
RUN nbregistry import model.nbregistry.tar && nbregistry verify && rm model.nbregistry.tar
COPY serve.sh ./
RUN chmod 0755 serve.sh && useradd --system --home /srv nbregistry && chown -R nbregistry /srv/registry
USER nbregistry
EXPOSE {port}
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/ping', timeout=4)"
CMD ["./serve.sh"]
"""

SERVE_SH = """\
#!/bin/sh
# Entry point: serve {ref} on 0.0.0.0:${{PORT:-{port}}}. Extra arguments go to `nbregistry serve`.
exec nbregistry serve {ref} --host 0.0.0.0 --port "${{PORT:-{port}}}"{trust} "$@"
"""


def export_docker(reg, ref: str, dest, *, port: int = 8080) -> ExportReport:
    """A Docker build context serving one version: Dockerfile, requirements.txt, the version as a
    bundle (``model.nbregistry.tar``), ``serve.sh`` and an empty ``wheels/`` folder."""
    from .. import __version__
    from ..core.flavors import get_flavor
    from ..core.trust import imported_classes

    version = reg.get(ref)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValidationError(f"{dest} exists and is not empty; give a new folder for the build context")
    dest.mkdir(parents=True, exist_ok=True)
    report = export_bundle(reg, version.ref, dest / "model.nbregistry.tar")
    meta = _flavor_meta(reg, version)
    try:
        flavor = get_flavor(version.flavor)
        # a class the load imports (torch, custom) needs trust too: the container has no allow-list
        needs_trust = flavor.needs_trust(meta) or bool(imported_classes(flavor, meta))
    except ValidationError:
        needs_trust = True
    requirements = [f"nbregistry[serve]=={__version__}", *_serving_requirements(version.flavor, meta)]
    (dest / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    (dest / "Dockerfile").write_text(DOCKERFILE.format(ref=version.ref, python=py, port=port))
    (dest / "serve.sh").write_text(SERVE_SH.format(ref=version.ref, port=port, trust=" --trust" if needs_trust else ""))
    os.chmod(dest / "serve.sh", 0o755)
    (dest / "wheels").mkdir(exist_ok=True)
    (dest / "wheels" / "README.txt").write_text(
        "Wheels placed here are installed before the package index is asked (pip --find-links).\n")
    (dest / ".dockerignore").write_text("*.part\n")
    report.format = "docker"
    report.path = str(dest)
    report.files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    return report


def _serving_requirements(flavor: str, meta: dict) -> list[str]:
    if flavor == "sklearn":
        reqs = [f"scikit-learn=={meta['sklearn_version']}" if meta.get("sklearn_version") else "scikit-learn"]
        return reqs + ([_pin("skops")] if meta.get("format") == "skops" else [])
    if flavor in ("xgboost", "lightgbm", "onnx", "torch", "keras"):
        lib = {"onnx": "onnxruntime", "keras": "keras", "torch": "torch"}.get(flavor, flavor)
        extra = {"onnx": [_pin("onnx")], "torch": [_pin("safetensors")]}.get(flavor, [])
        pinned = f"{lib}=={meta['library_version']}" if meta.get("library_version") and lib == flavor else _pin(lib)
        return [pinned, *extra]
    if flavor == "pickle":
        return [_pin("cloudpickle")] if meta.get("library") == "cloudpickle" else []
    return []
