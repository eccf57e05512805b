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
import json
import tarfile
from pathlib import Path

from ..core.errors import Conflict, IntegrityError, ValidationError
from ..core.objects import SHA_RE
from .bundle import BUNDLE_FORMAT, MANIFEST_NAME, table_infos
from .entities import ImportReport


# ==================================================================== bundles
def import_bundle(reg, path) -> ImportReport:
    path = Path(path)
    report = ImportReport(source=str(path))
    try:
        tar = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(f"{path} is not a readable bundle: {exc}") from None
    with tar:
        manifest = _read_json(tar, MANIFEST_NAME, path)
        if manifest.get("format") != BUNDLE_FORMAT:
            raise ValidationError(f"{path} is a {manifest.get('format')!r} archive, not {BUNDLE_FORMAT}")
        for entry in manifest["blobs"]:
            sha = entry["sha256"]
            if not SHA_RE.fullmatch(sha):
                raise ValidationError(f"bundle lists a blob with an invalid name {sha!r}")
            if reg.objects.exists(sha):
                continue
            member = tar.extractfile(f"blobs/{sha[:2]}/{sha}")
            if member is None:
                raise IntegrityError(f"bundle lacks blob {sha}")
            blob = reg.objects.put_stream(member)
            if blob.sha256 != sha:
                if blob.new:
                    reg.objects.remove(blob.sha256)
                raise IntegrityError(f"bundle blob {sha} is corrupted (its content hashes to {blob.sha256})")
            report.blobs_added += 1
        tables = {}
        for name, spec in manifest["tables"].items():
            raw = tar.extractfile(f"tables/{name}.jsonl")
            if raw is None:
                raise IntegrityError(f"bundle lacks tables/{name}.jsonl")
            rows = [[_decode(v) for v in json.loads(line)] for line in raw.read().decode().splitlines() if line]
            if len(rows) != spec["rows"]:
                raise IntegrityError(f"bundle table {name} holds {len(rows)} rows, its manifest says {spec['rows']}")
            tables[name] = (spec["columns"], rows)
    scope = manifest.get("scope", {})
    with reg.store.write() as conn:
        import_rows(reg, conn, tables, report)
        if report.changed:
            reg._event(conn, "bundle.imported", scope.get("model"), payload={
                "source": path.name, "scope": scope, "added": {k: v for k, v in report.added.items() if v},
                "blobs_added": report.blobs_added})
    return report


def _read_json(tar, name, path):
    try:
        member = tar.extractfile(name)
    except KeyError:
        member = None
    if member is None:
        raise ValidationError(f"{path} is not an nbregistry bundle (no {name})")
    return json.loads(member.read())


def _decode(value):
    if isinstance(value, dict) and set(value) == {"$base64"}:
        return base64.b64decode(value["$base64"])
    return value


# ==================================================================== the row importer
def import_rows(reg, conn, tables: dict[str, tuple[list, list]], report: ImportReport) -> None:
    """Add ``{table: (columns, rows)}`` inside the caller's write transaction (see module doc)."""
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
    for name, info in infos.items():
        if name not in tables:
            continue
        columns, rows = tables[name]
        added = existing = 0
        mapping = idmap.setdefault(name, {})
        fks = {c: p for c, p in info.all_fks.items() if c in columns}
        whole_rows = None
        max_id = conn.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{name}"').fetchone()[0] if info.has_id else 0
        for row in rows:
            values = dict(zip(columns, row))
            old_id = values.get("id")
            for col, parent in fks.items():
                if values[col] is None or parent not in idmap:
                    continue
                if values[col] in idmap[parent]:
                    values[col] = idmap[parent][values[col]]
                elif col in info.fks:
                    raise IntegrityError(f"bundle row {name} #{old_id} refers to {parent} #{values[col]},"
                                         " which the bundle does not hold")
                else:
                    values[col] = None
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
                existing += 1
                continue
            if info.has_id:
                if isinstance(old_id, int) and old_id > max_id:
                    max_id = old_id
                else:
                    values.pop("id", None)
            cols = list(values)
            quoted = ", ".join(f'"{c}"' for c in cols)
            cur = conn.execute(f'INSERT INTO "{name}" ({quoted}) VALUES ({",".join("?" * len(cols))})',
                               [values[c] for c in cols])
            if info.has_id:
                mapping[old_id] = cur.lastrowid
                max_id = max(max_id, cur.lastrowid)
            added += 1
            if name == "versions":
                model_name = conn.execute("SELECT name FROM models WHERE id = ?", (values["model_id"],)).fetchone()[0]
                report.refs.append(f"{model_name}:{values['version']}")
        report.added[name] = added
        report.existing[name] = existing


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
    quoted = ", ".join(f'"{c}"' for c in columns if c != "id")
    sql = f'SELECT id, {quoted} FROM "{info.name}"'
    return {tuple(r[1:]): r[0] for r in conn.execute(sql)}


def _row_key(info, columns, values) -> tuple:
    return tuple(values[c] for c in columns if c != "id")


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
