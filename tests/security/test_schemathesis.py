"""schemathesis against the shipped OpenAPI file and a real ``nbregistry server`` on loopback: every
operation, generated inputs (bounded), authenticated. No answer may be a server error, and every
answer must match what openapi.yaml says (status, content type, body schema)."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

import nbregistry.server
from server.remote_fixture import TOKENS, start_server, stop_server

SEEN: dict[str, set] = {}  # operation -> statuses answered, for the last test
OPENAPI = Path(nbregistry.server.__file__).parent / "openapi.yaml"
MAX_EXAMPLES = 5
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real server process with a small registry to find (two versions, an alias, a comment)."""
    from nbregistry import Registry

    base = tmp_path_factory.mktemp("schemathesis")
    root = base / "registry"
    reg = Registry(root, author="alice")
    (base / "m.txt").write_text("model")
    reg.register(str(base / "m.txt"), "churn", metrics={"auc": 0.8}, params={"C": 1}, tags={"team": "x"})
    (base / "m.txt").write_text("model 2")
    reg.register(str(base / "m.txt"), "churn", metrics={"auc": 0.9})
    reg.set_alias("churn:1", "production")
    reg.comment("churn:1", "first")
    reg.close()
    proc, url = start_server(root, users=TOKENS, log_path=base / "server.log")
    yield url
    stop_server(proc)


schemathesis.serializer.alias("application/x-tar", "application/octet-stream")  # POST /versions: raw bytes
schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_the_api_matches_its_openapi_file_and_never_fails(case, live_server):
    from schemathesis import checks as core_checks
    from schemathesis.specs.openapi import checks as openapi_checks

    chosen = [getattr(openapi_checks, name, None) or getattr(core_checks, name) for name in CHECKS]
    response = case.call_and_validate(base_url=live_server + "/nbregistry/api", checks=chosen, timeout=30,
                                      headers={"Authorization": f"token {TOKENS['alice']}"})
    SEEN.setdefault(f"{case.operation.method.upper()} {case.operation.path}", set()).add(response.status_code)


def test_the_generated_requests_reached_the_registry():
    """The run above was not all 401s or 404s: most operations got a 2xx for some generated input."""
    assert len(SEEN) >= 30, sorted(SEEN)
    answered = [op for op, statuses in SEEN.items() if any(200 <= s < 300 for s in statuses)]
    assert len(answered) >= 15, SEEN
    assert all(401 not in statuses or len(statuses) > 1 for statuses in SEEN.values()), SEEN
