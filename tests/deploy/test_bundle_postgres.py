"""Moving house: a SQLite + folder registry moves to PostgreSQL + S3 through a bundle, losslessly,
and back again (docs/scale-out.md)."""

from __future__ import annotations

from backends import registry_with_s3
from test_bundle import public_state, source  # noqa: F401 - the registry with history

from nbregistry import Registry


def test_a_sqlite_registry_moves_to_postgres_and_s3_and_back(source, tmp_path, pg_registry_url, s3_url):  # noqa: F811
    bundle = tmp_path / "all.nbregistry.tar.gz"
    source.export(None, bundle)
    target = registry_with_s3(tmp_path / "pg", s3_url, db=pg_registry_url, author="bob")
    imported = target.import_bundle(bundle)
    assert sorted(imported.refs) == ["churn:1", "churn:2", "churn:3", "fraud:1"]
    assert target.verify().ok
    assert public_state(target) == public_state(source)
    assert [e.to_dict() for e in target.events()][:-1] == [e.to_dict() for e in source.events()]
    assert set(b for b, _ in target.objects.iter_blobs()) == source.store.referenced_blobs()
    # ids kept from the bundle are followed by new ones: nothing collides after the move
    from sklearn.linear_model import LogisticRegression

    assert target.register(LogisticRegression(), "fraud").version == 3
    note = target.comment("churn:2", "written after the move")
    assert note.id > max(c.id for c in source.comments("churn:2"))
    assert target.resolve("churn@production").version == 2
    assert not target.import_bundle(bundle).changed  # importing again adds nothing
    # and back: PostgreSQL + S3 -> a new SQLite + folder registry
    back_bundle = tmp_path / "back.tar"
    target.export(None, back_bundle)
    back = Registry(tmp_path / "back", author="carol")
    back.import_bundle(back_bundle)
    assert back.verify().ok
    assert public_state(back) == public_state(target)
    target.close()
    back.close()
