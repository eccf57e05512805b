"""Helpers shared by the server tests (imported as ``server.server_helpers``; conftest modules
are not importable by name when several test folders run together)."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web
from traitlets.config import Config

from nbregistry.remote import pack_upload

TOKENS = {"alice": "alice-secret-token", "bob": "bob-secret-token", "carol": "carol-secret-token"}
API = "nbregistry/api"


def server_config(root, **extra) -> Config:
    """pytest-jupyter config: only nbregistry, authentication required, personal tokens, ``root``."""
    config = {
        "ServerApp": {"jpserver_extensions": {"nbregistry": True, "jupyter_server_terminals": False},
                      "allow_unauthenticated_access": False,
                      "identity_provider_class": "nbregistry.server.identity.TeamIdentityProvider"},
        "TeamIdentityProvider": {"users": dict(TOKENS)},
        "NBRegistry": {"root": str(root), "inline_reads": True},  # as nbregistry server runs (app.server_config)
    }
    for section, values in extra.items():
        config.setdefault(section, {}).update(values)
    return Config(config)


def upload_body(meta: dict, files: dict) -> bytes:
    """An upload body (the tar RemoteRegistry sends) with ``files`` given as ``{path: bytes}``."""
    out = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        real = []
        for rel, content in files.items():
            p = Path(tmp) / rel.replace("/", "_")
            p.write_bytes(content)
            real.append((rel, p))
        pack_upload(out, real, meta)
    return out.getvalue()


def file_meta(name: str, filename: str = "model.txt", **extra) -> dict:
    return {"name": name, "flavor": "file", "flavor_meta": {"kind": "file", "filename": filename}, **extra}


VERBS = ("get", "post", "put", "patch", "delete", "head")
SAMPLE = {"name": "churn", "ref": "churn%3A1", "alias": "production", "path": "model.bin", "id": "1"}
AUTHENTICATED = web.authenticated(lambda self: None).__code__
AUTHORIZED = authorized(lambda self: None).__code__


def implemented_verbs(handler) -> list[str]:
    return [v for v in VERBS if getattr(handler, v) is not getattr(web.RequestHandler, v)]


def missing_auth(handler) -> list[str]:
    """Verbs of ``handler`` not wrapped as ``@web.authenticated`` (outermost) then ``@authorized``."""
    missing = []
    for verb in implemented_verbs(handler):
        chain, fn = [], getattr(handler, verb)
        while fn is not None:
            chain.append(fn.__code__)
            fn = getattr(fn, "__wrapped__", None)
        if chain[:2] != [AUTHENTICATED, AUTHORIZED] or len(chain) < 3:
            missing.append(f"{handler.__name__}.{verb}")
    return missing


def sample_path(pattern: str) -> str:
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE[m.group(1)], pattern)
