"""The labextension's declared version matches the Python package, so the handshake can agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_frontend_versions_match_python_package():
    python = re.search(r'__version__ = "([^"]+)"', (REPO / "src/nbregistry/_version.py").read_text()).group(1)
    package = json.loads((REPO / "labextension/package.json").read_text())
    constant = re.search(r"FRONTEND_VERSION = '([^']+)'", (REPO / "labextension/src/version.ts").read_text())
    assert package["name"] == "nbregistry"
    assert package["version"] == python
    assert constant.group(1) == python


def test_labextension_builds_into_the_python_package():
    package = json.loads((REPO / "labextension/package.json").read_text())
    assert package["jupyterlab"]["outputDir"] == "../src/nbregistry/labextension"
    assert (REPO / "labextension/package-lock.json").exists()


def test_settings_schema_is_shipped_for_the_settings_editor():
    package = json.loads((REPO / "labextension/package.json").read_text())
    assert package["jupyterlab"]["schemaDir"] == "schema" and "schema/*.json" in package["files"]
    schema = json.loads((REPO / "labextension/schema/panel.json").read_text())  # plugin id nbregistry:panel
    assert set(schema["properties"]) == {"refreshInterval", "registryUrl", "defaultMetric"}
    assert schema["properties"]["refreshInterval"]["default"] > 0
    index = (REPO / "labextension/src/index.ts").read_text()
    assert "const PLUGIN_ID = 'nbregistry:panel'" in index
