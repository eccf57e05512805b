"""Local-disk helpers every object store shares: hashing while copying, verified checkouts as
read-only copies, and cleaning the local ``tmp/`` folder (staging files, checkouts)."""

from __future__ import annotations

import hashlib
import os
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

CHUNK = 1 << 20
POOL_BUFFERS = 8

Progress = Callable[[int], None]
"""Called with the number of bytes just processed."""


def hash_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb") as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            if progress:
                progress(n)
    return digest.hexdigest()


def file_problem(path: Path, entry: dict, progress: Progress | None) -> str | None:
    """``None`` when the file at ``path`` has the manifest entry's size and hash, else what is wrong."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "missing"
    if size != entry["size"]:
        return f"size {size} != recorded {entry['size']}"
    if hash_file(path, progress) != entry["sha256"]:
        return "content does not match its hash"
    return None


def clean_local_tmp(tmp: Path, older_than: float) -> int:
    """Remove staging files and checkouts under ``tmp`` not touched for ``older_than`` seconds."""
    cutoff = time.time() - older_than
    removed = 0
    for p in list(tmp.iterdir()):
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


def copy_hashing_inline(f, out, progress: Progress | None) -> tuple[str, int]:
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


def copy_hashing_in_thread(f, out, progress: Progress | None) -> tuple[str, int]:
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


def replace_dir(staging: Path, final: Path, parent: Path) -> None:
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
        rmtree_readonly(aside)


def rmtree_readonly(path: Path) -> None:
    """``rmtree`` that also removes read-only files and folders (checkouts are read-only)."""

    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


def fsync_dir(path: Path) -> None:
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


def unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
