"""Object-store backends for the tests: an S3-compatible server (moto's server mode) on loopback,
started once per session, and helpers that tamper with a blob whichever backend holds it."""

from __future__ import annotations

import os
import uuid

import pytest

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """``AWS_ENDPOINT_URL`` of a moto S3 server on 127.0.0.1 (a free port), with test credentials
    in the environment so that the registry and its subprocesses find it like any S3 endpoint."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in (*AWS_ENV, "AWS_ENDPOINT_URL")}
    os.environ.update(AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    yield endpoint
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture
def s3_url(s3_endpoint):
    """A fresh bucket: ``s3://<bucket>/reg``."""
    import boto3

    bucket = f"nbr-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/reg"


def registry_with_s3(tmp_path, s3_url, **kwargs):
    from nbregistry import Registry

    return Registry(tmp_path / "registry", objects=s3_url, **kwargs)


def stored_bytes(reg) -> int:
    """Bytes of every blob the registry's object store holds."""
    return sum(reg.objects.blob_stat(sha)[0] for sha, _ in reg.objects.iter_blobs())


def corrupt_blob(reg, sha: str) -> None:
    """Flip one byte of a stored blob, keeping its size."""
    objects = reg.objects
    if hasattr(objects, "path"):
        path = objects.path(sha)
        os.chmod(path, 0o644)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        return
    body = objects.client.get_object(Bucket=objects.bucket, Key=objects.key(sha))["Body"].read()
    data = bytearray(body)
    data[len(data) // 2] ^= 0xFF
    objects.client.put_object(Bucket=objects.bucket, Key=objects.key(sha), Body=bytes(data))


def delete_blob(reg, sha: str) -> None:
    objects = reg.objects
    if hasattr(objects, "path"):
        objects.path(sha).unlink()
    else:
        objects.client.delete_object(Bucket=objects.bucket, Key=objects.key(sha))


def registry_kinds() -> list[str]:
    """The kinds tests/conftest.py's ``reg`` runs over ("local", plus "remote" with the server suite),
    for modules that add "local-s3" (importable by name, unlike a conftest)."""
    kinds = ["local", "pg-s3"]
    try:
        from server.remote_fixture import REMOTE_KINDS
    except ImportError:
        return kinds
    return kinds + list(REMOTE_KINDS)
