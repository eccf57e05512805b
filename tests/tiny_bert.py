"""A tiny two-layer BERT classifier and its tokenizer, built locally from a config (no hub downloads)."""

from __future__ import annotations

from pathlib import Path

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "good", "bad", "movie", "great", "film"]
TEXTS = ["hello world", "bad movie", "great film good"]


def tiny_bert(folder: Path):
    """``(model, tokenizer)``: a seeded ``BertForSequenceClassification`` (labels neg/pos) in eval mode."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizer(str(folder / "vocab.txt"))
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=2, initializer_range=0.5,
                        id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1})
    torch.manual_seed(0)
    return BertForSequenceClassification(config).eval(), tokenizer


def logits(model, tokenizer, texts=TEXTS):
    import torch

    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.numpy()
