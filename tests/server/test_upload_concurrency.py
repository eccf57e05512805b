"""Blob bytes of an upload are stored outside the single writer: while one upload is held in the
middle of storing its files, other registrations complete (ordering with events, not timing)."""

from __future__ import annotations

import asyncio
import threading

from server.server_helpers import file_meta, upload_body

TAR = {"Content-Type": "application/x-tar"}


async def test_a_registration_completes_while_a_big_upload_is_storing_its_blobs(api, jp_serverapp, monkeypatch):
    objects = jp_serverapp.web_app.settings["nbregistry"].registry.objects
    real_put_tree = objects.put_tree
    storing, release = threading.Event(), threading.Event()

    def put_tree(entries, **kwargs):  # the real store, held once it has started on the big upload
        if any(rel == "big.bin" for rel, _ in entries):
            storing.set()
            assert release.wait(120), "the big upload was never released"
        return real_put_tree(entries, **kwargs)

    monkeypatch.setattr(objects, "put_tree", put_tree)
    big = asyncio.ensure_future(api("POST", "/versions", headers=TAR, raw_body=upload_body(
        file_meta("big", filename="big.bin"), {"big.bin": b"\0" * (8 << 20)})))
    try:
        while not storing.is_set():
            assert not big.done(), big.result()
            await asyncio.sleep(0.01)
        small = await asyncio.wait_for(api("POST", "/versions", headers=TAR, raw_body=upload_body(
            file_meta("small"), {"model.txt": b"small weights"})), 60)
        assert small.status == 201 and small.json["ref"] == "small:1"
        listed = await asyncio.wait_for(api("GET", "/models"), 60)
        assert [m["name"] for m in listed.json["models"]] == ["small"]  # big is not recorded yet
        assert not big.done()
    finally:
        release.set()
    done = await asyncio.wait_for(big, 120)
    assert done.status == 201 and done.json["ref"] == "big:1"


async def test_gc_during_an_upload_never_leaves_a_version_without_its_blobs(api, jp_serverapp, monkeypatch):
    """The blob stored outside the lock is removed by a gc (grace 0) before the version commits:
    the commit notices under the write lock and stores it again."""
    registry = jp_serverapp.web_app.settings["nbregistry"].registry
    real_commit = registry.commit_staged.__func__

    def commit_after_gc(self, staged):
        registry.gc(grace=0)  # runs between staging and the metadata transaction
        return real_commit(self, staged)

    monkeypatch.setattr(type(registry), "commit_staged", commit_after_gc)
    r = await api("POST", "/versions", headers=TAR, raw_body=upload_body(file_meta("gcd"), {"model.txt": b"w"}))
    assert r.status == 201
    monkeypatch.undo()
    report = await api("GET", "/verify")
    assert report.json["problems"] == [], report.json
    got = await api("GET", "/versions/gcd%3A1/files/model.txt")
    assert got.raw == b"w"
