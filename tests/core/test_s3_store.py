"""What only the S3 object store has to prove: big artifacts go up in parts and come back verified
with bounded memory, a killed upload leaves no content key and its leftovers are cleaned, verify
finds a corrupted object, dedup adds no bytes. Against moto's S3 server on loopback (tests/backends.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from backends import corrupt_blob, registry_with_s3, stored_bytes

BIG = 64 << 20


def _run_in_child(code: str, env_extra: dict | None = None, **kwargs):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kwargs)


def test_a_big_artifact_goes_up_in_parts_and_loads_back_verified_with_bounded_memory(tmp_path, s3_url):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(BIG >> 20):
            f.write(os.urandom(1 << 20))
    # The client runs in its own process so tracemalloc sees only its allocations, not moto's.
    code = f"""
import json, tracemalloc
from pathlib import Path
import nbregistry as nr
reg = nr.Registry({str(tmp_path / 'registry')!r}, objects={s3_url!r})
parts = []
reg.objects.client.meta.events.register("before-call.s3.UploadPart", lambda **kw: parts.append(1))
tracemalloc.start()
v = reg.register(Path({str(big)!r}), "big")
up = tracemalloc.get_traced_memory()[1]
tracemalloc.reset_peak()
folder = reg.load("big:1")
down = tracemalloc.get_traced_memory()[1]
print(json.dumps({{"parts": len(parts), "up": up, "down": down, "sha": v.artifact["files"][0]["sha256"],
                   "size": folder.stat().st_size}}))
"""
    child = _run_in_child(code)
    out, err = child.communicate(timeout=300)
    assert child.returncode == 0, err
    got = json.loads(out.strip().splitlines()[-1])
    assert got["parts"] >= 4  # several parts of 5 MiB, sent concurrently
    assert got["size"] == BIG
    assert got["up"] < BIG // 2 and got["down"] < BIG // 4, got  # never the whole file in memory
    reg = registry_with_s3(tmp_path, s3_url)
    assert reg.objects.exists(got["sha"]) and reg.verify().ok
    assert list(reg.objects._list(reg.objects.tmp_prefix)) == []  # the temporary key is gone


def test_a_killed_upload_leaves_no_content_key_and_clean_tmp_removes_its_leftovers(tmp_path, s3_url):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 << 20))
    code = f"""
import sys
from pathlib import Path
import nbregistry as nr
reg = nr.Registry({str(tmp_path / 'registry')!r}, objects={s3_url!r})
seen = [0]
def progress(n):
    seen[0] += n
    if seen[0] >= (20 << 20):
        print("halfway", flush=True)
        import time; time.sleep(60)
reg.objects.put_file(Path({str(big)!r}), progress=progress)
"""
    child = _run_in_child(code)
    assert child.stdout.readline().strip() == "halfway"
    time.sleep(1.0)  # let the parts already read reach the server
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    reg = registry_with_s3(tmp_path, s3_url)
    objects = reg.objects
    import hashlib

    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    assert not objects.exists(sha)
    assert list(objects.iter_blobs()) == []  # no content key at all, let alone a wrong one
    uploads = objects.client.list_multipart_uploads(Bucket=objects.bucket).get("Uploads", [])
    assert uploads, "the killed upload left an unfinished multipart upload behind"
    objects.clean_tmp(3600)  # young leftovers are kept: the upload might still be running
    assert objects.client.list_multipart_uploads(Bucket=objects.bucket).get("Uploads", [])
    objects.clean_tmp(0)
    assert objects.client.list_multipart_uploads(Bucket=objects.bucket).get("Uploads", []) == []
    assert list(objects._list(objects.tmp_prefix)) == []


def test_verify_finds_a_corrupted_object_and_a_dedup_adds_no_bytes(tmp_path, s3_url):
    reg = registry_with_s3(tmp_path, s3_url)
    f = tmp_path / "model.bin"
    f.write_bytes(os.urandom(3 << 20))
    v1 = reg.register(f, "m")
    before = stored_bytes(reg)
    v2 = reg.register(f, "m")
    assert v2.deduplicated and stored_bytes(reg) == before
    corrupt_blob(reg, v1.artifact["files"][0]["sha256"])
    report = reg.verify()
    assert {p["ref"] for p in report.problems} == {"m:1", "m:2"}
    assert all("hash" in p["problem"] for p in report.problems)


def test_the_default_registry_does_not_import_boto3(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    code = (f"import sys, pathlib, nbregistry as nr; r = nr.Registry({str(tmp_path / 'r')!r}); "
            f"r.register(pathlib.Path({str(tmp_path / 'a.txt')!r}), 'a'); r.load('a:1'); r.verify(); r.gc(); "
            "print('boto3' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "NBREGISTRY_OBJECTS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "False"


def test_nbregistry_objects_env_and_a_bad_url(tmp_path, s3_url, monkeypatch):
    from nbregistry import Registry
    from nbregistry.core.errors import ValidationError

    monkeypatch.setenv("NBREGISTRY_OBJECTS", s3_url)
    reg = Registry(tmp_path / "registry")
    assert reg.objects.url == s3_url
    with pytest.raises(ValidationError, match="unknown object store"):
        Registry(tmp_path / "other", objects="ftp://x/y")


def test_a_bucket_holding_blobs_is_not_opened_with_a_new_empty_database(tmp_path, s3_url):
    from nbregistry.core.errors import IntegrityError

    reg = registry_with_s3(tmp_path, s3_url)
    (tmp_path / "a.txt").write_text("hello")
    reg.register(tmp_path / "a.txt", "a")
    blobs = sorted(sha for sha, _ in reg.objects.iter_blobs())
    reg.close()
    assert blobs
    with pytest.raises(IntegrityError, match="holds blobs"):
        registry_with_s3(tmp_path / "elsewhere", s3_url)  # a fresh registry.db would make gc delete them
    assert sorted(sha for sha, _ in registry_with_s3(tmp_path, s3_url).objects.iter_blobs()) == blobs
