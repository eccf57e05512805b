"""The S3-compatible object store: ``s3://bucket/prefix`` holding ``<prefix>/objects/<ab>/<sha256>``.

boto3 is imported here only, so only when an ``s3://`` URL is used. Credentials, region and the
endpoint come from the standard AWS environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL`` for MinIO and other S3-compatible servers, profiles).

Writing never leaves a key that claims a hash its bytes don't have:

- a blob smaller than ``multipart_threshold`` is read into memory (bounded by that threshold),
  hashed, and put straight at its content key with S3 verifying the sha256 (``ChecksumSHA256``);
- a bigger one streams to a temporary key ``<prefix>/tmp/<uuid>`` as a multipart upload with
  concurrent parts, hashed on the way; only when the hash is known is it copied (server side) to
  its content key, and the temporary key is deleted. A failed upload is aborted; one whose process
  was killed leaves a temporary key or an unfinished multipart upload, which :meth:`clean_tmp`
  removes once older than its age (``gc`` calls it).

Reads stream and verify; nothing holds a whole artifact in memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from ..errors import IntegrityError, NotFound, ValidationError
from . import SHA_RE, Blob, BlobStore, check_sha
from .local import CHUNK, Progress, clean_local_tmp

PART_BYTES = 5 << 20  # S3's smallest part; s3transfer grows it for files over 10,000 parts


class _HashingReader:
    """A read-only file object that hashes what is read from it (upload_fileobj reads it in order)."""

    def __init__(self, f, progress: Progress | None):
        self.f, self.progress = f, progress
        self.digest, self.size = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.digest.update(data)
        self.size += len(data)
        if self.progress and data:
            self.progress(len(data))
        return data


class S3Store(BlobStore):
    """Blobs in an S3 bucket under a prefix; local staging and checkouts in ``tmp``."""

    def __init__(self, url: str, *, tmp: Path, client=None, part_bytes: int = PART_BYTES,
                 concurrency: int = 4, in_memory_parts: int = 3):
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise ValidationError(f"not an S3 URL {url!r}: use s3://bucket/prefix")
        bucket, _, prefix = url[5:].partition("/")
        self.url, self.bucket, self.prefix = url, bucket, prefix.strip("/")
        base = f"{self.prefix}/" if self.prefix else ""
        self.objects_prefix, self.tmp_prefix = f"{base}objects/", f"{base}tmp/"
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.client = client or boto3.session.Session().client("s3")
        # Memory per upload is bounded by the parts held at once (in_memory_parts, about 5 parts peak
        # with the part being read and hashed): ~25 MiB, whatever the artifact's size.
        self.transfer = TransferConfig(multipart_threshold=part_bytes, multipart_chunksize=part_bytes,
                                       max_concurrency=concurrency, io_chunksize=CHUNK)
        self.transfer.max_in_memory_upload_chunks = in_memory_parts  # s3transfer's knob, not boto3's argument
        self._local = threading.local()

    @property
    def _listing(self):
        """This thread's listing entry (see :meth:`iter_blobs`)."""
        if not hasattr(self._local, "entries"):
            self._local.entries = {}
        return self._local

    def key(self, sha: str) -> str:
        return f"{self.objects_prefix}{check_sha(sha)[:2]}/{sha}"

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, sha: str) -> bool:
        return self._head(self.key(sha)) is not None

    # -- writing -----------------------------------------------------------------------------
    def put_bytes(self, data: bytes) -> Blob:
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha):
            return Blob(sha, len(data), new=False)
        self.client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=data,
                               ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode())
        return Blob(sha, len(data), new=True)

    def put_stream(self, f, *, progress: Progress | None = None, size_hint: int | None = None,
                   expect: str | None = None) -> Blob:
        if size_hint is not None and size_hint < self.transfer.multipart_threshold:
            data = f.read(self.transfer.multipart_threshold + 1)
            if len(data) <= self.transfer.multipart_threshold:
                if progress and data:
                    progress(len(data))
                self._expect(hashlib.sha256(data).hexdigest(), expect)
                return self.put_bytes(data)
            f = _Chained(data, f)  # bigger than it said: stream the rest
        tmp_key = f"{self.tmp_prefix}{uuid.uuid4().hex}"
        reader = _HashingReader(f, progress)
        try:
            self.client.upload_fileobj(reader, self.bucket, tmp_key, Config=self.transfer)
            sha = reader.digest.hexdigest()
            self._expect(sha, expect)
            if self.exists(sha):
                return Blob(sha, reader.size, new=False)
            self.client.copy({"Bucket": self.bucket, "Key": tmp_key}, self.bucket, self.key(sha),
                             Config=self.transfer)
            return Blob(sha, reader.size, new=True)
        finally:
            self._delete_quiet(tmp_key)

    def _expect(self, sha: str, expect: str | None) -> None:
        if expect is not None and sha != expect:
            raise IntegrityError(f"staged blob hashes to {sha}, not the expected {expect}; not stored")

    def install(self, path: os.PathLike | str, sha: str) -> Blob:
        """Upload a staged local file the caller hashed to ``sha``; re-hashed on the way, refused if it differs."""
        check_sha(sha)
        with open(path, "rb") as f:
            blob = self.put_stream(f, size_hint=os.fstat(f.fileno()).st_size, expect=sha)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return blob

    # -- reading -----------------------------------------------------------------------------
    def _get(self, sha: str):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(self.key(sha)) from None
            raise

    def read_bytes(self, sha: str) -> bytes:
        try:
            data = self._get(sha).read()
        except FileNotFoundError:
            raise IntegrityError(f"blob {sha} is missing from the object store") from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise IntegrityError(f"blob {sha} is corrupted: its content no longer matches its hash")
        return data

    def open(self, sha: str):
        try:
            return _Body(self._get(sha))
        except FileNotFoundError:
            raise NotFound(f"blob {sha} is missing from the object store") from None

    def _stream_hash(self, sha: str, out, progress: Progress | None) -> tuple[str, int]:
        body = self._get(sha)
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in body.iter_chunks(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if out is not None:
                    out.write(chunk)
                if progress:
                    progress(len(chunk))
        finally:
            body.close()
        return digest.hexdigest(), size

    def fetch_to(self, sha: str, dest: Path, progress: Progress | None = None) -> bool:
        with open(dest, "xb") as out:
            actual, _ = self._stream_hash(sha, out, progress)
        return actual == sha  # False: the caller re-checks the copy and says what is wrong

    def check(self, sha: str, size: int | None = None, *, fast: bool = False,
              progress: Progress | None = None) -> str | None:
        head = self._head(self.key(sha))
        if head is None:
            return "missing"
        if size is not None and head["ContentLength"] != size:
            return f"size {head['ContentLength']} != recorded {size}"
        if fast:
            return None
        try:
            actual, _ = self._stream_hash(sha, None, progress)
        except FileNotFoundError:
            return "missing"
        return None if actual == sha else "content does not match its hash"

    # -- maintenance -------------------------------------------------------------------------
    def _list(self, prefix: str) -> Iterator[dict]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", ())

    def iter_blobs(self) -> Iterator[tuple[str, str]]:
        # While the caller handles a listed blob, blob_stat answers for it from the listing (no HEAD
        # per blob in verify and gc). Only that one entry is kept, per thread, and none after the
        # pass: another replica may remove or re-store any blob, so an older listing is never used.
        entries = self._listing.entries
        try:
            for item in self._list(self.objects_prefix):
                sha = item["Key"].rsplit("/", 1)[-1]
                if SHA_RE.fullmatch(sha) and item["Key"] == self.key(sha):
                    entries.clear()
                    entries[sha] = (item["Size"], item["LastModified"].timestamp())
                    yield sha, item["Key"]
        finally:
            entries.clear()

    def blob_stat(self, sha: str) -> tuple[int, float] | None:
        listed = self._listing.entries.get(sha)
        if listed is not None:
            return listed
        head = self._head(self.key(sha))
        return None if head is None else (head["ContentLength"], head["LastModified"].timestamp())

    def remove(self, sha: str) -> int:
        head = self._head(self.key(sha))
        if head is None:
            return 0
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha))
        self._listing.entries.pop(sha, None)
        return head["ContentLength"]

    def clean_tmp(self, older_than: float) -> int:
        """Remove temporary keys and unfinished multipart uploads older than ``older_than`` seconds,
        and the local staging files and checkouts."""
        cutoff = time.time() - older_than
        removed = clean_local_tmp(self.tmp, older_than)
        for item in list(self._list(self.tmp_prefix)):
            if item["LastModified"].timestamp() < cutoff:
                self._delete_quiet(item["Key"])
                removed += 1
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                Prefix=self.tmp_prefix):
            for upload in page.get("Uploads", ()):
                if self._upload_active_at(upload) < cutoff:
                    try:
                        self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        removed += 1
                    except ClientError:
                        pass
        return removed

    def _upload_active_at(self, upload: dict) -> float:
        """When an unfinished multipart upload last moved: its newest part, else when it began (a
        long upload that still sends parts is not "old", however long ago it began)."""
        latest = upload["Initiated"].timestamp()
        try:
            pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=upload["Key"],
                                                                     UploadId=upload["UploadId"])
            for page in pages:
                for part in page.get("Parts", ()):
                    latest = max(latest, part["LastModified"].timestamp())
        except ClientError:
            pass
        return latest

    def _delete_quiet(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError:
            pass


class _Chained:
    """``data`` then the rest of ``f``, as one readable file object."""

    def __init__(self, data: bytes, f):
        self.data, self.f = data, f

    def read(self, n: int = -1) -> bytes:
        if self.data:
            if n is None or n < 0:
                out, self.data = self.data + self.f.read(), b""
                return out
            out, self.data = self.data[:n], self.data[n:]
            return out
        return self.f.read(n)


class _Body:
    """A streaming S3 body as a context-managed binary file object (for downloads and export)."""

    def __init__(self, body):
        self.body = body

    def read(self, n: int = -1) -> bytes:
        return self.body.read(None if n is None or n < 0 else n)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["S3Store"]
