"""The extension app and ``nbregistry server``, a standalone registry server for a team.

:class:`NBRegistryApp` is the jupyter-server extension (an ``ExtensionApp``): enabled in any Jupyter
server by ``pip install`` (``jupyter-config/``), configured with ``c.NBRegistry.*`` (:class:`NBRegistry`).
It serves the REST API from a registry folder or, with ``NBRegistry.registry_url``, forwards it to a
team registry server (so the JupyterLab panel shows the team registry; server/proxy.py).

``nbregistry server`` is jupyter-server with this extension and nothing else: no kernels, terminals,
contents, files or notebook UI are served, so a token holder can use the registry but cannot run
code or read files on the machine. It reads ``jupyter_server_config.py`` (the Jupyter config path, or
``--config FILE``); options given on the command line win over the file. See docs/server.md, docs/team.md.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.log import log_request
from jupyter_server.prometheus.log_functions import prometheus_log_method
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from traitlets import default
from traitlets.config import Config

from . import API_PREFIX, NBRegistry, _version
from .identity import HubIdentityProvider, TeamIdentityProvider


class NBRegistryApp(ExtensionApp):
    """The nbregistry jupyter-server extension: the registry's REST API under <base_url>/nbregistry/api."""

    name = "nbregistry"
    description = "nbregistry: a model registry inside Jupyter (REST API for the panel, RemoteRegistry, CLI)"
    classes = [*ExtensionApp.classes, NBRegistry, TeamIdentityProvider, HubIdentityProvider]
    open_browser = False

    def initialize_handlers(self):
        settings = NBRegistry(parent=self)
        web_app = self.serverapp.web_app
        if settings.registry_url:
            from .proxy import setup_proxy

            setup_proxy(web_app, settings)
            self.log.info("nbregistry %s: REST API at %s%s/ forwarded to the team registry %s", _version(),
                          self.serverapp.base_url, API_PREFIX, settings.registry_url)
            return
        from .routes import setup_handlers

        service = setup_handlers(web_app, settings)
        self.log.info("nbregistry %s: registry at %s, REST API at %s%s/ (%s)", _version(), service.registry.root,
                      self.serverapp.base_url, API_PREFIX, service.roles.source or "roles: open")


class NoFilesContentsManager(AsyncLargeFileManager):
    """Contents manager of the standalone server: it serves no files (no ``/files/`` handler)."""

    def get_extra_handlers(self):
        return []


class RegistryServerApp(ServerApp):
    """A ServerApp serving only the registry's REST API (plus login and ``/api/status``)."""

    name = "nbregistry-server"
    description = ("nbregistry server: a standalone registry server (jupyter-server with only the nbregistry "
                   "extension). Every option below can go in jupyter_server_config.py (--config FILE).")
    default_services = ("api", "auth")
    classes = [*ServerApp.classes, NBRegistry, TeamIdentityProvider, HubIdentityProvider]
    explicit = Config()  # the command line's options: they win over config files (set by run())

    @default("config_file_name")
    def _config_file_name_default(self):
        return "jupyter_server_config"

    def parse_command_line(self, argv=None):
        super().parse_command_line(argv)
        self.cli_config.merge(self.explicit)
        self.update_config(self.cli_config)

    def find_server_extensions(self) -> None:
        # Only this extension, whatever other packages enabled in the Jupyter config folders.
        self.jpserver_extensions = {"nbregistry": True}

    # -- a worker of ``nbregistry server --workers N`` (server/workers.py): the supervisor's socket
    def _find_http_port(self) -> None:
        from . import workers

        if not workers.is_worker():
            return super()._find_http_port()
        self._inherited = workers.inherited_sockets()
        self.port = self._inherited[0].getsockname()[1]  # what the start-up lines say

    def _bind_http_server_tcp(self) -> bool:
        from . import workers

        if not workers.is_worker():
            return super()._bind_http_server_tcp()
        self.http_server.add_sockets(self._inherited)
        workers.watch_supervisor(self.io_loop, self.stop)
        workers.say_ready()
        return True

    def init_webapp(self) -> None:
        super().init_webapp()
        self.web_app.settings["log_function"] = self._log_request

    def _log_request(self, handler) -> None:
        """jupyter-server's request log, minus its work on the lines nobody sees: a successful
        request is logged at debug level, and building that line (URL scrubbing, the user, the
        message, the log record) was about 7% of a small request's time, for a console handler
        that drops it. The Prometheus metrics are kept."""
        status = handler.get_status()
        if (status < 300 or status == 304) and not _keeps_debug(handler.log):
            if self.record_http_request_metrics:
                prometheus_log_method(handler)
            return
        log_request(handler, record_prometheus_metrics=self.record_http_request_metrics)


def _keeps_debug(logger: logging.Logger) -> bool:
    """Whether a debug record of ``logger`` would reach a handler that keeps it. traitlets sets an
    application's logger itself to DEBUG and filters at its console handler (``log_level``), so the
    logger's own level does not say; a ``logging_config`` handler at DEBUG does."""
    if not logger.isEnabledFor(logging.DEBUG):
        return False
    current: logging.Logger | None = logger
    while current is not None:
        if any(h.level <= logging.DEBUG for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def _empty_root_dir() -> str:
    """An empty folder for the server's notebook root, removed when the process exits."""
    import atexit
    import shutil

    path = tempfile.mkdtemp(prefix="nbregistry-server-")
    atexit.register(shutil.rmtree, path, True)
    return path


def server_config(root: str | Path | None, *, ip: str | None = "127.0.0.1", port: int | None = 8765,
                  token: str | None = None, users: dict | None = None, base_url: str | None = "/",
                  allow_root: bool = False, max_upload_bytes: int | None = None, roles_file: str | None = None,
                  jupyterhub: bool = False, objects: str | None = None, db: str | None = None) -> Config:
    """The configuration ``nbregistry server`` runs with (also used by the tests and the load test).
    ``None`` leaves an option to the config file (or the default)."""
    c = Config()
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
        c.NBRegistry.root = str(root)
    for key, value in (("ip", ip), ("port", port), ("base_url", base_url)):
        if value is not None:
            c.ServerApp[key] = value
    c.ServerApp.port_retries = 0
    c.ServerApp.open_browser = False
    # Nothing is served from disk (no contents/files services, no /files/ handler); the notebook
    # root is still an empty folder of its own, never the registry.
    c.ServerApp.root_dir = _empty_root_dir()
    c.ServerApp.contents_manager_class = NoFilesContentsManager
    c.ServerApp.allow_root = allow_root
    c.ServerApp.allow_unauthenticated_access = False
    c.ServerApp.jpserver_extensions = {"nbregistry": True}
    # This server IS the extension: if it cannot load (a bad c.NBRegistry value), it stops (exit 1,
    # "Bad config encountered ...") instead of serving on without it, every API route a 404.
    c.ServerApp.reraise_server_extension_failures = True
    c.NBRegistry.registry_url = ""  # a server serves a folder, never forwards
    c.NBRegistry.inline_reads = True  # quick reads on the event loop (RegistryHandler.read)
    c.NBRegistry.shared_token_identity = "shared"  # one token for a team: a single-identity server
    if objects:
        c.NBRegistry.objects = str(objects)
    if db:
        c.NBRegistry.db = str(db)
    if max_upload_bytes is not None:
        c.NBRegistry.max_upload_bytes = max_upload_bytes
    if roles_file:
        c.NBRegistry.roles_file = str(roles_file)
    if token is not None:
        c.IdentityProvider.token = token
    if users:
        c.ServerApp.identity_provider_class = "nbregistry.server.identity.TeamIdentityProvider"
        c.TeamIdentityProvider.users = dict(users)
        c.TeamIdentityProvider.token = ""  # personal tokens only: no shared token
    if jupyterhub:
        hub_config(c)
    return c


def hub_service_address() -> tuple[str | None, int | None]:
    """``(host, port)`` of ``JUPYTERHUB_SERVICE_URL`` (a Hub-managed service listens there), or Nones."""
    import os
    from urllib.parse import urlparse

    if not os.environ.get("JUPYTERHUB_SERVICE_URL"):
        return None, None
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    return url.hostname or "127.0.0.1", url.port


def hub_config(c: Config) -> Config:
    """Run as a JupyterHub service: the Hub authenticates; served under the service's URL prefix."""
    import os

    c.ServerApp.identity_provider_class = "nbregistry.server.identity.HubIdentityProvider"
    c.NBRegistry.jupyterhub = True
    c.HubIdentityProvider.token = ""
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        c.ServerApp.base_url = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    host, port = hub_service_address()
    if host:  # managed service: listen where the Hub said
        c.ServerApp.ip = host
        if port:
            c.ServerApp.port = port
    c.ServerApp.disable_check_xsrf = False
    return c


def _settle_heap() -> None:
    """Collect what start-up left over, then freeze the rest out of the garbage collector's reach.
    A started server holds some hundred thousand long-lived objects (jupyter-server, tornado,
    traitlets, the registry), and every full collection walked them all: about 140 ms with every
    request waiting, twice in 15 s at 128 requests/s; after the freeze about 4 ms."""
    import gc

    gc.collect()
    gc.freeze()


def run(config: Config, argv: list | tuple = (), *, defaults: Config | None = None) -> None:
    """Start the server: ``config`` wins over config files, which win over ``defaults``."""
    RegistryServerApp.explicit = config
    app = RegistryServerApp.instance(config=defaults or Config())
    app.initialize(argv=list(argv))
    _settle_heap()
    app.start()


# ``jupyter nbregistry``: a Jupyter server with this extension (and the others installed);
# ``jupyter nbregistry --help-all`` lists every NBRegistry option with the server's own.
main = launch_new_instance = NBRegistryApp.launch_instance
