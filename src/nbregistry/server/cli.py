"""The ``nbregistry server`` verb (kept light: jupyter-server is imported only when it runs)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


# ==================================================================== the CLI verb
def add_server_parser(sub):
    p = sub.add_parser("server", help="run a standalone registry server for a team (REST API only)",
                       description="Serve the registry folder (--root) over the REST API: jupyter-server "
                                   "with only the nbregistry extension (no kernels, terminals or files). Reads "
                                   "jupyter_server_config.py (the Jupyter config path, or --config FILE); "
                                   "options given here win over the file. --help-all lists every option.")
    p.add_argument("--ip", default=None, help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=None, help="port (default 8765)")
    p.add_argument("--token", default=None,
                   help="shared token clients send as 'Authorization: token ...' (default: generated and "
                        "logged). One token for everybody: a single-identity server (docs/team.md)")
    p.add_argument("--users", metavar="FILE", default=None,
                   help='JSON file {"alice": "<token>", "bob": {"token": "...", "groups": ["release"]}}: a '
                        "personal token per person, so authors are verified names; the shared token is off")
    p.add_argument("--jupyterhub", action="store_true",
                   help="run as a JupyterHub service: the Hub authenticates (OAuth for browsers, "
                        "JUPYTERHUB_API_TOKEN for kernels); groups and custom:nbregistry:* scopes grant rights")
    p.add_argument("--roles", metavar="FILE", default=None,
                   help="role file (YAML or TOML) saying who may do what (docs/team.md)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="a jupyter_server_config.py-style file (c.NBRegistry.*, c.ServerApp.*, ...)")
    p.add_argument("--base-url", default=None, help="URL prefix (default /)")
    p.add_argument("--max-upload", type=int, default=None, metavar="BYTES",
                   help="largest registration upload accepted (default 2 GiB)")
    p.add_argument("--allow-root", action="store_true", help="allow running as root (not recommended)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve WITHOUT authentication (anyone who reaches the port acts on the registry); "
                        "loopback addresses only. An empty --token is refused without it.")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="serve with N processes on one socket (default 1); about one per core the server may "
                        "use. They share the registry as replicas do (docs/server.md, 'Workers')")
    p.add_argument("--help-all", action="store_true", help="list every configurable option and exit")


def cmd_server(reg, args):
    from ..core.errors import ValidationError

    if args.help_all:
        from .app import RegistryServerApp

        reg.close()
        RegistryServerApp().print_help(classes=True)
        return 0
    root = getattr(reg, "root", None)
    if root is None:
        raise ValidationError("nbregistry server serves a registry folder: pass --root (NBREGISTRY_URL is set)")
    if args.users and args.token is not None:
        raise ValidationError("--users and --token exclude each other: with personal tokens the shared token is off")
    if args.jupyterhub and (args.users or args.token is not None):
        raise ValidationError("--jupyterhub takes no --users or --token: the Hub authenticates")
    users = None
    if args.users:
        from .identity import parse_users

        try:
            users = json.loads(Path(args.users).read_text())
            parse_users(users)
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot use --users {args.users}: {exc}") from None
    if args.roles:
        from ..core.permissions import load_roles

        load_roles(args.roles)  # a mistake in the file is a usage error now, not a crash at start
    if args.config and not Path(args.config).is_file():
        raise ValidationError(f"--config {args.config}: no such file")
    args.token = _check_auth(args, users)  # an empty token only with --no-auth, on loopback
    # after the option checks, which say what is wrong with the command line first
    if not args.allow_root and not args.config and hasattr(os, "geteuid") and os.geteuid() == 0:
        # jupyter-server would refuse too, but only after loading everything, with exit code 1
        raise ValidationError("nbregistry server refuses to run as root: run it as an unprivileged user, "
                              "or pass --allow-root")
    from . import workers

    if not 1 <= args.workers <= workers.MAX_WORKERS:
        raise ValidationError(f"--workers {args.workers}: give 1 to {workers.MAX_WORKERS} processes")
    reg.close()
    ip, port = _listen_address(args)
    if args.workers > 1 and not workers.is_worker():
        needs_token = not users and not args.jupyterhub and args.token is None
        return workers.Supervisor(args.workers, args._argv, ip, port, needs_token=needs_token).run()
    explicit_root = root if getattr(args, "root", None) is not None or not args.config else None
    where = f"http://{ip}:{port}{args.base_url or '/'}"
    worker = f" (worker {os.environ[workers.WORKER_ENV]})" if workers.is_worker() else ""
    sys.stderr.write(f"nbregistry server: registry {root} on {where}{worker}\n")
    from traitlets.config import Config

    from .app import run, server_config

    explicit = server_config(explicit_root, ip=args.ip, port=args.port, token=args.token, users=users,
                             base_url=args.base_url, allow_root=args.allow_root, max_upload_bytes=args.max_upload,
                             roles_file=args.roles, jupyterhub=args.jupyterhub,
                             objects=getattr(args, "objects", None), db=getattr(args, "db", None))
    defaults = Config({"ServerApp": {"ip": "127.0.0.1", "port": 8765}, "NBRegistry": {"root": str(root)}})
    run(explicit, ["--config", args.config] if args.config else [], defaults=defaults)
    return 0


def _listen_address(args) -> tuple[str, int]:
    """Where the server listens (the supervisor of ``--workers`` binds it): ``--ip``/``--port`` (for
    a JupyterHub-managed service, the URL the Hub gave), else the ``--config`` file's
    ``c.ServerApp.ip``/``.port``, else 127.0.0.1:8765."""
    ip, port = args.ip, args.port
    if args.jupyterhub:  # a managed service listens where the Hub said (as app.hub_config configures it)
        from .app import hub_service_address

        host, hub_port = hub_service_address()
        ip, port = host or ip, hub_port or port
    if (ip is None or port is None) and args.config:
        from traitlets.config.loader import PyFileConfigLoader

        path = Path(args.config).resolve()
        server = PyFileConfigLoader(path.name, str(path.parent)).load_config().get("ServerApp", {})
        ip = server.get("ip") if ip is None else ip
        port = server.get("port") if port is None else port
    return (ip or "127.0.0.1"), (8765 if port is None else int(port))


def _check_auth(args, users) -> str | None:
    """The shared token to run with. An empty one means no authentication at all: refused unless
    ``--no-auth`` says so, and then only on a loopback address (with a warning)."""
    from ..core.errors import ValidationError

    no_auth = getattr(args, "no_auth", False)
    if not no_auth:
        if args.token is not None and not args.token.strip() and not users:
            raise ValidationError("--token '' would serve the registry without authentication; give a token, "
                                  "--users FILE, or --no-auth (loopback only)")
        return args.token
    if users or args.token or getattr(args, "jupyterhub", False):
        raise ValidationError("--no-auth cannot be combined with --token, --users or --jupyterhub")
    ip = args.ip or "127.0.0.1"
    if not _is_loopback(ip):
        raise ValidationError(f"--no-auth serves only a loopback address (127.0.0.1, ::1, localhost), not {ip!r}")
    sys.stderr.write("nbregistry server: WARNING: serving without authentication: anyone who can connect to "
                     f"{ip}:{args.port or 8765} (every local user and process) can read and change the registry\n")
    return ""


def _is_loopback(ip: str) -> bool:
    import ipaddress

    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip.strip("[]")).is_loopback
    except ValueError:
        return False
