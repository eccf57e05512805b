"""Content-addressed blob storage: ``objects/<ab>/<sha256>``.

Blobs are written into ``tmp/`` while being hashed in one pass, fsynced, then moved into place with
``os.replace`` and made read-only. Identical content is stored once. A directory is stored as its
files' blobs plus a *manifest* blob listing them (see docs/schema.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Iterator

from .errors import IntegrityError, NotFound, ValidationError

CHUNK = 1 << 20
POOL_BUFFERS = 8
PARALLEL_HASH_BYTES = 32 << 20
SHA_RE = re.compile(r"[0-9a-f]{64}")
MANIFEST_FORMAT = "nbregistry.tree/1"

Progress = Callable[[int], None]
"""Called with the number of bytes just processed."""


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


class ObjectStore:
    """Blobs of one registry root."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    # -- paths -------------------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
            raise ValidationError(f"not a sha256 digest: {sha!r}")
        return self.objects / sha[:2] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    # -- writing -----------------------------------------------------------------------------
    def put_file(self, src: os.PathLike | str, *, progress: Progress | None = None) -> Blob:
        """Copy ``src`` into the store, hashing it in the same pass."""
        with open(src, "rb") as f:
            return self.put_stream(f, progress=progress, size_hint=os.fstat(f.fileno()).st_size)

    def put_bytes(self, data: bytes) -> Blob:
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix="blob-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return self._install(tmp, hashlib.sha256(data).hexdigest(), len(data))
        finally:
            _unlink_quiet(tmp)

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
                    sha, size = _copy_hashing_inline(f, out, progress)
                else:
                    sha, size = _copy_hashing_in_thread(f, out, progress)
                out.flush()
                os.fsync(out.fileno())
            return self._install(tmp, sha, size)
        finally:
            _unlink_quiet(tmp)

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
        _fsync_dir(final.parent)
        return Blob(sha, size, new=True)

    def put_tree(self, entries: Iterable[tuple[str, Path]], *, progress: Progress | None = None) -> tuple[Blob, dict]:
        """Store files given as ``(relative path, source path)`` and a manifest listing them.

        Returns the manifest blob and the manifest itself.
        """
        files = {}
        for rel, src in entries:
            rel = safe_relpath(rel)
            if rel in files:
                raise ValidationError(f"artifact path {rel!r} given twice")
            src = Path(src)
            if src.is_symlink() or not src.is_file():
                raise ValidationError(f"artifact {rel!r}: {src} is not a regular file (symlinks are refused)")
            blob = self.put_file(src, progress=progress)
            mode = 0o755 if os.stat(src).st_mode & stat.S_IXUSR else 0o644
            files[rel] = {"path": rel, "sha256": blob.sha256, "size": blob.size, "mode": mode}
        manifest = {"format": MANIFEST_FORMAT, "files": [files[k] for k in sorted(files)]}
        return self.put_bytes(manifest_bytes(manifest)), manifest

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
        digest = hashlib.sha256()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        with open(path, "rb") as f:
            while n := f.readinto(buf):
                digest.update(view[:n])
                if progress:
                    progress(n)
        return digest.hexdigest()

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
        if self.hash_file(path, progress) != sha:
            return "content does not match its hash"
        return None

    def checkout(self, manifest_sha: str, *, progress: Progress | None = None) -> Path:
        """Materialize a manifest's files as a read-only folder and return it, every file verified.

        The files are *copies* of the blobs (reflinks where the filesystem can, see :func:`copy_blob`),
        never hard links: writing through a loaded path changes only that copy. The folder lives
        under ``tmp/checkouts/<manifest sha>``; a folder already there is reused only when every file
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
                    copy_blob(self.path(sha), dest)
                except FileNotFoundError:
                    raise IntegrityError(f"artifact file {rel!r} (blob {sha[:12]}…) is missing") from None
                problem = _file_problem(dest, entry, progress, self)
                if problem:
                    raise IntegrityError(f"artifact file {rel!r} (blob {sha[:12]}…) is {problem}")
                os.chmod(dest, 0o555 if entry.get("mode", 0o644) & stat.S_IXUSR else 0o444)
            _replace_dir(staging, final, self.tmp / "checkouts")
        finally:
            if staging.exists():
                _rmtree_readonly(staging)
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
        return all(not (folder / rel).is_symlink() and not _file_problem(folder / rel, entry, progress, self)
                   for rel, entry in entries)

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
        cutoff = time.time() - older_than
        removed = 0
        for p in list(self.tmp.iterdir()):
            try:
                if p.lstat().st_mtime >= cutoff:
                    continue
                if p.is_dir() and not p.is_symlink():
                    if p.name == "checkouts":
                        for co in list(p.iterdir()):
                            if co.lstat().st_mtime < cutoff:
                                shutil.rmtree(co, ignore_errors=True)
                                removed += 1
                        continue
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed


def _copy_hashing_inline(f, out, progress: Progress | None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    readinto = getattr(f, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            chunk = view[:n]
        else:
            chunk = f.read(CHUNK)
            n = len(chunk)
        if not n:
            return digest.hexdigest(), size
        digest.update(chunk)
        out.write(chunk)
        size += n
        if progress:
            progress(n)


def _copy_hashing_in_thread(f, out, progress: Progress | None) -> tuple[str, int]:
    """Read and write here while a second thread hashes. Buffers come from a small pool and go back
    once hashed, so no chunk is allocated (and page-faulted) per read."""
    digest, size = hashlib.sha256(), 0
    free: queue.Queue = queue.Queue()
    filled: queue.Queue = queue.Queue()
    for _ in range(POOL_BUFFERS):
        free.put(bytearray(CHUNK))

    def hash_chunks() -> None:
        while (item := filled.get()) is not None:
            buf, n = item
            digest.update(memoryview(buf)[:n])
            free.put(buf)

    hasher = threading.Thread(target=hash_chunks, name="nbregistry-sha256", daemon=True)
    hasher.start()
    readinto = getattr(f, "readinto", None)
    try:
        while True:
            buf = free.get()
            if readinto is not None:
                n = readinto(buf)
            else:
                data = f.read(CHUNK)
                n = len(data)
                buf[:n] = data
            if not n:
                break
            filled.put((buf, n))
            out.write(memoryview(buf)[:n])  # the hasher only reads this buffer too
            size += n
            if progress:
                progress(n)
    finally:
        filled.put(None)
        hasher.join()
    return digest.hexdigest(), size


def _file_problem(path: Path, entry: dict, progress: Progress | None, store: "ObjectStore") -> str | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size != entry["size"]:
        return f"size {size} != recorded {entry['size']}"
    if store.hash_file(path, progress) != entry["sha256"]:
        return "content does not match its hash"
    return None


FICLONE = 0x40049409  # linux/fs.h: share the source's extents (copy-on-write) on btrfs, XFS, ...


def copy_blob(src: Path, dest: Path) -> None:
    """Copy ``src`` to a new file ``dest``: a reflink where the filesystem supports one (the copy
    shares blocks until either side is written), else ``copy_file_range``, else a plain copy.
    Never a hard link."""
    with open(src, "rb") as fin, open(dest, "xb") as fout:
        try:
            import fcntl

            fcntl.ioctl(fout.fileno(), FICLONE, fin.fileno())
            return
        except (ImportError, OSError):
            pass
        remaining = os.fstat(fin.fileno()).st_size
        try:
            while remaining > 0:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), min(remaining, 1 << 30))
                if n == 0:
                    break
                remaining -= n
            if remaining == 0:
                return
        except (AttributeError, OSError):
            pass
        fin.seek(0)
        fout.seek(0)
        fout.truncate()
        shutil.copyfileobj(fin, fout, CHUNK)


def _replace_dir(staging: Path, final: Path, parent: Path) -> None:
    """Put ``staging`` at ``final``; an existing ``final`` is moved aside first (then removed)."""
    try:
        os.rename(staging, final)
        return
    except OSError:
        if not final.exists():
            raise
    aside = Path(tempfile.mkdtemp(dir=parent, prefix=".old-"))
    try:
        os.rename(final, aside / "stale")
    except FileNotFoundError:
        pass
    try:
        os.rename(staging, final)
    except OSError:  # another process put a fresh checkout there meanwhile: use theirs
        if not final.is_dir():
            raise
    finally:
        _rmtree_readonly(aside)


def _rmtree_readonly(path: Path) -> None:
    """``rmtree`` that also removes read-only files and folders (checkouts are read-only)."""

    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
