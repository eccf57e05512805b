"""``RemoteRegistry``: the ``Registry`` interface over the REST API of a registry server.

    reg = RemoteRegistry("http://registry.team:8888", token="...")   # or NBREGISTRY_URL / NBREGISTRY_TOKEN
    reg.register(model, "churn", metrics={"auc": 0.91})              # serialized here, uploaded
    reg.load("churn@production")                                     # downloaded, hash-verified, loaded

Every method has the signature of the core method of the same name and returns the same entity
objects (rebuilt with ``from_dict``); errors are the core's error classes, rebuilt from the JSON
``code``/``type`` of the answer. The server decides who the author is (the identity of the token).
The configured identity -- ``author=``, else ``NBREGISTRY_USER`` -- is sent as ``X-NBRegistry-Author``:
a server with personal tokens or JupyterHub ignores it; a single-identity server (one shared token)
keeps it as ``claimed_by``, shown but never counted. Reviews and approvals are refused here when the
server did not verify that identity (``GET /whoami``), since they would not count (docs/team.md).
Models are serialized and loaded here with the same flavor code and the same trust rule as a
local registry; downloads are cached under ``<jupyter data dir>/nbregistry-cache`` by artifact hash
and re-verified on every load.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from ._version import __version__
from .core import errors
from .core.errors import RegistryError

API_VERSION = 1
CHUNK = 1 << 20


class ServerUnavailable(RegistryError):
    """The registry server could not be reached or answered with an unexpected error."""

    code = "unavailable"


_BY_CODE = {"bad_request": errors.ValidationError, "not_found": errors.NotFound, "conflict": errors.Conflict,
            "forbidden": errors.PermissionDenied, "integrity": errors.IntegrityError, "schema": errors.SchemaTooNew,
            "unauthorized": errors.PermissionDenied, "too_large": errors.ValidationError,
            "length_required": errors.ValidationError}


class RemoteRegistry:
    """A registry served by ``nbregistry server`` or any Jupyter server with the extension.

    ``url`` is the server's base URL (``http://host:8888/`` or ``https://hub/user/alice/``).
    ``tokens`` (``{author: token}``) lets ``reg.author = "bob"`` switch to bob's personal token.
    """

    def __init__(self, url: str, token: str | None = None, *, author: str | None = None,
                 tokens: dict | None = None, timeout: float = 300.0, retries: int | None = None):
        if not url:
            raise errors.ValidationError("RemoteRegistry needs the server's URL (NBREGISTRY_URL)")
        self.url = url.rstrip("/")
        self.api = self.url + "/nbregistry/api"
        if token is None:  # inside a JupyterHub single-user server: the server's own Hub token
            token = os.environ.get("NBREGISTRY_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN") or None
        self.token = token
        self.tokens = dict(tokens or {})
        self.timeout = timeout
        # Idempotent requests (GET/HEAD) are retried with backoff on connection errors and 502/503/504, so
        # a team server restart is ridden out; a write is retried only when the connection was never made.
        self.retries = int(os.environ.get("NBREGISTRY_RETRIES", 5)) if retries is None else retries
        self.origin = "remote"
        self._author = None
        self._identity: str | None = None
        self._local = threading.local()
        self._checked = False
        self._max_upload: int | None = None
        self.trusted_classes: list = []  # the reader's allow-list (core/trust.py), plus NBREGISTRY_TRUSTED_CLASSES
        self._whoami: dict | None = None
        if author is None:
            author = os.environ.get("NBREGISTRY_USER") or None
        if author is not None:
            self.author = author

    def __repr__(self) -> str:
        return f"<RemoteRegistry {self.url}>"

    # ================================================================ identity
    @property
    def author(self) -> str:
        """The name this client acts as: the one given, else the server's name for the token."""
        return self._author or self.whoami()

    @author.setter
    def author(self, value: str | None) -> None:
        self._author = value
        if value in self.tokens:
            self.token = self.tokens[value]
        self._identity = None
        self._whoami = None

    def whoami(self) -> str:
        """The author the server records for this client's requests."""
        if self._identity is None:
            self._identity = self._handshake()["author"]
        return self._identity

    @property
    def identity(self) -> str | None:
        """How the server established this client's name (verified, local, shared), as on a local
        ``Registry``; the whole answer is :meth:`server_identity`."""
        return self.server_identity().get("identity")

    def server_identity(self) -> dict:
        """What the server says about this client (``GET /whoami``): user, identity (verified, local,
        shared), auth, groups, roles and what it may do. Servers older than the route: from /version,
        as an unverified identity."""
        if self._whoami is None:
            try:
                self._whoami = self._call("GET", "/whoami")
            except errors.NotFound:
                self._whoami = {"user": self.whoami(), "identity": "shared", "auth": "unknown"}
        return self._whoami

    def _require_verified(self, what: str) -> None:
        """Refuse an operation whose meaning depends on who acts when the server did not verify us."""
        me = self.server_identity()
        if me.get("identity") not in ("verified", "local"):
            raise errors.PermissionDenied(
                f"cannot {what}: the server at {self.url} did not verify who you are (identity "
                f"{me.get('identity')!r}, acting as {me.get('user')!r}), so it would not count; use a "
                f"personal token (nbregistry server --users) or JupyterHub -- see docs/team.md")
        if self._author and me.get("user") != self._author:
            raise errors.PermissionDenied(
                f"cannot {what} as {self._author!r}: the server verifies this token as {me.get('user')!r}; "
                f"use {self._author}'s own token")

    def as_author(self, author: str, *, origin: str | None = None, identity: str = "verified",
                  claimed_by: str | None = None) -> "RemoteRegistry":
        """A client acting under another name. How that name is established is the server's
        decision (see docs/team.md), so a client cannot pick an identity or a claimed name."""
        if identity != "verified" or claimed_by is not None:
            raise ValueError("a remote registry's identity is decided by the server; "
                             "identity= and claimed_by= apply to a local Registry only")
        view = RemoteRegistry(self.url, self.token, tokens=self.tokens, timeout=self.timeout, retries=self.retries)
        view.author = author
        return view

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    # ================================================================ HTTP
    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            try:
                import requests
            except ImportError:
                raise ServerUnavailable("RemoteRegistry needs the requests package: pip install 'nbregistry[remote]'") from None
            session = self._local.session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(max_retries=_retry_policy(self.retries))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        return session

    def _headers(self) -> dict:
        headers = {"User-Agent": f"nbregistry/{__version__}", "X-NBRegistry-Origin": "remote"}
        if self.token:
            headers["Authorization"] = f"token {self.token}"
        if self._author:
            headers["X-NBRegistry-Author"] = self._author
        return headers

    def _handshake(self) -> dict:
        info = self._call("GET", "/version", check=False)
        if info.get("api") != API_VERSION:
            raise ServerUnavailable(f"the server at {self.url} speaks registry API {info.get('api')} (nbregistry "
                                    f"{info.get('version')}); this client speaks API {API_VERSION} (nbregistry "
                                    f"{__version__}): install the same nbregistry version on both sides")
        self._checked = True
        self._max_upload = info.get("max_upload_bytes")
        return info

    def _call(self, method: str, path: str, *, params: dict | None = None, body: Any = None, data=None,
              headers: dict | None = None, stream: bool = False, check: bool = True, raw: bool = False):
        if check and not self._checked:
            self._handshake()
        session = self._session()
        import requests

        all_headers = self._headers()
        all_headers.update(headers or {})
        if body is not None:
            data = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        params = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = session.request(method, self.api + path, params=params, data=data, headers=all_headers,
                                   stream=stream, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServerUnavailable(f"cannot reach the registry server at {self.url}: {exc}") from None
        if resp.status_code >= 400:
            raise _error(resp)
        if raw or stream:
            return resp
        return resp.json()

    # ================================================================ reading
    def get(self, ref: str):
        return self._version(self._call("GET", f"/versions/{_q(ref)}"))

    def get_model(self, name: str):
        from .core.entities import Model

        return Model.from_dict(self._call("GET", f"/models/{_q(name)}"))

    def list_models(self, q: str | None = None, *, archived: bool = False, limit: int = 100, offset: int = 0,
                    order: str = "name", metric: str | None = None):
        from .core.entities import Model, Results

        data = self._call("GET", "/models", params={"q": q, "archived": int(bool(archived)), "limit": limit,
                                                    "offset": offset, "order": order, "metric": metric})
        return Results([Model.from_dict(m) for m in data["models"]], title="models", total=data["total"])

    def list_versions(self, name: str, *, limit: int = 100, offset: int = 0, archived: bool = True):
        from .core.entities import Results

        data = self._call("GET", f"/models/{_q(name)}/versions",
                          params={"limit": limit, "offset": offset, "archived": int(bool(archived))})
        items = [self._version(v) for v in data["versions"]]
        return Results(items, title=f"versions of {items[0].name if items else name}", total=data["total"])

    def search(self, expr: str = "", *, order_by: str | None = None, limit: int = 100, offset: int = 0):
        from .core.entities import Results

        data = self._call("GET", "/search", params={"q": expr, "order_by": order_by, "limit": limit,
                                                    "offset": offset})
        return Results([self._version(v) for v in data["versions"]],
                       title=f"search: {expr}" if expr else "all versions", total=data.get("total"),
                       total_capped=bool(data.get("total_capped")))

    def events(self, since: int = 0, *, model: str | None = None, limit: int = 1000):
        from .core.entities import Event, Results

        data = self._call("GET", "/events", params={"since": since, "model": model, "limit": limit})
        return Results([Event.from_dict(e) for e in data["events"]], title="events")

    def last_event_id(self) -> int:
        return self._call("GET", "/events", params={"since": "latest"})["last_id"]

    def artifact(self, ref: str) -> dict:
        return self._call("GET", f"/versions/{_q(ref)}/artifact")

    def input_example(self, ref: str):
        from .core.signature import example_from_json

        data = self._call("GET", f"/versions/{_q(ref)}/input-example", raw=True).content
        return None if data.strip() == b"null" else example_from_json(data)

    def open_file(self, ref: str, path: str):
        """A binary stream of one artifact file (read it, then ``close()`` it)."""
        from .core.objects import safe_relpath

        path = safe_relpath(path)
        resp = self._call("GET", f"/versions/{_q(ref)}/files/{quote(path, safe='/')}", stream=True)
        resp.raw.decode_content = True
        return resp.raw

    # ================================================================ registering
    def register(self, obj: Any, name: str, *, metrics: dict | None = None, params: dict | None = None,
                 tags: dict | None = None, description: str = "", data: Any = None, input_example: Any = None,
                 flavor: str | None = None, files: dict | None = None, notebook: dict | None = None,
                 progress=None):
        """Serialize ``obj`` here (same flavors as a local registry), then upload it; see
        :meth:`nbregistry.Registry.register`."""
        from .core import registration as core

        prepared = core.prepare_registration(obj, name, metrics=metrics, params=params, tags=tags,
                                             description=description, data=data, input_example=input_example,
                                             flavor=flavor, notebook=notebook)
        meta = {"name": name, "flavor": prepared.flavor.name, "metrics": prepared.metrics, "params": prepared.params,
                "tags": prepared.tags, "description": description, "signature": prepared.signature,

                "input_example": None if prepared.example_json is None else json.loads(prepared.example_json)}
        staging = Path(tempfile.mkdtemp(prefix="nbregistry-upload-"))
        try:
            entries, meta["flavor_meta"] = core.serialize(obj, prepared.flavor, staging, files,
                                                          source=prepared.source)
            meta["lineage"] = prepared.lineage()
            version = self._upload(entries, meta, progress)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        version.warnings = prepared.warnings
        return version

    def register_saved(self, folder, name: str, *, flavor: str, flavor_meta: dict, metrics: dict | None = None,
                       params: dict | None = None, tags: dict | None = None, description: str = "",
                       signature: dict | None = None, input_example_json: bytes | None = None,
                       lineage: dict | None = None, progress=None):
        folder = Path(folder)
        if not folder.is_dir():
            raise errors.ValidationError(f"{folder} is not a folder")
        entries = [(p.relative_to(folder).as_posix(), p) for p in sorted(folder.rglob("*")) if p.is_file()]
        meta = {"name": name, "flavor": flavor, "flavor_meta": flavor_meta, "metrics": metrics, "params": params,
                "tags": tags, "description": description, "signature": signature, "lineage": lineage,
                "input_example": None if input_example_json is None else json.loads(input_example_json)}
        return self._upload(entries, meta, progress)

    def stage_saved(self, folder, name: str, *, flavor: str, flavor_meta: dict, metrics: dict | None = None,
                    params: dict | None = None, tags: dict | None = None, description: str = "",
                    signature: dict | None = None, input_example_json: bytes | None = None,
                    lineage: dict | None = None, progress=None):
        """Over HTTP the server stages an upload itself: this only checks the folder and keeps the
        arguments for :meth:`commit_staged`, which uploads (as :meth:`register_saved`)."""
        if not Path(folder).is_dir():
            raise errors.ValidationError(f"{folder} is not a folder")
        kwargs = dict(flavor=flavor, flavor_meta=flavor_meta, metrics=metrics, params=params, tags=tags,
                      description=description, signature=signature, input_example_json=input_example_json,
                      lineage=lineage, progress=progress)
        return lambda: self.register_saved(folder, name, **kwargs)

    def commit_staged(self, staged):
        return staged()

    def _upload(self, entries: list, meta: dict, progress):
        """Pack the files and metadata as the tar the server expects, then stream it up with its hash."""
        with tempfile.TemporaryFile(prefix="nbregistry-upload-") as spool:
            pack_upload(spool, entries, meta)
            size = spool.tell()
            if not self._checked:
                self._handshake()
            if self._max_upload is not None and size > self._max_upload:
                raise errors.ValidationError(f"this upload is {size} bytes; the server at {self.url} accepts at most "
                                             f"{self._max_upload} (NBRegistry.max_upload_bytes)")
            spool.seek(0)
            digest = hashlib.sha256()
            while chunk := spool.read(CHUNK):
                digest.update(chunk)
            spool.seek(0)
            payload = sum(Path(src).stat().st_size for _, src in entries)
            body = _ProgressReader(spool, size, payload, progress) if progress else spool
            data = self._call("POST", "/versions", data=body, headers={
                "Content-Type": "application/x-tar", "X-NBRegistry-SHA256": digest.hexdigest()})
        version = self._version(data)
        version.deduplicated = bool(data.get("deduplicated"))
        return version

    # ================================================================ loading
    def load(self, ref: str, *, trust: bool = False, progress=None) -> Any:
        """Download the version's files (cached by hash, always re-verified), then load them with the
        same flavor code and trust rule as a local registry."""
        from .core import trust as trust_rule
        from .core.entities import ModelVersion
        from .core.flavors import get_flavor
        from .core.refs import parse_ref

        info = self.artifact(ref)
        parsed = parse_ref(info["ref"])  # a server's answer is checked, not believed
        if parsed.version is None:
            raise errors.IntegrityError(f"the server answered {info['ref']!r} for {ref!r}: not a version ref")
        # A server that does not say how the author was established (older servers): counted for nobody.
        stub = ModelVersion(name=parsed.name, version=parsed.version, author=info["author"], flavor=info["flavor"],
                            identity=info.get("identity", "imported"))
        me = self.server_identity()  # how the server established who this client is
        trusted = trust_rule.decide(stub, get_flavor(info["flavor"]), info["meta"], reader=me.get("user") or "",
                                    reader_identity=me.get("identity"), trust=trust,
                                    classes=trust_rule.allowed_classes(self.trusted_classes),
                                    also_authors=info.get("also_authors") or [],
                                    also_counted=info.get("also_counted") is not False)
        folder = self._checkout(info, progress)
        return get_flavor(info["flavor"]).load(folder, info["meta"], trusted=trusted)

    def _checkout(self, info: dict, progress) -> Path:
        from .cache import STAGING_PREFIX, ArtifactCache

        _check_artifact_answer(info)  # nothing the server says becomes a path unchecked
        cache = ArtifactCache()
        final = cache.folder(info["sha256"])
        if final.is_dir() and all(_file_ok(final / f["path"], f, progress) for f in info["files"]):
            cache.touch(info["sha256"])
            return final
        cache.path.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache.path, prefix=STAGING_PREFIX))
        try:
            for entry in info["files"]:
                dest = staging / entry["path"]
                dest.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with self.open_file(info["ref"], entry["path"]) as src, open(dest, "wb") as out:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
                if digest.hexdigest() != entry["sha256"] or size != entry["size"]:
                    raise errors.IntegrityError(f"downloaded {entry['path']!r} of {info['ref']} does not match its "
                                                f"recorded hash: the transfer or the server's copy is corrupted")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        cache.enforce_cap(keep=frozenset({info["sha256"]}))
        return final

    # ================================================================ changing metadata
    def update_model(self, name: str, *, description: str | None = None, tags: dict | None = None,
                     archived: bool | None = None):
        from .core.entities import Model

        body = _present(description=description, tags=tags, archived=archived)
        return Model.from_dict(self._call("PATCH", f"/models/{_q(name)}", body=body))

    def update_version(self, ref: str, *, description: str | None = None, tags: dict | None = None,
                       archived: bool | None = None):
        body = _present(description=description, tags=tags, archived=archived)
        return self._version(self._call("PATCH", f"/versions/{_q(ref)}", body=body))

    def describe(self, ref: str, description: str):
        return self.update_version(ref, description=description)

    def tag(self, ref: str, tags: dict):
        return self.update_version(ref, tags=tags)

    def archive(self, ref: str):
        return self.update_version(ref, archived=True)

    def restore(self, ref: str):
        return self.update_version(ref, archived=False)

    def delete_version(self, ref: str) -> str:
        return self._call("DELETE", f"/versions/{_q(ref)}")["deleted"]

    # ================================================================ aliases
    def set_alias(self, ref: str, alias: str, *, reason: str | None = None):
        return _move(self._call("POST", "/aliases", body=_present(ref=ref, alias=alias, reason=reason)))

    def remove_alias(self, name: str, alias: str, *, reason: str | None = None):
        return _move(self._call("DELETE", f"/aliases/{_q(name)}/{_q(alias)}", params={"reason": reason}))

    def history(self, ref_or_model: str, alias: str | None = None):
        from .core.entities import Results

        data = self._call("GET", "/history", params={"ref": ref_or_model, "alias": alias})
        moves = [_move(m) for m in data["moves"]]
        return Results(moves, title=f"alias history of {moves[0].model if moves else ref_or_model}")

    def resolve(self, ref: str, *, at=None):
        data = self._call("GET", "/resolve", params={"ref": ref, "at": None if at is None else _when(at)})
        return None if data["version"] is None else self._version(data["version"])

    # ================================================================ compare and diff
    def compare(self, refs_or_model, *, goals: dict | None = None, limit: int = 1000):
        from .core.compare import Comparison
        from .core.refs import Ref, parse_ref

        params = {"goals": ",".join(f"{k}:{v}" for k, v in (goals or {}).items()) or None, "limit": limit}
        if isinstance(refs_or_model, str) and parse_ref(refs_or_model) == Ref(parse_ref(refs_or_model).name):
            params["model"] = refs_or_model
        else:
            refs = [refs_or_model] if isinstance(refs_or_model, str) else list(refs_or_model)
            if not refs:
                raise errors.ValidationError("compare needs a model name or at least one ref")
            for r in refs:
                parse_ref(r)
            params["refs"] = ",".join(refs)
        return Comparison.from_dict(self._call("GET", "/compare", params=params))

    def diff(self, a: str, b: str):
        from .core.compare import Diff

        return Diff.from_dict(self._call("GET", "/diff", params={"a": a, "b": b}))

    # ================================================================ comments and reviews
    def comment(self, ref: str, body: str, *, anchor: str | None = None, reply_to: int | None = None):
        return _comment(self._call("POST", "/comments",
                                   body=_present(ref=ref, body=body, anchor=anchor, reply_to=reply_to)))

    def review(self, ref: str, verdict: str, body: str = ""):
        self._require_verified("review" if verdict != "approve" else "approve")
        return _comment(self._call("POST", "/reviews", body={"ref": ref, "verdict": verdict, "body": body}))

    def comments(self, ref: str):
        from .core.entities import Results

        data = self._call("GET", "/comments", params={"ref": ref})
        return Results([_comment(c) for c in data["comments"]], title=f"comments on {ref}")

    def edit_comment(self, comment_id: int, body: str):
        return _comment(self._call("PATCH", f"/comments/{_comment_id(comment_id)}", body={"body": body}))

    def delete_comment(self, comment_id: int):
        return _comment(self._call("DELETE", f"/comments/{_comment_id(comment_id)}"))

    def comment_history(self, comment_id: int) -> list[dict]:
        return self._call("GET", f"/comments/{_comment_id(comment_id)}/history")["edits"]

    def review_state(self, ref: str) -> dict:
        return self._call("GET", "/review-state", params={"ref": ref})

    # ================================================================ promotions
    def check(self, ref: str, alias: str):
        from .core.entities import GateReport

        return GateReport.from_dict(self._call("POST", "/check", body={"ref": ref, "alias": alias}))

    def promote(self, ref: str, alias: str, *, reason: str | None = None, force: bool = False):
        return _move(self._call("POST", "/promote", body=_present(ref=ref, alias=alias, reason=reason, force=force)))

    def rollback(self, alias_ref: str, *, reason: str | None = None):
        return _move(self._call("POST", "/rollback", body=_present(ref=alias_ref, reason=reason)))

    def get_policy(self, name: str, alias: str):
        from .core.entities import Policy

        return Policy.from_dict(self._call("GET", f"/policies/{_q(name)}/{_q(alias)}"))

    def set_policy(self, name: str, alias: str, policy):
        from .core.entities import Policy

        body = policy.to_dict() if hasattr(policy, "to_dict") else policy
        return Policy.from_dict(self._call("PUT", f"/policies/{_q(name)}/{_q(alias)}", body=body))

    def activity(self, model: str | None = None, *, since=None, limit: int = 100):
        from .core.entities import ActivityItem, Results

        if since is not None and not (isinstance(since, int) and not isinstance(since, bool)):
            since = _when(since)
        data = self._call("GET", "/activity", params={"model": model, "since": since, "limit": limit})
        return Results([ActivityItem.from_dict(i) for i in data["items"]], title="activity")

    # ================================================================ versioning, cards, evaluations
    def revert(self, ref: str, *, reason: str | None = None, description: str | None = None):
        return self._version(self._call("POST", "/revert", body=_present(ref=ref, reason=reason,
                                                                         description=description)))

    def rename_model(self, name: str, new_name: str, *, force: bool = False, reason: str | None = None):
        from .core.entities import Model

        return Model.from_dict(self._call("POST", f"/models/{_q(name)}/rename",
                                          body=_present(name=new_name, force=force, reason=reason)))

    def delete_model(self, name: str, *, force: bool = False, reason: str | None = None) -> dict:
        return self._call("POST", f"/models/{_q(name)}/delete", body=_present(force=force, reason=reason))

    def release_name(self, name: str, *, reason: str | None = None) -> str:
        return self._call("DELETE", f"/retired-names/{_q(name)}", params={"reason": reason})["released"]

    def set_card(self, name_or_ref: str, markdown: str):
        from .core.cards import CardText

        return CardText.from_dict(self._call("PUT", f"/cards/{_q(name_or_ref)}", body={"body": markdown}))

    def card(self, name_or_ref: str, *, draft: bool = False):
        from .core.cards import CardText

        return CardText.from_dict(self._call("GET", f"/cards/{_q(name_or_ref)}", params={"draft": int(bool(draft))}))

    def card_history(self, name_or_ref: str):
        from .core.cards import CardText
        from .core.entities import Results

        data = self._call("GET", f"/cards/{_q(name_or_ref)}/history")
        return Results([CardText.from_dict(c) for c in data["cards"]], title=f"card history of {name_or_ref}")

    def log_metrics(self, ref: str, metrics: dict, *, dataset: str, data=None, fingerprint: str | None = None,
                    code: dict | None = None):
        """See :meth:`nbregistry.Registry.log_metrics`; ``data`` is fingerprinted here, only the hash is sent."""
        from .core.evaluations import Evaluation, dataset_fingerprint

        if data is not None:
            if fingerprint is not None:
                raise errors.ValidationError("give data or fingerprint, not both")
            fingerprint = dataset_fingerprint(data)[0]
        body = _present(ref=ref, metrics=metrics, dataset=dataset, fingerprint=fingerprint, code=code)
        return Evaluation.from_dict(self._call("POST", "/evaluations", body=body))

    def evaluations(self, ref_or_model: str, *, dataset: str | None = None):
        from .core.entities import Results
        from .core.evaluations import Evaluation

        data = self._call("GET", "/evaluations", params={"ref": ref_or_model, "dataset": dataset})
        return Results([Evaluation.from_dict(e) for e in data["evaluations"]], title=f"evaluations of {ref_or_model}")

    def evaluate(self, refs_or_model, *, data: tuple, metrics: dict, name: str | None = None,
                 method: str = "predict", trust: bool = False):
        """See :meth:`nbregistry.Registry.evaluate`: the versions are downloaded and scored HERE (same trust
        rule), and the results are recorded on the server as logged evaluations with the data's fingerprint."""
        from .core.entities import Results
        from .core.evaluations import (code_record, compute_metrics, dataset_fingerprint, metric_functions,
                                       validate_dataset)
        from .core.refs import Ref, parse_ref

        if not (isinstance(data, tuple) and len(data) == 2):
            raise errors.ValidationError("data must be a tuple (X, y): the inputs and the true values")
        functions = metric_functions(metrics, method)
        if isinstance(refs_or_model, str) and parse_ref(refs_or_model) == Ref(parse_ref(refs_or_model).name):
            versions = list(self.list_versions(refs_or_model, archived=False, limit=10_000))
        else:
            refs = [refs_or_model] if isinstance(refs_or_model, str) else list(refs_or_model)
            versions = [self.get(r) for r in refs]
        if not versions:
            raise errors.ValidationError(f"{refs_or_model} has no versions to evaluate")
        sha = dataset_fingerprint(data)[0]
        name = validate_dataset(name) if name is not None else f"data-{sha[:12]}"
        computed = compute_metrics(self, versions, data, functions, trust=trust)
        code = code_record(functions)
        return Results([self.log_metrics(v.ref, values, dataset=name, fingerprint=sha, code=code)
                        for v, values in computed],
                       title=f"evaluations on {name}")

    # ================================================================ integrity
    def verify(self, *, fast: bool = False, progress=None):
        from .core.entities import VerifyReport

        return VerifyReport.from_dict(self._call("GET", "/verify", params={"fast": int(bool(fast))}))

    def gc(self, *, grace: float = 3600.0, dry_run: bool = False):
        from .core.entities import GCReport

        return GCReport.from_dict(self._call("POST", "/gc", body={"grace": grace, "dry_run": bool(dry_run)}))

    def reproduce(self, ref: str, path=None, *, trust: bool = False):
        """See :meth:`nbregistry.Registry.reproduce` (built from ``get``, so it works remotely too)."""
        from .core.reproduce import ReproduceMixin

        return ReproduceMixin.reproduce(self, ref, path, trust=trust)

    def predict(self, ref: str, data, *, method: str = "predict", chunk_size: int = 10_000, trust: bool = False,
                positional: bool = False, progress=None):
        """Batch scoring here, with a version loaded from the server (see ``Registry.predict``)."""
        from .core.batch import predict

        return predict(self, ref, data, method=method, chunk_size=chunk_size, trust=trust, positional=positional,
                       progress=progress)

    # ================================================================ server-side only
    def _server_only(self, verb: str):
        raise errors.PermissionDenied(f"{verb} is not available over the REST API: run `nbregistry {verb}` "
                                      f"on the server against its registry folder")

    def export(self, ref_or_model, dest, *, format: str = "bundle", trust: bool = False, port: int = 8080,
               serialization: str = "cloudpickle"):
        self._server_only("export")

    def import_bundle(self, path):
        self._server_only("import")

    def copy_to(self, target, *, progress=None):
        self._server_only("move")

    def import_mlflow(self, uri: str, *, models: list[str] | None = None):
        self._server_only("import")

    def add_webhook(self, url: str, *, events: str = "*", model: str | None = None, secret: str | None = None,
                    description: str = ""):
        self._server_only("webhook")

    def get_webhook(self, webhook_id: int):
        self._server_only("webhook")

    def list_webhooks(self):
        self._server_only("webhook")

    def remove_webhook(self, webhook_id: int) -> int:
        self._server_only("webhook")

    def test_webhook(self, webhook_id: int):
        self._server_only("webhook")

    def webhook_deliveries(self, webhook_id: int | None = None, *, limit: int = 100):
        self._server_only("webhook")

    def deliver_webhooks(self) -> dict:
        self._server_only("webhook")

    # ================================================================ helpers
    def _version(self, data: dict):
        from .core.entities import ModelVersion

        version = ModelVersion.from_dict(data)
        version.registry = self
        return version


class _ProgressReader:
    """A file wrapper for the upload body that reports progress in artifact bytes (as a local
    registration does), in proportion to the body bytes sent; the total is exact at the end."""

    def __init__(self, f, size: int, payload: int, progress):
        self.f, self.size, self.payload, self.progress = f, size, payload, progress
        self.sent = self.reported = 0

    def __len__(self) -> int:  # so requests sends Content-Length, not chunks
        return self.size

    def read(self, n=-1):
        chunk = self.f.read(n)
        if chunk:
            self.sent += len(chunk)
            due = self.payload * self.sent // self.size if self.size else 0
            if due > self.reported:
                self.progress(due - self.reported)
                self.reported = due
        return chunk


def pack_upload(out, entries: Iterable, meta: dict) -> None:
    """Write the upload tar (``nbregistry.json`` + ``files/<path>``) to the binary file ``out``."""
    from .core.objects import safe_relpath

    with tarfile.open(fileobj=out, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        raw = json.dumps(meta, default=str).encode()
        info = tarfile.TarInfo("nbregistry.json")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for rel, src in entries:
            src = Path(src)
            if src.is_symlink() or not src.is_file():
                raise errors.ValidationError(f"artifact {rel!r}: {src} is not a regular file (symlinks are refused)")
            info = tarfile.TarInfo("files/" + safe_relpath(rel))
            info.size = src.stat().st_size
            info.mode = 0o755 if os.stat(src).st_mode & 0o100 else 0o644
            with open(src, "rb") as f:
                tar.addfile(info, f)


def _error(resp) -> RegistryError:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    message = body.get("message") or f"HTTP {resp.status_code} from the registry server"
    cls = getattr(errors, str(body.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, RegistryError)):
        cls = _BY_CODE.get(body.get("code"))
    if cls is None:
        cls = errors.NotFound if resp.status_code == 404 else ServerUnavailable
    if resp.status_code == 401:
        message += " (check NBREGISTRY_TOKEN)"
    if issubclass(cls, errors.PolicyRefused):
        from .core.entities import GateReport

        report = body.get("report")
        return cls(message, GateReport.from_dict(report) if report else None)
    return cls(message)


def _check_artifact_answer(info: dict) -> None:
    """Refuse an ``/artifact`` answer whose hash, file names or sizes could not have come from a
    registry: they are used as cache paths and must never leave the cache."""
    from .core.objects import SHA_RE, safe_relpath

    ref = info.get("ref")
    sha = info.get("sha256")
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise errors.IntegrityError(f"the server answered an artifact hash {sha!r} for {ref}: not a sha256 digest")
    files = info.get("files")
    if not isinstance(files, list) or not isinstance(info.get("meta"), dict):
        raise errors.IntegrityError(f"the server's answer for {ref} lists no files")
    seen: set = set()
    folders: set = set()
    for entry in files:
        if not isinstance(entry, dict):
            raise errors.IntegrityError(f"the server's answer for {ref} holds a malformed file entry")
        try:
            path = safe_relpath(entry.get("path"))
        except errors.ValidationError as exc:
            raise errors.IntegrityError(f"the server answered an unsafe file name for {ref}: {exc}") from None
        parents = {path.rsplit("/", i)[0] for i in range(1, path.count("/") + 1)}
        if path in seen or path in folders or parents & seen:
            raise errors.IntegrityError(f"the server's answer for {ref} lists {path!r} twice or as file and folder")
        seen.add(path)
        folders |= parents
        if not isinstance(entry.get("sha256"), str) or not SHA_RE.fullmatch(entry["sha256"]):
            raise errors.IntegrityError(f"the server answered a file hash {entry.get('sha256')!r} for {ref}")
        if not isinstance(entry.get("size"), int) or isinstance(entry["size"], bool) or entry["size"] < 0:
            raise errors.IntegrityError(f"the server answered a file size {entry.get('size')!r} for {ref}")


def _file_ok(path: Path, entry: dict, progress=None) -> bool:
    try:
        if path.stat().st_size != entry["size"]:
            return False
    except OSError:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest() == entry["sha256"]


def _q(text: str) -> str:
    if not isinstance(text, str) or not text:
        raise errors.InvalidRef(f"invalid ref {text!r}: expected 'name', 'name:VERSION' or 'name@ALIAS'")
    return quote(text, safe="")


def _comment_id(value) -> int:
    from .core.collab import _comment_id as check  # the core's rule, so both kinds refuse alike

    return check(value)


def _when(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _present(**fields) -> dict:
    return {k: v for k, v in fields.items() if v is not None}


def _move(data: dict):
    from .core.entities import AliasMove

    return AliasMove.from_dict(data)


def _comment(data: dict):
    from .core.entities import Comment

    return Comment.from_dict(data)


def _retry_policy(retries: int):
    """urllib3's Retry for the client: GET/HEAD retried on connection and read errors and on 502/503/504
    (honouring Retry-After), with exponential backoff up to 8 s; other methods only on errors raised
    before the request was sent (connection refused, connect timeout), which the server never saw."""
    from urllib3.util.retry import Retry

    return Retry(total=retries, connect=retries, read=retries, status=retries, other=0,
                 backoff_factor=0.25, backoff_max=8, status_forcelist=(502, 503, 504),
                 allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}), raise_on_status=False,
                 respect_retry_after_header=True)
