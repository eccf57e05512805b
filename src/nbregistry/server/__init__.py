"""The Jupyter server extension: the registry's REST API under ``<base_url>/nbregistry/api/``.

Enabled by ``pip install`` (``jupyter-config/server-config/nbregistry.json``). Configure it with
traitlets, e.g. in ``jupyter_server_config.py``::

    c.NBRegistry.root = "/srv/registry"
    c.NBRegistry.max_upload_bytes = 4 * 1024**3
    c.NBRegistry.roles_file = "/srv/registry-roles.yaml"

The extension is :class:`nbregistry.server.app.NBRegistryApp` (an ``ExtensionApp``). Handlers live in :mod:`nbregistry.server.routes`; operator documentation in docs/server.md.
"""

from __future__ import annotations

from traitlets import Bool, Enum, Int, List, Unicode, default
from traitlets.config import LoggingConfigurable

API_PREFIX = "nbregistry/api"


class NBRegistry(LoggingConfigurable):
    """Settings of the nbregistry server extension (``c.NBRegistry.*``; every one is listed by
    ``nbregistry server --help-all``). Room for the other limits: add them here."""

    root = Unicode("", help="Registry folder. Empty: NBREGISTRY_ROOT, else <jupyter data dir>/nbregistry.").tag(
        config=True)
    objects = Unicode("", help="Where blobs are stored: empty for the registry folder (or NBREGISTRY_OBJECTS), "
                      "s3://bucket/prefix for an S3-compatible bucket (AWS env vars, AWS_ENDPOINT_URL).").tag(config=True)
    db = Unicode("", help="Where metadata is stored: empty for registry.db in the registry folder (or NBREGISTRY_DB), "
                 "postgresql://user@host:port/dbname for PostgreSQL 15+, or a SQLite file path.").tag(config=True)
    max_upload_bytes = Int(2 * 1024**3, help="Largest registration upload accepted, in bytes (413 beyond).").tag(
        config=True)
    read_threads = Int(4, help="Threads serving reads. Writes always go through one writer thread.").tag(
        config=True)
    blob_threads = Int(8, help="Threads moving blob bytes (uploads spooled, unpacked, hashed and stored; "
                               "downloads read), so that reads never queue behind a large or slow file.").tag(
        config=True)
    inline_reads = Bool(False, help="Run quick reads (one entity, or one indexed page) on the event loop when "
                                    "the registry is SQLite and a folder, instead of the read pool: lower latency "
                                    "under load for a server whose registry is on a local disk (nbregistry server "
                                    "turns it on). Off in a user's Jupyter, whose registry may be on a network "
                                    "home directory and whose event loop also serves the kernels.").tag(config=True)
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

    # Input limits (docs/server.md "Limits"): refused with a 4xx naming the limit. The registry rules
    # among them (descriptions, lineage, counts, refs per comparison) are the core's Registry.limits.
    max_body_bytes = Int(2 * 1024**2, help="Largest JSON request body, in bytes (413 beyond; uploads: "
                                           "max_upload_bytes).").tag(config=True)
    max_json_depth = Int(64, help="Deepest nesting accepted in JSON bodies, upload metadata and lineage.").tag(
        config=True)
    max_description_chars = Int(65_536, help="Longest model or version description, in characters.").tag(config=True)
    max_lineage_bytes = Int(8 * 1024**2, help="Largest lineage record of a version, as JSON bytes.").tag(config=True)
    max_metrics = Int(10_000, help="Most metrics one version may hold.").tag(config=True)
    max_params = Int(10_000, help="Most params one version may hold.").tag(config=True)
    max_tags = Int(1_000, help="Most tags one model or version may hold (or one edit may set).").tag(config=True)
    max_compare_refs = Int(1_000, help="Most refs in one comparison (GET /compare?refs=...).").tag(config=True)

    webhook_networks = List(Unicode(), help="Non-public networks (CIDRs such as 10.0.0.0/8) that webhooks sent by "
                                            "this server may reach. Empty: NBREGISTRY_WEBHOOK_ALLOW, else public "
                                            "addresses only.").tag(config=True)

    def limits(self):
        """The core ``Limits`` these settings describe."""
        from ..core.limits import Limits

        return Limits(description_chars=self.max_description_chars, lineage_bytes=self.max_lineage_bytes,
                      metrics=self.max_metrics, params=self.max_params, tags=self.max_tags,
                      compare_refs=self.max_compare_refs, json_depth=self.max_json_depth,
                      body_bytes=self.max_body_bytes)


def _jupyter_server_extension_points():
    from .app import NBRegistryApp

    return [{"module": "nbregistry.server.app", "app": NBRegistryApp}]


def _version() -> str:
    from .._version import __version__

    return __version__
