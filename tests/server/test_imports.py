"""``import nbregistry`` (and the RemoteRegistry module) stays cheap: no tornado, jupyter_server or
requests until a server or a remote call needs them. The checker is shown to notice them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("tornado", "jupyter_server", "requests")


def heavy_modules_after(statement: str) -> list[str]:
    code = (f"import sys; {statement}; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return eval(out)


def test_import_nbregistry_and_remote_load_no_web_stack():
    assert heavy_modules_after("import nbregistry, nbregistry.remote, nbregistry.server.cli") == []


def test_the_check_sees_the_web_stack_when_it_is_imported():
    assert heavy_modules_after("import nbregistry.server.routes") == ["jupyter_server", "tornado"]
