"""Execute a notebook in a fresh kernel (nbclient), with the registry and user set explicitly."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nbregistry.core.reproduce import RESULT_PREFIX


def execute(path: Path, monkeypatch, *, root: Path, user: str = "tester", cwd: Path | None = None,
            timeout: int = 300):
    """Run every cell of ``path``; returns the executed notebook. Kernels inherit the environment."""
    monkeypatch.setenv("NBREGISTRY_ROOT", str(root))
    monkeypatch.setenv("NBREGISTRY_USER", user)
    monkeypatch.delenv("NBREGISTRY_URL", raising=False)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    client.execute()
    return nb


def stdout(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream")


def reproduce_result(nb) -> dict:
    for line in stdout(nb).splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise AssertionError("the reproduce notebook printed no result line:\n" + stdout(nb))
