"""What a bundle holds and how the registry's tables relate, read from the database itself.

A bundle is a tar archive (gzip-compressed when its name ends in ``.gz``/``.tgz``)::

    nbregistry-bundle.json        manifest: format, scope, schema, tables (columns, row counts), blobs
    tables/<table>.jsonl          one JSON array per row, values in the manifest's column order
    blobs/<ab>/<sha256>           every blob the exported versions need, named by its hash

Every table of the registry is included generically (so tables added by later migrations travel
too), except SQLite's and sqlite-utils' own, virtual tables, and the webhook tables (deployment
configuration with secrets, not model history). Relations come from the schema: declared foreign
keys, plus ``<thing>_id`` columns naming a table ``<thing>s`` (``alias_moves.event_id``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..core.errors import ValidationError
from ..core.objects import SHA_RE, safe_relpath
from ..core.store_webhooks import WEBHOOK_TABLES

BUNDLE_FORMAT = "nbregistry.bundle/1"
MANIFEST_NAME = "nbregistry-bundle.json"
SKIPPED_TABLES = {"_sqlite_migrations", "nbregistry_migrations", "nbregistry_schema", *WEBHOOK_TABLES}


@dataclass
class TableInfo:
    name: str
    columns: list[str]
    pk: list[str]                                     # primary-key columns, in key order
    fks: dict[str, str] = field(default_factory=dict)    # column -> parent table (declared)
    soft_fks: dict[str, str] = field(default_factory=dict)  # column -> parent table (by naming)
    unique: list[list[str]] = field(default_factory=list)   # unique keys other than the id

    @property
    def has_id(self) -> bool:
        return self.pk == ["id"]

    @property
    def all_fks(self) -> dict[str, str]:
        return {**self.soft_fks, **self.fks}


def table_infos(conn) -> dict[str, TableInfo]:
    """The exportable tables of a registry database, parents before children."""
    if hasattr(conn, "catalog"):  # PostgreSQL (core/engines/postgres.py)
        infos = {name: TableInfo(name, columns, pk, fks, unique=unique)
                 for name, columns, pk, fks, unique in conn.catalog() if name not in SKIPPED_TABLES}
        return _with_soft_fks(infos)
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    virtual = [r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL")]
    names = [r[0] for r in rows
             if not r[0].startswith("sqlite_") and r[0] not in SKIPPED_TABLES and r[0] not in virtual
             and not any(r[0].startswith(v + "_") for v in virtual)]
    infos: dict[str, TableInfo] = {}
    for name in names:
        cols = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
        columns = [c[1] for c in cols]
        pk = [c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5])]
        fks = {r[3]: r[2] for r in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        unique = []
        for idx in conn.execute(f'PRAGMA index_list("{name}")'):
            if idx[2] and idx[3] != "pk":
                unique.append([r[2] for r in conn.execute(f'PRAGMA index_info("{idx[1]}")')])
        infos[name] = TableInfo(name, columns, pk, fks, unique=unique)
    return _with_soft_fks(infos)


def row_order(conn, info: TableInfo) -> str:
    """The ORDER BY of an export's rows: insertion order (SQLite's rowid), else the primary key."""
    return conn.row_order(info.pk) if hasattr(conn, "row_order") else "rowid"


def _with_soft_fks(infos: dict[str, TableInfo]) -> dict[str, TableInfo]:
    for info in infos.values():
        for col in info.columns:
            if col.endswith("_id") and col not in info.fks and col != "id":
                parent = col[:-3] + "s"
                if parent in infos and parent != info.name:
                    info.soft_fks[col] = parent
    return {name: infos[name] for name in _parents_first(infos)}


def _parents_first(infos: dict[str, TableInfo]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple) -> None:
        if name in seen or name in path:
            return
        for parent in infos[name].all_fks.values():
            if parent in infos and parent != name:
                visit(parent, path + (name,))
        seen.add(name)
        order.append(name)

    # models and versions first: a clash on a version's content is reported before anything hanging off it
    for name in sorted(infos, key=lambda n: (n not in ("models", "versions"), n)):
        visit(name, ())
    return order


# ==================================================================== what an imported row may hold
# Rows arriving from a bundle (or another registry) are checked, not believed: see docs/security.md.
IMPORTED_IDENTITY = "imported"
IDENTITY_COLUMNS = ("identity", "claimed_by")  # how an author was established: never taken from an import
RECOMPUTED_TABLES = {"version_blobs"}           # derived from the manifests, never taken from an import


def check_cell(table: str, column: str, value) -> None:
    """A value SQLite can store as it is (no lists or objects smuggled into a column)."""
    if value is not None and not isinstance(value, (int, float, str, bytes)):
        raise ValidationError(f"bundle row of {table}: column {column} holds a {type(value).__name__}, not a "
                              "number, text or bytes")
    if isinstance(value, int) and not -(1 << 63) <= value < (1 << 63):
        raise ValidationError(f"bundle row of {table}: column {column} holds an integer out of range")


def check_row(table: str, values: dict) -> None:
    """Table-specific rules for an imported row (names, refs, hashes, JSON fields)."""
    from ..core.refs import validate_alias, validate_name

    for column, value in values.items():
        check_cell(table, column, value)
    if "id" in values and values["id"] is not None and not isinstance(values["id"], int):
        raise ValidationError(f"bundle row of {table}: id {values['id']!r} is not an integer")
    try:
        if table == "models":
            validate_name(values.get("name"))
        elif table in ("aliases", "policies", "alias_moves") and "alias" in values:
            validate_alias(values.get("alias"))
    except ValueError as exc:
        raise ValidationError(f"bundle row of {table}: {exc}") from None
    if table == "versions":
        number = values.get("version")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ValidationError(f"bundle row of versions: version {number!r} is not a positive integer")
        for column in ("artifact_sha", "input_example_sha"):
            sha = values.get(column)
            if (sha is not None or column == "artifact_sha") and not (isinstance(sha, str) and SHA_RE.fullmatch(sha)):
                raise ValidationError(f"bundle row of versions: {column} {sha!r} is not a sha256 digest")
        for column in ("flavor_meta", "lineage", "signature"):
            if column in values and values[column] is not None:
                try:
                    parsed = json.loads(values[column])
                except (TypeError, ValueError):
                    parsed = None
                if not isinstance(parsed, dict):
                    raise ValidationError(f"bundle row of versions: {column} is not a JSON object")
        if not isinstance(values.get("flavor"), str) or not values["flavor"]:
            raise ValidationError("bundle row of versions: flavor must be a non-empty string")


def check_version_blobs(ref: str, values: dict, read_manifest, has_blob) -> set:
    """The blobs a version row needs, recomputed from its manifest; refuses a row whose manifest,
    files or recorded size and file list disagree, or whose blobs are neither in the import nor here."""
    from ..core.errors import IntegrityError

    sha = values["artifact_sha"]
    try:
        manifest = read_manifest(sha)
    except IntegrityError as exc:
        raise IntegrityError(f"{ref}: its manifest {sha[:12]}… is not usable: {exc}") from None
    files = manifest.get("files")
    if not isinstance(files, list):
        raise IntegrityError(f"{ref}: its manifest {sha[:12]}… lists no files")
    blobs = {sha}
    for entry in files:
        if not isinstance(entry, dict) or not SHA_RE.fullmatch(str(entry.get("sha256"))) \
                or not isinstance(entry.get("size"), int):
            raise IntegrityError(f"{ref}: its manifest {sha[:12]}… holds a malformed entry")
        safe_relpath(entry.get("path"))
        blobs.add(entry["sha256"])
    if values.get("input_example_sha"):
        blobs.add(values["input_example_sha"])
    missing = sorted(b for b in blobs if not has_blob(b))
    if missing:
        raise IntegrityError(f"{ref} needs blob {missing[0]} which neither the import nor this registry holds")
    size = sum(e["size"] for e in files)
    if values.get("artifact_size") != size:
        raise IntegrityError(f"{ref}: artifact_size {values.get('artifact_size')!r} disagrees with its manifest ({size})")
    meta_files = json.loads(values.get("flavor_meta") or "{}").get("files")
    listed = [{"path": e["path"], "size": e["size"], "sha256": e["sha256"]} for e in files]
    if meta_files != listed:
        raise IntegrityError(f"{ref}: the files in its flavor metadata disagree with its manifest")
    return blobs
