"""Content-addressed blob storage behind one interface, :class:`BlobStore`.

A blob is named by the sha256 of its bytes. Identical content is stored once. A directory is stored
as its files' blobs plus a *manifest* blob listing them (see docs/schema.md). Two backends:

- ``folder`` (the default, :class:`~nbregistry.core.objects.folder.ObjectStore`): ``<root>/objects/<ab>/<sha256>``;
- ``s3`` (:class:`~nbregistry.core.objects.s3.S3Store`, needs boto3): ``s3://bucket/prefix`` holding
  ``<prefix>/objects/<ab>/<sha256>``.

Both keep local staging files and checkouts in ``<root>/tmp``. :func:`open_object_store` picks one
from a URL or path; ``s3`` (and boto3) is imported only when an ``s3://`` URL is given.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from ..errors import IntegrityError, ValidationError
from .local import CHUNK, Progress, file_problem, hash_file, replace_dir, rmtree_readonly

SHA_RE = __import__("re").compile(r"[0-9a-f]{64}")
MANIFEST_FORMAT = "nbregistry.tree/1"
OBJECTS_ENV = "NBREGISTRY_OBJECTS"


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int
    new: bool  # False when identical content was already stored


def safe_relpath(path: str) -> str:
    """Return ``path`` as a normalized relative POSIX path, or raise if it could escape its folder."""
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path:
        raise ValidationError(f"unsafe artifact path {path!r}: use a relative path with '/' separators")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in path.split("/")):
        raise ValidationError(f"unsafe artifact path {path!r}: absolute paths and '.'/'..' parts are refused")
    if len(path) > 1024:
        raise ValidationError(f"artifact path too long ({len(path)} characters, at most 1024)")
    return str(pure)


def check_sha(sha: Any) -> str:
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise ValidationError(f"not a sha256 digest: {sha!r}")
    return sha


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


class BlobStore(ABC):
    """The operations the core uses on blobs (registry, registration, verify, gc, checkout,
    import/export, server upload). ``tmp`` is a local folder for staging files and checkouts.

    gc safety (every backend): gc deletes only while holding the metadata database's write lock,
    and a registration checks that every blob it references :meth:`exists` under that same lock
    before it commits (re-storing what vanished). So a backend needs ``exists`` to be strongly
    consistent after ``remove`` (S3 and MinIO are), and one store belongs to one metadata database.
    """

    local = False  # True: blobs are read from this machine's disk (no network round trip)

    tmp: Path
    url: str

    # -- the backend's operations -------------------------------------------------------------
    @abstractmethod
    def exists(self, sha: str) -> bool: ...

    @abstractmethod
    def put_stream(self, f, *, progress: Progress | None = None, size_hint: int | None = None) -> Blob:
        """Store a binary file object's content, hashing it on the way."""

    @abstractmethod
    def put_bytes(self, data: bytes) -> Blob: ...

    @abstractmethod
    def install(self, path: os.PathLike | str, sha: str) -> Blob:
        """Store a staged local file the caller has already hashed to ``sha`` (the file may be moved)."""

    @abstractmethod
    def read_bytes(self, sha: str) -> bytes:
        """A (small) blob's content, its hash verified."""

    @abstractmethod
    def open(self, sha: str):
        """A binary file object streaming the blob (not re-hashed: callers hash as they read)."""

    @abstractmethod
    def check(self, sha: str, size: int | None = None, *, fast: bool = False,
              progress: Progress | None = None) -> str | None:
        """``None`` when the blob is intact (re-hashed; size only with ``fast``), else what is wrong."""

    @abstractmethod
    def iter_blobs(self) -> Iterator[tuple[str, Any]]:
        """``(sha, backend handle)`` of every stored blob."""

    @abstractmethod
    def blob_stat(self, sha: str) -> tuple[int, float] | None:
        """``(size, modification time)`` of a stored blob, or ``None`` when it is gone."""

    @abstractmethod
    def remove(self, sha: str) -> int:
        """Delete a blob; returns the bytes freed (0 when it was not there)."""

    @abstractmethod
    def clean_tmp(self, older_than: float) -> int:
        """Remove staging leftovers (local and the backend's own) older than ``older_than`` seconds."""

    @abstractmethod
    def fetch_to(self, sha: str, dest: Path, progress: Progress | None = None) -> bool:
        """Write the blob to a new local file ``dest``. Returns True when it was hashed on the way
        and matched (then the caller need not re-hash it). Raises FileNotFoundError when missing."""

    # -- shared on top of them ----------------------------------------------------------------
    def put_file(self, src: os.PathLike | str, *, progress: Progress | None = None) -> Blob:
        """Copy ``src`` into the store, hashing it in the same pass."""
        with open(src, "rb") as f:
            return self.put_stream(f, progress=progress, size_hint=os.fstat(f.fileno()).st_size)

    def put_tree(self, entries: Iterable[tuple[str, Path]], *, progress: Progress | None = None) -> tuple[Blob, dict]:
        """Store files given as ``(relative path, source path or a Blob already in this store)`` and a
        manifest listing them.

        Returns the manifest blob and the manifest itself.
        """
        files = {}
        for rel, src in entries:
            rel = safe_relpath(rel)
            if rel in files:
                raise ValidationError(f"artifact path {rel!r} given twice")
            if isinstance(src, Blob):  # already streamed into this store (registering from a URI)
                files[rel] = {"path": rel, "sha256": src.sha256, "size": src.size, "mode": 0o644}
                continue
            src = Path(src)
            if src.is_symlink() or not src.is_file():
                raise ValidationError(f"artifact {rel!r}: {src} is not a regular file (symlinks are refused)")
            blob = self.put_file(src, progress=progress)
            mode = 0o755 if os.stat(src).st_mode & stat.S_IXUSR else 0o644
            files[rel] = {"path": rel, "sha256": blob.sha256, "size": blob.size, "mode": mode}
        manifest = {"format": MANIFEST_FORMAT, "files": [files[k] for k in sorted(files)]}
        return self.put_bytes(manifest_bytes(manifest)), manifest

    def read_manifest(self, sha: str) -> dict:
        try:
            manifest = json.loads(self.read_bytes(sha))
        except (UnicodeDecodeError, ValueError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
                or not isinstance(manifest.get("files"), list):
            raise IntegrityError(f"blob {sha} is not a manifest")
        return manifest

    def hash_file(self, path: Path, progress: Progress | None = None) -> str:
        return hash_file(path, progress)

    def checkout(self, manifest_sha: str, *, progress: Progress | None = None) -> Path:
        """Materialize a manifest's files as a read-only local folder and return it, every file verified.

        The files are *copies* of the blobs (reflinks where the filesystem can), never hard links:
        writing through a loaded path changes only that copy. The folder lives under
        ``tmp/checkouts/<manifest sha>``; a folder already there is reused only when every file
        still hashes to the manifest and nothing was added, otherwise a fresh one replaces it (the
        old one is moved aside, so whoever holds it keeps their copy). Raises
        :class:`IntegrityError` when a blob is missing or does not match its hash.
        """
        manifest = self.read_manifest(manifest_sha)
        entries = [(safe_relpath(e["path"]), e) for e in manifest["files"]]
        final = self.tmp / "checkouts" / manifest_sha
        if final.is_dir() and self._checkout_intact(final, entries, progress):
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=".co-"))
        try:
            for rel, entry in entries:
                sha = entry["sha256"]
                dest = staging / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    verified = self.fetch_to(check_sha(sha), dest, progress)
                except FileNotFoundError:
                    raise IntegrityError(f"artifact file {rel!r} (blob {sha[:12]}…) is missing") from None
                problem = None if verified and dest.stat().st_size == entry["size"] \
                    else file_problem(dest, entry, progress)
                if problem:
                    raise IntegrityError(f"artifact file {rel!r} (blob {sha[:12]}…) is {problem}")
                os.chmod(dest, 0o555 if entry.get("mode", 0o644) & stat.S_IXUSR else 0o444)
            replace_dir(staging, final, self.tmp / "checkouts")
        finally:
            if staging.exists():
                rmtree_readonly(staging)
        return final

    def _checkout_intact(self, folder: Path, entries: list, progress: Progress | None) -> bool:
        """Whether an existing checkout holds exactly the manifest's files with their hashes."""
        expected = {rel for rel, _ in entries}
        try:
            present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}
        except OSError:
            return False
        if present != expected:
            return False
        return all(not (folder / rel).is_symlink() and not file_problem(folder / rel, entry, progress)
                   for rel, entry in entries)


def open_object_store(url_or_path: str | os.PathLike | None, *, root: Path) -> BlobStore:
    """The object store of a registry whose metadata lives in ``root``.

    ``None`` (or ``""``): ``$NBREGISTRY_OBJECTS`` if set, else the folder store in ``root``.
    ``s3://bucket/prefix``: the S3-compatible store (AWS env vars, ``AWS_ENDPOINT_URL`` for MinIO).
    A path or ``file://`` URL: a folder store there (its ``tmp/`` stays in ``root``).
    """
    spec = url_or_path if url_or_path not in (None, "") else os.environ.get(OBJECTS_ENV) or None
    root = Path(root)
    if spec is None:
        return ObjectStore(root)
    spec = os.fspath(spec)
    if spec.startswith("s3://"):
        from .s3 import S3Store

        return S3Store(spec, tmp=root / "tmp")
    if "://" in spec and not spec.startswith("file://"):
        raise ValidationError(f"unknown object store {spec!r}: use a folder, file:// or s3://bucket/prefix")
    folder = Path(spec[len("file://"):] if spec.startswith("file://") else spec).expanduser()
    return ObjectStore(folder, tmp=root / "tmp") if folder != root else ObjectStore(root)


from .folder import PARALLEL_HASH_BYTES, ObjectStore, copy_blob  # noqa: E402 - the default backend needs the interface above

__all__ = ["Blob", "BlobStore", "CHUNK", "MANIFEST_FORMAT", "ObjectStore", "Progress", "SHA_RE", "check_sha",
           "copy_blob", "manifest_bytes", "open_object_store", "safe_relpath"]
