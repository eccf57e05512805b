"""Imports: nbregistry bundles (MLflow registries are in ``import_mlflow.py``).

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
            if found is None and name == "models":  # a retired name never silently names an imported model
                reg._check_name_free(conn, values["name"])
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
                environment = values.get("environment_sha")  # kept by gc through the column, not version_blobs
                if environment is not None:
                    if not (isinstance(environment, str) and SHA_RE.fullmatch(environment)
                            and (environment in staged or reg.objects.exists(environment))):
                        raise IntegrityError(f"{ref} needs environment blob {environment!r}, which neither the"
                                             " import nor this registry holds")
                    needed.add(environment)
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
            except reg.store.engine.IntegrityError as exc:
                raise ValidationError(f"bundle row {name} #{old_id} breaks a rule of this registry: {exc}") from None
            if info.has_id:
                if "id" in values and hasattr(conn, "sync_ids"):  # PostgreSQL: the next generated id follows it
                    conn.sync_ids([name])
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
        conn.execute("UPDATE models SET last_version = CASE WHEN last_version < ? THEN ? ELSE last_version END"
                     " WHERE id = ?", (values["last_version"], values["last_version"], found))
    elif name in ("aliases", "policies"):
        key = {c: values[c] for c in info.pk}
        where = " AND ".join(f'"{c}" IS ?' for c in key)
        current = conn.execute(f'SELECT * FROM "{name}" WHERE {where}', list(key.values())).fetchone()
        field = "version_id" if name == "aliases" else "policy"
        if current is not None and current[field] != values.get(field):
            model = conn.execute("SELECT name FROM models WHERE id = ?", (values["model_id"],)).fetchone()[0]
            report.warnings.append(f"{name[:-1]} {model}@{values['alias']} differs here; kept this registry's")
