"""The transformers flavor on a tiny two-layer BERT built locally (no hub downloads): model, model +
tokenizer and pipeline round trips with identical logits; custom code needs trust."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # any hub access would fail the test instead of downloading
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from nbregistry import Registry  # noqa: E402
from nbregistry.core.errors import TrustRequired, ValidationError  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "good", "bad", "movie", "great", "film"]
TEXTS = ["hello world", "bad movie", "great film good"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    folder = tmp_path_factory.mktemp("vocab")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))  # a local vocab file, positional in v4 and v5
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2, initializer_range=0.5,
                        id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    return model, tokenizer


def logits(model, tokenizer, texts=TEXTS):
    import torch

    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()


def other_reader(reg):
    return Registry(reg.root, author="someone-else")


def test_model_and_tokenizer_round_trip_with_identical_logits_and_no_trust(local_reg, tiny):
    model, tokenizer = tiny
    expected = logits(model, tokenizer)
    assert not np.allclose(expected[0], expected[1])  # the tiny model does tell texts apart
    version = local_reg.register({"model": model, "tokenizer": tokenizer}, "bert",
                                 input_example=__import__("pandas").Series(TEXTS, name="text"))
    assert version.flavor == "transformers"
    files = {f["path"] for f in version.artifact["files"]}
    assert "model.safetensors" in files and "config.json" in files
    assert not any(p.endswith((".bin", ".pkl", ".pt")) for p in files)  # no pickled weights
    reader = other_reader(local_reg)
    try:
        loaded = reader.load(version.ref)  # another author, no trust=True: nothing runs code
    finally:
        reader.close()
    assert set(loaded) == {"model", "tokenizer"}
    assert type(loaded["model"]) is type(model)
    np.testing.assert_array_equal(logits(loaded["model"], loaded["tokenizer"]), expected)


def test_bare_model_and_pipeline_round_trip(local_reg, tiny):
    from transformers import pipeline

    model, tokenizer = tiny
    v1 = local_reg.register(model, "bert-model")
    assert v1.flavor == "transformers" and v1.flavor_meta["kind"] == "model"
    again = local_reg.load(v1.ref)
    np.testing.assert_array_equal(logits(again, tokenizer), logits(model, tokenizer))

    pipe = pipeline("text-classification", model=model, tokenizer=tokenizer)
    v2 = local_reg.register(pipe, "bert-pipe")
    assert v2.flavor_meta["kind"] == "pipeline" and v2.flavor_meta["task"] == "text-classification"
    loaded = local_reg.load(v2.ref)
    assert loaded.task == pipe.task
    assert loaded(TEXTS) == pipe(TEXTS)


def test_flavor_predict_scores_texts_as_the_scoring_server_calls_it(local_reg, tiny):
    from nbregistry.core.flavors import get_flavor

    model, tokenizer = tiny
    flavor = get_flavor("transformers")
    parts = {"model": model, "tokenizer": tokenizer}
    proba = flavor.predict(parts, TEXTS, "predict_proba")
    expected = logits(model, tokenizer)
    np.testing.assert_allclose(proba, np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True), rtol=1e-5)
    labels = flavor.predict(parts, __import__("pandas").DataFrame({"text": TEXTS}), "predict")
    assert list(labels) == [["neg", "pos"][i] for i in expected.argmax(axis=1)]


def test_custom_code_in_the_config_needs_trust(local_reg, tiny):
    model, tokenizer = tiny
    version = local_reg.register(model, "bert-custom")
    # a checkpoint whose config names code shipped with it (auto_map), as registered by a stranger
    folder = local_reg.objects.checkout(version.artifact["sha256"])
    staged = local_reg.root / "custom-ckpt"
    staged.mkdir()
    for f in folder.iterdir():
        (staged / f.name).write_bytes(f.read_bytes())
    config = json.loads((staged / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (staged / "config.json").write_text(json.dumps(config))
    (staged / "modeling_evil.py").write_text("raise SystemExit('custom code ran')\n")
    meta = dict(version.flavor_meta, custom_code=False)  # even when the metadata claims otherwise
    meta.pop("files", None)
    forged = local_reg.register_saved(staged, "bert-forged", flavor="transformers", flavor_meta=meta)
    reader = other_reader(local_reg)
    try:
        with pytest.raises((TrustRequired, ValidationError), match="custom code|trust"):
            reader.load(forged.ref)
        honest = dict(meta, custom_code=True)
        flagged = reader.register_saved(staged, "bert-flagged", flavor="transformers", flavor_meta=honest)
        local = Registry(reader.root, author="alice")
        try:
            with pytest.raises(TrustRequired):
                local.load(flagged.ref)
        finally:
            local.close()
    finally:
        reader.close()


def test_detection_does_not_import_transformers():
    import subprocess
    import sys

    code = ("import sys\nfrom nbregistry.core.flavors import detect_flavor, all_flavors\n"
            "assert 'transformers' in all_flavors() and 'custom' in all_flavors()\n"
            "detect_flavor([1, 2])\nassert 'transformers' not in sys.modules and 'torch' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_served_model_and_tokenizer_scores_texts_over_http(local_reg, tiny):
    import pandas as pd
    import requests

    from nbregistry.deploy.serve import serve

    model, tokenizer = tiny
    local_reg.register({"model": model, "tokenizer": tokenizer}, "bert-served",
                       input_example=pd.Series(TEXTS, name="text"))
    expected = logits(model, tokenizer)
    with serve(Registry(local_reg.root, author="server"), "bert-served", port=0) as srv:
        r = requests.post(srv.url + "/invocations", json={"inputs": TEXTS}, timeout=60)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == [["neg", "pos"][i] for i in expected.argmax(axis=1)]
        r = requests.post(srv.url + "/invocations?method=predict_proba",
                          json={"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS]}}, timeout=60)
        assert r.status_code == 200, r.text
        np.testing.assert_allclose(r.json()["predictions"],
                                   np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True), rtol=1e-5)


def test_model_with_a_feature_extractor_round_trips(local_reg):
    """The processor side: a tiny audio classifier with its feature extractor (numpy only)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(8, 8), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=4,
                            num_conv_pos_embedding_groups=2, num_labels=2, classifier_proj_size=8)
    torch.manual_seed(0)
    model = Wav2Vec2ForSequenceClassification(config).eval()
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16000)
    audio = list(np.random.default_rng(0).normal(size=(2, 400)).astype("float32"))

    def scores(parts):
        with torch.no_grad():
            inputs = parts["feature_extractor"](audio, sampling_rate=16000, return_tensors="pt")
            return parts["model"](**inputs).logits.numpy()

    parts = {"model": model, "feature_extractor": extractor}
    version = local_reg.register(parts, "audio")
    assert version.flavor_meta["classes"] == {"model": "Wav2Vec2ForSequenceClassification",
                                              "feature_extractor": "Wav2Vec2FeatureExtractor"}
    reader = other_reader(local_reg)
    try:
        loaded = reader.load(version.ref)
    finally:
        reader.close()
    assert type(loaded["feature_extractor"]) is Wav2Vec2FeatureExtractor
    np.testing.assert_array_equal(scores(loaded), scores(parts))


def test_a_checkpoint_registered_from_a_uri_loads_as_transformers(local_reg, tiny, tmp_path):
    """`register("<uri of a saved checkpoint>", flavor="transformers")`: fetched (fsspec's memory://
    here, the same path as s3:// or hf://), described from its files, loaded without trust."""
    import fsspec

    model, tokenizer = tiny
    model.save_pretrained(tmp_path / "ckpt")
    tokenizer.save_pretrained(tmp_path / "ckpt")
    fs = fsspec.filesystem("memory")
    for f in (tmp_path / "ckpt").iterdir():
        fs.pipe(f"/hub/bert/{f.name}", f.read_bytes())
    version = local_reg.register("memory://hub/bert", "bert-from-uri", flavor="transformers")
    assert version.flavor_meta["classes"] == {"model": "BertForSequenceClassification", "tokenizer": "AutoTokenizer"}
    assert version.flavor_meta["weights"] == "safetensors" and version.flavor_meta["custom_code"] is False
    assert local_reg.get(version.ref).lineage["source"]["uri"] == "memory://hub/bert"
    reader = other_reader(local_reg)
    try:
        loaded = reader.load(version.ref)
        np.testing.assert_array_equal(logits(loaded["model"], loaded["tokenizer"]), logits(model, tokenizer))
        # the same checkpoint with pickled weights or code beside it needs trust
        fs.pipe("/hub/bert/pytorch_model.bin", b"not really a pickle")
        risky = local_reg.register("memory://hub/bert", "bert-risky", flavor="transformers")
        assert risky.flavor_meta["weights"] == "other"
        with pytest.raises(TrustRequired):
            reader.load(risky.ref)
    finally:
        reader.close()
        fs.rm("/hub", recursive=True)
    with pytest.raises(ValidationError, match="cannot describe"):
        local_reg.register("memory://hub/x.bin", "x", flavor="sklearn")
