"""Every export format carries the model card as README.md; --format hf writes a Hugging Face-style
folder whose README front matter names the data each metric was computed on."""

from __future__ import annotations

import tarfile

import yaml
from sklearn.metrics import accuracy_score

from nbregistry import Registry


def _seed(reg, iris, iris_model):
    X, y = iris
    reg.register(iris_model, "churn", metrics={"acc": 0.97}, input_example=X.head(3))
    reg.evaluate("churn:1", data=(X, y), metrics={"acc": accuracy_score}, name="holdout")


def test_bundle_and_mlflow_exports_carry_the_card(local_reg, iris, iris_model, tmp_path):
    _seed(local_reg, iris, iris_model)
    local_reg.set_card("churn", "# Churn\n\nWho leaves next month.")
    local_reg.export("churn", tmp_path / "b.tar")
    with tarfile.open(tmp_path / "b.tar") as tar:
        assert tar.extractfile("README.md").read().decode().startswith("# Churn\n\nWho leaves")
    local_reg.export("churn:1", tmp_path / "mlf", format="mlflow")
    assert (tmp_path / "mlf" / "README.md").read_text().startswith("# Churn")  # the model card for its version
    local_reg.set_card("churn:1", "version one card")
    local_reg.export("churn:1", tmp_path / "v.tar")
    with tarfile.open(tmp_path / "v.tar") as tar:
        assert tar.extractfile("README.md").read().decode() == "version one card\n"
    # the bundle restores the cards and evaluations too
    other = Registry(tmp_path / "other", author="alice")
    other.import_bundle(tmp_path / "b.tar")
    assert other.card("churn") == "# Churn\n\nWho leaves next month."
    assert [e.dataset for e in other.evaluations("churn:1")] == ["holdout"]


def test_without_a_card_the_readme_is_a_draft(local_reg, iris, iris_model, tmp_path):
    _seed(local_reg, iris, iris_model)
    local_reg.export("churn:1", tmp_path / "b.tar")
    with tarfile.open(tmp_path / "b.tar") as tar:
        text = tar.extractfile("README.md").read().decode()
    assert "## Intended use" in text and "holdout" in text


def test_hf_export_folder_with_front_matter(local_reg, iris, iris_model, tmp_path):
    _seed(local_reg, iris, iris_model)
    local_reg.set_card("churn:1", "# churn:1\n\nA card.")
    report = local_reg.export("churn:1", tmp_path / "hf", format="hf")
    assert report.format == "hf"
    readme = (tmp_path / "hf" / "README.md").read_text()
    _, head, body = readme.split("---\n", 2)
    meta = yaml.safe_load(head)
    assert meta["library_name"] == "sklearn" and "nbregistry" in meta["tags"]
    datasets = {r["dataset"]["name"]: r for r in meta["model-index"][0]["results"]}
    assert datasets["holdout"]["dataset"]["revision"] == local_reg.evaluations("churn:1")[0].fingerprint
    assert "as registered (data not recorded)" in datasets
    assert body.strip() == "# churn:1\n\nA card."
    for f in local_reg.get("churn:1").artifact["files"]:
        path = tmp_path / "hf" / f["path"]
        assert path.is_file() and path.stat().st_nlink == 1  # a copy, not a link into the store
    assert (tmp_path / "hf" / "input_example.json").is_file()
    assert (tmp_path / "hf" / "nbregistry.json").is_file()


def test_importing_a_model_under_a_retired_name_is_refused(local_reg, iris, iris_model, tmp_path):
    _seed(local_reg, iris, iris_model)
    local_reg.export("churn", tmp_path / "b.tar")
    local_reg.rename_model("churn", "churn-v2")
    import pytest

    from nbregistry.core.errors import Conflict

    with pytest.raises(Conflict, match="retired"):
        local_reg.import_bundle(tmp_path / "b.tar")
    assert [m.name for m in local_reg.list_models()] == ["churn-v2"]  # nothing was imported
    local_reg.release_name("churn")
    local_reg.import_bundle(tmp_path / "b.tar")
    assert sorted(m.name for m in local_reg.list_models()) == ["churn", "churn-v2"]
