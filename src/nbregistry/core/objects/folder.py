"""The folder object store (the default): ``<root>/objects/<ab>/<sha256>``.

Blobs are written into ``tmp/`` while being hashed in one pass, fsynced, then moved into place with
``os.replace`` and made read-only. Identical content is stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import IntegrityError, NotFound
from . import SHA_RE, Blob, BlobStore, check_sha
from .local import (Progress, clean_local_tmp, copy_blob, copy_hashing_in_thread, copy_hashing_inline, fsync_dir,
                    hash_file, unlink_quiet)

PARALLEL_HASH_BYTES = 32 << 20

__all__ = ["ObjectStore", "copy_blob"]


class ObjectStore(BlobStore):
    """Blobs in a folder (``root/objects``); staging and checkouts in ``tmp`` (default ``root/tmp``)."""

    local = True

    def __init__(self, root: Path, *, tmp: Path | None = None):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = Path(tmp) if tmp is not None else self.root / "tmp"
        self.url = str(self.root)
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    # -- paths -------------------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        """The blob's file (this backend only; the core goes through the interface)."""
        return self.objects / check_sha(sha)[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    # -- writing -----------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> Blob:
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return self._install(tmp, hashlib.sha256(data).hexdigest(), len(data))
        finally:
            unlink_quiet(tmp)

    def put_stream(self, f, *, progress: Progress | None = None, size_hint: int | None = None) -> Blob:
        """Write a binary file object's content into the store (one pass: read, hash, write).

        From ``PARALLEL_HASH_BYTES`` on (or when the size is unknown), sha256 runs in a second thread
        while this one reads and writes: both release the GIL, so a big artifact costs about the
        slower of hashing and copying rather than their sum.
        """
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                if size_hint is not None and size_hint < PARALLEL_HASH_BYTES:
                    sha, size = copy_hashing_inline(f, out, progress)
                else:
                    sha, size = copy_hashing_in_thread(f, out, progress)
                out.flush()
                os.fsync(out.fileno())
            return self._install(tmp, sha, size)
        finally:
            unlink_quiet(tmp)

    def install(self, path: os.PathLike | str, sha: str) -> Blob:
        """Move a staged file whose content the caller has already hashed to ``sha`` into place."""
        self.path(sha)  # validates the digest
        return self._install(str(path), sha, os.stat(path).st_size)

    def _install(self, tmp: str, sha: str, size: int) -> Blob:
        final = self.path(sha)
        if final.is_file():
            # Dedup. Refresh mtime so a concurrent gc sees the blob as recently used.
            try:
                os.utime(final)
            except OSError:
                pass
            return Blob(sha, size, new=False)
        final.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, final)
        fsync_dir(final.parent)
        return Blob(sha, size, new=True)

    # -- reading -----------------------------------------------------------------------------
    def read_bytes(self, sha: str) -> bytes:
        """Read a (small) blob, verifying its hash."""
        try:
            data = self.path(sha).read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"blob {sha} is missing from the object store") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise IntegrityError(f"blob {sha} is corrupted: its content no longer matches its hash")
        return data

    def check(self, sha: str, size: int | None = None, *, fast: bool = False, progress: Progress | None = None) -> str | None:
        """Return ``None`` when the blob is intact, else a sentence saying what is wrong."""
        path = self.path(sha)
        try:
            actual_size = path.stat().st_size
        except FileNotFoundError:
            return "missing"
        if size is not None and actual_size != size:
            return f"size {actual_size} != recorded {size}"
        if fast:
            return None
        if hash_file(path, progress) != sha:
            return "content does not match its hash"
        return None

    def fetch_to(self, sha: str, dest: Path, progress: Progress | None = None) -> bool:
        copy_blob(self.path(sha), dest)  # a reflink shares blocks: the caller re-hashes the copy
        return False

    def open(self, sha: str):
        try:
            return open(self.path(sha), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {sha} is missing from the object store") from None

    # -- maintenance -------------------------------------------------------------------------
    def iter_blobs(self) -> Iterator[tuple[str, Path]]:
        for sub in sorted(self.objects.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for p in sub.iterdir():
                    if SHA_RE.fullmatch(p.name):
                        yield p.name, p

    def blob_stat(self, sha: str) -> tuple[int, float] | None:
        try:
            st = self.path(sha).stat()
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime

    def remove(self, sha: str) -> int:
        path = self.path(sha)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        return size

    def clean_tmp(self, older_than: float) -> int:
        """Remove staging files and checkouts not touched for ``older_than`` seconds."""
        return clean_local_tmp(self.tmp, older_than)
