"""Documentation that tests enforce: every public Registry method has a docstring and a row in
docs/python-api.md, and the README's quick start is the two make commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbregistry

ROOT = Path(__file__).resolve().parents[1]


def public_methods(cls) -> dict:
    return {name: fn for name, fn in inspect.getmembers(cls, callable) if not name.startswith("_")}


def test_every_public_registry_method_has_a_docstring():
    missing = [name for name, fn in public_methods(nbregistry.Registry).items() if not (fn.__doc__ or "").strip()]
    assert missing == []


def test_every_public_registry_method_is_in_the_python_api_doc():
    doc = (ROOT / "docs" / "python-api.md").read_text()
    mentioned = set(re.findall(r"`([a-z_]+)\(", doc))
    missing = sorted(set(public_methods(nbregistry.Registry)) - mentioned)
    assert missing == [], f"document these in docs/python-api.md: {missing}"


def test_the_checker_notices_an_undocumented_method():
    class Extended(nbregistry.Registry):
        def brand_new_verb(self):
            pass

    doc = (ROOT / "docs" / "python-api.md").read_text()
    assert "brand_new_verb" in set(public_methods(Extended)) - set(re.findall(r"`([a-z_]+)\(", doc))
    assert not (public_methods(Extended)["brand_new_verb"].__doc__ or "").strip()


def test_readme_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)", quick, re.M)
    assert commands == ["make demo", "make test"]
