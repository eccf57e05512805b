"""``nbregistry move``: moving house, a face over ``Registry.copy_to`` (core/moving.py) and ``verify``.

    nbregistry --root ~/reg move --to-db postgresql://db/reg --to-objects s3://bucket/reg --to-root /srv/reg

The source is the registry the global options name (``--root``/``--db``/``--objects``); it is only
read. The target is opened from ``--to-db``/``--to-objects``/``--to-root`` and must be empty. Progress
bars (tqdm) go to stderr on a terminal. Afterwards the target is verified (every blob re-hashed;
``--fast`` checks sizes); exit 0 when the move is complete and verify is clean.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .cli import EXIT_OK, EXIT_REFUSED, fmt_bytes, output, render_verify
from .core.errors import ValidationError

POSTGRES = ("postgresql://", "postgres://")


def add_move_parser(sub):
    p = sub.add_parser("move", help="copy this whole registry, losslessly, to an empty one on another backend")
    p.add_argument("--to-db", default=None, metavar="URL",
                   help="the target's metadata database: postgresql://..., sqlite:///path or a file path")
    p.add_argument("--to-objects", default=None, metavar="URL",
                   help="the target's object store: s3://bucket/prefix or a folder (default: the target root)")
    p.add_argument("--to-root", default=None, metavar="PATH",
                   help="the target's local working folder (default: the folder of a SQLite --to-db; "
                        "needed with PostgreSQL)")
    p.add_argument("--fast", action="store_true", help="verify the target by sizes only, without re-hashing")


def target_root(args) -> Path:
    if args.to_root:
        return Path(args.to_root).expanduser()
    if args.to_db and not args.to_db.startswith(POSTGRES):
        path = args.to_db[len("sqlite:///") - 1:] if args.to_db.startswith("sqlite:///") else args.to_db
        return Path(path).expanduser().resolve().parent
    if args.to_db:
        raise ValidationError("move: --to-root is needed with a PostgreSQL --to-db (the target's local folder for "
                         "tmp/, caches and the webhook-secret key)")
    raise ValidationError("move: say where to: --to-root PATH and/or --to-db URL (and --to-objects URL)")


def open_target(args):
    from .core.registry import Registry

    options = {"objects": args.to_objects}
    if args.to_db:
        options["db"] = args.to_db
    return Registry(target_root(args), origin="cli", **options)


def cmd_move(reg, args):
    from functools import partial

    from tqdm import tqdm

    target = open_target(args)
    try:
        bars = partial(tqdm, file=sys.stderr, leave=False, disable=None if sys.stderr.isatty() else True)
        report = reg.copy_to(target, progress=bars)
        verified = target.verify(fast=args.fast)
    finally:
        target.close()
    payload = dict(report.to_dict(), rows=report.rows, verify=dict(verified.to_dict(), ok=verified.ok))
    output(args, report, lambda r: render_move(r, verified), json_obj=payload)
    return EXIT_OK if verified.ok else EXIT_REFUSED


def render_move(r, verified) -> str:
    lines = [f"moved {r.source} -> {r.target}",
             f"{r.rows} rows in {len(r.tables)} tables; {r.blobs_copied} blobs copied ({fmt_bytes(r.bytes_copied)}), "
             f"{r.blobs_present} already there"]
    lines += [f"warning: {w}" for w in r.warnings]
    lines.append("verify: " + render_verify(verified))
    return "\n".join(lines)
