"""Attack: write through a path that ``load`` returned (as root, or after chmod). Only that copy may
change: the store's blobs, ``verify`` and every later load of the same version are unaffected."""

from __future__ import annotations

import os
import stat

from trust_helpers import folder_hashes


def _make_writable(path):
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)


def test_writing_through_a_loaded_file_leaves_the_store_and_later_loads_intact(alice, tmp_path):
    src = tmp_path / "weights.bin"
    src.write_bytes(b"original bytes")
    alice.register(str(src), "weights")
    objects_before = folder_hashes(alice.root / "objects")
    loaded = alice.load("weights")
    _make_writable(loaded)
    loaded.write_bytes(b"overwritten by the user")
    assert folder_hashes(alice.root / "objects") == objects_before
    report = alice.verify()
    assert report.ok, report.problems
    fresh = alice.load("weights")
    assert fresh.read_bytes() == b"original bytes"


def test_writing_into_a_loaded_folder_leaves_later_loads_intact(alice, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    alice.register(str(folder), "folder-model")
    loaded = alice.load("folder-model")
    for path in (loaded / "a.txt", loaded / "sub" / "b.txt"):
        _make_writable(path)
        with open(path, "a") as f:
            f.write(" tampered")
    _make_writable(loaded)
    (loaded / "extra.txt").write_text("added by the user")
    assert alice.verify().ok
    fresh = alice.load("folder-model")
    assert (fresh / "a.txt").read_text() == "a" and (fresh / "sub" / "b.txt").read_text() == "b"
    assert sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()) == ["a.txt", "sub/b.txt"]
    assert alice.verify().ok  # verify checks the store, not the user's copies


def test_a_checkout_is_never_a_hard_link_into_the_store(alice, tmp_path):
    src = tmp_path / "w.bin"
    src.write_bytes(b"x" * 1000)
    version = alice.register(str(src), "w")
    loaded = alice.load("w")
    blob = alice.objects.path(version.artifact["files"][0]["sha256"])
    assert not os.path.samefile(loaded, blob)
    assert os.stat(blob).st_nlink == 1
