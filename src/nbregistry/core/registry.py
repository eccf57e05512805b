"""The ``Registry``: every capability of nbregistry is a method here; the faces only call it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from .collab import CollaborationMixin
from .compare import Comparison, Diff
from .environments import EnvironmentBlobs
from .lineage import own_imports
from .entities import AliasMove, Event, GCReport, Model, ModelVersion, Results, VerifyReport
from .errors import Conflict, IntegrityError, NotFound, ValidationError
from .flavors import get_flavor
from .identity import IDENTITIES, LOCAL, VERIFIED, default_author, default_root
from .objects import BlobStore, open_object_store, safe_relpath
from .refs import Ref, parse_ref, validate_alias, validate_name
from .signature import example_from_json
from .registration import (StagedVersion, clean_metrics, clean_strings, file_entries, prepare_registration,
                           serialize)
from . import trust as trust_rule
from .limits import Limits, check_int
from .registration import check_edit, check_record
from .engines import open_engine
from .store import Store, now_iso
from .deployment import DeployMixin
from .reproduce import ReproduceMixin
from .versioning import VersioningMixin, previous_values, revert_authors, revert_authors_counted
from .cards import CardsMixin
from .evaluations import EvaluationsMixin

GC_GRACE_SECONDS = 3600.0

Progress = Callable[[int], None]


class Registry(CollaborationMixin, DeployMixin, ReproduceMixin, VersioningMixin, CardsMixin, EvaluationsMixin):
    """A registry rooted at a folder: ``registry.db`` (SQLite) + ``objects/`` + ``tmp/``.

    ``Registry()`` with no root uses ``NBREGISTRY_URL`` (a team server, see ``RemoteRegistry``),
    then ``NBREGISTRY_ROOT``, then ``<jupyter data dir>/nbregistry``.
    """

    def __new__(cls, root: str | os.PathLike | None = None, **kwargs):
        if cls is Registry and root is None and os.environ.get("NBREGISTRY_URL"):
            from .hooks import provided  # nbregistry.remote.RemoteRegistry, a face

            return provided("remote_registry")(os.environ["NBREGISTRY_URL"], os.environ.get("NBREGISTRY_TOKEN"),
                                  author=kwargs.get("author"))
        return super().__new__(cls)

    def __init__(self, root: str | os.PathLike | None = None, *, author: str | None = None,
                 origin: str = "api", trusted_classes: Iterable[str] | None = None, create: bool = True,
                 objects: str | os.PathLike | None = None, db: str | os.PathLike | None = None):
        """``create=False`` opens an existing registry only (read-only faces): where there is no
        ``registry.db`` it raises :class:`NotFound` instead of making a new registry. A folder whose
        ``objects/`` holds blobs without a usable ``registry.db`` is always refused."""
        self.root = Path(root).expanduser() if root is not None else default_root()
        # Metadata: <root>/registry.db, or ``db=`` / $NBREGISTRY_DB (a SQLite path, postgresql://..., core/engines/).
        engine = open_engine(db, root=self.root)
        check_openable(self.root, create=create, engine=engine)
        self.root.mkdir(parents=True, exist_ok=True)
        # Blobs: the folder in root, or ``objects=`` / $NBREGISTRY_OBJECTS (s3://bucket/prefix, core/objects/).
        self.objects = open_object_store(objects, root=self.root)
        if self.objects.url != str(self.root) and engine.state() != "ok" \
                and next(iter(self.objects.iter_blobs()), None):  # check_openable, for a bucket
            raise IntegrityError(f"{self.root}: {_database_name(engine)} is missing or empty but {self.objects.url} "
                                 "holds blobs; refusing to open it (gc would delete them). Restore the database, "
                                 "or use another prefix")
        self.environments = EnvironmentBlobs(self.objects)
        self.store = Store(engine)
        self.store.on_events_committed = self._events_committed  # webhooks (core/deployment.py)
        self._author = author
        self.origin = origin
        self.identity = LOCAL       # how this registry's author was established (core/identity.py)
        self.claimed_by: str | None = None
        # False in a shared server: then even versions you authored load (or smoke-test) only with
        # trust=True, so nobody who can register runs code inside the server process.
        self.trust_own_pickles = True
        # False in the team server: no load runs code a user stored, whatever trust= says (core/trust.py).
        self.code_allowed = True
        # The reader's own allow-list of classes a load may import and construct without trust=True
        # ("module:Class" or "module:*"), plus NBREGISTRY_TRUSTED_CLASSES. Never read from the registry folder.
        self.trusted_classes = trust_rule.allowed_classes(trusted_classes)
        # How much one registration, edit or comparison may hold (core/limits.py; a server sets its own).
        self.limits = Limits()

    def __repr__(self) -> str:
        return f"<Registry {self.root}>"

    @property
    def author(self) -> str:
        return self._author or default_author()

    @author.setter
    def author(self, value: str | None) -> None:
        self._author = value

    def close(self) -> None:
        """Close this thread's database connection (the registry reopens it when used again)."""
        self.store.close()

    # ================================================================ resolving refs
    def _model_row(self, name: str, conn=None, *, counts: bool = False):
        validate_name(name)
        row = self.store.model_row(name, conn, counts=counts)
        if row is None:
            raise self._no_model(name, conn)  # says whether it was renamed or deleted
        return row

    def _resolve(self, ref: str | Ref, conn=None) -> tuple[Any, int]:
        """``(model row, version number)`` for a ref; :class:`NotFound` names what is missing."""
        ref = parse_ref(ref)
        model = self._model_row(ref.name, conn)
        if ref.version is not None:
            number = ref.version
            if self.store.version_row(model["id"], number, lineage=False, conn=conn) is None:
                raise NotFound(f"{model['name']} has no version {number}")
        elif ref.alias is not None:
            number = self.store.alias_target(model["id"], ref.alias, conn)
            if number is None:
                known = self.store.model_aliases([model["id"]], conn)[model["id"]]
                hint = f" (aliases: {', '.join(known)})" if known else " (it has no aliases)"
                raise NotFound(f"{model['name']} has no alias {ref.alias!r}{hint}")
        else:
            number = self.store.latest_version(model["id"], conn)
            if number is None:
                raise NotFound(f"{model['name']} has no active versions")
        return model, number

    def _version_id(self, model_id: int, number: int, conn=None) -> int:
        return self.store.version_row(model_id, number, lineage=False, conn=conn)["id"]

    # ================================================================ building result objects
    def _versions(self, where: str, args: list, *, order: str = "v.version DESC", order_args: list = (),
                  limit: int = 100, offset: int = 0, lineage: bool = False, evaluations: bool = False,
                  conn=None) -> list[ModelVersion]:
        rows, facts = self.store.fetch_versions(where, args, order=order, order_args=order_args, limit=limit,
                                                offset=offset, lineage=lineage, evaluations=evaluations, conn=conn)
        return self._build_versions(rows, facts, lineage=lineage)

    def _build_versions(self, rows, facts, *, lineage: bool = False) -> list[ModelVersion]:
        out = []
        for r in rows:
            f = facts[r["id"]]
            meta = json.loads(r["flavor_meta"])
            out.append(ModelVersion(
                name=r["name"], version=r["version"], created_at=r["created_at"], author=r["author"],
                description=r["description"], status=r["status"], flavor=r["flavor"], tags=f["tags"],
                metrics=f["metrics"], params=f["params"], aliases=sorted(f["aliases"]),
                signature=json.loads(r["signature"]) if r["signature"] else None,
                lineage=self.environments.join(json.loads(r["lineage"])) if lineage and r["lineage"] else None,
                artifact={"sha256": r["artifact_sha"], "size": r["artifact_size"],
                          "files": meta.get("files", [])},
                has_input_example=r["input_example_sha"] is not None, identity=r["identity"],
                claimed_by=r["claimed_by"], registry=self, flavor_meta=meta,
                evaluations=f.get("evaluations") or {}))
        return out

    def _models(self, rows, conn=None) -> list[Model]:
        ids = [r["id"] for r in rows]
        tags = self.store.model_tags(ids, conn)
        aliases = self.store.model_aliases(ids, conn)
        models = [Model(name=r["name"], description=r["description"], tags=tags[r["id"]], created_at=r["created_at"],
                        created_by=r["created_by"], archived=bool(r["archived"]), latest_version=r["latest_version"],
                        version_count=r["version_count"], aliases=aliases[r["id"]]) for r in rows]
        for model, r in zip(models, rows):  # list_models adds these columns
            keys = r.keys()
            model.updated_at = r["updated_at"] if "updated_at" in keys else ""
            model.latest_metric = r["latest_metric"] if "latest_metric" in keys else None
            model.last_version = r["last_version"] if "last_version" in keys else None
        return models

    # ================================================================ reading
    def get(self, ref: str) -> ModelVersion:
        """The version a ref names, with lineage."""
        return self._fetch_refs([ref], lineage=True)[0]

    def get_model(self, name: str) -> Model:
        """A model with its description, tags, aliases, latest version and version count."""
        with self.store.read() as conn:
            return self._models([self._model_row(name, conn, counts=True)], conn)[0]

    def list_models(self, q: str | None = None, *, archived: bool = False, limit: int = 100,
                    offset: int = 0, order: str = "name", metric: str | None = None) -> Results:
        """Models whose name contains ``q`` (case-insensitive), by name. ``.total`` counts all matches.

        ``order`` sorts by one of name, latest, versions, updated, owner, aliases, metric (``-`` in front:
        descending); ``metric`` names the metric of each latest version to report (``latest_metric``)
        and to sort by with ``order="metric"``."""
        _check_page(limit, offset)
        if order.lstrip("-") not in self.store.MODEL_ORDER:
            raise ValidationError(f"order must be one of {', '.join(self.store.MODEL_ORDER)} (with - for descending),"
                                  f" not {order!r}")
        if order.lstrip("-") == "metric" and not metric:
            raise ValidationError("order=metric needs the metric to sort by (metric=NAME)")
        rows, total = self.store.list_model_rows(q=q, archived=archived, limit=limit, offset=offset,
                                                 order=order, metric=metric)
        return Results(self._models(rows), title="models", total=total)

    def list_versions(self, name: str, *, limit: int = 100, offset: int = 0, archived: bool = True) -> Results:
        """Versions of a model, newest first, a page at a time. ``.total`` counts them all."""
        _check_page(limit, offset)
        with self.store.read() as conn:
            model = self._model_row(name, conn)
            where, args = "v.model_id = ?", [model["id"]]
            if not archived:
                where += " AND v.status = 'active'"
            items = self._versions(where, args, limit=limit, offset=offset, conn=conn)
            total = self.store.count_versions(where, args, conn)
        return Results(items, title=f"versions of {model['name']}", total=total)

    def search(self, expr: str = "", *, order_by: str | None = None, limit: int = 100, offset: int = 0) -> Results:
        """Versions matching a search expression (see docs/search.md), e.g.
        ``search("metrics.auc > 0.8 AND alias = production", order_by="metrics.auc desc")``.
        ``.total`` counts every match up to 10,000 (``.total_capped`` says when there are more)."""
        from .search_plan import SearchQuery

        _check_page(limit, offset)
        query = SearchQuery.build(expr, order_by, self.store.dialect)
        with self.store.read() as conn:
            ids, total, capped = self.store.search_page(query, limit, offset, conn)
            found = {v_id: v for v_id, v in zip(*self._versions_by_id(ids, conn))}
        return Results([found[i] for i in ids if i in found], title=f"search: {expr}" if expr else "all versions",
                       total=total, total_capped=capped)

    def _versions_by_id(self, ids: list[int], conn) -> tuple[list[int], list[ModelVersion]]:
        """``(ids, versions)`` of the given version ids, in id order."""
        rows, facts = self.store.versions_by_id(ids, conn=conn)
        return [r["id"] for r in rows], self._build_versions(rows, facts)

    def events(self, since: int = 0, *, model: str | None = None, limit: int = 1000) -> Results:
        """Audit events with id greater than ``since`` (cheap polling), oldest first. ``model`` also
        matches the events recorded under the model's earlier names (before a rename)."""
        _check_page(limit, 0)
        check_int(since, "since")
        rows = self.store.events(since=since, model=None if model is None else self._names_of(model), limit=limit)
        return Results([_event(r) for r in rows], title="events")

    def last_event_id(self) -> int:
        """The id of the newest event (0 for none): a live feed that starts "from now" polls after it."""
        with self.store.read() as conn:
            return self.store.last_event_id(conn)

    # ================================================================ registering
    def register(self, obj: Any, name: str, *, metrics: dict | None = None, params: dict | None = None,
                 tags: dict | None = None, description: str = "", data: Any = None, input_example: Any = None,
                 flavor: str | None = None, files: dict | None = None, notebook: dict | None = None,
                 progress: Progress | None = None) -> ModelVersion:
        """Store ``obj`` (a model object, a path to a file or folder, or a URI: ``https://``, ``s3://``,
        ``gs://``, ``hf://``, MLflow's ``models:/`` and ``runs:/``) as the next version of ``name``.

        Metrics must be finite numbers; params and tags are stored as text. When metrics or params
        are not given they are picked up from the model (``get_params()``, ``best_score_``, ...).
        ``data`` is fingerprinted into the lineage; ``input_example`` gives the signature and is stored.
        ``files`` adds extra files (``{"relative/name": path}``) under ``extra/``.
        """
        prepared = prepare_registration(obj, name, metrics=metrics, params=params, tags=tags,
                                        description=description, data=data, input_example=input_example,
                                        flavor=flavor, notebook=notebook, limits=self.limits)
        staging = Path(tempfile.mkdtemp(dir=self.objects.tmp, prefix="reg-"))
        try:
            entries, meta = serialize(obj, prepared.flavor, staging, files, objects=self.objects,
                                      source=prepared.source, progress=progress)
            version = self._store_version(name, entries, flavor=prepared.flavor.name, meta=meta,
                                          metrics=prepared.metrics, params=prepared.params, tags=prepared.tags,
                                          description=description, signature=prepared.signature,
                                          example_json=prepared.example_json, lineage=prepared.lineage(),
                                          progress=progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        version.warnings = prepared.warnings
        return version

    def register_saved(self, folder: str | os.PathLike, name: str, *, flavor: str, flavor_meta: dict,
                       metrics: dict | None = None, params: dict | None = None, tags: dict | None = None,
                       description: str = "", signature: dict | None = None,
                       input_example_json: bytes | None = None, lineage: dict | None = None,
                       progress: Progress | None = None) -> ModelVersion:
        """Register an artifact a flavor already saved elsewhere: ``folder`` holds its files as
        ``flavor.save`` wrote them (what the REST server does with an upload). Same rules as
        :meth:`register`; nothing is serialized here, so no model object is needed.
        """
        return self.commit_staged(self.stage_saved(
            folder, name, flavor=flavor, flavor_meta=flavor_meta, metrics=metrics, params=params, tags=tags,
            description=description, signature=signature, input_example_json=input_example_json,
            lineage=lineage, progress=progress))

    def stage_saved(self, folder: str | os.PathLike, name: str, *, flavor: str, flavor_meta: dict,
                    metrics: dict | None = None, params: dict | None = None, tags: dict | None = None,
                    description: str = "", signature: dict | None = None,
                    input_example_json: bytes | None = None, lineage: dict | None = None,
                    progress: Progress | None = None) -> StagedVersion:
        """The first half of :meth:`register_saved`: validate, then hash and store every blob,
        taking no lock, so a big artifact never holds up anyone else's registration. Then
        :meth:`commit_staged` records the version in one short transaction; ``folder`` must stay
        until then (if a concurrent ``gc`` removed a blob meanwhile, it is stored again from there).
        """
        validate_name(name)
        if not isinstance(description, str):
            raise ValidationError("description must be a string")
        flavor_obj = get_flavor(flavor)
        if not isinstance(flavor_meta, dict):
            raise ValidationError("flavor_meta must be a JSON object")
        if signature is not None and (not isinstance(signature, dict) or "type" not in signature):
            raise ValidationError("signature must be null or an object with a 'type'")
        if lineage is not None and not isinstance(lineage, dict):
            raise ValidationError("lineage must be a JSON object")
        if input_example_json is not None:
            try:
                example = json.loads(input_example_json)
            except (TypeError, ValueError):
                example = None
            if not isinstance(example, dict) or example.get("type") not in ("dataframe", "tensor", "tensors"):
                raise ValidationError("input example must be the JSON written by nbregistry (dataframe or tensor)")
        metrics = clean_metrics(metrics or {})
        params = clean_strings("param", params or {})
        tags = clean_strings("tag", tags or {})
        if not Path(folder).is_dir():
            raise ValidationError(f"{folder} is not a folder")
        entries, _ = file_entries(folder)
        return self._stage_version(name, entries, flavor=flavor_obj.name, meta=dict(flavor_meta), metrics=metrics,
                                   params=params, tags=tags, description=description, signature=signature,
                                   example_json=input_example_json, lineage=lineage or {}, progress=progress)

    def _store_version(self, name: str, entries: list, **kwargs) -> ModelVersion:
        """Store the files (``[(relative path, source path)]``) and record the next version of ``name``."""
        return self.commit_staged(self._stage_version(name, entries, **kwargs))

    def _stage_version(self, name: str, entries: list, *, flavor: str, meta: dict, metrics: dict, params: dict,
                       tags: dict, description: str, signature: dict | None, example_json: bytes | None,
                       lineage: dict, progress: Progress | None) -> StagedVersion:
        """Hash and store the blobs of a version (no lock held); see :meth:`stage_saved`."""
        check_record(self.limits, description=description, metrics=metrics, params=params, tags=tags,
                     lineage=lineage, flavor_meta=meta, signature=signature)
        manifest_blob, manifest = self.objects.put_tree(entries, progress=progress)
        example_blob = self.objects.put_bytes(example_json) if example_json is not None else None
        stored_lineage, environment_sha = self.environments.store(lineage)
        meta["files"] = [{"path": f["path"], "size": f["size"], "sha256": f["sha256"]} for f in manifest["files"]]
        blobs = [manifest_blob.sha256, *(f["sha256"] for f in manifest["files"])]
        if example_blob:
            blobs.append(example_blob.sha256)
        size = sum(f["size"] for f in manifest["files"])
        return StagedVersion(name=name, entries=entries, flavor=flavor, meta=meta, metrics=metrics, params=params,
                             tags=tags, description=description, signature=signature, example_json=example_json,
                             lineage=lineage, stored_lineage=stored_lineage, environment_sha=environment_sha,
                             manifest_sha=manifest_blob.sha256, deduplicated=not manifest_blob.new,
                             example_sha=example_blob.sha256 if example_blob else None, blobs=blobs, size=size)

    def commit_staged(self, staged: StagedVersion) -> ModelVersion:
        """Record a staged version (:meth:`stage_saved`) in one short write transaction."""
        s = staged
        name, blobs, size, environment_sha = s.name, s.blobs, s.size, s.environment_sha
        for attempt in range(3):
            with self.store.write() as conn:
                # A concurrent gc may have removed a blob we deduplicated against; it only deletes
                # while holding the write lock, so what exists now stays until we commit.
                missing = [b for b in [*blobs, *([environment_sha] if environment_sha else [])]
                           if not self.objects.exists(b)]
                if not missing:
                    model = self.store.model_row(name, conn)
                    if model is None:
                        self._check_name_free(conn, name)  # a retired name never silently names a new model
                        model_id = self.store.create_model(conn, name, self.author)
                        self._event(conn, "model.created", name)
                    else:
                        model_id, name = model["id"], model["name"]
                    created = now_iso()
                    _, number = self.store.insert_version(
                        conn, model_id, author=self.author, description=s.description, flavor=s.flavor,
                        flavor_meta=s.meta, artifact_sha=s.manifest_sha, artifact_size=size,
                        signature=s.signature, input_example_sha=s.example_sha,
                        lineage=s.stored_lineage, metrics=s.metrics, params=s.params, tags=s.tags, blobs=blobs,
                        created_at=created, environment_sha=environment_sha, identity=self.identity,
                        claimed_by=self.claimed_by)
                    self._event(conn, "version.registered", name, number,
                                {"flavor": s.flavor, "sha256": s.manifest_sha, "size": size,
                                 "deduplicated": s.deduplicated, "metrics": s.metrics})
                    break
            if attempt == 2:
                raise IntegrityError(f"blobs vanished while registering (concurrent gc?): {missing}")
            self.objects.put_tree(s.entries)  # re-store what gc removed, then try again
            if s.example_json is not None:
                self.objects.put_bytes(s.example_json)
            if environment_sha:
                self.environments.store(s.lineage, rewrite=True)
        version = self.get(f"{name}:{number}")
        version.deduplicated = s.deduplicated
        return version

    # ================================================================ loading
    def load(self, ref: str, *, trust: bool = False, progress: Progress | None = None) -> Any:
        """Load a version's object after verifying every file's hash.

        A load that can run code its author chose (unpickling, importing a class named in the metadata)
        follows the trust rule of core/trust.py: it needs ``trust=True`` unless the format is
        data-only, the classes are on your allow-list, or you are the version's verified author.
        """
        version = self.get(ref)
        trusted = self._trust_decision(version, trust=trust)
        folder = self.objects.checkout(version.artifact["sha256"], progress=progress)
        with own_imports():  # what the flavor imports is not the user's doing (lineage.environment)
            return get_flavor(version.flavor).load(folder, version.flavor_meta, trusted=trusted)

    def _trust_decision(self, version: ModelVersion, *, trust: bool = False) -> "trust_rule.Trust":
        """The trust rule (core/trust.py) for this reader loading ``version``: the
        :class:`~nbregistry.core.trust.Trust` to pass to ``flavor.load``, or :class:`TrustRequired`."""
        return trust_rule.decide(version, get_flavor(version.flavor), version.flavor_meta, reader=self.author,
                                 reader_identity=self.identity, trust=trust, trust_own=self.trust_own_pickles,
                                 code_allowed=self.code_allowed, classes=self.trusted_classes,
                                 also_authors=revert_authors(version), also_counted=revert_authors_counted(version))

    def artifact(self, ref: str) -> dict:
        """What a client needs to load a version elsewhere: flavor, flavor metadata, author and files."""
        version = self.get(ref)
        return {"ref": version.ref, "author": version.author, "identity": version.identity,
                "flavor": version.flavor, "meta": version.flavor_meta, **version.artifact,
                "also_authors": revert_authors(version), "also_counted": revert_authors_counted(version)}

    def as_author(self, author: str, *, origin: str | None = None, identity: str = VERIFIED,
                  claimed_by: str | None = None) -> "Registry":
        """A view of this registry acting as ``author`` (sharing its store and objects): one per
        request in a server, so no thread ever changes the author another thread is using.

        ``identity`` says how the server established ``author`` (see core/identity.py); a name the
        client claimed without proof goes in ``claimed_by`` and is shown, never counted."""
        if identity not in IDENTITIES:
            raise ValueError(f"identity must be one of {', '.join(IDENTITIES)}, not {identity!r}")
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._author = author
        view.identity = identity
        view.claimed_by = claimed_by
        if origin is not None:
            view.origin = origin
        return view

    def input_example(self, ref: str) -> Any:
        """The stored input example (a DataFrame or array), or ``None``."""
        model, number = self._resolve(ref)
        sha = self.store.version_row(model["id"], number, lineage=False)["input_example_sha"]
        return None if sha is None else example_from_json(self.objects.read_bytes(sha))

    def open_file(self, ref: str, path: str):
        """A binary file object for one artifact file (for streaming downloads). Not re-hashed."""
        path = safe_relpath(path)
        version = self.get(ref)
        for entry in version.artifact["files"]:
            if entry["path"] == path:
                return self.objects.open(entry["sha256"])
        raise NotFound(f"{version.ref} has no file {path!r}")

    # ================================================================ changing metadata
    def update_model(self, name: str, *, description: str | None = None, tags: dict | None = None,
                     archived: bool | None = None) -> Model:
        """Describe, tag (``{key: value}``; ``None`` removes a key), archive or restore a model."""
        check_edit(self.limits, description=description, tags=tags)
        tags = clean_strings("tag", tags or {}, allow_none=True)
        with self.store.write() as conn:
            model = self._model_row(name, conn)
            previous = previous_values(conn, self.store, "model_tags", "model_id", model["id"], description, tags,
                                       model["description"])
            self.store.update_model(conn, model["id"], description=description, archived=archived)
            self.store.set_tags(conn, "model_tags", "model_id", model["id"], tags)
            changes = _changes(description=description, tags=tags)
            if changes:
                changes["previous"] = previous
                self._event(conn, "model.updated", model["name"], payload=changes)
            if archived is not None and bool(archived) != bool(model["archived"]):
                self._event(conn, "model.archived" if archived else "model.restored", model["name"])
        return self.get_model(name)

    def update_version(self, ref: str, *, description: str | None = None, tags: dict | None = None,
                       archived: bool | None = None) -> ModelVersion:
        """Describe, tag, archive or restore a version. Its artifacts, metrics and params never change."""
        check_edit(self.limits, description=description, tags=tags)
        tags = clean_strings("tag", tags or {}, allow_none=True)
        with self.store.write() as conn:
            model, number = self._resolve(ref, conn)
            row = self.store.version_row(model["id"], number, lineage=False, conn=conn)
            vid, current = row["id"], row["status"]
            status = None if archived is None else ("archived" if archived else "active")
            previous = previous_values(conn, self.store, "version_tags", "version_id", vid, description, tags,
                                       row["description"])
            self.store.update_version(conn, vid, description=description, status=status)
            self.store.set_tags(conn, "version_tags", "version_id", vid, tags)
            changes = _changes(description=description, tags=tags)
            if changes:
                changes["previous"] = previous
                self._event(conn, "version.updated", model["name"], number, changes)
            if status is not None and status != current:
                self._event(conn, "version.archived" if archived else "version.restored", model["name"], number)
        return self.get(f"{model['name']}:{number}")

    def describe(self, ref: str, description: str) -> ModelVersion:
        """Set a version's description (shorthand for :meth:`update_version`)."""
        return self.update_version(ref, description=description)

    def tag(self, ref: str, tags: dict) -> ModelVersion:
        """Set (or, with ``None`` values, remove) a version's tags."""
        return self.update_version(ref, tags=tags)

    def archive(self, ref: str) -> ModelVersion:
        """Archive a version: kept and loadable by number, skipped by bare-name refs and comparisons."""
        return self.update_version(ref, archived=True)

    def restore(self, ref: str) -> ModelVersion:
        """Make an archived version active again."""
        return self.update_version(ref, archived=False)

    def delete_version(self, ref: str) -> str:
        """Delete a version's record (recorded as an event). Its blobs stay until ``gc``.

        Refused while an alias points at it. The number is never reused.
        """
        ref = parse_ref(ref)
        if ref.version is None:
            raise ValidationError(f"delete needs an explicit version (e.g. {ref.name}:3), not {str(ref)!r}")
        with self.store.write() as conn:
            model, number = self._resolve(ref, conn)
            row = self.store.version_row(model["id"], number, lineage=False, conn=conn)
            vid, sha = row["id"], row["artifact_sha"]
            held = self.store.aliases_of_version(vid, conn)
            if held:
                raise Conflict(f"{model['name']}:{number} holds alias(es) {', '.join(held)}; move or remove them first")
            self.store.delete_version(conn, vid)
            self._event(conn, "version.deleted", model["name"], number, {"sha256": sha})
        return f"{model['name']}:{number}"

    # ================================================================ aliases
    def set_alias(self, ref: str, alias: str, *, reason: str | None = None) -> AliasMove:
        """Point ``alias`` at the version ``ref`` names. Every move records the previous holder.

        Refused (:class:`Conflict`) when the alias has a policy: guarded aliases move only through
        :meth:`promote`, so nobody sets ``production`` past its gates by accident.
        """
        validate_alias(alias)
        with self.store.write() as conn:
            model, number = self._resolve(ref, conn)
            policy = self._policy_obj(conn, model, alias)
            if not policy.empty:
                raise Conflict(f"{model['name']}@{alias} is guarded by a policy ({policy!r}); use "
                               f"promote({str(ref)!r}, {alias!r}) so its approvals and gates are checked")
            return self._move_alias(conn, model, alias, number, kind="set", reason=reason)

    def remove_alias(self, name: str, alias: str, *, reason: str | None = None) -> AliasMove:
        """Remove an alias from a model; recorded in its history like any move."""
        validate_alias(alias)
        with self.store.write() as conn:
            model = self._model_row(name, conn)
            if self.store.alias_target(model["id"], alias, conn) is None:
                raise NotFound(f"{model['name']} has no alias {alias!r}")
            return self._move_alias(conn, model, alias, None, kind="remove", reason=reason)

    def _move_alias(self, conn, model, alias: str, number: int | None, *, kind: str, reason: str | None,
                    forced: bool = False, report: dict | None = None) -> AliasMove:
        """Move an alias inside the caller's write transaction, with its event and history row."""
        previous = self.store.alias_target(model["id"], alias, conn)
        when = now_iso()
        event_id = self._event(conn, "alias.removed" if number is None else f"alias.{kind}", model["name"], number,
                               {"alias": alias, "previous": previous, "reason": reason, "forced": forced,
                                "report": report}, time_=when)
        version_id = None if number is None else self._version_id(model["id"], number, conn)
        move_id = self.store.move_alias(conn, model_id=model["id"], alias=alias, version_id=version_id,
                                        version=number, previous=previous, actor=self.author, reason=reason,
                                        kind=kind, forced=forced, report=report, event_id=event_id, time_=when)
        return AliasMove(id=move_id, model=model["name"], alias=alias, version=number, previous=previous,
                         time=when, actor=self.author, reason=reason, kind=kind, forced=forced, report=report)

    def history(self, ref_or_model: str, alias: str | None = None) -> Results:
        """Every move of the model's aliases (or of one alias), oldest first."""
        ref = parse_ref(ref_or_model)
        alias = alias or ref.alias
        model = self._model_row(ref.name)
        rows = self.store.alias_moves(model["id"], alias)
        return Results([_alias_move(r) for r in rows], title=f"alias history of {model['name']}")

    # ================================================================ compare and diff
    def compare(self, refs_or_model: str | Iterable[str], *, goals: dict | None = None,
                limit: int = 1000) -> Comparison:
        """Versions × metrics/params/tags with the best value per metric marked.

        ``refs_or_model`` is a model name (its active versions, newest first) or a list of refs.
        ``goals`` overrides the inferred goal per metric (``{"auc": "max", "latency": "min"}``).
        """
        _check_page(limit, 0)
        if isinstance(refs_or_model, str) and parse_ref(refs_or_model) == Ref(parse_ref(refs_or_model).name):
            versions = self._versions("m.name = ? AND v.status = 'active'", [refs_or_model], limit=limit,
                                      evaluations=True)
            name = versions[0].name if versions else self._model_row(refs_or_model)["name"]
            return Comparison.build(name, versions, goals, [v.evaluations for v in versions])
        refs = [refs_or_model] if isinstance(refs_or_model, str) else list(refs_or_model)
        if not refs:
            raise ValidationError("compare needs a model name or at least one ref")
        if len(refs) > self.limits.compare_refs:
            raise ValidationError(f"compare takes at most {self.limits.compare_refs} refs, not {len(refs)}")
        versions = self._fetch_refs(refs, evaluations=True)
        names = {v.name for v in versions}
        return Comparison.build(names.pop() if len(names) == 1 else None, versions, goals,
                                [v.evaluations for v in versions])

    def diff(self, a: str, b: str) -> Diff:
        """What changed from ``a`` to ``b``: params, metrics, tags, signature, environment, data."""
        return Diff.build(*self._fetch_refs([a, b], lineage=True))

    def _fetch_refs(self, refs: list, *, lineage: bool = False, evaluations: bool = False) -> list[ModelVersion]:
        """The versions many refs name, in their order, with ONE query (refs compile into its WHERE).

        A ref that matches nothing is resolved on its own to raise the precise :class:`NotFound`.
        """
        parsed = [parse_ref(r) for r in refs]
        clauses, args = [], []
        numbered = [[ref.name, ref.version] for ref in parsed if ref.version is not None]
        if numbered:  # one indexed lookup per ref, not an OR of comparisons that scans every version
            clauses.append(f"v.id IN (SELECT x.id FROM {self.store.engine.json_pairs()} j JOIN models mm"
                           " ON mm.name = j.name JOIN versions x ON x.model_id = mm.id AND x.version = j.number)")
            args.append(json.dumps(numbered))
        for ref in parsed:
            if ref.version is not None:
                continue
            elif ref.alias is not None:
                clauses.append("(m.name = ? AND v.id = (SELECT a.version_id FROM aliases a"
                               " WHERE a.model_id = m.id AND a.alias = ?))")
                args += [ref.name, ref.alias]
            else:
                clauses.append("(m.name = ? AND v.version = (SELECT MAX(x.version) FROM versions x"
                               " WHERE x.model_id = m.id AND x.status = 'active'))")
                args.append(ref.name)
        found = self._versions(" OR ".join(clauses), args, limit=len(parsed), lineage=lineage, evaluations=evaluations)
        out = []
        for ref in parsed:
            same = [v for v in found if v.name.lower() == ref.name.lower()]
            if ref.version is not None:
                match = [v for v in same if v.version == ref.version]
            elif ref.alias is not None:
                match = [v for v in same if ref.alias.lower() in (a.lower() for a in v.aliases)]
            else:
                match = sorted((v for v in same if v.status == "active"), key=lambda v: -v.version)[:1]
            if not match:
                self._resolve(ref)  # raises the NotFound that names what is missing
                raise NotFound(f"{ref} changed while it was being read; try again")
            out.append(match[0])
        return out

    # ================================================================ integrity
    def copy_to(self, target: "Registry", *, progress=None):
        """Move house: copy everything this registry holds (every table's rows with their ids, every
        blob, id counters; webhook secrets re-sealed for the target) into ``target``, an empty
        registry on another backend (``Registry(root, db=..., objects=...)``). Streams blobs and rows;
        rows land in one transaction, so an interrupted copy leaves none and can be run again.
        ``progress``: a bar factory called as ``progress(desc=, total=, unit=)``, e.g. ``tqdm``.
        Refuses a target that holds anything. Returns a :class:`~.moving.MoveReport`; run
        ``target.verify()`` afterwards (``nbregistry move`` does)."""
        from .moving import copy_registry

        return copy_registry(self, target, progress=progress)

    def verify(self, *, fast: bool = False, progress: Progress | None = None) -> VerifyReport:
        """Check the store: SQLite's page check (``quick_check``; ``integrity_check`` unless ``fast``),
        every version's metadata against its manifest (size, the file list REST clients are served,
        ``version_blobs``, which gc relies on), and every blob a version needs re-hashed (``fast``:
        presence and sizes only). Bad rows are reported, never fatal. Loaded copies (checkouts) are
        the user's, not the store's, and are not checked."""
        report = VerifyReport(fast=fast)

        def problem(ref, text, blob=None, path=None):
            report.problems.append({"ref": ref, "blob": blob, "path": path, "problem": text})

        for text in self.store.check_database(full=not fast):
            problem(None, text, path="registry.db")
        try:
            rows, recorded = self.store.verify_rows()
        except self.store.engine.DatabaseError as exc:
            problem(None, f"registry.db: the versions cannot be read ({exc})", path="registry.db")
            return report
        checked: dict[str, str | None] = {}
        for row in rows:
            ref = f"{row['name']}:{row['version']}"
            report.checked_versions += 1
            targets = _version_targets(self.objects, row, recorded.get(row["id"], set()),
                                       lambda text, blob=None, path=None, ref=ref: problem(ref, text, blob, path))
            for sha, size, path in targets:
                if sha not in checked:
                    checked[sha] = self.objects.check(sha, size, fast=fast, progress=progress)
                    report.checked_blobs += 1
                    report.checked_bytes += size or 0
                if checked[sha]:
                    problem(ref, checked[sha], sha, path)
        return report

    def gc(self, *, grace: float = GC_GRACE_SECONDS, dry_run: bool = False) -> GCReport:
        """Remove blobs no version references, once older than ``grace`` seconds, and stale tmp files."""
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not 0 <= grace <= 10**12:
            raise ValidationError("grace must be a number of seconds from 0 to 10**12")
        report = GCReport(dry_run=dry_run)
        cutoff = time.time() - grace
        with self.store.write() as conn:  # registrations check their blobs under this same lock
            referenced = self.store.referenced_blobs(conn)
            for sha, _ in self.objects.iter_blobs():
                if sha in referenced:
                    continue
                stat = self.objects.blob_stat(sha)
                if stat is None:
                    continue
                if stat[1] > cutoff:
                    report.kept_recent += 1
                    continue
                report.removed_blobs += 1
                report.removed_bytes += stat[0]
                report.removed.append(sha)
                if not dry_run:
                    self.objects.remove(sha)
        if not dry_run:
            report.removed_tmp = self.objects.clean_tmp(max(grace, 60.0))
        return report

    # ================================================================ events
    def _event(self, conn, action: str, model: str | None, version: int | None = None,
               payload: dict | None = None, *, time_: str | None = None) -> int:
        return self.store.add_event(conn, actor=self.author, origin=self.origin, action=action, model=model,
                                    version=version, payload=payload, time_=time_)


# ==================================================================== helpers
def _version_targets(objects: BlobStore, row, recorded: set, problem) -> list:
    """The blobs one version row needs, ``[(sha, size, path)]``, after comparing the row with its
    manifest; each disagreement is passed to ``problem`` (a bad row gives ``[]``, never an exception)."""
    from .objects import SHA_RE

    sha = row["artifact_sha"]
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        problem(f"its artifact hash {sha!r} is not a sha256 digest")
        return []
    try:
        manifest = objects.read_manifest(sha)
        files = [(safe_relpath(f["path"]), f["sha256"], int(f["size"])) for f in manifest["files"]]
        if not all(isinstance(s, str) and SHA_RE.fullmatch(s) for _, s, _ in files):
            raise IntegrityError(f"manifest {sha} names a blob that is not a sha256 digest")
    except (IntegrityError, ValidationError, KeyError, TypeError, ValueError) as exc:
        problem(f"its manifest is not usable: {exc}", sha)
        return []
    targets = [(fsha, size, path) for path, fsha, size in files]
    needed = {sha, *(fsha for _, fsha, _ in files)}
    example = row["input_example_sha"]
    if example is not None:
        if isinstance(example, str) and SHA_RE.fullmatch(example):
            targets.append((example, None, "<input example>"))
            needed.add(example)
        else:
            problem(f"its input example hash {example!r} is not a sha256 digest")
    environment = row["environment_sha"]  # kept by gc through versions.environment_sha, not version_blobs
    if environment is not None:
        if isinstance(environment, str) and SHA_RE.fullmatch(environment):
            targets.append((environment, None, "<environment>"))
        else:
            problem(f"its environment hash {environment!r} is not a sha256 digest")
    size = sum(s for _, _, s in files)
    if row["artifact_size"] != size:
        problem(f"artifact_size {row['artifact_size']!r} disagrees with its manifest ({size} bytes)", sha)
    try:
        meta = json.loads(row["flavor_meta"])
        served = meta.get("files") if isinstance(meta, dict) else None
    except (TypeError, ValueError):
        meta, served = None, None
    if not isinstance(meta, dict):
        problem("its flavor metadata is not a JSON object", sha)
    elif served != [{"path": p, "size": s, "sha256": f} for p, f, s in files]:
        problem("the file list REST clients are served (flavor metadata) disagrees with its manifest", sha)
    lacking = sorted(needed - recorded)
    if lacking:
        problem(f"version_blobs lacks {len(lacking)} blob(s) this version needs, so gc would delete them "
                f"({', '.join(b[:12] + '…' for b in lacking)})", lacking[0])
    return targets


def check_openable(root: Path, *, create: bool, engine=None) -> None:
    """Refuse to open a folder whose ``objects/`` holds blobs while its ``registry.db`` is missing or
    empty: a fresh empty database would make the next ``gc`` delete every blob. With
    ``create=False`` (read-only faces), refuse a folder that holds no registry instead of creating one.
    ``engine``: the registry's database when it is not ``<root>/registry.db`` (core/engines/)."""
    state = _database_state(root / "registry.db") if engine is None else engine.state()
    if state == "ok":
        return
    if not create:
        where = root if engine is None or engine.url == str(root / "registry.db") else engine.describe()
        raise NotFound(f"there is no registry at {where} (no {_database_name(engine)}); nothing was created")
    if _holds_blobs(root / "objects"):
        raise IntegrityError(
            f"{root}: registry.db is {state} but objects/ holds stored blobs; refusing to open it (a new empty "
            "database would make gc delete every blob). Restore registry.db from a backup, or move objects/ "
            "away to start an empty registry there")


def _database_name(engine) -> str:
    """How messages name the registry's database: ``registry.db`` or the engine's URL."""
    if engine is None or getattr(engine, "path", None) is not None and engine.path.name == "registry.db":
        return "registry.db"
    return engine.describe()


def _database_state(db: Path) -> str:
    """``ok``, ``missing`` or ``empty`` (zero bytes, or a SQLite file with no registry tables)."""
    try:
        size = db.stat().st_size
    except FileNotFoundError:
        return "missing"
    wal = db.with_name(db.name + "-wal")
    if size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        return "empty"
    import sqlite3

    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'versions'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "ok"  # unreadable: the store reports that with its own message
    return "ok" if found else "empty"


def _holds_blobs(objects: Path) -> bool:
    from .objects import SHA_RE

    try:
        subs = [p for p in objects.iterdir() if p.is_dir() and len(p.name) == 2]
    except (FileNotFoundError, NotADirectoryError):
        return False
    return any(SHA_RE.fullmatch(child.name) for sub in subs for child in sub.iterdir())


def _check_page(limit: int, offset: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValidationError(f"limit must be an integer from 1 to 10000, not {limit!r}")
    check_int(offset, "offset")


def _event(row) -> Event:
    return Event(id=row["id"], time=row["time"], actor=row["actor"], origin=row["origin"], action=row["action"],
                 model=row["model"], version=row["version"], ref=row["ref"], payload=json.loads(row["payload"]))


def _alias_move(row) -> AliasMove:
    return AliasMove(id=row["id"], model=row["model"], alias=row["alias"], version=row["version"],
                     previous=row["previous"], time=row["time"], actor=row["actor"], reason=row["reason"],
                     kind=row["kind"], forced=bool(row["forced"]),
                     report=json.loads(row["report"]) if row["report"] else None)


def _changes(**fields) -> dict:
    return {k: v for k, v in fields.items() if v not in (None, {})}
