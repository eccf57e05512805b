"""The ``onnx`` flavor: ONNX models (``onnx.ModelProto``), run with onnxruntime.

``load`` returns an ``onnxruntime.InferenceSession`` (CPU). ``predict`` feeds the input to the
model's single input (or, for a DataFrame, one input per column when the model has several) and
returns the first output; ``predict_proba`` returns the second output when there is one (the
probabilities of converted classifiers), as rows.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from . import Flavor, artifact_file

FILENAME = "model.onnx"
ONNX_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64",
              "tensor(int32)": "int32", "tensor(bool)": "bool", "tensor(string)": "object"}


class OnnxFlavor(Flavor):
    name = "onnx"
    priority = 60

    def handles(self, obj: Any) -> bool:
        onnx = sys.modules.get("onnx")
        return onnx is not None and isinstance(obj, onnx.ModelProto)

    def save(self, obj: Any, folder: Path) -> dict:
        import onnx

        onnx.checker.check_model(obj)
        (folder / FILENAME).write_bytes(obj.SerializeToString())
        return {"filename": FILENAME, "library_version": onnx.__version__,
                "opset": {o.domain or "ai.onnx": o.version for o in obj.opset_import},
                "inputs": [i.name for i in obj.graph.input], "outputs": [o.name for o in obj.graph.output]}

    def load(self, folder: Path, meta: dict, *, trusted: bool) -> Any:
        import onnxruntime

        return onnxruntime.InferenceSession(str(artifact_file(folder, meta)), providers=["CPUExecutionProvider"])

    def predict(self, session: Any, data: Any, method: str) -> Any:
        import numpy as np

        if method not in ("predict", "predict_proba"):
            raise ValueError(f"an ONNX model has no {method}")
        inputs = session.get_inputs()
        if len(inputs) > 1 and hasattr(data, "columns"):
            feed = {i.name: _as(np.asarray(data[i.name]).reshape(-1, 1), i.type) for i in inputs}
        else:
            values = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
            feed = {inputs[0].name: _as(values, inputs[0].type)}
        outputs = session.run(None, feed)
        if method == "predict" or len(outputs) < 2:
            return outputs[0]
        proba = outputs[1]
        if isinstance(proba, list) and proba and isinstance(proba[0], dict):  # skl2onnx's ZipMap
            keys = sorted(proba[0])
            return np.asarray([[row[k] for k in keys] for row in proba])
        return proba


def _as(values, onnx_type: str):
    import numpy as np

    dtype = ONNX_TYPES.get(onnx_type)
    return values.astype(dtype) if dtype else np.asarray(values)
