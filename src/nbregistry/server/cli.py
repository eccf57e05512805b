"""The ``nbregistry server`` verb (kept light: jupyter-server is imported only when it runs)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


# ==================================================================== the CLI verb
def add_server_parser(sub):
    p = sub.add_parser("server", help="run a standalone registry server for a team (REST API only)",
                       description="Serve the registry folder (--root) over the REST API: jupyter-server "
                                   "with only the nbregistry extension (no kernels, terminals or files).")
    p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--token", default=None,
                   help="shared token clients send as 'Authorization: token ...' (default: generated and logged)")
    p.add_argument("--users", metavar="FILE", default=None,
                   help='JSON file {"alice": "<token>", ...}: a personal token per person, so authors are names')
    p.add_argument("--base-url", default="/", help="URL prefix (default /)")
    p.add_argument("--max-upload", type=int, default=None, metavar="BYTES",
                   help="largest registration upload accepted (default 2 GiB)")
    p.add_argument("--allow-root", action="store_true", help="allow running as root (not recommended)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve WITHOUT authentication (anyone who reaches the port acts on the registry); "
                        "loopback addresses only. An empty --token is refused without it.")


def cmd_server(reg, args):
    from ..core.errors import ValidationError

    root = getattr(reg, "root", None)
    if root is None:
        raise ValidationError("nbregistry server serves a registry folder: pass --root (NBREGISTRY_URL is set)")
    users = None
    if args.users:
        try:
            users = json.loads(Path(args.users).read_text())
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read --users {args.users}: {exc}") from None
        if not isinstance(users, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                                  for k, v in users.items()):
            raise ValidationError('--users must hold a JSON object {"username": "token", ...}')
    args.token = _check_auth(args, users)  # an empty token only with --no-auth, on loopback
    reg.close()
    sys.stderr.write(f"nbregistry server: registry {root} on http://{args.ip}:{args.port}{args.base_url}\n")
    from .app import run, server_config

    run(server_config(root, ip=args.ip, port=args.port, token=args.token, users=users, base_url=args.base_url,
                      allow_root=args.allow_root, max_upload_bytes=args.max_upload,
                      objects=getattr(args, "objects", None)))
    return 0


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
