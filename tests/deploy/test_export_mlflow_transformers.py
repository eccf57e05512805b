"""`export --format mlflow` for the transformers flavor, loaded by MLflow's own loaders
(mlflow.transformers and mlflow.pyfunc, from mlflow-skinny) with identical outputs: a tiny BERT built
locally, no downloads."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import yaml

os.environ["HF_HUB_OFFLINE"] = "1"  # any hub access would fail the test instead of downloading
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from tiny_bert import TEXTS, logits, tiny_bert  # noqa: E402

from nbregistry import Registry  # noqa: E402
from nbregistry.core.errors import ValidationError  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("vocab"))


def read_mlmodel(path):
    return yaml.safe_load((path / "MLmodel").read_text())


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_model_and_tokenizer_export_as_mlflows_transformers_flavor(local_reg, tiny, tmp_path):
    import mlflow.pyfunc
    import mlflow.transformers

    model, tokenizer = tiny
    expected = logits(model, tokenizer)
    version = local_reg.register({"model": model, "tokenizer": tokenizer}, "bert",
                                 input_example=pd.Series(TEXTS, name="text"))
    out = tmp_path / "bert-mlflow"
    bob = Registry(local_reg.root, author="bob")  # another reader: safetensors, no trust needed
    try:
        bob.export(version.ref, out, format="mlflow")
        ours = bob.predict(version.ref, pd.DataFrame({"text": TEXTS}))
    finally:
        bob.close()
    mlmodel = read_mlmodel(out)
    conf = mlmodel["flavors"]["transformers"]
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.transformers"
    assert conf["task"] == "text-classification" and conf["pipeline_model_type"] == "BertForSequenceClassification"
    assert conf["components"] == ["tokenizer"] and conf["tokenizer_type"] == type(tokenizer).__name__
    assert (out / "model" / "model.safetensors").is_file() and (out / "components" / "tokenizer").is_dir()
    assert not any(p.suffix in (".bin", ".pkl", ".pt") for p in out.rglob("*"))  # nothing pickled
    assert json.loads(mlmodel["signature"]["inputs"]) == [{"type": "string", "name": "text", "required": True}]
    assert json.loads(mlmodel["signature"]["outputs"]) == [{"type": "string", "name": "label", "required": True},
                                                          {"type": "double", "name": "score", "required": True}]

    parts = mlflow.transformers.load_model(str(out), return_type="components")
    np.testing.assert_array_equal(logits(parts["model"], parts["tokenizer"]), expected)
    pipe = mlflow.transformers.load_model(str(out))
    labels = [["neg", "pos"][i] for i in expected.argmax(axis=1)]
    assert [row["label"] for row in pipe(TEXTS)] == labels
    np.testing.assert_allclose([row["score"] for row in pipe(TEXTS)], softmax(expected).max(axis=1), rtol=1e-5)

    pyfunc = mlflow.pyfunc.load_model(str(out))
    answer = pyfunc.predict(pd.DataFrame({"text": TEXTS}))
    assert answer["label"].tolist() == labels == ours.iloc[:, 0].tolist()  # MLflow and nbregistry agree
    np.testing.assert_allclose(answer["score"], softmax(expected).max(axis=1), rtol=1e-5)
    example = pyfunc.metadata.load_input_example(str(out))
    assert example["text"].tolist() == TEXTS


def test_a_stored_pipeline_exports_with_its_task(local_reg, tiny, tmp_path):
    import mlflow.transformers
    from transformers import pipeline

    model, tokenizer = tiny
    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer)
    local_reg.register(pipe, "bert-pipe")
    local_reg.export("bert-pipe:1", tmp_path / "pipe", format="mlflow")
    assert read_mlmodel(tmp_path / "pipe")["flavors"]["transformers"]["instance_type"] == type(pipe).__name__
    assert mlflow.transformers.load_model(str(tmp_path / "pipe"))(TEXTS) == pipe(TEXTS)


def test_a_bare_model_exports_as_a_pyfunc_over_its_safetensors_checkpoint(local_reg, tiny, tmp_path, monkeypatch):
    """MLflow's transformers flavor stores pipelines only; a bare model has none, so it becomes a pyfunc
    that scores as nbregistry does (named tensors in, labels out), its weights a safetensors artifact."""
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # the wrapper (no weights) is a pickle
    model, tokenizer = tiny
    local_reg.register(model, "bert-model")
    out = tmp_path / "bare"
    local_reg.export("bert-model:1", out, format="mlflow")
    mlmodel = read_mlmodel(out)
    assert "transformers" not in mlmodel["flavors"]
    assert mlmodel["flavors"]["python_function"]["artifacts"]["checkpoint"]["path"] == "artifacts/checkpoint"
    assert (out / "artifacts" / "checkpoint" / "model.safetensors").is_file()
    inputs = {k: v.numpy() for k, v in tokenizer(TEXTS, padding=True, return_tensors="pt").items()}
    answer = mlflow.pyfunc.load_model(str(out)).predict(inputs)
    from nbregistry.core.flavors import get_flavor

    ours = get_flavor("transformers").predict(local_reg.load("bert-model:1"), inputs, "predict")
    assert list(answer) == list(ours) == [["neg", "pos"][i] for i in logits(model, tokenizer).argmax(axis=1)]


def test_custom_code_is_refused_with_a_message(local_reg, tiny, tmp_path):
    model, tokenizer = tiny
    version = local_reg.register(model, "bert-custom")
    folder = local_reg.objects.checkout(version.artifact["sha256"])
    meta = dict(version.flavor_meta, custom_code=True)
    meta.pop("files", None)
    flagged = local_reg.register_saved(folder, "bert-flagged", flavor="transformers", flavor_meta=meta)
    with pytest.raises(ValidationError, match="custom code"):
        local_reg.export(flagged.ref, tmp_path / "x", format="mlflow", trust=True)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
