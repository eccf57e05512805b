"""Fixtures shared by every test folder.

``reg`` is THE registry fixture for behavioural tests: it is parametrized over registry kinds
(``local`` always; ``remote`` — a RemoteRegistry talking to a real server — once the server tests
provide the ``remote_registry`` fixture in tests/server/remote_fixture.py). Tests that need the
local disk (crash safety, tampering, gc) use ``local_reg``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # tests/helpers.py

REGISTRY_KINDS = ["local", "pg-s3"]  # pg-s3: PostgreSQL metadata + S3 blobs (tests/pg_cluster.py, backends.py)
try:  # the server suite adds "remote" when it is present
    from server.remote_fixture import REMOTE_KINDS, remote_registry  # noqa: F401

    REGISTRY_KINDS += REMOTE_KINDS
except ImportError:
    pass


def pytest_collection_modifyitems(config, items):
    """Browser tests run last. Playwright's sync API keeps an asyncio loop running on the main thread
    for as long as its session lives; pytest-jupyter's autouse ``jp_asyncio_loop`` fixture would try
    to close that running loop after every later test and fail each one at teardown."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True, scope="session")
def _isolated_home(tmp_path_factory):
    """Keep Jupyter, IPython and the default registry out of the real home folder."""
    base = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR",
                                            "IPYTHONDIR", "NBREGISTRY_ROOT", "NBREGISTRY_URL", "NBREGISTRY_USER")}
    for k in ("runtime", "data", "config"):
        os.environ[f"JUPYTER_{k.upper()}_DIR"] = str(base / k)
    os.environ["IPYTHONDIR"] = str(base / "ipython")
    os.environ["NBREGISTRY_ROOT"] = str(base / "default-registry")
    os.environ.pop("NBREGISTRY_URL", None)
    os.environ["NBREGISTRY_USER"] = "tester"
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def local_reg(tmp_path):
    from nbregistry import Registry

    reg = Registry(tmp_path / "registry", author="alice")
    yield reg
    reg.close()


# Object-store backends for tests that exercise blobs: ``blob_reg`` (and ``reg`` where a module adds "local-s3").
from backends import s3_endpoint, s3_url, registry_with_s3  # noqa: E402,F401
# A throwaway PostgreSQL cluster (tests/pg_cluster.py): ``postgres_server`` per session, ``pg_url`` per test.
from pg_cluster import pg_registry_url, pg_template, pg_url, postgres_server  # noqa: E402,F401

BLOB_KINDS = ["folder", "s3", "pg-s3"]


@pytest.fixture(params=BLOB_KINDS)
def blob_reg(request, tmp_path):
    """A fresh registry acting as 'alice' whose blobs are in a folder, then in an S3 bucket (with
    metadata in SQLite, then in PostgreSQL)."""
    from nbregistry import Registry

    if request.param == "folder":
        registry = Registry(tmp_path / "registry", author="alice")
    elif request.param == "s3":
        registry = registry_with_s3(tmp_path, request.getfixturevalue("s3_url"), author="alice")
    else:
        registry = registry_with_s3(tmp_path, request.getfixturevalue("s3_url"), author="alice",
                                    db=request.getfixturevalue("pg_registry_url"))
    yield registry
    registry.close()


@pytest.fixture(params=REGISTRY_KINDS)
def reg(request, tmp_path):
    """A fresh empty registry acting as user 'alice', of each kind in REGISTRY_KINDS."""
    yield from _registry_of_kind(request, request.param, tmp_path)


@pytest.fixture
def _reg_of_kind(request, tmp_path):
    """The registry of the kind a module's own ``reg`` fixture was parametrized with."""
    yield from _registry_of_kind(request, request.node.callspec.params["reg"], tmp_path)


def _registry_of_kind(request, kind, tmp_path):
    if kind == "local":
        from nbregistry import Registry

        registry = Registry(tmp_path / "registry", author="alice")
        yield registry
        registry.close()
    elif kind == "local-s3":  # blobs in an S3 bucket (tests/backends.py), metadata in SQLite
        registry = registry_with_s3(tmp_path, request.getfixturevalue("s3_url"), author="alice")
        yield registry
        registry.close()
    elif kind == "pg-s3":  # metadata in PostgreSQL, blobs in an S3 bucket
        registry = registry_with_s3(tmp_path, request.getfixturevalue("s3_url"), author="alice",
                                    db=request.getfixturevalue("pg_registry_url"))
        yield registry
        registry.close()
    else:
        yield request.getfixturevalue("remote_registry")


@pytest.fixture
def as_user(reg):
    """``with as_user(reg, "bob"): ...`` acts as another author on the same registry."""
    from contextlib import contextmanager

    @contextmanager
    def switch(registry, name):
        before = registry.author
        registry.author = name
        try:
            yield registry
        finally:
            registry.author = before

    return switch


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def iris_model(iris):
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    return LogisticRegression(max_iter=500).fit(X, y)
