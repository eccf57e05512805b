"""No replica keeps state the others need. The in-process caches that remain are bounded and
cannot go stale when another replica (another process on the same stores) changes something:
here the S3 store's listing, which once answered ``blob_stat`` from the last full listing forever."""

from __future__ import annotations

import pytest

from backends import registry_with_s3


def test_a_blob_removed_by_another_replica_is_not_reported_from_an_old_listing(tmp_path, s3_url):
    here = registry_with_s3(tmp_path / "a", s3_url, author="alice")
    there = registry_with_s3(tmp_path / "b", s3_url, author="bob")
    blob = here.objects.put_bytes(b"listed once, removed elsewhere")
    listed = dict(here.objects.iter_blobs())  # a verify or gc pass lists every blob ...
    assert blob.sha256 in listed
    assert there.objects.remove(blob.sha256) > 0  # ... then another replica's gc removes one
    assert here.objects.blob_stat(blob.sha256) is None  # this one asks the bucket, not its old listing
    again = here.objects.put_bytes(b"listed once, removed elsewhere")
    assert here.objects.blob_stat(again.sha256)[0] == len(b"listed once, removed elsewhere")


def test_the_listing_kept_for_blob_stat_is_bounded_whatever_the_bucket_holds(tmp_path, s3_url):
    reg = registry_with_s3(tmp_path / "a", s3_url, author="alice")
    shas = [reg.objects.put_bytes(f"blob {i}".encode()).sha256 for i in range(30)]
    sizes = {}
    for sha, _ in reg.objects.iter_blobs():  # stat during the pass is answered from the listing
        sizes[sha] = reg.objects.blob_stat(sha)[0]
        assert len(reg.objects._listing.entries) <= 1
    assert sorted(sizes) == sorted(shas)
    assert not reg.objects._listing.entries  # nothing kept once the pass is over


def test_replicas_with_roots_of_their_own_open_each_others_webhook_secrets_through_one_key_file(tmp_path,
                                                                                                monkeypatch):
    from nbregistry.core import secret_box
    from nbregistry.core.errors import IntegrityError

    a, b = tmp_path / "replica-a", tmp_path / "replica-b"
    a.mkdir()
    b.mkdir()
    sealed = secret_box.seal(a, "s3cret")  # without a shared key file each root makes its own key ...
    with pytest.raises(IntegrityError, match="key file"):
        secret_box.unseal(b, sealed)
    monkeypatch.setenv(secret_box.KEY_FILE_ENV, str(tmp_path / "shared.key"))
    sealed = secret_box.seal(a, "s3cret")  # ... with one, every replica signs with the same secret
    assert secret_box.unseal(b, sealed) == "s3cret"
    assert (tmp_path / "shared.key").stat().st_mode & 0o777 == 0o600
    assert not (b / secret_box.KEY_NAME).exists()
