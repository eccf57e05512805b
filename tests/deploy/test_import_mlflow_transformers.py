"""MLflow -> nbregistry for Hugging Face models: a version logged with MLflow's own transformers
flavor imports as nbregistry's transformers flavor (safetensors, no trust needed), predicts with
identical logits, serves, and exports back to MLflow byte for byte. A tiny BERT, no downloads."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from tiny_bert import TEXTS, logits, tiny_bert  # noqa: E402

from nbregistry import Registry  # noqa: E402
from nbregistry.core.errors import ValidationError  # noqa: E402


@pytest.fixture(scope="module")
def mlflow_bert(tmp_path_factory):
    import mlflow
    import mlflow.transformers
    from transformers import pipeline

    base = tmp_path_factory.mktemp("mlflow-bert")
    model, tokenizer = tiny_bert(base)
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer)
    uri = f"sqlite:///{base / 'mlflow.db'}"
    saved = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        experiment = mlflow.MlflowClient(uri, uri).create_experiment("bert", artifact_location=str(base / "art"))
        with mlflow.start_run(experiment_id=experiment, tags={"mlflow.user": "erin"}):
            mlflow.transformers.log_model(pipe, name="model", registered_model_name="bert",
                                          input_example=pd.DataFrame({"text": TEXTS[:2]}),
                                          pip_requirements=["transformers", "torch"])
    finally:
        mlflow.set_tracking_uri(saved[0])
        mlflow.set_registry_uri(saved[1])
    return {"uri": uri, "model": model, "tokenizer": tokenizer, "pipe": pipe}


def test_an_mlflow_transformers_version_imports_as_the_transformers_flavor(local_reg, mlflow_bert, tmp_path):
    report = local_reg.import_mlflow(mlflow_bert["uri"], models=["bert"])
    assert report.refs == ["bert:1"]
    version = local_reg.get("bert:1")
    meta = version.flavor_meta
    assert version.flavor == "transformers" and version.author == "erin"
    assert meta["kind"] == "pipeline" and meta["task"] == "text-classification"
    assert meta["paths"] == {"model": "model", "tokenizer": "components/tokenizer"}
    assert meta["weights"] == "safetensors" and meta["custom_code"] is False
    reader = Registry(local_reg.root, author="bob")  # not the author, no trust=True: nothing runs code
    try:
        pipe = reader.load("bert:1")
        assert pipe(TEXTS) == mlflow_bert["pipe"](TEXTS)
        np.testing.assert_array_equal(logits(pipe.model, pipe.tokenizer),
                                      logits(mlflow_bert["model"], mlflow_bert["tokenizer"]))
        scored = reader.predict("bert:1", pd.DataFrame({"text": TEXTS}))["predict"].tolist()
        assert scored == mlflow_bert["pipe"](TEXTS)  # a pipeline answers as the pipeline does
    finally:
        reader.close()
    # back to MLflow: the directory as it was imported
    out = tmp_path / "back"
    local_reg.export("bert:1", out, format="mlflow")
    import mlflow.transformers

    assert mlflow.transformers.load_model(str(out))(TEXTS) == mlflow_bert["pipe"](TEXTS)


def test_code_shipped_inside_an_mlflow_directory_needs_trust(local_reg, mlflow_bert):
    """auto_map in a component's config (a subfolder) is found as it is at the top level."""
    import json

    local_reg.import_mlflow(mlflow_bert["uri"], models=["bert"])
    version = local_reg.get("bert:1")
    folder = local_reg.objects.checkout(version.artifact["sha256"])
    staged = local_reg.root / "staged"
    for f in folder.rglob("*"):
        if f.is_file():
            target = staged / f.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    config = staged / "components" / "tokenizer" / "tokenizer_config.json"
    data = json.loads(config.read_text())
    data["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
    config.write_text(json.dumps(data))
    meta = {k: v for k, v in version.flavor_meta.items() if k != "files"}
    forged = local_reg.register_saved(staged, "bert-forged", flavor="transformers", flavor_meta=meta)
    reader = Registry(local_reg.root, author="bob")
    try:
        with pytest.raises(ValidationError, match="auto_map"):
            reader.load(forged.ref)
    finally:
        reader.close()
