"""An importable custom model class for the custom-flavor tests (a class in a module, not __main__)."""

from __future__ import annotations

import json

from nbregistry import CustomModel


class ThresholdScorer(CustomModel):
    """Scores rows as weights . row > threshold; the weights live in an artifact file."""

    def __init__(self, threshold: float = 0.0, weights_path: str | None = None):
        self.init_kwargs = {"threshold": threshold}
        self.artifacts = {"weights.json": weights_path} if weights_path else {}
        self.weights = None

    def load_artifacts(self, artifacts):
        self.weights = json.loads(artifacts["weights.json"].read_text())

    def predict(self, data):
        rows = data.values.tolist() if hasattr(data, "values") else list(data)
        return [int(sum(w * x for w, x in zip(self.weights, row)) > self.init_kwargs["threshold"]) for row in rows]
