"""Registering from a URI: ``reg.register("https://host/model.bin", "name")``.

The content is fetched as a stream and handed to a *sink* one file at a time — the object store's
``put_stream`` for a local registry (hashed on the way in, never staged twice), a staging folder for
a remote one (which then uploads it) — and stored like a local file or folder (flavor ``file``).
The lineage records where it came from (``lineage["source"]``), with credentials removed.

Schemes:

- ``http://``, ``https://``: the standard library (``urllib``), one file. ``user:password@`` in the
  URL is sent as basic auth and never recorded; proxies come from the usual environment variables.
- ``s3://bucket/key`` (a key: one file; a prefix: every object under it, as a folder): s3fs
  through fsspec when installed, else boto3 directly. Credentials, region and endpoint come from
  the usual AWS configuration (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ...).
- ``models:/name/3``, ``models:/name@alias``, ``runs:/<run id>/path``: downloaded with MLflow
  (``MLFLOW_TRACKING_URI``) when it is installed.
- any other fsspec protocol (``gs://`` with gcsfs, ``hf://`` with huggingface_hub, ``az://``, ...)
  when its package is installed.

Every failure is one line naming the URI (credentials removed) and the cause: unreachable host,
HTTP status, missing object, missing package, missing credentials.
"""

from __future__ import annotations

import base64
import posixpath
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .errors import ValidationError
from .objects import safe_relpath

URI_RE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+):/")
MLFLOW_SCHEMES = ("models", "runs")
SECRET_PARAM = re.compile(r"sig|signature|token|key|credential|secret|password|passwd|auth|sas|session", re.I)
TIMEOUT = 60.0
MAX_FILES = 10_000

Sink = Callable[[str, Any, "int | None"], Any]
"""``sink(relative path, binary stream, size or None)`` stores one file and returns what the
object store's ``put_tree`` accepts for it (a stored ``Blob`` or a local path)."""


def scheme_of(obj: Any) -> str | None:
    """The URI scheme of ``obj`` when it is a URI nbregistry can fetch, else ``None`` (a path)."""
    if not isinstance(obj, str):
        return None
    match = URI_RE.match(obj)
    if not match:
        return None
    scheme = match.group("scheme").lower()
    if scheme in ("http", "https", "s3", *MLFLOW_SCHEMES):
        return scheme
    if not obj[match.end():].startswith("/"):  # fsspec URIs are scheme://...
        return None
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return scheme if scheme in ("gs", "gcs", "hf", "az", "abfs") else None
    return scheme if scheme in known_implementations and scheme not in ("file", "local") else None


def is_uri(obj: Any) -> bool:
    return scheme_of(obj) is not None


def redact(uri: str) -> str:
    """``uri`` without ``user:password@`` and with secret-looking query values (signatures, tokens,
    SAS keys of presigned URLs) replaced by ``REDACTED``: what lineage and messages may show."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable URI>"
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, "REDACTED" if SECRET_PARAM.search(k) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe(uri: str) -> dict:
    """The lineage record of a source before it is fetched."""
    return {"uri": redact(uri), "scheme": scheme_of(uri)}


def fetch(uri: str, sink: Sink, staging: Path) -> tuple[list, dict, dict]:
    """Fetch ``uri`` into ``sink``; ``staging`` is a scratch folder for sources that can only
    download to disk (MLflow). Returns ``(entries, file-flavor metadata, source details)`` where
    entries are ``[(relative path, what sink returned)]``."""
    scheme = scheme_of(uri)
    if scheme is None:
        raise ValidationError(f"{redact(uri)!r} is not a URI nbregistry can fetch")
    if scheme in ("http", "https"):
        return _fetch_http(uri, sink)
    if scheme == "s3":
        try:
            import s3fs  # noqa: F401 - fsspec's s3 implementation
        except ImportError:
            return _fetch_s3_boto3(uri, sink)
    if scheme in MLFLOW_SCHEMES:
        return _fetch_mlflow(uri, sink, staging)
    return _fetch_fsspec(uri, sink)


def _one_file(name: str, uri: str) -> str:
    name = posixpath.basename(unquote(name or "").rstrip("/")) or "download"
    try:
        return safe_relpath(name)
    except ValidationError:
        raise ValidationError(f"cannot name the file fetched from {redact(uri)}: {name!r}") from None


def _tree(files: list[tuple[str, int | None]], prefix: str, uri: str) -> list[tuple[str, str, int | None]]:
    """``(relative path, full key, size)`` of the files under ``prefix``, in order."""
    if not files:
        raise ValidationError(f"nothing found at {redact(uri)}")
    if len(files) > MAX_FILES:
        raise ValidationError(f"{redact(uri)} holds more than {MAX_FILES} files; register a narrower prefix")
    out = []
    base = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    for key, size in sorted(files):
        rel = key[len(base):] if key.startswith(base) else key
        if not rel or rel.endswith("/"):
            continue  # "folder" placeholder objects
        out.append((safe_relpath(rel), key, size))
    return out


# ==================================================================== http(s)
def _fetch_http(uri: str, sink: Sink) -> tuple[list, dict, dict]:
    import urllib.error
    import urllib.request

    from .._version import __version__

    parts = urlsplit(uri)
    headers = {"User-Agent": f"nbregistry/{__version__}"}
    if "@" in parts.netloc:
        userinfo, _, host = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        uri_to_open = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    else:
        uri_to_open = uri
    shown = redact(uri)
    try:
        resp = urllib.request.urlopen(urllib.request.Request(uri_to_open, headers=headers), timeout=TIMEOUT)
    except urllib.error.HTTPError as exc:
        raise ValidationError(f"cannot fetch {shown}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ValidationError(f"cannot reach {parts.hostname or shown}: {getattr(exc, 'reason', exc)}") from None
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot fetch {shown}: {exc}") from None
    with resp:
        name = posixpath.basename(urlsplit(resp.geturl()).path) or _disposition_name(resp.headers)
        filename = _one_file(name, uri)
        length = resp.headers.get("Content-Length")
        size = int(length) if length and length.isdigit() else None
        try:
            stored = sink(filename, resp, size)
        except (OSError, ValueError) as exc:  # connection dropped mid-body, short read
            raise ValidationError(f"fetching {shown} failed part-way: {exc}") from None
        stored_size = getattr(stored, "size", None)
        if stored_size is None and isinstance(stored, Path):
            stored_size = stored.stat().st_size
        if size is not None and stored_size is not None and stored_size != size:
            raise ValidationError(f"fetching {shown} stopped after {stored_size} of {size} bytes")
        details = {"etag": resp.headers.get("ETag"), "last_modified": resp.headers.get("Last-Modified")}
    return [(filename, stored)], {"kind": "file", "filename": filename}, {k: v for k, v in details.items() if v}


def _disposition_name(headers) -> str:
    value = headers.get("Content-Disposition") or ""
    match = re.search(r'filename="?([^";]+)"?', value)
    return match.group(1) if match else ""


# ==================================================================== s3 without s3fs
def _fetch_s3_boto3(uri: str, sink: Sink) -> tuple[list, dict, dict]:
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        raise ValidationError(f"registering {redact(uri)} needs s3fs or boto3 (pip install s3fs)") from None
    parts = urlsplit(uri)
    bucket, key = parts.netloc.rpartition("@")[2], unquote(parts.path.lstrip("/"))
    shown = redact(uri)
    if not bucket:
        raise ValidationError(f"{shown} names no bucket (write s3://bucket/key)")
    # a fresh session reads the AWS_* environment, profiles and AWS_ENDPOINT_URL now (as the AWS CLI)
    client = boto3.session.Session().client("s3")

    def fail(exc) -> ValidationError:
        if isinstance(exc, NoCredentialsError):
            return ValidationError(f"cannot read {shown}: no AWS credentials (set AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)")
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            if code in ("404", "NoSuchKey", "NoSuchBucket"):
                return ValidationError(f"cannot fetch {shown}: {'no such bucket' if code == 'NoSuchBucket' else 'not found'}")
            if code in ("403", "AccessDenied"):
                return ValidationError(f"cannot fetch {shown}: access denied")
            return ValidationError(f"cannot fetch {shown}: {code} {error.get('Message', '')}".rstrip())
        return ValidationError(f"cannot reach S3 for {shown}: {str(exc).splitlines()[0]}")

    try:
        head = client.head_object(Bucket=bucket, Key=key) if key and not key.endswith("/") else None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
            raise fail(exc) from None
        head = None
    except BotoCoreError as exc:
        raise fail(exc) from None
    try:
        if head is not None:
            filename = _one_file(key, uri)
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            with body:
                stored = sink(filename, body, head.get("ContentLength"))
            details = {"etag": head.get("ETag"), "version_id": head.get("VersionId")}
            return [(filename, stored)], {"kind": "file", "filename": filename}, {k: v for k, v in details.items() if v}
        prefix = key.rstrip("/") + "/" if key else ""
        listed = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            listed += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
            if len(listed) > MAX_FILES:
                break
        entries = []
        for rel, full, size in _tree(listed, prefix, uri):
            body = client.get_object(Bucket=bucket, Key=full)["Body"]
            with body:
                entries.append((rel, sink(rel, body, size)))
    except (ClientError, BotoCoreError) as exc:
        raise fail(exc) from None
    return entries, {"kind": "dir"}, {"files": len(entries)}


# ==================================================================== fsspec (s3fs, gcsfs, hf, ...)
def _fetch_fsspec(uri: str, sink: Sink) -> tuple[list, dict, dict]:
    shown = redact(uri)
    scheme = scheme_of(uri)
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(uri)
    except ImportError:
        package = _package_for(scheme)
        raise ValidationError(f"registering {scheme}:// URIs needs {package} (pip install {package})") from None
    except (ValueError, OSError) as exc:
        raise ValidationError(f"cannot open {shown}: {exc}") from None
    try:
        info = fs.info(path)
        if info.get("type") == "directory":
            found = fs.find(path, detail=True)
            listed = [(k, v.get("size")) for k, v in found.items() if v.get("type") != "directory"]
            entries = []
            for rel, full, size in _tree(listed, path, uri):
                with fs.open(full, "rb") as f:
                    entries.append((rel, sink(rel, f, size)))
            return entries, {"kind": "dir"}, {"files": len(entries)}
        filename = _one_file(path, uri)
        with fs.open(path, "rb") as f:
            stored = sink(filename, f, info.get("size"))
    except FileNotFoundError:
        raise ValidationError(f"cannot fetch {shown}: not found") from None
    except PermissionError:
        raise ValidationError(f"cannot fetch {shown}: access denied") from None
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot fetch {shown}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    details = {"etag": info.get("ETag") or info.get("etag")}
    return [(filename, stored)], {"kind": "file", "filename": filename}, {k: v for k, v in details.items() if v}


def _package_for(scheme: str) -> str:
    return {"gs": "gcsfs", "gcs": "gcsfs", "s3": "s3fs", "s3a": "s3fs", "hf": "huggingface_hub",
            "az": "adlfs", "abfs": "adlfs"}.get(scheme, f"the fsspec package for {scheme}://")


# ==================================================================== MLflow
def _fetch_mlflow(uri: str, sink: Sink, staging: Path) -> tuple[list, dict, dict]:
    shown = redact(uri)
    try:
        import mlflow.artifacts
        import mlflow.exceptions
    except ImportError:
        raise ValidationError(f"registering {shown} needs MLflow (pip install mlflow-skinny)") from None
    target = Path(tempfile.mkdtemp(dir=staging, prefix="mlflow-"))
    try:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))
        except mlflow.exceptions.MlflowException as exc:
            raise ValidationError(f"cannot fetch {shown} from MLflow: {str(exc).splitlines()[0]}") from None
        except OSError as exc:
            raise ValidationError(f"cannot fetch {shown} from MLflow: {exc}") from None
        from .registration import file_entries

        files, meta = file_entries(local)
        entries = []
        for rel, path in files:
            with open(path, "rb") as f:
                entries.append((rel, sink(rel, f, path.stat().st_size)))
    finally:
        shutil.rmtree(target, ignore_errors=True)
    try:
        tracking = mlflow.get_tracking_uri()
    except Exception:  # noqa: BLE001 - lineage detail only
        tracking = None
    return entries, meta, {"mlflow_tracking_uri": redact(tracking) if tracking and "://" in tracking else tracking}


# ==================================================================== sinks
def staging_sink(folder: Path) -> Sink:
    """A sink writing each file under ``folder`` (for a registry that uploads what it staged)."""

    def sink(rel: str, stream, size) -> Path:
        dest = folder / safe_relpath(rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        return dest

    return sink


def store_sink(objects, progress=None) -> Sink:
    """A sink streaming each file into an object store, hashed on the way in (``put_stream``)."""
    return lambda rel, stream, size: objects.put_stream(stream, size_hint=size, progress=progress)
