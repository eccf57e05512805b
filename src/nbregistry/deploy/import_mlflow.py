"""Import from an MLflow model registry: ``nbregistry import --from-mlflow URI``.

Registered models, their versions (same numbers), aliases, tags and the runs' metrics and params are
read with MLflow's own client, turned into rows and added through the shared row importer
(``importer.import_rows``), so re-importing adds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import ValidationError
from .entities import ImportReport
from .importer import import_rows


# Files MLflow writes into a model's folder for its own bookkeeping (the registry's link back to the
# model version, a run's meta): not part of the model, and they change when MLflow touches the
# folder, so keeping them would make a re-import look like different content.
MLFLOW_BOOKKEEPING = {"registered_model_meta", "meta.yaml"}
MAX_HISTORY_POINTS = 10_000  # per metric, kept in the version's lineage
MLFLOW_DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32", "boolean": "bool",
                 "string": "object", "binary": "object", "datetime": "datetime64[ns]"}
IMPORT_ACTOR = "mlflow-import"


def import_mlflow(reg, uri: str, *, models: list[str] | None = None) -> ImportReport:
    """Copy an MLflow model registry (see ``Registry.import_mlflow``). Needs ``mlflow`` (or
    ``mlflow-skinny``, plus SQLAlchemy and Alembic for a database-backed registry)."""
    import shutil
    import tempfile

    try:
        from mlflow import MlflowClient
    except ImportError:
        raise ValidationError("importing from MLflow needs the mlflow (or mlflow-skinny) package") from None
    from ..core.refs import validate_alias, validate_name
    from ..core.errors import InvalidName

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    report = ImportReport(source=_redact(uri))
    tables: dict[str, list[dict]] = {t: [] for t in (
        "models", "model_tags", "versions", "metrics", "params", "version_tags", "version_blobs", "events",
        "aliases", "alias_moves")}
    def add_event(time_, action, model, version, payload, actor=IMPORT_ACTOR) -> dict:
        event = _event_row(time_, action, model, version, payload, actor=actor)
        event["id"] = len(tables["events"]) + 1
        tables["events"].append(event)
        return event

    counted: set[str] = set()  # blobs this import stored for the first time
    staging = Path(tempfile.mkdtemp(dir=reg.objects.tmp, prefix="mlflow-"))
    try:
        for model_id, rm in enumerate(_registered_models(client), start=1):
            if models is not None and rm.name not in models:
                continue
            try:
                validate_name(rm.name)
            except InvalidName:
                report.warnings.append(f"skipped MLflow model {rm.name!r}: not a valid nbregistry model name")
                continue
            versions = sorted(_model_versions(client, rm.name), key=lambda mv: int(mv.version))
            created = _iso(rm.creation_timestamp)
            tables["models"].append({"id": model_id, "name": rm.name, "description": rm.description or "",
                                     "created_at": created, "created_by": IMPORT_ACTOR, "archived": 0,
                                     "last_version": max([int(mv.version) for mv in versions], default=0)})
            tables["model_tags"] += [{"model_id": model_id, "key": k, "value": str(v)} for k, v in (rm.tags or {}).items()]
            add_event(created, "model.created", rm.name, None, {"source": "mlflow"})
            version_ids = {}
            for mv in versions:
                number = int(mv.version)
                folder = _download(client, rm.name, mv.version, staging / f"{model_id}-{number}")
                row = _version_row(reg, client, rm.name, mv, folder, model_id, report, tables, counted)
                if row is None:
                    continue
                vid = len(tables["versions"]) + 1
                row["id"] = vid
                version_ids[number] = vid
                tables["versions"].append(row)
                for key in ("metrics", "params", "version_tags", "version_blobs"):
                    for item in row.pop(f"_{key}"):
                        tables[key].append({"version_id": vid, **item})
                add_event(row["created_at"], "version.registered", rm.name, number, {
                    "flavor": row["flavor"], "sha256": row["artifact_sha"], "size": row["artifact_size"],
                    "source": "mlflow"}, actor=row["author"])
            for alias, number in sorted((rm.aliases or {}).items()):
                try:
                    validate_alias(alias)
                except InvalidName:
                    report.warnings.append(f"skipped alias {rm.name}@{alias}: not a valid nbregistry alias")
                    continue
                if int(number) not in version_ids:
                    continue
                when = _iso(rm.last_updated_timestamp)
                event = add_event(when, "alias.set", rm.name, int(number), {
                    "alias": alias, "previous": None, "reason": "imported from MLflow", "forced": False,
                    "report": None})
                tables["aliases"].append({"model_id": model_id, "alias": alias, "version_id": version_ids[int(number)],
                                          "updated_at": when, "updated_by": IMPORT_ACTOR})
                tables["alias_moves"].append({
                    "id": len(tables["alias_moves"]) + 1, "model_id": model_id, "alias": alias,
                    "version": int(number), "previous": None, "time": when, "actor": IMPORT_ACTOR,
                    "reason": "imported from MLflow", "kind": "set", "forced": 0, "report": None,
                    "event_id": event["id"]})
        # events in the order they happened in MLflow (ids are only used inside the import)
        tables["events"].sort(key=lambda e: (e["time"], e["id"]))
        renumber = {e["id"]: i for i, e in enumerate(tables["events"], start=1)}
        for event in tables["events"]:
            event["id"] = renumber[event["id"]]
        for move in tables["alias_moves"]:
            move["event_id"] = renumber[move["event_id"]]
        packed = {}
        for name, rows in tables.items():
            columns = sorted({c for r in rows for c in r}) if rows else []
            packed[name] = (columns, [[r.get(c) for c in columns] for r in rows])
        with reg.store.write() as conn:
            import_rows(reg, conn, packed, report)
            if report.changed:
                reg._event(conn, "mlflow.imported", None, payload={
                    "source": report.source, "added": {k: v for k, v in report.added.items() if v}})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _event_row(time_: str, action: str, model: str, version: int | None, payload: dict, *, actor: str = IMPORT_ACTOR):
    from ..core.store import dumps

    return {"time": time_, "actor": actor, "origin": "import", "action": action,
            "model": model, "version": version,
            "ref": model if version is None else f"{model}:{version}", "payload": dumps(payload)}


def _registered_models(client):
    token = None
    while True:
        page = client.search_registered_models(max_results=100, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _model_versions(client, name: str):
    token = None
    escaped = name.replace("'", "\\'")
    while True:
        page = client.search_model_versions(f"name='{escaped}'", max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _download(client, name: str, version: str, folder: Path) -> Path:
    """The version's MLflow model directory, downloaded under ``folder``."""
    import mlflow.artifacts

    folder.mkdir(parents=True)
    uri = client.get_model_version_download_uri(name, version)
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))


def _version_row(reg, client, name, mv, folder: Path, model_id: int, report, tables, counted: set) -> dict | None:
    import math

    from ..core.registration import MAX_PARAM_VALUE
    from ..core.store import dumps

    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()
                   and p.relative_to(folder).as_posix() not in MLFLOW_BOOKKEEPING)
    if not files:
        report.warnings.append(f"skipped {name}:{mv.version}: its artifacts are empty")
        return None
    flavor, meta, signature, example = _from_mlmodel(folder)
    entries = [(p.relative_to(folder).as_posix(), p) for p in files]
    before = {reg.objects.hash_file(p) for p in files}
    new_files = {sha for sha in before if not reg.objects.exists(sha)}
    manifest_blob, manifest = reg.objects.put_tree(entries)
    example_blob = reg.objects.put_bytes(json.dumps(example).encode()) if example is not None else None
    fresh = (new_files | {b.sha256 for b in (manifest_blob, example_blob) if b is not None and b.new}) - counted
    counted.update(fresh)  # a blob shared by two versions is new once
    report.blobs_added += len(fresh)
    meta["files"] = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in manifest["files"]]
    blobs = {manifest_blob.sha256, *(f["sha256"] for f in manifest["files"])}
    if example_blob:
        blobs.add(example_blob.sha256)
    metrics, params, history, run_owner = {}, {}, {}, None
    if mv.run_id:
        try:
            run = client.get_run(mv.run_id)
            data = run.data
            run_owner = run.info.user_id or None
            metrics = {k: float(v) for k, v in data.metrics.items() if math.isfinite(float(v))}
            params = {k: str(v)[:MAX_PARAM_VALUE] for k, v in data.params.items()}
            history = _metric_history(client, mv.run_id, sorted(data.metrics))
        except Exception as exc:  # noqa: BLE001 - a deleted run leaves the version importable
            report.warnings.append(f"{name}:{mv.version}: could not read run {mv.run_id}: {exc}")
    lineage = {"mlflow": {"run_id": mv.run_id, "source": mv.source, "status": mv.status,
                          "model_id": getattr(mv, "model_id", None), "user_id": mv.user_id or None,
                          "run_owner": run_owner}}
    if history:
        lineage["mlflow"]["metric_history"] = history
    return {
        "model_id": model_id, "version": int(mv.version), "created_at": _iso(mv.creation_timestamp),
        "author": mv.user_id or run_owner or IMPORT_ACTOR, "identity": "imported",
        "description": mv.description or "", "status": "active",
        "flavor": flavor, "flavor_meta": dumps(meta), "artifact_sha": manifest_blob.sha256,
        "artifact_size": sum(f["size"] for f in manifest["files"]),
        "signature": dumps(signature) if signature else None,
        "input_example_sha": example_blob.sha256 if example_blob else None, "lineage": dumps(lineage),
        "_metrics": [{"key": k, "value": v} for k, v in sorted(metrics.items())],
        "_params": [{"key": k, "value": v} for k, v in sorted(params.items())],
        "_version_tags": [{"key": k, "value": str(v)} for k, v in sorted((mv.tags or {}).items())],
        "_version_blobs": [{"sha": s} for s in sorted(blobs)],
    }


def _metric_history(client, run_id: str, keys: list[str]) -> dict:
    """Every logged value of each metric, ``{key: [[step, value, timestamp_ms], ...]}`` in step order
    (the run's metrics table keeps only the last one). At most ``MAX_HISTORY_POINTS`` per metric."""
    import math

    history = {}
    for key in keys:
        points = [[int(m.step), float(m.value), int(m.timestamp)] for m in client.get_metric_history(run_id, key)
                  if math.isfinite(float(m.value))]
        points.sort(key=lambda p: (p[0], p[2]))
        if len(points) > 1:  # a single value is the metric itself
            history[key] = points[-MAX_HISTORY_POINTS:]
    return history


def _from_mlmodel(folder: Path) -> tuple[str, dict, dict | None, dict | None]:
    """``(flavor, flavor_meta, signature, input example JSON)`` for an MLflow model directory."""
    import yaml

    mlmodel_path = folder / "MLmodel"
    if not mlmodel_path.is_file():
        return "file", {"kind": "dir"}, None, None
    mlmodel = yaml.safe_load(mlmodel_path.read_text()) or {}
    flavors = mlmodel.get("flavors") or {}
    base = {"mlflow_flavors": sorted(flavors)}
    flavor, meta = "file", {"kind": "dir", **base}
    sk = flavors.get("sklearn")
    if sk and sk.get("pickled_model"):
        fmt = sk.get("serialization_format", "pickle")
        if fmt == "skops" and sk["pickled_model"] == "model.skops":
            import skops.io as sio

            untrusted = sio.get_untrusted_types(file=folder / "model.skops")
            flavor, meta = "sklearn", {**base, "format": "skops", "untrusted_types": sorted(untrusted),
                                       "sklearn_version": sk.get("sklearn_version")}
        elif fmt in ("pickle", "cloudpickle") and sk["pickled_model"] == "model.pkl":
            flavor, meta = "pickle", {**base, "library": fmt, "type": "sklearn (from MLflow)",
                                      "sklearn_version": sk.get("sklearn_version")}
    elif flavors.get("xgboost", {}).get("data"):
        xg = flavors["xgboost"]
        flavor, meta = "xgboost", {**base, "model_class": xg.get("model_class", "xgboost.core.Booster"),
                                   "filename": xg["data"], "library_version": xg.get("xgb_version")}
    elif flavors.get("lightgbm", {}).get("data", "").endswith(".lgb"):
        lg = flavors["lightgbm"]
        flavor, meta = "lightgbm", {**base, "model_class": lg.get("model_class", "lightgbm.basic.Booster"),
                                    "filename": lg["data"], "library_version": lg.get("lgb_version")}
    elif isinstance(flavors.get("transformers"), dict) and flavors["transformers"].get("model_binary"):
        # MLflow's transformers flavor: safetensors weights and JSON configs, loaded without trust
        from ..core.flavors.transformers import describe_mlflow

        flavor, meta = "transformers", {**base, **describe_mlflow(folder, flavors["transformers"])}
    elif flavors.get("onnx", {}).get("data"):
        flavor, meta = "onnx", {**base, "filename": flavors["onnx"]["data"]}
    elif "python_function" in flavors:  # any other pyfunc (python_model, pytorch, keras, ...): MLflow loads it
        flavor, meta = "mlflow_pyfunc", {**base, "loader_module": flavors["python_function"].get("loader_module")}
    signature = _signature(mlmodel.get("signature"))
    example = _example(folder, mlmodel.get("saved_input_example_info"), signature)
    return flavor, meta, signature, example


def _signature(spec) -> dict | None:
    if not spec or not spec.get("inputs"):
        return None
    try:
        inputs = json.loads(spec["inputs"])
    except (TypeError, ValueError):
        return None
    if inputs and all(i.get("type") != "tensor" and i.get("name") for i in inputs):
        return {"type": "dataframe", "columns": [{"name": i["name"], "dtype": MLFLOW_DTYPES.get(i["type"], "object")}
                                                  for i in inputs]}
    if len(inputs) == 1 and inputs[0].get("type") == "tensor":
        spec = inputs[0]["tensor-spec"]
        return {"type": "tensor", "shape": spec["shape"], "dtype": spec["dtype"]}
    return None


def _example(folder: Path, info, signature) -> dict | None:
    if not info or not (folder / info.get("artifact_path", "")).is_file():
        return None
    try:
        data = json.loads((folder / info["artifact_path"]).read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and "columns" in data and "data" in data:
        dtypes = ({c["name"]: c["dtype"] for c in signature["columns"]}
                  if signature and signature["type"] == "dataframe" else {})
        return {"type": "dataframe", "columns": data["columns"],
                "dtypes": [dtypes.get(c, "object") for c in data["columns"]], "data": data["data"][:5]}
    if isinstance(data, dict) and "inputs" in data and signature and signature["type"] == "tensor":
        return {"type": "tensor", "dtype": signature["dtype"], "data": data["inputs"][:5]}
    if isinstance(data, list) and signature and signature["type"] == "tensor":  # MLflow 3 writes the array itself
        return {"type": "tensor", "dtype": signature["dtype"], "data": data[:5]}
    return None


def _iso(ms) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp((ms or 0) / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _redact(uri: str) -> str:
    """The URI without credentials (``postgresql://user:secret@host/db`` -> ``postgresql://host/db``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return uri
