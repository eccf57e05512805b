"""Helpers for the notebook-face tests: run cells like a notebook, snapshot a registry."""

from __future__ import annotations


def run(ip, code: str):
    """Run one cell as a notebook would (stored in the history); raise what it raised."""
    result = ip.run_cell(code, store_history=True)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        raise error
    return result.result


def run_error(ip, code: str) -> BaseException:
    """Run a cell that must fail; return its exception."""
    result = ip.run_cell(code, store_history=True)
    error = result.error_before_exec or result.error_in_exec
    assert error is not None, f"expected {code!r} to fail"
    return error


def snapshot(reg):
    """Everything a registry holds, to prove a refused call changed nothing: the whole database and
    blob store for a local registry; for a remote one, its models, versions and full event log."""
    from pathlib import Path

    from helpers import state

    root = getattr(reg, "root", None)
    if root is not None and (Path(root) / "registry.db").exists():
        return state(Path(root))
    models = [m.to_dict() for m in reg.list_models(archived=True, limit=10_000)]
    versions = [v.to_dict() for m in models for v in reg.list_versions(m["name"], limit=10_000)]
    return models, versions, [e.to_dict() for e in reg.events(limit=10_000)]
