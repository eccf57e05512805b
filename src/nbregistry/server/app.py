"""``nbregistry server``: a standalone registry server for a team.

It is jupyter-server with the nbregistry extension and nothing else: no kernels, terminals,
contents, files or notebook UI are served, so a token holder can use the registry but cannot run
code or read files on the machine. See docs/server.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from jupyter_server.serverapp import ServerApp
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from traitlets.config import Config


class NoFilesContentsManager(AsyncLargeFileManager):
    """Contents manager of the standalone server: it serves no files (no ``/files/`` handler)."""

    def get_extra_handlers(self):
        return []


class RegistryServerApp(ServerApp):
    """A ServerApp serving only the registry's REST API (plus login and ``/api/status``)."""

    name = "nbregistry-server"
    description = "A standalone nbregistry registry server (jupyter-server with only the nbregistry extension)."
    default_services = ("api", "auth")

    def find_server_extensions(self) -> None:
        # Only this extension, whatever other packages enabled in the Jupyter config folders.
        self.jpserver_extensions = {"nbregistry": True}


def server_config(root: str | Path, *, ip: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                  users: dict | None = None, base_url: str = "/", allow_root: bool = False,
                  max_upload_bytes: int | None = None, objects: str | None = None) -> Config:
    """The configuration ``nbregistry server`` runs with (also used by the tests and the load test)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    c = Config()
    c.ServerApp.ip = ip
    c.ServerApp.port = port
    c.ServerApp.port_retries = 0
    c.ServerApp.open_browser = False
    c.ServerApp.base_url = base_url
    # Nothing is served from disk (no contents/files services, no /files/ handler); the notebook
    # root is still an empty folder of its own, never the registry.
    c.ServerApp.root_dir = tempfile.mkdtemp(prefix="nbregistry-server-")
    c.ServerApp.contents_manager_class = NoFilesContentsManager
    c.ServerApp.allow_root = allow_root
    c.ServerApp.allow_unauthenticated_access = False
    c.ServerApp.jpserver_extensions = {"nbregistry": True}
    c.NBRegistry.root = str(root)
    if objects:
        c.NBRegistry.objects = str(objects)
    if max_upload_bytes is not None:
        c.NBRegistry.max_upload_bytes = max_upload_bytes
    if token is not None:
        c.IdentityProvider.token = token
    if users:
        c.ServerApp.identity_provider_class = "nbregistry.server.identity.TeamIdentityProvider"
        c.TeamIdentityProvider.users = dict(users)
    return c


def run(config: Config) -> None:
    app = RegistryServerApp.instance(config=config)
    app.initialize(argv=[])
    app.start()
