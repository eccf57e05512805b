"""Who is acting, and where the registry lives by default."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

# How an author's name was established. Only counted identities count as approvals, as reviewers and as
# the author for the trust rule; the others are kept as history and shown for what they are.
VERIFIED = "verified"  # a personal token, the Jupyter server's identity, JupyterHub
LOCAL = "local"        # the embedded registry's own process (whoever can write the folder is trusted)
SHARED = "shared"      # a request on a single-identity server (one shared token): the name is only claimed
IMPORTED = "imported"  # came from a bundle or another registry: history, not a person acting here
IDENTITIES = (VERIFIED, LOCAL, SHARED, IMPORTED)
COUNTED = frozenset({VERIFIED, LOCAL})


def counts(identity: str | None) -> bool:
    """Whether an identity counts for approvals, reviews and trust (verified or local)."""
    return identity in COUNTED


def default_author() -> str:
    """``NBREGISTRY_USER``, then ``JUPYTERHUB_USER``, then the OS user."""
    for var in ("NBREGISTRY_USER", "JUPYTERHUB_USER"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def jupyter_data_dir() -> Path:
    """Jupyter's per-user data folder, computed the way jupyter_core does, without importing it."""
    if os.environ.get("JUPYTER_DATA_DIR"):
        return Path(os.environ["JUPYTER_DATA_DIR"])
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Jupyter"
    if os.name == "nt":
        appdata = os.environ.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / ".jupyter" / "data"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter"


def default_root() -> Path:
    """``NBREGISTRY_ROOT``, else ``<jupyter data dir>/nbregistry``."""
    if os.environ.get("NBREGISTRY_ROOT"):
        return Path(os.environ["NBREGISTRY_ROOT"]).expanduser()
    return jupyter_data_dir() / "nbregistry"
