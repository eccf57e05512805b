"""The one trust rule (core/trust.py): who may make a load run code, and that flavors cannot bypass it."""

from __future__ import annotations

import pytest

from nbregistry.core.errors import TrustRequired
from nbregistry.core.flavors import get_flavor
from nbregistry.core.trust import NO_TRUST


def test_a_flavor_given_no_trust_refuses_to_unpickle(mallory, alice):
    mallory.register({"x": 1}, "pickled", flavor="pickle")
    version = alice.get("pickled")
    folder = alice.objects.checkout(version.artifact["sha256"])
    with pytest.raises(TrustRequired):
        get_flavor("pickle").load(folder, version.flavor_meta, trusted=NO_TRUST)
    with pytest.raises(TrustRequired, match="saved by 'mallory'"):
        alice.load("pickled")
    assert alice.load("pickled", trust=True) == {"x": 1}
    assert mallory.load("pickled") == {"x": 1}  # the verified (here: local) author trusts her own


def test_a_registry_that_allows_no_code_ignores_trust_and_authorship(mallory):
    mallory.register({"x": 1}, "pickled", flavor="pickle")
    mallory.code_allowed = False  # what the team server sets
    for kwargs in ({}, {"trust": True}):
        with pytest.raises(TrustRequired, match="never runs code a user stored, whoever asks"):
            mallory.load("pickled", **kwargs)


def test_an_author_whose_identity_does_not_count_is_not_trusted_under_that_name(mallory):
    mallory.register({"x": 1}, "pickled", flavor="pickle")
    with mallory.store.write() as conn:
        conn.execute("UPDATE versions SET identity = 'imported'")
    with pytest.raises(TrustRequired, match="unverified name 'mallory'"):
        mallory.load("pickled")
    claimed = mallory.as_author("mallory", identity="shared")
    with mallory.store.write() as conn:
        conn.execute("UPDATE versions SET identity = 'local'")
    with pytest.raises(TrustRequired, match="not verified"):
        claimed.load("pickled")


def test_data_only_formats_load_for_anyone(mallory, alice, iris_model):
    mallory.register(iris_model, "skops-model")
    assert get_flavor("sklearn").needs_trust(alice.get("skops-model").flavor_meta) is False
    assert type(alice.load("skops-model")).__name__ == "LogisticRegression"
