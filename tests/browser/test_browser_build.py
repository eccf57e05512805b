"""The JupyterLab the browser tests drive loads this checkout's labextension build, not whichever
build the virtualenv's editable install happens to link (another checkout's would test other code)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from browser.conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_the_lab_serves_this_checkouts_labextension(jupyter_lab):
    with urllib.request.urlopen(f"{jupyter_lab['url']}lab?token={jupyter_lab['token']}", timeout=30) as answer:
        page = answer.read().decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    ours = [ext for ext in config["federated_extensions"] if ext["name"] == "nbregistry"]
    built = json.loads((REPO / "src/nbregistry/labextension/package.json").read_text())
    assert len(ours) == 1 and ours[0]["load"] == built["jupyterlab"]["_build"]["load"]
    entry = ours[0]["load"]
    with urllib.request.urlopen(f"{jupyter_lab['url']}lab/extensions/nbregistry/{entry}?token={jupyter_lab['token']}",
                                timeout=30) as answer:
        assert answer.read() == (REPO / "src/nbregistry/labextension" / entry).read_bytes()
