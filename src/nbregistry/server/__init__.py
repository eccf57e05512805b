"""The Jupyter server extension: the registry's REST API under ``<base_url>/nbregistry/api/``.

Enabled by ``pip install`` (``jupyter-config/server-config/nbregistry.json``). Configure it with
traitlets, e.g. in ``jupyter_server_config.py``::

    c.NBRegistry.root = "/srv/registry"
    c.NBRegistry.max_upload_bytes = 4 * 1024**3

Handlers live in :mod:`nbregistry.server.routes`; operator documentation in docs/server.md.
"""

from __future__ import annotations

from traitlets import Bool, Int, Unicode
from traitlets.config import LoggingConfigurable

API_PREFIX = "nbregistry/api"


class NBRegistry(LoggingConfigurable):
    """Settings of the nbregistry server extension."""

    root = Unicode("", help="Registry folder. Empty: NBREGISTRY_ROOT, else <jupyter data dir>/nbregistry.").tag(
        config=True)
    max_upload_bytes = Int(2 * 1024**3, help="Largest registration upload accepted, in bytes (413 beyond).").tag(
        config=True)
    read_threads = Int(4, help="Threads serving reads. Writes always go through one writer thread.").tag(
        config=True)
    anonymous_author = Unicode(
        "", help="Author recorded for requests whose Jupyter identity is anonymous (a shared token) and "
                 "that claim no name. Empty: the user running the server (NBREGISTRY_USER, "
                 "JUPYTERHUB_USER, else the OS user).").tag(config=True)
    trust_client_author = Bool(
        True, help="For anonymous identities only (a shared token): record the author name the client "
                   "sends in the X-NBRegistry-Author header. Named identities always win.").tag(config=True)


def _jupyter_server_extension_points():
    return [{"module": "nbregistry.server"}]


def _load_jupyter_server_extension(serverapp):
    """Open the registry and add the REST handlers to the server's web application."""
    from .routes import setup_handlers

    settings = NBRegistry(parent=serverapp)
    service = setup_handlers(serverapp.web_app, settings)
    serverapp.log.info("nbregistry %s: registry at %s, REST API at %s%s/", _version(), service.registry.root,
                       serverapp.base_url, API_PREFIX)


def _version() -> str:
    from .._version import __version__

    return __version__
