"""Fixtures for the browser tests: a seeded registry, a real `jupyter lab`, headless Chromium.

One JupyterLab server serves the whole session (the start-up-bytes module adds one of its own over a
10,000-model registry) and one Chromium each module; every test gets a fresh browser context (its own
cookies and page) at 1280×800. Screenshots go to tests/browser/artifacts/ (git-ignored).
A missing Chromium fails these tests: CI must install it (the Makefile does).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SEED_AUTHOR = "alice"  # who registered the seeded versions
PANEL_USER = "reviewer"  # whom the server records for the browser's writes (approvals must not be by the author)
FILLER_MODELS = 400  # real rows past several pages
BIG_VERSIONS = 700  # "big": more versions than any page
BIG_REGISTRY_MODELS = 10_000  # the start-up-bytes module's registry
VIEWPORT = {"width": 1280, "height": 800}
WIDE = {"width": 1920, "height": 1080}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when pytest dies, even when killed before teardown."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _seed(root: Path) -> dict:
    """Fill a registry through the Python API: what a newcomer would see after a few days' work."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import nbregistry as nr

    reg = nr.Registry(root, author=SEED_AUTHOR)
    X = pd.DataFrame({"tenure": np.arange(40.0), "calls": np.arange(40.0) % 5})
    y = (X.tenure > 19).astype(int)
    for version, (c, auc, loss) in enumerate([(0.1, 0.71, 0.52), (1.0, 0.84, 0.41), (10.0, 0.88, 0.37)], 1):
        reg.register(LogisticRegression(C=c).fit(X, y), "churn", metrics={"auc": auc, "loss": loss},
                     params={"C": str(c), "penalty": "l2"}, tags={"team": "retention"},
                     description=f"Logistic regression, C={c}", data=X, input_example=X.head(3),
                     notebook={"path": "train.ipynb", "warnings": ["cell 3 ran before cell 2"],
                               "cells": [{"execution_count": 1, "source": "import pandas as pd"},
                                         {"execution_count": 3, "source": f"model = LogisticRegression(C={c})"},
                                         {"execution_count": 2, "source": "model.fit(X, y)"}]})
    reg.set_alias("churn:1", "production", reason="first model")
    reg.set_alias("churn:2", "staging")
    for auc in (0.91, 0.93):
        reg.register(LogisticRegression().fit(X, y), "fraud", metrics={"auc": auc}, params={"max_iter": "100"})
    reg.set_alias("fraud:1", "production")
    reg.set_policy("fraud", "production", {"required_approvals": 1})
    # churn:4 is the browser user's own: their approval of it must not count.
    mine = nr.Registry(root, author=PANEL_USER)
    mine.register(LogisticRegression(C=3.0).fit(X, y), "churn", metrics={"auc": 0.86, "loss": 0.39},
                  params={"C": "3.0", "penalty": "l2"}, tags={"team": "retention"}, description="Mine, C=3")
    mine.close()
    filler = root.parent / "filler.txt"
    filler.write_text("placeholder artifact\n")
    for index in range(FILLER_MODELS):
        reg.register(filler, f"zz-filler-{index:04d}", metrics={"auc": 0.5})
    for index in range(1, BIG_VERSIONS + 1):  # a learning-rate sweep: auc rises and falls a little
        reg.register(filler, "big", metrics={"auc": round(0.95 + 0.02 * ((index * 37) % 100) / 100, 4)},
                     params={"lr": str(index / 1000), "depth": "6", "seed": "0"}, tags={"sweep": "lr"})
    reg.close()
    return {"models": 3 + FILLER_MODELS}


BIG_SEED = """
import pathlib, sys
import nbregistry as nr
root, count = pathlib.Path(sys.argv[1]), int(sys.argv[2])
reg = nr.Registry(root / "reg", author="alice")
artifact = root / "model.txt"
artifact.write_text("a small model\\n")
for index in range(count):
    reg.register(artifact, f"m-{index:05d}", metrics={"auc": 0.5 + (index % 100) / 1000}, tags={"batch": "big"})
reg.close()
"""


def pytest_collection_modifyitems(config, items):
    config.nbr_needs_big_registry = any("startup_bytes" in item.nodeid for item in items)


@pytest.fixture(scope="session", autouse=True)
def big_registry_seeding(request):
    """The 10,000-model registry of the start-up-bytes module, seeded in a background process from the
    start of the session (it takes minutes), cached like the main seed."""
    if not getattr(request.config, "nbr_needs_big_registry", False):
        yield None
        return
    import hashlib

    from nbregistry.core.migrations import MIGRATION_NAMES

    key = hashlib.sha256((BIG_SEED + repr(MIGRATION_NAMES) + str(BIG_REGISTRY_MODELS)).encode()).hexdigest()[:16]
    cache = SCREENSHOTS / f".big-{key}"
    if (cache / "reg" / "registry.db").exists():
        yield {"cache": cache, "process": None, "building": None}
        return
    building = SCREENSHOTS / f".big-building-{uuid.uuid4().hex[:6]}"
    building.mkdir(parents=True)
    process = subprocess.Popen([sys.executable, "-c", BIG_SEED, str(building), str(BIG_REGISTRY_MODELS)],
                               stdout=subprocess.DEVNULL, stderr=open(building / "seed.log", "wb"),
                               preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    yield {"cache": cache, "process": process, "building": building}
    if process.poll() is None:
        process.kill()
        process.wait()
        shutil.rmtree(building, ignore_errors=True)


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """Replace pytest-jupyter's autouse loop fixture here: it would fetch and then close the
    event loop Playwright's sync API keeps running for the whole session."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """Likewise pytest-jupyter's in-process server cleanup: these tests run JupyterLab in a subprocess."""
    yield


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _seed_key() -> str:
    """Changes whenever the seed or the schema does."""
    import hashlib
    import inspect

    from nbregistry.core.migrations import MIGRATION_NAMES

    text = inspect.getsource(_seed) + repr(MIGRATION_NAMES) + repr((FILLER_MODELS, BIG_VERSIONS, PANEL_USER))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def registry_root(tmp_path_factory) -> Path:
    """A fresh copy of the seeded registry. Seeding takes a minute on a busy machine, so the seeded
    registry is kept (git-ignored, keyed by the seed's source and the schema) and copied per session."""
    root = tmp_path_factory.mktemp("registry") / "reg"
    cache = SCREENSHOTS / f".seed-{_seed_key()}"
    if not (cache / "reg" / "registry.db").exists():
        building = SCREENSHOTS / f".seed-building-{uuid.uuid4().hex[:6]}"
        building.mkdir(parents=True)
        _seed(building / "reg")
        shutil.rmtree(cache, ignore_errors=True)
        building.rename(cache)
    shutil.copytree(cache, root.parent, dirs_exist_ok=True)
    return root


def _write_settings(settings_dir: Path) -> None:
    # No news or update toast over the screenshots.
    target = settings_dir / "@jupyterlab" / "apputils-extension"
    target.mkdir(parents=True, exist_ok=True)
    (target / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Every cell in the DOM: notebook windowing would detach the outputs a test scrolls past.
    notebook = settings_dir / "@jupyterlab" / "notebook-extension"
    notebook.mkdir(parents=True, exist_ok=True)
    (notebook / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory, registry_root):
    """A real `jupyter lab` on a free loopback port, with a token and the seeded registry."""
    yield from start_lab(tmp_path_factory, registry_root)


def this_checkouts_labextensions(base: Path) -> Path:
    """A folder for JUPYTER_PATH whose ``labextensions/nbregistry`` is THIS checkout's build. The
    venv's ``share/jupyter/labextensions/nbregistry`` may point at another checkout's build (an
    editable install links the one it was installed from), and JupyterLab takes the first
    ``nbregistry`` it finds along JUPYTER_PATH, then the user's, then the environment's folders."""
    build = REPO / "src" / "nbregistry" / "labextension"
    if not (build / "package.json").exists():
        pytest.fail(f"the labextension is not built in {REPO}: make labextension "
                    "(cd labextension && npm ci && npm run build:prod)")
    folder = base / "jupyter-path"
    (folder / "labextensions").mkdir(parents=True)
    (folder / "labextensions" / "nbregistry").symlink_to(build, target_is_directory=True)
    return folder


def jupyter_path_env(base: Path) -> str:
    """JUPYTER_PATH with this checkout's labextension first (see :func:`this_checkouts_labextensions`)."""
    first = str(this_checkouts_labextensions(base))
    return os.pathsep.join(p for p in [first, os.environ.get("JUPYTER_PATH", "")] if p)


def start_lab(tmp_path_factory, registry_root):
    base = tmp_path_factory.mktemp("lab")
    notebooks = base / "notebooks"
    notebooks.mkdir()
    config_dir = base / "config"
    config_dir.mkdir()
    # Enable the server extension explicitly: the test must not depend on what is installed in etc/.
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"nbregistry": True}}}))
    settings = base / "settings"
    _write_settings(settings)
    token = uuid.uuid4().hex
    port = _free_port()
    env = dict(os.environ, NBREGISTRY_ROOT=str(registry_root), JUPYTER_CONFIG_DIR=str(config_dir),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"),
               HOME=str(base / "home"), NBREGISTRY_USER=PANEL_USER, JUPYTER_PATH=jupyter_path_env(base),
               JUPYTER_DATA_DIR=str(base / "data"))
    env.pop("NBREGISTRY_URL", None)
    log = open(base / "jupyter.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={notebooks}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}", "--FileContentsManager.delete_to_trash=False",
         "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=notebooks,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                pytest.fail(f"jupyter lab did not start:\n{(base / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.3)
    yield {"url": url, "token": token, "notebooks": notebooks, "log": base / "jupyter.log", "root": registry_root,
           "data_dir": base / "data"}  # where the server keeps notebook signatures (trust)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="session", autouse=True)
def _fresh_failure_screenshots():
    """Failure screenshots of an earlier run would mislead: start without them."""
    for old in SCREENSHOTS.glob("FAILED-*.png"):
        old.unlink()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed (apt-get install -y chromium): browser tests cannot run")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path, tmp_path_factory):
    """Chromium, per test module: Playwright's sync API keeps an event loop running while it is
    open, which the asyncio fixtures of the other test folders must not inherit."""
    from playwright.sync_api import sync_playwright

    home = tmp_path_factory.mktemp("chromium-home")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_FLAGS, headless=True,
            env=dict(os.environ, HOME=str(home)))
        yield browser
        browser.close()


@pytest.fixture
def lab(request, browser, jupyter_lab):
    """A JupyterLab page, loaded and ready, in a fresh browser context."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # A workspace of its own, reset: what one test opened is not restored into the next.
    workspace = f"{jupyter_lab['url']}lab/workspaces/{request.node.name[:40]}-{uuid.uuid4().hex[:6]}"
    page.workspace_url = workspace
    page.goto(f"{workspace}?reset&token={jupyter_lab['token']}")
    page.wait_for_selector('.jp-SideBar .lm-TabBar-tab[data-id="nbregistry-panel"]', timeout=60_000)
    # ...and the shell restored its layout: keys pressed earlier can land before the shell listens
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.restored", timeout=60_000)
    page.evaluate("() => window.jupyterapp.restored.then(() => true)")
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:  # what the page showed when the test failed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"))
    context.close()


@pytest.fixture
def screenshot(request):
    """`screenshot(page, "name")` saves tests/browser/artifacts/<name>-1280x800.png and, at 1920×1080,
    <name>-1920x1080.png (the page goes back to 1280×800 after)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, wide: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}-1280x800.png"
        page.screenshot(path=str(path))
        if wide:
            page.set_viewport_size(WIDE)
            page.wait_for_timeout(400)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-1920x1080.png"))
            page.set_viewport_size(VIEWPORT)
            page.wait_for_timeout(300)
        return path

    return take


def run_command(page, command: str, args: dict | None = None) -> None:
    """Run a JupyterLab command (the lab runs with expose_app_in_browser). Returns nothing, so the
    evaluate never waits on the command's promise."""
    page.evaluate("([c, a]) => { window.jupyterapp.commands.execute(c, a); }", [command, args or {}])
