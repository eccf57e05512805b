"""The custom flavor: a class with predict plus its artifacts, loaded by import path under the trust rule."""

from __future__ import annotations

import json

import pytest

from nbregistry import CustomModel, Registry
from nbregistry.core.errors import TrustRequired


@pytest.fixture
def scorer(tmp_path):
    from custom_models import ThresholdScorer

    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps([1.0, -1.0]))
    model = ThresholdScorer(threshold=0.5, weights_path=str(weights))
    model.load_artifacts({"weights.json": weights})
    return model


def test_custom_model_round_trip_needs_trust_for_another_reader(local_reg, scorer, monkeypatch):
    monkeypatch.delenv("NBREGISTRY_TRUSTED_MODULES", raising=False)
    monkeypatch.delenv("NBREGISTRY_TRUSTED_CLASSES", raising=False)
    rows = [[2, 0], [0, 2], [1, 0.2]]
    version = local_reg.register(scorer, "scorer", input_example=rows)
    assert version.flavor == "custom"
    assert version.flavor_meta["class"] == "custom_models:ThresholdScorer"
    assert version.flavor_meta["init_kwargs"] == {"threshold": 0.5}
    assert "artifacts/weights.json" in {f["path"] for f in version.artifact["files"]}
    reader = Registry(local_reg.root, author="bob")
    try:
        with pytest.raises(TrustRequired, match="custom_models:ThresholdScorer"):
            reader.load(version.ref)  # importing a class named in stored metadata runs its code
        loaded = reader.load(version.ref, trust=True)
        assert type(loaded).__name__ == "ThresholdScorer" and loaded.weights == [1.0, -1.0]
        assert loaded.predict(rows) == scorer.predict(rows) == [1, 0, 1]
    finally:
        reader.close()


@pytest.mark.parametrize("allow", ["custom_models:ThresholdScorer", "custom_models:*"])
def test_a_custom_model_on_the_one_allow_list_loads_without_trust(local_reg, scorer, monkeypatch, allow):
    """The reader's allow-list (core/trust.py) covers custom models as it covers torch modules:
    ``Registry(trusted_classes=)`` and ``NBREGISTRY_TRUSTED_CLASSES``, one setting, one check."""
    monkeypatch.delenv("NBREGISTRY_TRUSTED_MODULES", raising=False)
    monkeypatch.delenv("NBREGISTRY_TRUSTED_CLASSES", raising=False)
    rows = [[2, 0], [0, 2], [1, 0.2]]
    version = local_reg.register(scorer, "scorer", input_example=rows)
    listed = Registry(local_reg.root, author="bob", trusted_classes=[allow])
    monkeypatch.setenv("NBREGISTRY_TRUSTED_CLASSES", f"some.other:* {allow}")
    from_env = Registry(local_reg.root, author="carol")
    monkeypatch.delenv("NBREGISTRY_TRUSTED_CLASSES")
    off_list = Registry(local_reg.root, author="dave", trusted_classes=["custom_models:OtherScorer", "custom:*"])
    try:
        assert listed.load(version.ref).predict(rows) == [1, 0, 1]
        assert from_env.load(version.ref).predict(rows) == [1, 0, 1]
        with pytest.raises(TrustRequired, match="custom_models:ThresholdScorer.*allow-list"):
            off_list.load(version.ref)  # another class of the module, or a prefix of its name: refused
    finally:
        for reg in (listed, from_env, off_list):
            reg.close()


def test_the_old_trusted_modules_variable_still_works_and_warns(local_reg, scorer, monkeypatch):
    monkeypatch.delenv("NBREGISTRY_TRUSTED_CLASSES", raising=False)
    rows = [[2, 0], [0, 2], [1, 0.2]]
    version = local_reg.register(scorer, "scorer", input_example=rows)
    monkeypatch.setenv("NBREGISTRY_TRUSTED_MODULES", "some.other, custom_models")
    with pytest.warns(FutureWarning, match="NBREGISTRY_TRUSTED_MODULES is deprecated.*"
                                           "NBREGISTRY_TRUSTED_CLASSES=.*custom_models:\\*"):
        reader = Registry(local_reg.root, author="bob")
    monkeypatch.setenv("NBREGISTRY_TRUSTED_MODULES", "custom")  # a prefix of the name is not its module
    with pytest.warns(FutureWarning):
        prefix = Registry(local_reg.root, author="carol")
    try:
        assert reader.load(version.ref).predict(rows) == [1, 0, 1]
        with pytest.raises(TrustRequired):
            prefix.load(version.ref)
    finally:
        reader.close()
        prefix.close()


def test_a_custom_model_defined_in_a_notebook_is_pickled_and_always_needs_trust(local_reg, monkeypatch):
    namespace = {"CustomModel": CustomModel, "__name__": "__main__"}
    exec("class Doubler(CustomModel):\n    def predict(self, data):\n        return [2 * x for x in data]\n", namespace)
    monkeypatch.setenv("NBREGISTRY_TRUSTED_CLASSES", "__main__:*")  # an allow-list does not cover a pickle
    version = local_reg.register(namespace["Doubler"](), "doubler")
    assert version.flavor == "custom" and version.flavor_meta["format"] == "cloudpickle"
    reader = Registry(local_reg.root, author="bob", trusted_classes=["__main__:Doubler"])
    try:
        with pytest.raises(TrustRequired):
            reader.load(version.ref)
        assert reader.load(version.ref, trust=True).predict([1, 2]) == [2, 4]
    finally:
        reader.close()


def test_missing_artifact_is_refused_with_its_name(local_reg):
    from custom_models import ThresholdScorer

    with pytest.raises(Exception, match="weights.json"):
        local_reg.register(ThresholdScorer(weights_path="/no/such/file.json"), "broken")
    assert local_reg.list_models().total == 0


def test_own_flavors_match_the_entry_points_declared_in_pyproject():
    import tomllib
    from pathlib import Path

    from nbregistry.core.flavors import OWN_FLAVORS

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["nbregistry.flavors"]
    assert {k: v for k, v in declared.items() if k not in ("sklearn", "pickle", "file")} == OWN_FLAVORS


def test_register_detects_each_flavor_from_the_object(scorer, iris_model):
    from nbregistry.core.flavors import detect_flavor

    assert detect_flavor(scorer).name == "custom"
    assert detect_flavor(iris_model).name == "sklearn"
    assert detect_flavor("https://example.org/model.bin").name == "file"
    assert detect_flavor({"plain": "dict"}).name == "pickle"
