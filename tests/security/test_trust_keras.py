"""Attack: a Keras model with a ``Lambda`` layer (Python bytecode in the .keras file) by another
author. Loading it must not run the lambda unless the reader passes ``trust=True``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

REGISTER = """
import os
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from nbregistry import Registry
inputs = keras.Input((4,))
hidden = keras.layers.Lambda(lambda x: (open({marker!r}, "a").write("ran "), x)[1])(inputs)
model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
Registry({root!r}, author="mallory").register(model, "lambda-net")
"""

LOAD = """
import json
from nbregistry import Registry
from nbregistry.core.errors import TrustRequired
reg = Registry({root!r}, author={reader!r})
try:
    model = reg.load("lambda-net", trust={trust!r})
    print(json.dumps({{"loaded": type(model).__name__}}))
except TrustRequired as exc:
    print(json.dumps({{"refused": str(exc)}}))
"""


def run(script: str) -> dict:
    env = {**{k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}, "NBREGISTRY_URL": ""}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout.strip() else {}


def test_a_lambda_layer_by_someone_else_does_not_run(root, marker):
    run(REGISTER.format(marker=str(marker), root=str(root)))
    marker.unlink(missing_ok=True)  # building the model ran the lambda on mallory's side
    answer = run(LOAD.format(root=str(root), reader="alice", trust=False))
    assert "Lambda" in answer["refused"] and "trust=True" in answer["refused"]
    assert not marker.exists()
    # the reader's explicit trust is what turns safe mode off (and then the lambda does run)
    assert run(LOAD.format(root=str(root), reader="alice", trust=True)) == {"loaded": "Functional"}
    assert marker.exists()
