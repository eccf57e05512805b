"""The remote artifact cache: the files ``RemoteRegistry`` downloaded, one folder per artifact hash.

Where: ``NBREGISTRY_CACHE_DIR``, else ``<jupyter data dir>/nbregistry-cache``. How big: at most
``NBREGISTRY_CACHE_MAX`` (bytes, or with a K/M/G/T suffix; default 10G). After each download the
least recently used artifacts are evicted until the cache fits; a cached artifact is re-verified
against its recorded hashes every time it is used, so a stale or edited copy is never trusted.
``nbregistry cache`` shows and cleans it.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .core.errors import ValidationError

DEFAULT_MAX_BYTES = 10 * 1024**3
STAGING_PREFIX = ".dl-"
_SHA = re.compile(r"[0-9a-f]{64}")
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """``"500M"`` -> 524288000; plain numbers are bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([BKMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValidationError(f"a cache size is a number of bytes with an optional K/M/G/T suffix, not {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


@dataclass
class CacheEntry:
    sha256: str
    path: str
    size: int
    last_used: float

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "path": self.path, "size": self.size,
                "last_used": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_used))}


class ArtifactCache:
    def __init__(self, path: str | os.PathLike | None = None, *, max_bytes: int | None = None):
        if path is None:
            from .core.identity import jupyter_data_dir

            path = os.environ.get("NBREGISTRY_CACHE_DIR") or jupyter_data_dir() / "nbregistry-cache"
        self.path = Path(path)
        if max_bytes is None:
            env = os.environ.get("NBREGISTRY_CACHE_MAX")
            max_bytes = parse_size(env) if env else DEFAULT_MAX_BYTES
        self.max_bytes = max_bytes

    def folder(self, sha256: str) -> Path:
        """The folder of one artifact; ``sha256`` must be a hash (never a path from a server answer)."""
        if not isinstance(sha256, str) or not _SHA.fullmatch(sha256):
            raise ValidationError(f"not an artifact hash: {sha256!r}")
        return self.path / sha256

    def entries(self) -> list[CacheEntry]:
        """Cached artifacts, least recently used first."""
        if not self.path.is_dir():
            return []
        out = []
        for child in self.path.iterdir():
            if child.is_dir() and not child.is_symlink() and _SHA.fullmatch(child.name):
                out.append(CacheEntry(child.name, str(child), _tree_size(child), child.stat().st_mtime))
        return sorted(out, key=lambda e: e.last_used)

    def size(self) -> int:
        return sum(e.size for e in self.entries())

    def touch(self, sha256: str) -> None:
        """Mark an artifact as just used (its folder's mtime orders eviction)."""
        try:
            os.utime(self.folder(sha256))
        except FileNotFoundError:
            pass

    def clean(self, *, to_bytes: int = 0, keep: frozenset[str] = frozenset()) -> dict:
        """Evict least recently used artifacts (never those in ``keep``) until at most ``to_bytes``
        remain, and remove downloads left half-way by an interrupted process. Returns what it did."""
        removed, freed = 0, 0
        if self.path.is_dir():
            for child in self.path.iterdir():
                if child.name.startswith(STAGING_PREFIX) and time.time() - child.stat().st_mtime > 3600:
                    shutil.rmtree(child, ignore_errors=True)
        entries = self.entries()
        total = sum(e.size for e in entries)
        for entry in entries:
            if total <= to_bytes:
                break
            if entry.sha256 in keep:
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            removed, freed, total = removed + 1, freed + entry.size, total - entry.size
        return {"removed": removed, "freed_bytes": freed, "remaining_bytes": total, "path": str(self.path)}

    def enforce_cap(self, *, keep: frozenset[str] = frozenset()) -> dict:
        """Evict until the cache fits ``max_bytes`` (called after each download)."""
        return self.clean(to_bytes=self.max_bytes, keep=keep)


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total
