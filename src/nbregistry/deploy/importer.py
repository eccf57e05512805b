"""Imports: nbregistry bundles and MLflow model registries.

Both go through one row importer. Rows arrive with the ids of where they came from; parents are
imported before children and ids are translated through the schema's relations. A row already
present is recognised (unique keys such as a model's name or ``(model, version)``; for history
tables without one, the whole row) and skipped, so importing twice adds nothing. An id is kept when
it is free and larger than every id in its table (so a restore into an empty registry is identical,
and event ids stay increasing); otherwise the row gets a new id. Blobs are stored (and their hashes
checked) before the single write transaction that adds the rows, so a crash leaves no row pointing
at a missing blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import shutil
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from ..core.errors import Conflict, IntegrityError, ValidationError
from ..core.objects import MANIFEST_FORMAT, SHA_RE
from .bundle import (BUNDLE_FORMAT, IDENTITY_COLUMNS, IMPORTED_IDENTITY, MANIFEST_NAME, RECOMPUTED_TABLES,
                     check_row, check_version_blobs, table_infos)
from .entities import ImportReport


# ==================================================================== bundles
def import_bundle(reg, path) -> ImportReport:
    """Import a bundle whole or not at all. Every row is checked (see deploy/bundle.py), the blobs
    are staged and hash-checked first and installed only once every row was accepted, inside the
    write transaction: a refused bundle leaves the registry folder byte-for-byte as it was."""
    path = Path(path)
    report = ImportReport(source=str(path))
    staging = Path(tempfile.mkdtemp(dir=reg.objects.tmp, prefix="bundle-"))
    try:
        manifest, tables, staged = _read_bundle(reg, path, staging)
        scope = manifest.get("scope") if isinstance(manifest.get("scope"), dict) else {}
        with reg.store.write() as conn:
            needed = import_rows(reg, conn, tables, report, staged=staged)
            for sha in sorted(needed & set(staged)):
                if reg.objects.install(staged[sha], sha).new:
                    report.blobs_added += 1
            if report.changed:
                reg._event(conn, "bundle.imported", scope.get("model") if isinstance(scope.get("model"), str) else None,
                           payload={"source": path.name, "scope": scope,
                                    "added": {k: v for k, v in report.added.items() if v},
                                    "blobs_added": report.blobs_added})
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _read_bundle(reg, path: Path, staging: Path) -> tuple[dict, dict, dict]:
    """``(manifest, {table: (columns, rows)}, {sha: staged path})``; blobs the registry lacks are
    copied into ``staging`` and hash-checked, nothing is written to the store."""
    try:
        tar = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(f"{path} is not a readable bundle: {exc}") from None
    staged: dict[str, Path] = {}
    try:
        with tar:
            manifest = _read_json(tar, MANIFEST_NAME, path)
            if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
                found = manifest.get("format") if isinstance(manifest, dict) else None
                raise ValidationError(f"{path} is a {found!r} archive, not {BUNDLE_FORMAT}")
            if not isinstance(manifest.get("blobs"), list) or not isinstance(manifest.get("tables"), dict):
                raise ValidationError(f"{path}: the bundle manifest lacks its blob list or its tables")
            for entry in manifest["blobs"]:
                sha = entry.get("sha256") if isinstance(entry, dict) else None
                if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
                    raise ValidationError(f"bundle lists a blob with an invalid name {sha!r}")
                if sha in staged or reg.objects.exists(sha):
                    continue
                staged[sha] = _stage_blob(tar, sha, staging)
            tables = {}
            for name, spec in manifest["tables"].items():
                if not isinstance(spec, dict) or not isinstance(spec.get("columns"), list) \
                        or not all(isinstance(c, str) for c in spec["columns"]):
                    raise ValidationError(f"bundle table {name!r} has no valid column list")
                raw = _member(tar, f"tables/{name}.jsonl")
                if raw is None:
                    raise IntegrityError(f"bundle lacks tables/{name}.jsonl")
                rows = []
                for line in raw.read().decode().splitlines():
                    if not line:
                        continue
                    row = json.loads(line)
                    if not isinstance(row, list) or len(row) != len(spec["columns"]):
                        raise ValidationError(f"bundle table {name}: a row does not match its {len(spec['columns'])} columns")
                    rows.append([_decode(v) for v in row])
                if len(rows) != spec.get("rows"):
                    raise IntegrityError(f"bundle table {name} holds {len(rows)} rows, its manifest says {spec.get('rows')}")
                tables[name] = (spec["columns"], rows)
    except (tarfile.TarError, UnicodeDecodeError, json.JSONDecodeError, binascii.Error) as exc:
        raise ValidationError(f"{path} is not a valid bundle: {exc}") from None
    return manifest, tables, staged


def _member(tar, name):
    try:
        return tar.extractfile(name)
    except KeyError:
        return None


def _stage_blob(tar, sha: str, staging: Path) -> Path:
    member = _member(tar, f"blobs/{sha[:2]}/{sha}")
    if member is None:
        raise IntegrityError(f"bundle lacks blob {sha}")
    dest = staging / sha
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        while chunk := member.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha:
        raise IntegrityError(f"bundle blob {sha} is corrupted (its content hashes to {digest.hexdigest()})")
    return dest


def _read_json(tar, name, path):
    member = _member(tar, name)
    if member is None:
        raise ValidationError(f"{path} is not an nbregistry bundle (no {name})")
    try:
        return json.loads(member.read())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(f"{path}: {name} is not JSON: {exc}") from None


def _decode(value):
    if isinstance(value, dict) and set(value) == {"$base64"}:
        return base64.b64decode(value["$base64"], validate=True)
    return value


# ==================================================================== the row importer
def import_rows(reg, conn, tables: dict[str, tuple[list, list]], report: ImportReport, *,
                staged: dict | None = None) -> set:
    """Add ``{table: (columns, rows)}`` inside the caller's write transaction (see module doc) and
    return the blobs the added versions need.

    Rows are checked, not believed: every row is validated (deploy/bundle.py); nothing new may hang
    off a row this registry already had (no versions, aliases, comments ... injected into an existing
    model); authors and reviewers are recorded with identity ``imported`` (history: they never count
    as approvals nor as an author for trust); ``version_blobs`` is recomputed from each version's
    manifest, whose blobs must be present (in ``staged`` or the store) and agree with the row.
    Any problem raises, and the caller's transaction is rolled back.
    """
    staged = staged or {}
    infos = table_infos(conn)
    for name, (columns, _) in tables.items():
        if name not in infos:
            raise ValidationError(f"the bundle has a table {name!r} this registry does not know"
                                  " (written by a newer nbregistry?); upgrade nbregistry to import it")
        unknown = [c for c in columns if c not in infos[name].columns]
        if unknown:
            raise ValidationError(f"the bundle's table {name!r} has columns this registry does not know:"
                                  f" {', '.join(unknown)}; upgrade nbregistry to import it")
    idmap: dict[str, dict] = {}
    preexisting: dict[str, set] = {}
    needed: set = set()
    blob_rows = 0
    for name, info in infos.items():
        if name not in tables or name in RECOMPUTED_TABLES:
            continue
        columns, rows = tables[name]
        added = existing = 0
        mapping = idmap.setdefault(name, {})
        kept = preexisting.setdefault(name, set())
        fks = {c: p for c, p in info.all_fks.items() if c in columns}
        whole_rows = None
        max_id = conn.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0] if info.has_id else 0
        for row in rows:
            values = dict(zip(columns, row))
            check_row(name, values)
            old_id = values.get("id")
            for col, parent in fks.items():
                if values[col] is None:
                    continue
                if parent in idmap and values[col] in idmap[parent]:
                    values[col] = idmap[parent][values[col]]
                elif col in info.fks:
                    raise IntegrityError(f"bundle row {name} #{old_id} refers to {parent} #{values[col]},"
                                         " which the bundle does not hold")
                else:
                    values[col] = None
            if "identity" in info.columns:
                values["identity"] = IMPORTED_IDENTITY
            found = _find_existing(conn, info, values)
            if found is None and info.has_id and not info.unique:
                if whole_rows is None:
                    whole_rows = _row_index(conn, info, columns)
                found = whole_rows.get(_row_key(info, columns, values))
            if found is not None:
                _merge_existing(reg, conn, name, info, values, found, report)
                if info.has_id:
                    mapping[old_id] = found
                    kept.add(found)
                existing += 1
                continue
            _refuse_injection(conn, name, fks, values, preexisting)
            if name == "versions":
                model_name = conn.execute("SELECT name FROM models WHERE id = ?", (values["model_id"],)).fetchone()[0]
                ref = f"{model_name}:{values['version']}"
                blobs = check_version_blobs(ref, values, lambda sha: _manifest(reg, staged, sha),
                                            lambda sha: sha in staged or reg.objects.exists(sha))
            if info.has_id:
                if isinstance(old_id, int) and old_id > max_id:
                    max_id = old_id
                else:
                    values.pop("id", None)
            cols = list(values)
            quoted = ", ".join(f'"{c}"' for c in cols)
            try:
                cur = conn.execute(f'INSERT INTO "{name}" ({quoted}) VALUES ({",".join("?" * len(cols))})',
                                   [values[c] for c in cols])
            except sqlite3.IntegrityError as exc:
                raise ValidationError(f"bundle row {name} #{old_id} breaks a rule of this registry: {exc}") from None
            if info.has_id:
                mapping[old_id] = cur.lastrowid
                max_id = max(max_id, cur.lastrowid)
            added += 1
            if name == "versions":
                conn.executemany("INSERT INTO version_blobs (version_id, sha) VALUES (?, ?)",
                                 [(cur.lastrowid, sha) for sha in sorted(blobs)])
                needed |= blobs
                env = values.get("environment_sha")  # m005: kept by gc through versions.environment_sha
                if env is not None:
                    if not isinstance(env, str) or not SHA_RE.fullmatch(env) \
                            or not (env in staged or reg.objects.exists(env)):
                        raise IntegrityError(f"{ref}: its environment blob {str(env)[:16]!r} is not in the bundle")
                    needed.add(env)
                blob_rows += len(blobs)
                report.refs.append(ref)
        report.added[name] = added
        report.existing[name] = existing
    if blob_rows:
        report.added["version_blobs"] = blob_rows  # recomputed from the manifests, not imported
    return needed


def _manifest(reg, staged: dict, sha: str) -> dict:
    """A manifest blob from the import's staged blobs or the store, hash-checked."""
    if sha in staged:
        data = Path(staged[sha]).read_bytes()  # staged blobs were hash-checked as they were copied
        try:
            manifest = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise IntegrityError(f"blob {sha} is not a manifest")
        return manifest
    return reg.objects.read_manifest(sha)


def _refuse_injection(conn, name: str, fks: dict, values: dict, preexisting: dict) -> None:
    """A new row may not hang off a row this registry had before the import (a version added to an
    existing model, a review of an existing version, an alias on an existing model, ...)."""
    for col, parent in fks.items():
        if values.get(col) is not None and values[col] in preexisting.get(parent, ()):
            what = parent[:-1] if parent.endswith("s") else parent
            label = _label(conn, parent, values[col])
            raise Conflict(f"the import would add {name} rows to the {what} {label} that already exists in this "
                           "registry; an import only adds models this registry does not have (and finds again "
                           "what it already holds); nothing was imported")


def _label(conn, table: str, row_id) -> str:
    if table == "models":
        row = conn.execute("SELECT name FROM models WHERE id = ?", (row_id,)).fetchone()
        return repr(row[0]) if row else f"#{row_id}"
    if table == "versions":
        row = conn.execute("SELECT m.name, v.version FROM versions v JOIN models m ON m.id = v.model_id"
                           " WHERE v.id = ?", (row_id,)).fetchone()
        return f"{row[0]}:{row[1]}" if row else f"#{row_id}"
    return f"#{row_id}"


def _find_existing(conn, info, values):
    """The id (or True for id-less tables) of the row already holding this row's unique key."""
    keys = [k for k in info.unique if all(c in values for c in k)]
    if not info.has_id and info.pk and all(c in values for c in info.pk):
        keys = [info.pk, *keys]
    for key in keys:
        where = " AND ".join(f'"{c}" IS ?' for c in key)
        row = conn.execute(f'SELECT {"id" if info.has_id else "1"} FROM "{info.name}" WHERE {where}',
                           [values[c] for c in key]).fetchone()
        if row is not None:
            return row[0] if info.has_id else True
    if not info.has_id and not info.pk:
        where = " AND ".join(f'"{c}" IS ?' for c in values)
        if conn.execute(f'SELECT 1 FROM "{info.name}" WHERE {where}', list(values.values())).fetchone():
            return True
    return None


def _row_index(conn, info, columns) -> dict:
    quoted = ", ".join(f'"{c}"' for c in _key_columns(columns))
    sql = f'SELECT id, {quoted} FROM "{info.name}"'
    return {tuple(r[1:]): r[0] for r in conn.execute(sql)}


def _row_key(info, columns, values) -> tuple:
    return tuple(values[c] for c in _key_columns(columns))


def _key_columns(columns) -> list:
    """Columns that identify a history row: not its id, nor how its author was established (an
    imported copy of a row is the same row)."""
    return [c for c in columns if c != "id" and c not in IDENTITY_COLUMNS]


def _merge_existing(reg, conn, name, info, values, found, report) -> None:
    """Rules for a row that is already here: same version content, numbers never reused."""
    if name == "versions":
        sha = conn.execute("SELECT artifact_sha FROM versions WHERE id = ?", (found,)).fetchone()[0]
        if sha != values["artifact_sha"]:
            model = conn.execute("SELECT name FROM models WHERE id = ?", (values["model_id"],)).fetchone()[0]
            raise Conflict(f"{model}:{values['version']} exists in this registry with different content"
                           f" ({sha[:12]}… here, {values['artifact_sha'][:12]}… in the import); nothing was imported")
    elif name == "models" and "last_version" in values:
        conn.execute("UPDATE models SET last_version = MAX(last_version, ?) WHERE id = ?",
                     (values["last_version"], found))
    elif name in ("aliases", "policies"):
        key = {c: values[c] for c in info.pk}
        where = " AND ".join(f'"{c}" IS ?' for c in key)
        current = conn.execute(f'SELECT * FROM "{name}" WHERE {where}', list(key.values())).fetchone()
        field = "version_id" if name == "aliases" else "policy"
        if current is not None and current[field] != values.get(field):
            model = conn.execute("SELECT name FROM models WHERE id = ?", (values["model_id"],)).fetchone()[0]
            report.warnings.append(f"{name[:-1]} {model}@{values['alias']} differs here; kept this registry's")


# ==================================================================== MLflow registries
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
                row = _version_row(reg, client, rm.name, mv, folder, model_id, report, tables)
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


def _version_row(reg, client, name, mv, folder: Path, model_id: int, report, tables) -> dict | None:
    import math

    from ..core.registration import MAX_PARAM_VALUE
    from ..core.store import dumps

    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    if not files:
        report.warnings.append(f"skipped {name}:{mv.version}: its artifacts are empty")
        return None
    flavor, meta, signature, example = _from_mlmodel(folder)
    entries = [(p.relative_to(folder).as_posix(), p) for p in files]
    manifest_blob, manifest = reg.objects.put_tree(entries)
    example_blob = reg.objects.put_bytes(json.dumps(example).encode()) if example is not None else None
    meta["files"] = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in manifest["files"]]
    blobs = {manifest_blob.sha256, *(f["sha256"] for f in manifest["files"])}
    if example_blob:
        blobs.add(example_blob.sha256)
    metrics, params = {}, {}
    if mv.run_id:
        try:
            data = client.get_run(mv.run_id).data
            metrics = {k: float(v) for k, v in data.metrics.items() if math.isfinite(float(v))}
            params = {k: str(v)[:MAX_PARAM_VALUE] for k, v in data.params.items()}
        except Exception as exc:  # noqa: BLE001 - a deleted run leaves the version importable
            report.warnings.append(f"{name}:{mv.version}: could not read run {mv.run_id}: {exc}")
    lineage = {"mlflow": {"run_id": mv.run_id, "source": mv.source, "status": mv.status,
                          "model_id": getattr(mv, "model_id", None)}}
    return {
        "model_id": model_id, "version": int(mv.version), "created_at": _iso(mv.creation_timestamp),
        "author": mv.user_id or IMPORT_ACTOR, "description": mv.description or "", "status": "active",
        "flavor": flavor, "flavor_meta": dumps(meta), "artifact_sha": manifest_blob.sha256,
        "artifact_size": sum(f["size"] for f in manifest["files"]),
        "signature": dumps(signature) if signature else None,
        "input_example_sha": example_blob.sha256 if example_blob else None, "lineage": dumps(lineage),
        "_metrics": [{"key": k, "value": v} for k, v in sorted(metrics.items())],
        "_params": [{"key": k, "value": v} for k, v in sorted(params.items())],
        "_version_tags": [{"key": k, "value": str(v)} for k, v in sorted((mv.tags or {}).items())],
        "_version_blobs": [{"sha": s} for s in sorted(blobs)],
    }


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
    elif flavors.get("onnx", {}).get("data"):
        flavor, meta = "onnx", {**base, "filename": flavors["onnx"]["data"]}
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
