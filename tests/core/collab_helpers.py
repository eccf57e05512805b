"""Helpers shared by the collaboration tests (test_collab, test_policy, test_history)."""

from __future__ import annotations

from contextlib import contextmanager

from helpers import state


@contextmanager
def unchanged(reg):
    """Assert that the block leaves the registry exactly as it was: the whole disk state (every row of
    every table, every blob) for a local registry; for a remote one the event log, since every change
    writes an event in the same transaction."""
    root = getattr(reg, "root", None)
    if root is not None and (root / "registry.db").exists():
        before = state(root)
        yield
        assert state(root) == before
    else:
        before = reg.events(0).to_dict()
        yield
        assert reg.events(0).to_dict() == before
