"""The route table, openapi.yaml and docs/rest-api.md list the same routes with the same
authorization resources, and the OpenAPI file ships inside the package."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import yaml

from nbregistry.server.actions import route_resource
from nbregistry.server.routes import ROUTES
from server.server_helpers import implemented_verbs

DOC = Path(__file__).resolve().parents[2] / "docs" / "rest-api.md"
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| (/\S*) \| ([a-z]+)( \(read\))? \|", re.M)


def action_of(fn) -> str | None:
    """The action an ``@authorized(...)`` wrapper was given (``None``: from the HTTP method)."""
    inner = fn.__wrapped__  # under @web.authenticated
    cells = dict(zip(inner.__code__.co_freevars, (c.cell_contents for c in inner.__closure__ or ())))
    return cells.get("action")


def route_table() -> set:
    out = set()
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        for verb in implemented_verbs(handler):
            action = action_of(getattr(handler, verb)) or ("read" if verb == "get" else "write")
            out.add((verb.upper(), path, route_resource(pattern, verb), action))
    return out


def openapi() -> dict:
    return yaml.safe_load(resources.files("nbregistry.server").joinpath("openapi.yaml").read_text())


def test_openapi_paths_equal_the_route_table():
    spec = openapi()
    assert spec["openapi"].startswith("3.")
    documented = {(method.upper(), path, op["x-nbregistry-resource"])
                  for path, item in spec["paths"].items() for method, op in item.items() if method != "parameters"}
    assert documented == {(m, p, r) for m, p, r, _ in route_table()}


def test_rest_api_doc_table_equals_the_route_table():
    rows = ROW.findall(DOC.read_text())
    documented = {(m, p, f"nbregistry:{r}", "read" if read or m == "GET" else "write") for m, p, r, read in rows}
    assert len(rows) == len(documented)  # no route listed twice
    assert documented == route_table()


def test_the_comparison_finds_a_missing_route():
    table = route_table()
    doc = {(m, p, f"nbregistry:{r}", "read" if read or m == "GET" else "write")
           for m, p, r, read in ROW.findall(DOC.read_text())}
    assert doc - {("GET", "/version", "nbregistry:models", "read")} != table


def test_writes_are_never_get_and_check_is_a_read():
    table = route_table()
    assert all(action == "read" for method, _, _, action in table if method == "GET")
    assert {(m, p) for m, p, _, a in table if m != "GET" and a == "read"} == {("POST", "/check")}
