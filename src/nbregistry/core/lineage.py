"""Lineage captured at registration without extra typing.

- environment: Python, platform and installed packages (computed once per process from package
  metadata, never through a subprocess), with the packages the process has imported flagged;
- git: commit, branch, dirty flag and remote URL (credentials stripped) when inside a repository;
- data: fingerprints (sha256, shape, columns, dtypes) of the datasets passed as ``data=``;
- notebook: an opaque slot the notebook face fills (path and the cells that produced the model).

``core/registration.py`` assembles the record (``PreparedRegistration.lineage``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

from .errors import ValidationError


@lru_cache(maxsize=1)
def _scan() -> tuple[tuple[tuple[str, str], ...], dict[str, frozenset]]:
    """Installed distributions ``((name, version), ...)`` and which top-level modules each one owns.

    Read straight from the ``*.dist-info``/``*.egg-info`` folders on ``sys.path`` (the first of a
    name wins, as with ``importlib.metadata``): the ``Name``/``Version`` headers at the top of
    METADATA, and ``top_level.txt`` or else the first component of RECORD's paths. This is what
    ``importlib.metadata.distributions()`` and ``packages_distributions()`` compute, in a tenth of
    the time (they parse every METADATA file in full with the email parser): it runs in the first
    registration of every kernel.
    """
    seen: dict[str, tuple[str, str]] = {}
    owners: dict[str, set] = {}
    for entry in sys.path:
        try:
            children = sorted(os.scandir(entry or "."), key=lambda c: c.name)
        except OSError:
            continue
        for child in children:
            if not child.name.endswith((".dist-info", ".egg-info")) or not child.is_dir():
                continue
            name, version = _name_version(Path(child.path))
            if not name or name.lower() in seen:
                continue
            seen[name.lower()] = (name, version or "")
            for top in _top_levels(Path(child.path)):
                owners.setdefault(top, set()).add(name)
    installed = tuple(sorted(seen.values(), key=lambda p: p[0].lower()))
    return installed, {top: frozenset(names) for top, names in owners.items()}


def _name_version(folder: Path) -> tuple[str | None, str | None]:
    name = version = None
    meta = folder / ("METADATA" if folder.name.endswith(".dist-info") else "PKG-INFO")
    try:
        with open(meta, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the headers end at the first blank line
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
                if name and version:
                    break
    except OSError:
        pass
    return name, version


def _top_levels(folder: Path) -> set[str]:
    try:
        return {line.strip() for line in (folder / "top_level.txt").read_text("utf-8", "replace").splitlines()
                if line.strip().isidentifier()}
    except OSError:
        pass
    tops = set()
    try:
        with open(folder / "RECORD", encoding="utf-8", errors="replace") as f:
            for line in f:
                path = line.split(",", 1)[0]
                top, slash, _ = path.partition("/")
                if not slash:
                    top = top[:-3] if top.endswith(".py") else ""
                if top.isidentifier():
                    tops.add(top)
    except OSError:
        pass
    return tops


def _installed() -> tuple[tuple[str, str], ...]:
    return _scan()[0]


# Modules that first appeared while nbregistry itself worked (a flavor saving or loading, a schema
# migration): their packages are nbregistry's doing, not the user's, and are not flagged imported.
_own_modules: set[str] = set()


@contextmanager
def own_imports():
    """Count the modules imported inside this block as nbregistry's own (see ``environment``)."""
    before = len(sys.modules)
    known = set(sys.modules) if before else set()
    try:
        yield
    finally:
        if len(sys.modules) != before:
            _own_modules.update(set(sys.modules) - known)


_imported_cache: tuple[tuple[int, int], frozenset] = ((-1, -1), frozenset())


def _imported_distributions() -> frozenset:
    """Distributions owning a module the user's code imported (sys.modules less nbregistry's own
    imports); recomputed only when either set changes size."""
    global _imported_cache
    key = (len(sys.modules), len(_own_modules))
    if _imported_cache[0] != key:
        owners = _scan()[1]
        tops = {module.partition(".")[0] for module in list(sys.modules) if module not in _own_modules}
        _imported_cache = (key, frozenset(d.lower() for top in tops for d in owners.get(top, ())))
    return _imported_cache[1]


def environment() -> dict:
    """Python, platform and packages; the package list is computed once per process."""
    imported = _imported_distributions()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": [{"name": n, "version": v, "imported": n.lower() in imported} for n, v in _installed()],
    }


def strip_credentials(url: str) -> str:
    """Remove user:password@ from a remote URL (https://token@host/x -> https://host/x)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def start_git(start: Path | None = None) -> Callable[[], dict | None]:
    """Start reading the git state of the repository holding ``start`` (or cwd) in the background.

    Returns a function that waits for the answer: commit, branch, dirty flag and origin URL, or
    ``None`` outside a repository. Registration starts this first and collects it after the model is
    serialized, so the ``git status`` subprocess overlaps with real work. ``--no-optional-locks``
    keeps it from taking ``.git/index.lock`` while the user's own git commands run.
    """
    start = Path(start or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            break
    else:
        return lambda: None
    try:
        proc = subprocess.Popen(
            ["git", "--no-optional-locks", "-C", str(folder), "status", "--porcelain=v2", "--branch",
             "--untracked-files=no"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return lambda: None

    def finish() -> dict | None:
        try:
            out, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        return _parse_git_status(out, folder) if proc.returncode == 0 else None

    return finish


def git_info(start: Path | None = None) -> dict | None:
    """Commit, branch, dirty flag and origin URL of the repository holding ``start`` (or cwd)."""
    return start_git(start)()


def _parse_git_status(out: str, folder: Path) -> dict:
    info = {"commit": None, "branch": None, "dirty": False, "remote": _origin_url(folder / ".git"),
            "root": str(folder)}
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            info["commit"] = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split()[2]
            info["branch"] = None if head == "(detached)" else head
        elif not line.startswith("#"):
            info["dirty"] = True
    return info


def _origin_url(git_dir: Path) -> str | None:
    """``remote "origin"`` url from the repository's config file, credentials stripped (no subprocess)."""
    import configparser

    if git_dir.is_file():  # worktrees and submodules: "gitdir: <path>"
        target = git_dir.read_text().partition("gitdir:")[2].strip()
        git_dir = (git_dir.parent / target).resolve()
        common = git_dir / "commondir"
        if common.is_file():
            git_dir = (git_dir / common.read_text().strip()).resolve()
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(git_dir / "config")
        url = parser.get('remote "origin"', "url", fallback=None)
    except configparser.Error:
        return None
    return strip_credentials(url) if url else None


def fingerprint(obj: Any) -> dict:
    """A content fingerprint of a dataset: DataFrame/Series, numpy array, list, or a path."""
    pd = sys.modules.get("pandas")
    np = sys.modules.get("numpy")
    if pd is not None and isinstance(obj, (pd.DataFrame, pd.Series)):
        hashed = pd.util.hash_pandas_object(obj, index=True).to_numpy()
        digest = hashlib.sha256(hashed.tobytes())
        if isinstance(obj, pd.DataFrame):
            digest.update("\x00".join(map(str, obj.columns)).encode())
            return {"kind": "dataframe", "sha256": digest.hexdigest(), "shape": list(obj.shape),
                    "columns": [str(c) for c in obj.columns], "dtypes": [str(t) for t in obj.dtypes]}
        return {"kind": "series", "sha256": digest.hexdigest(), "shape": list(obj.shape),
                "columns": [str(obj.name)], "dtypes": [str(obj.dtype)]}
    if np is not None and isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        digest = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
        if arr.dtype.hasobject:
            digest.update(repr(arr.tolist()).encode())
        else:
            digest.update(memoryview(arr).cast("B"))
        return {"kind": "ndarray", "sha256": digest.hexdigest(), "shape": list(arr.shape),
                "columns": None, "dtypes": [str(arr.dtype)]}
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            return {"kind": "file", "sha256": digest.hexdigest(), "shape": [path.stat().st_size],
                    "columns": None, "dtypes": None, "path": str(path)}
        if path.is_dir():
            digest = hashlib.sha256()
            count = 0
            for p in sorted(q for q in path.rglob("*") if q.is_file()):
                digest.update(str(p.relative_to(path)).encode() + b"\x00")
                digest.update(hashlib.sha256(p.read_bytes()).digest())
                count += 1
            return {"kind": "directory", "sha256": digest.hexdigest(), "shape": [count],
                    "columns": None, "dtypes": None, "path": str(path)}
        raise ValidationError(f"data path {str(obj)!r} does not exist")
    if isinstance(obj, (list, tuple)) and np is not None:
        return fingerprint(np.asarray(obj))
    raise ValidationError(
        f"cannot fingerprint data of type {type(obj).__name__}: pass a DataFrame, Series, array or path")


def fingerprints(data: Any) -> dict:
    """``data=`` may be one dataset, a dict of named datasets, or a list/tuple of datasets."""
    if data is None:
        return {}
    if isinstance(data, dict):
        return {str(label): fingerprint(value) for label, value in data.items()}
    if isinstance(data, (list, tuple)) and data and all(_is_dataset(item) for item in data):
        return {f"data[{i}]": fingerprint(value) for i, value in enumerate(data)}
    return {"data": fingerprint(data)}


def _is_dataset(obj) -> bool:
    kinds = [os.PathLike, str]
    for module, names in (("pandas", ("DataFrame", "Series")), ("numpy", ("ndarray",))):
        if module in sys.modules:
            kinds += [getattr(sys.modules[module], n) for n in names]
    return isinstance(obj, tuple(kinds))


# ==================================================================== environments as blobs
# A version's environment (Python, platform, installed packages with the imported ones flagged:
# ~10 KB) is the same for every version registered from one kernel once its imports settle, so it
# is stored once, as a content-addressed blob (JSON with sorted keys), and the version's lineage
# keeps only its sha256. Readers get the old shape back.
ENVIRONMENT_KEYS = ("python", "implementation", "platform", "packages")


def split_environment(lineage: dict) -> tuple[dict, bytes | None]:
    """``(stored lineage, environment blob bytes)``; the blob is ``None`` when the lineage holds no
    environment in the shape :func:`environment` writes (then it is stored as given)."""
    packages = lineage.get("packages")
    if not isinstance(packages, list) or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("version"), str)
            for p in packages):
        return lineage, None
    env = {key: lineage.get(key) for key in ENVIRONMENT_KEYS if key != "packages"}
    env["packages"] = [{"name": p["name"], "version": p["version"], "imported": bool(p.get("imported"))}
                       for p in packages]
    data = json.dumps(env, sort_keys=True, separators=(",", ":"), default=str).encode()
    rest = {k: v for k, v in lineage.items() if k not in ENVIRONMENT_KEYS}
    rest["environment"] = {"sha256": hashlib.sha256(data).hexdigest()}
    return rest, data


def environment_sha(stored: dict) -> str | None:
    """The environment blob a stored lineage refers to, if any."""
    env = stored.get("environment")
    sha = env.get("sha256") if isinstance(env, dict) else None
    return sha if isinstance(sha, str) else None


def join_environment(stored: dict, read_environment: Callable[[str], dict | None]) -> dict:
    """The lineage as registration captured it, from its stored form and its environment blob."""
    sha = environment_sha(stored)
    if sha is None:
        return stored
    env = read_environment(sha) or {}
    out = {k: v for k, v in stored.items() if k != "environment"}
    out.update({k: env.get(k) for k in ENVIRONMENT_KEYS})
    out["packages"] = list(env.get("packages") or [])
    out["environment_sha256"] = sha
    return out
