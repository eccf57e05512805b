"""The Jupyter server extension: the registry's REST API under ``<base_url>/nbregistry/api/``.

Enabled by ``pip install`` (``jupyter-config/server-config/nbregistry.json``). Configure it with
traitlets, e.g. in ``jupyter_server_config.py``::

    c.NBRegistry.root = "/srv/registry"
    c.NBRegistry.max_upload_bytes = 4 * 1024**3
    c.NBRegistry.roles_file = "/srv/registry-roles.yaml"

The extension is :class:`nbregistry.server.app.NBRegistryApp` (an ``ExtensionApp``). Handlers live in :mod:`nbregistry.server.routes`; operator documentation in docs/server.md.
"""

from __future__ import annotations

from traitlets import Bool, Enum, Int, Unicode, default
from traitlets.config import LoggingConfigurable

API_PREFIX = "nbregistry/api"


class NBRegistry(LoggingConfigurable):
    """Settings of the nbregistry server extension (``c.NBRegistry.*``; every one is listed by
    ``nbregistry server --help-all``). Room for the other limits: add them here."""

    root = Unicode("", help="Registry folder. Empty: NBREGISTRY_ROOT, else <jupyter data dir>/nbregistry.").tag(
        config=True)
    max_upload_bytes = Int(2 * 1024**3, help="Largest registration upload accepted, in bytes (413 beyond).").tag(
        config=True)
    read_threads = Int(4, help="Threads serving reads. Writes always go through one writer thread.").tag(
        config=True)
    roles_file = Unicode("", help="Role file (YAML or TOML) saying who may do what (docs/team.md). Empty: "
                                  "everyone who can log in may do everything.").tag(config=True)
    jupyterhub = Bool(False, help="Running as a JupyterHub service (nbregistry server --jupyterhub): without a "
                                  "role file, Hub users may read, and custom:nbregistry:* scopes grant the "
                                  "rest.").tag(config=True)
    registry_url = Unicode(help="Serve the panel's REST API from this team registry server instead of a local "
                                "folder (requests are forwarded with registry_token). Default: NBREGISTRY_URL "
                                "inside a JupyterHub single-user server, else empty (a local folder).").tag(
        config=True)
    registry_token = Unicode(help="Token for registry_url. Default: NBREGISTRY_TOKEN, else JUPYTERHUB_API_TOKEN."
                             ).tag(config=True)
    shared_token_identity = Enum(["local", "shared"], "local",
                                 help="Identity recorded for requests with the server's shared token (an "
                                      "anonymous Jupyter identity): 'local' on a person's own Jupyter server "
                                      "(counted, like the embedded registry), 'shared' on a single-identity "
                                      "team server (never counted; nbregistry server --token sets it).").tag(
        config=True)
    anonymous_author = Unicode(
        "", help="Author recorded for requests whose Jupyter identity is anonymous (a shared token). "
                 "Empty: the user running the server (NBREGISTRY_USER, JUPYTERHUB_USER, else the OS user).").tag(
        config=True)
    trust_client_author = Bool(
        True, help="For anonymous identities only (a shared token): keep the name the client sends in "
                   "X-NBRegistry-Author as claimed_by (shown, never counted). False: ignore it.").tag(config=True)

    @default("registry_url")
    def _default_registry_url(self):
        import os

        if os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_USER"):
            return os.environ.get("NBREGISTRY_URL", "")
        return ""

    @default("registry_token")
    def _default_registry_token(self):
        import os

        return os.environ.get("NBREGISTRY_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN", "")


def _jupyter_server_extension_points():
    from .app import NBRegistryApp

    return [{"module": "nbregistry.server.app", "app": NBRegistryApp}]


def _version() -> str:
    from .._version import __version__

    return __version__
