"""``POST /versions``: registration by upload, streamed to disk, size-limited and hash-verified.

The body is an uncompressed tar archive (``Content-Type: application/x-tar``):

- ``nbregistry.json``: the registration's metadata (see :data:`METADATA_FIELDS`), and
- ``files/<relative path>``: the artifact's files exactly as the flavor saved them.

The request must declare ``Content-Length`` (411 otherwise; 413 above ``NBRegistry.max_upload_bytes``,
refused before any byte is read). When the client sends ``X-NBRegistry-SHA256`` (hex sha256 of the
body) a mismatch is refused with 400. Authentication and authorization are checked in ``prepare``,
before the body is read, so an anonymous client cannot make the server store anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from tornado import web

from ..core.errors import ValidationError
from ..core.limits import loads_json
from ..core.objects import safe_relpath
from .base import MODELS, RegistryHandler

METADATA_MEMBER = "nbregistry.json"
FILES_PREFIX = "files/"
MAX_METADATA_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 100_000
SMALL_UPLOAD_BYTES = 1 << 20  # uploads up to this size are received in memory instead of a spool file
METADATA_FIELDS = {"name": str, "flavor": str, "flavor_meta": dict, "metrics": dict, "params": dict, "tags": dict,
                   "description": str, "signature": dict, "lineage": dict, "input_example": dict}


@web.stream_request_body
class UploadHandler(RegistryHandler):
    auth_resource = MODELS
    _spool = None

    def limit_body(self) -> None:
        pass  # prepare() applies max_upload_bytes instead of the JSON body limit

    async def prepare(self):
        await super().prepare()  # authentication, XSRF
        if self.request.method != "POST":
            return
        if not await ensure_async(self.authorizer.is_authorized(self, self.current_user, "write", MODELS)):
            raise web.HTTPError(403, f"User is not authorized to write on resource: {MODELS}.")
        limit = self.service.settings.max_upload_bytes
        length = self.request.headers.get("Content-Length")
        if length is None:
            raise web.HTTPError(411, "uploads must declare Content-Length")
        if not (length.isascii() and length.isdigit()):
            raise web.HTTPError(400, "bad Content-Length")
        if int(length) > limit:
            raise web.HTTPError(413, f"upload of {int(length)} bytes is larger than the limit of {limit} bytes")
        self.request.connection.set_max_body_size(limit)
        if int(length) <= SMALL_UPLOAD_BYTES:  # a small model: kept in memory, no spool file
            self._spool = (io.BytesIO(), None, hashlib.sha256())
            return
        fd, path = tempfile.mkstemp(dir=self.service.registry.objects.tmp, prefix="upload-")
        self._spool = (os.fdopen(fd, "wb"), Path(path), hashlib.sha256())

    async def data_received(self, chunk: bytes) -> None:
        if self._spool is None:
            return
        if self._spool[1] is None:  # in memory: at most SMALL_UPLOAD_BYTES, hashed as it comes
            self._spool_chunk(chunk)
            return
        # Off the event loop; tornado waits for this before reading more (back-pressure, order kept).
        await asyncio.get_running_loop().run_in_executor(self.service.blobs, self._spool_chunk, chunk)

    def _spool_chunk(self, chunk: bytes) -> None:
        spool = self._spool
        if spool is None:  # the client went away; the spool file is already gone
            return
        out, _, digest = spool
        try:
            out.write(chunk)
        except ValueError:  # closed by on_connection_close meanwhile
            return
        digest.update(chunk)

    def on_finish(self) -> None:
        self._discard()

    def on_connection_close(self) -> None:
        self._discard()
        super().on_connection_close()

    def _discard(self) -> None:
        if self._spool is not None:
            out, path, _ = self._spool
            out.close()
            if path is not None:
                path.unlink(missing_ok=True)
            self._spool = None

    @web.authenticated
    @authorized
    async def post(self):
        out, path, digest = self._spool
        archive = io.BytesIO(out.getvalue()) if path is None else path
        out.close()
        claimed = self.request.headers.get("X-NBRegistry-SHA256")
        if claimed is not None and claimed.strip().lower() != digest.hexdigest():
            raise ValidationError(f"upload corrupted: its sha256 is {digest.hexdigest()}, the client sent {claimed}")
        staging = Path(tempfile.mkdtemp(dir=self.service.registry.objects.tmp, prefix="upload-files-"))
        try:
            depth = self.service.registry.limits.json_depth

            def stage(r):
                meta = unpack(archive, staging, depth)
                self.require("register", meta["name"])  # the model-name globs of the caller's roles
                return r.stage_saved(
                    staging, meta["name"], flavor=meta["flavor"], flavor_meta=meta["flavor_meta"],
                    metrics=meta.get("metrics"), params=meta.get("params"), tags=meta.get("tags"),
                    description=meta.get("description") or "", signature=meta.get("signature"),
                    lineage=meta.get("lineage"),
                    input_example_json=None if meta.get("input_example") is None
                    else json.dumps(meta["input_example"]).encode())

            # Unpacking, the role check on the model's name (before any blob is stored) and the blob
            # bytes run in one call on the blob pool, outside the single writer and the read pool; the
            # writer only runs the short metadata transaction, so a 1 GB upload holds up nobody.
            staged = await self.move_blobs(stage)
            version = await self.change(lambda r: r.commit_staged(staged))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        data = version.to_dict()
        data["deduplicated"] = version.deduplicated
        self.reply(data, 201, plain=True)


def unpack(archive: Path | io.BytesIO, staging: Path, max_depth: int = 64) -> dict:
    """Check an upload (a file, or a small one in memory) and extract its files into ``staging``;
    return its metadata.

    Only regular files are accepted, each under ``files/`` with a safe relative path, each once, and
    no path both a file and a folder (``a`` and ``a/b``).
    """
    meta = None
    seen: set[str] = set()
    folders: set[str] = set()
    try:
        with (tarfile.open(fileobj=archive, mode="r:") if isinstance(archive, io.BytesIO)
              else tarfile.open(archive, mode="r:")) as tar:
            for count, member in enumerate(tar, 1):
                if count > MAX_MEMBERS:
                    raise ValidationError(f"upload holds more than {MAX_MEMBERS} entries")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ValidationError(f"upload entry {member.name!r} is not a regular file (links are refused)")
                if member.name == METADATA_MEMBER:
                    if member.size > MAX_METADATA_BYTES:
                        raise ValidationError("upload metadata is too large")
                    meta = _metadata(tar.extractfile(member).read(), max_depth)
                    continue
                if not member.name.startswith(FILES_PREFIX):
                    raise ValidationError(f"unexpected upload entry {member.name!r}: files go under {FILES_PREFIX}")
                rel = safe_relpath(member.name[len(FILES_PREFIX):])
                if rel in seen:
                    raise ValidationError(f"upload holds {rel!r} twice")
                parents = [rel.rsplit("/", n)[0] for n in range(1, rel.count("/") + 1)]
                clash = rel if rel in folders else next((p for p in parents if p in seen), None)
                if clash is not None:
                    raise ValidationError(f"upload holds {clash!r} both as a file and as a folder")
                seen.add(rel)
                folders.update(parents)
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if member.mode & 0o100:
                    os.chmod(dest, 0o755)
    except tarfile.TarError as exc:
        raise ValidationError(f"the upload is not a valid tar archive: {exc}") from None
    if meta is None:
        raise ValidationError(f"the upload has no {METADATA_MEMBER}")
    if not seen:
        raise ValidationError("the upload holds no artifact files")
    return meta


def _metadata(raw: bytes, max_depth: int) -> dict:
    meta = loads_json(raw, METADATA_MEMBER, max_depth=max_depth)
    if not isinstance(meta, dict):
        raise ValidationError(f"{METADATA_MEMBER} must be a JSON object")
    unknown = sorted(set(meta) - set(METADATA_FIELDS))
    if unknown:
        raise ValidationError(f"unknown metadata field(s) {', '.join(unknown)}")
    for key in ("name", "flavor", "flavor_meta"):
        if key not in meta:
            raise ValidationError(f"metadata field {key!r} is required")
    for key, kind in METADATA_FIELDS.items():
        if meta.get(key) is not None and not isinstance(meta[key], kind):
            raise ValidationError(f"metadata field {key!r} must be a {kind.__name__}")
    return meta
