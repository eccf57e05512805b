"""Built and installed as a user gets it: sdist and wheel from a clean clone, a wheel from the sdist
with no Node on PATH, and a fresh virtualenv holding only JupyterLab plus the wheel, where the
extensions show as OK and a kernel registers a 40 MB array (big enough for the progress bar)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _run(argv, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def _plain(done) -> str:
    """stdout + stderr without the terminal colours jupyter's list commands add."""
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """sdist and wheel built from a clean clone of the committed tree (build output is git-ignored,
    so the clone has no built labextension: the sdist build makes it)."""
    work = tmp_path_factory.mktemp("packaging")
    clone = work / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)])
    modules = REPO / "labextension" / "node_modules"
    if modules.is_dir():  # reuse the Makefile's npm ci instead of downloading 200 MB again
        (clone / "labextension" / "node_modules").symlink_to(modules)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--outdir", str(work / "dist"), str(clone)],
         env=env)
    sdist = next((work / "dist").glob("nbregistry-*.tar.gz"))

    # The wheel is built from the unpacked sdist with nothing on PATH: no npm, no node.
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    source = next((work / "unpacked").iterdir())
    empty = work / "empty-bin"
    empty.mkdir()
    _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(work / "dist"), str(source)],
         env={**os.environ, "PATH": str(empty)})
    wheel = next((work / "dist").glob("nbregistry-*.whl"))
    return work, sdist, wheel


def test_the_sdist_carries_the_license_the_built_labextension_and_the_server_config(dists):
    _, sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("LICENSE", "install.json", "pyproject.toml", "src/nbregistry/labextension/package.json",
                   "jupyter-config/server-config/nbregistry.json", "src/nbregistry/server/openapi.yaml",
                   "labextension/package.json", "labextension/package-lock.json"):
        assert needed in names, needed
    assert any(n.startswith("src/nbregistry/labextension/static/") and n.endswith(".js") for n in names)
    assert not any("node_modules" in n or n.startswith(".venv") for n in names)


def test_the_wheel_built_without_node_ships_everything_a_user_needs(dists):
    _, _, wheel = dists
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        data = "nbregistry-" + wheel.name.split("-")[1] + ".data/data/"
        install = json.loads(zf.read(data + "share/jupyter/labextensions/nbregistry/install.json"))
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for needed in ("share/jupyter/labextensions/nbregistry/package.json",
                   "etc/jupyter/jupyter_server_config.d/nbregistry.json"):
        assert data + needed in names, needed
    assert any(n.startswith(data + "share/jupyter/labextensions/nbregistry/static/") for n in names)
    assert "nbregistry/server/openapi.yaml" in names
    assert install == {"packageManager": "python", "packageName": "nbregistry",
                       "uninstallInstructions": install["uninstallInstructions"]}
    assert "Classifier: Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt" in metadata
    assert "License-Expression: BSD-3-Clause" in metadata
    for extra in ("sklearn", "torch", "xgboost", "lightgbm", "onnx", "keras", "mlflow", "s3", "all"):
        assert f"Provides-Extra: {extra}" in metadata, extra
    assert "Requires-Dist: tqdm" in metadata


def test_a_fresh_venv_with_only_jupyterlab_and_the_wheel_works(dists):
    work, _, wheel = dists
    venv = work / "fresh"
    _run([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)])
    bin_ = venv / "bin"
    _run([str(bin_ / "pip"), "install", "-q", "jupyterlab>=4.6,<5", str(wheel)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBREGISTRY", "PYTHONPATH"))}
    env.update(PATH=f"{bin_}{os.pathsep}{os.environ['PATH']}", HOME=str(work / "home"),
               JUPYTER_CONFIG_DIR=str(work / "cfg"), JUPYTER_DATA_DIR=str(work / "data"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"),
               NBREGISTRY_ROOT=str(work / "registry"), NBREGISTRY_USER="alice")

    labext = _plain(_run([str(bin_ / "jupyter"), "labextension", "list"], env=env))
    assert re.search(r"^\s*nbregistry v?\S+ enabled OK \(python, nbregistry\)", labext, re.M), labext
    serverext = _plain(_run([str(bin_ / "jupyter"), "server", "extension", "list"], env=env))
    assert re.search(r"^\s*nbregistry enabled$", serverext, re.M), serverext
    assert re.search(r"^\s*nbregistry \S+ OK$", serverext, re.M), serverext

    script = r'''
import nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("%load_ext nbregistry"),
    nbformat.v4.new_code_cell("import numpy as np\nbig = np.random.default_rng(0).random(5_000_000)"),
    nbformat.v4.new_code_cell("%register big --name big-array"),
])
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
print(nb.cells[2].outputs)
'''
    _run([str(bin_ / "python"), "-c", script], env=env, cwd=work)
    shown = _run([str(bin_ / "nbregistry"), "show", "big-array:1", "--json"], env=env)
    version = json.loads(shown.stdout)
    assert version["author"] == "alice" and version["artifact"]["size"] > 40_000_000
    verified = _run([str(bin_ / "nbregistry"), "verify", "--json"], env=env)
    assert json.loads(verified.stdout)["ok"] is True
