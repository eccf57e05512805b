"""Exports: a lossless bundle, an MLflow model directory, a Docker build context (see docs/deploy.md)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from ..core.errors import IntegrityError, ValidationError
from ..core.refs import parse_ref
from ..core.store import now_iso
from .bundle import BUNDLE_FORMAT, MANIFEST_NAME, table_infos
from .entities import ExportReport


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
        schema_version = conn.execute("PRAGMA user_version").fetchone()[0]
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
        rows = conn.execute(f'SELECT {cols} FROM "{name}" ORDER BY rowid').fetchall()
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


# ==================================================================== MLflow model directory
MLFLOW_TYPES = {"float64": "double", "float32": "float", "int64": "long", "int32": "integer", "bool": "boolean",
                "object": "string", "string": "string", "str": "string", "datetime64[ns]": "datetime",
                "datetime64[us]": "datetime", "bytes": "binary"}


def export_mlflow(reg, ref: str, dest, *, trust: bool = False, serialization: str = "cloudpickle") -> ExportReport:
    """An MLflow model directory for one version: ``MLmodel`` (python_function + the model's flavor),
    the model file, ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``, input example and
    signature. sklearn versions are written as ``model.pkl`` (cloudpickle, which every MLflow
    loads; ``serialization="skops"`` copies the stored skops file as is instead); xgboost and
    lightgbm versions keep their native model file."""
    version = reg.get(ref)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValidationError(f"{dest} exists and is not empty; MLflow model directories must be new")
    staging = Path(tempfile.mkdtemp(dir=dest.parent if dest.parent.exists() else None, prefix=".mlflow-"))
    try:
        flavors, requirements = _mlflow_flavor(reg, version, staging, trust=trust, serialization=serialization)
        mlmodel = {
            "artifact_path": version.name,
            "flavors": flavors,
            "mlflow_version": None,
            "model_uuid": hashlib.sha256(f"{version.artifact['sha256']}:{serialization}".encode()).hexdigest()[:32],
            "utc_time_created": now_iso().replace("T", " ").rstrip("Z"),
            "metadata": {"nbregistry": {"ref": version.ref, "artifact_sha256": version.artifact["sha256"],
                                        "author": version.author, "created_at": version.created_at,
                                        "metrics": version.metrics}},
        }
        del mlmodel["mlflow_version"]
        if version.signature:
            mlmodel["signature"] = {"inputs": json.dumps(_mlflow_schema(version.signature)), "outputs": None,
                                    "params": None}
        if version.has_input_example:
            mlmodel["saved_input_example_info"] = _write_example(reg.input_example(version.ref), version.signature,
                                                                 staging)
        py = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
        flavors["python_function"]["python_version"] = py
        flavors["python_function"]["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        (staging / "python_env.yaml").write_text(
            f"python: {py}\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\ndependencies:\n- -r requirements.txt\n")
        (staging / "conda.yaml").write_text(
            "channels:\n- conda-forge\ndependencies:\n" f"- python={py}\n- pip\n- pip:\n"
            + "".join(f"  - {r}\n" for r in requirements) + "name: mlflow-env\n")
        (staging / "MLmodel").write_text(_yaml(mlmodel))
        dest.mkdir(parents=True, exist_ok=True)
        files = []
        for p in sorted(staging.iterdir()):
            shutil.move(str(p), dest / p.name)
            files.append(p.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportReport(format="mlflow", path=str(dest), refs=[version.ref], files=files)


def _mlflow_flavor(reg, version, folder: Path, *, trust: bool, serialization: str) -> tuple[dict, list[str]]:
    meta = _flavor_meta(reg, version)
    pickled_sklearn = version.flavor == "pickle" and str(meta.get("type", "")).startswith("sklearn.")
    if version.flavor == "sklearn" or pickled_sklearn:
        sklearn_version = meta.get("sklearn_version")
        reqs = [f"scikit-learn=={sklearn_version}" if sklearn_version else _pin("scikit-learn")]
        if serialization == "skops":
            if meta.get("format") != "skops":
                stored = meta.get("format") or meta.get("library") or version.flavor
                raise ValidationError(f"{version.ref} is stored as {stored}, not skops")
            with reg.open_file(version.ref, "model.skops") as src, open(folder / "model.skops", "wb") as out:
                shutil.copyfileobj(src, out)
            conf = {"pickled_model": "model.skops", "serialization_format": "skops",
                    "skops_trusted_types": meta.get("untrusted_types") or None}
            reqs.append(_pin("skops"))
        elif serialization in ("cloudpickle", "pickle"):
            model = reg.load(version.ref, trust=trust)
            if serialization == "cloudpickle":
                import cloudpickle as dumper
            else:
                import pickle as dumper
            with open(folder / "model.pkl", "wb") as out:
                dumper.dump(model, out)
            conf = {"pickled_model": "model.pkl", "serialization_format": serialization}
            if serialization == "cloudpickle":
                reqs.append(_pin("cloudpickle"))
        else:
            raise ValidationError(f"unknown serialization {serialization!r}: use cloudpickle, pickle or skops")
        flavors = {"python_function": {"loader_module": "mlflow.sklearn", "model_path": conf["pickled_model"],
                                       "predict_fn": "predict"},
                   "sklearn": {"code": None, "sklearn_version": sklearn_version or reqs[0].partition("==")[2] or None,
                               **conf}}
        return flavors, ["mlflow", *reqs, _pin("pandas"), _pin("numpy")]
    if version.flavor in ("xgboost", "lightgbm"):
        library = version.flavor
        filename = meta["filename"]
        conf = {"data": filename, "model_class": meta["model_class"]}
        if library == "lightgbm" and meta["model_class"] != "lightgbm.basic.Booster":
            # MLflow loads scikit-learn-style LightGBM models from a pickle only
            import cloudpickle

            filename = "model.pkl"
            with open(folder / filename, "wb") as out:
                cloudpickle.dump(reg.load(version.ref, trust=trust), out)
            conf.update(data=filename, serialization_format="cloudpickle")
        else:
            with reg.open_file(version.ref, filename) as src, open(folder / filename, "wb") as out:
                shutil.copyfileobj(src, out)
        if library == "xgboost":
            conf["model_format"] = filename.rsplit(".", 1)[-1]
        conf[f"{library}_version"] = meta.get("library_version")
        flavors = {"python_function": {"loader_module": f"mlflow.{library}", "data": filename},
                   library: {"code": None, **conf}}
        pkg = library
        reqs = [f"{pkg}=={meta['library_version']}" if meta.get("library_version") else pkg]
        return flavors, ["mlflow", *reqs, _pin("pandas"), _pin("numpy")]
    raise ValidationError(f"{version.ref} is a {version.flavor} model; the mlflow export supports sklearn, "
                          "xgboost and lightgbm versions (use --format bundle or docker for the others)")


def _flavor_meta(reg, version) -> dict:
    model, _ = reg._resolve(version.ref)
    row = reg.store.conn.execute("SELECT flavor_meta FROM versions WHERE model_id = ? AND version = ?",
                                 (model["id"], version.version)).fetchone()
    return json.loads(row["flavor_meta"])


def _pin(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return package


def _mlflow_schema(signature: dict) -> list:
    if signature["type"] == "dataframe":
        out = []
        for col in signature["columns"]:
            kind = MLFLOW_TYPES.get(col["dtype"])
            if kind is None:
                kind = "datetime" if col["dtype"].startswith("datetime") else "string"
            out.append({"type": kind, "name": col["name"], "required": True})
        return out
    return [{"type": "tensor", "tensor-spec": {"dtype": signature["dtype"], "shape": signature["shape"]}}]


def _write_example(example, signature: dict | None, folder: Path) -> dict:
    if hasattr(example, "columns"):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        data = {"columns": split["columns"], "data": split["data"]}
        (folder / "input_example.json").write_text(json.dumps(data))
        (folder / "serving_input_example.json").write_text(json.dumps({"dataframe_split": data}, indent=2))
        return {"artifact_path": "input_example.json", "serving_input_path": "serving_input_example.json",
                "type": "dataframe", "pandas_orient": "split"}
    data = {"inputs": example.tolist()}
    (folder / "input_example.json").write_text(json.dumps(data))
    (folder / "serving_input_example.json").write_text(json.dumps(data, indent=2))
    return {"artifact_path": "input_example.json", "serving_input_path": "serving_input_example.json",
            "type": "ndarray", "format": "tf-serving"}


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data, default_flow_style=False, sort_keys=True)


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

    version = reg.get(ref)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValidationError(f"{dest} exists and is not empty; give a new folder for the build context")
    dest.mkdir(parents=True, exist_ok=True)
    report = export_bundle(reg, version.ref, dest / "model.nbregistry.tar")
    meta = _flavor_meta(reg, version)
    try:
        needs_trust = get_flavor(version.flavor).needs_trust(meta)
    except ValidationError:
        needs_trust = True
    requirements = [f"nbregistry=={__version__}", *_serving_requirements(version.flavor, meta)]
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
