"""Attack: a server (compromised, or holding a crafted row) answers ``/artifact`` with a hash or file
names that are paths. RemoteRegistry must never use them as paths: it refuses to load, and nothing
outside its cache is touched (before the fix, a hash ``/some/dir`` made the client delete that folder)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from nbregistry.core.errors import IntegrityError


@pytest.fixture
def team(tmp_path):
    from nbregistry.remote import RemoteRegistry
    from server.remote_fixture import start_server, stop_server

    tokens = {"alice": "alice-token"}
    proc, url = start_server(tmp_path / "team", users=tokens, log_path=tmp_path / "server.log")
    try:
        yield tmp_path / "team", RemoteRegistry(url, tokens["alice"])
    finally:
        stop_server(proc)


def _forge(root, **columns):
    conn = sqlite3.connect(root / "registry.db", timeout=30)
    with conn:
        for column, value in columns.items():
            conn.execute(f"UPDATE versions SET {column} = ?", (value,))
    conn.close()


def test_a_hash_that_is_a_path_deletes_nothing(team, tmp_path):
    root, client = team
    (tmp_path / "m.txt").write_text("model")
    client.register(str(tmp_path / "m.txt"), "m")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    _forge(root, artifact_sha=str(victim))
    with pytest.raises(IntegrityError, match="not a sha256"):
        client.load("m")
    assert (victim / "precious.txt").read_text() == "keep me"


def test_a_file_name_that_escapes_the_cache_writes_nothing(team, tmp_path):
    root, client = team
    (tmp_path / "m.txt").write_text("model")
    version = client.register(str(tmp_path / "m.txt"), "m")
    entry = dict(version.artifact["files"][0], path="../../../escaped.txt")
    meta = {"kind": "file", "filename": "../../../escaped.txt", "files": [entry]}
    _forge(root, flavor_meta=json.dumps(meta))
    with pytest.raises(IntegrityError, match="unsafe"):
        client.load("m")
    from nbregistry.core.identity import jupyter_data_dir

    assert not list(jupyter_data_dir().parent.rglob("escaped.txt"))
