"""Attack (or accident): a registry folder whose ``registry.db`` is gone or empty next to its blobs.
Opening it must be refused, not answered with a fresh empty database (whose next ``gc`` would delete
every blob). Read-only faces create nothing where there is no registry."""

from __future__ import annotations

import pytest

from trust_helpers import folder_hashes
from helpers import cli_runner
from nbregistry import Registry
from nbregistry.core.errors import IntegrityError, NotFound


@pytest.fixture
def filled(root, tmp_path):
    src = tmp_path / "m.bin"
    src.write_bytes(b"model bytes")
    reg = Registry(root, author="alice")
    reg.register(str(src), "m")
    reg.close()
    return root


@pytest.mark.parametrize("damage", ["missing", "empty"])
def test_blobs_without_their_database_are_refused(filled, damage):
    for suffix in ("", "-wal", "-shm"):
        (filled / f"registry.db{suffix}").unlink(missing_ok=True)
    if damage == "empty":
        (filled / "registry.db").write_bytes(b"")
    before = folder_hashes(filled)
    with pytest.raises(IntegrityError, match="registry.db is (missing|empty).*blob"):
        Registry(filled)
    assert folder_hashes(filled) == before


def test_the_cli_refuses_too_and_gc_deletes_nothing(filled, capsys):
    (filled / "registry.db").unlink()
    for suffix in ("-wal", "-shm"):
        (filled / f"registry.db{suffix}").unlink(missing_ok=True)
    before = folder_hashes(filled)
    run = cli_runner(filled, capsys)
    code, _, err = run("gc", "--grace", "0")
    assert code != 0 and "registry.db" in err
    assert folder_hashes(filled) == before


def test_read_only_faces_create_nothing(tmp_path, capsys):
    missing = tmp_path / "no-registry-here"
    run = cli_runner(missing, capsys)
    for verb in (("ls",), ("verify",), ("show", "churn")):
        code, _, err = run(*verb)
        assert code != 0 and "no registry" in err
    assert not missing.exists()
    with pytest.raises(NotFound, match="no registry"):
        Registry(missing, create=False)
    assert not missing.exists()
