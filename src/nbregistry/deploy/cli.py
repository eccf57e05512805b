"""CLI verbs of the deployment features: ``serve``, ``predict``, ``export``, ``import``, ``webhooks``.

Each parses its arguments, calls the core ``Registry`` (or the scoring server) and renders the
answer; see docs/cli.md and docs/deploy.md. Top-level imports stay light: the CLI imports this
module at every start.
"""

from __future__ import annotations

import argparse
import sys


def _cli():
    from .. import cli

    return cli


# ==================================================================== serve
def add_serve_parser(sub):
    p = sub.add_parser("serve", help="HTTP scoring server for a ref (follows aliases: promote/rollback swap it live)")
    p.add_argument("ref", help="what to serve: churn@production (followed), churn (latest, followed) or churn:3")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; one per core scales)")
    p.add_argument("--trust", action="store_true",
                   help="allow pickle-based versions authored by someone else (unpickling runs their code)")
    p.add_argument("--poll", type=float, default=1.0, metavar="SECONDS",
                   help="how often to check whether the alias moved (default 1)")
    p.add_argument("--method", default="predict",
                   help="default model method (predict, predict_proba, ...); ?method= overrides per request")
    p.add_argument("--max-body", type=int, default=64 * 1024 * 1024, metavar="BYTES",
                   help="largest request body (default 64 MiB; 413 past it)")
    p.add_argument("--body-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="a request body must arrive within this (default 30; 408 otherwise)")
    p.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="request line and headers must arrive within this, else the connection is closed (default 10)")
    p.add_argument("--keepalive-timeout", type=float, default=5.0, metavar="SECONDS",
                   help="idle keep-alive connections are closed after this (default 5)")
    p.add_argument("--max-connections", type=int, default=1000, metavar="N",
                   help="open connections per worker; more are closed at once (default 1000)")
    p.add_argument("--max-in-flight", type=int, default=256, metavar="N",
                   help="requests in progress per worker; more get 503 (default 256)")
    p.add_argument("--graceful-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="on SIGTERM/SIGINT, how long in-flight requests may finish (default 30)")
    p.add_argument("--access-log", action="store_true", help="log every request to stderr")


def cmd_serve(reg, args):
    import logging

    try:
        from .serving.runner import Limits, run
    except ImportError as exc:
        raise _cli().UsageError(f"serving needs the serve extra (pip install 'nbregistry[serve]'): {exc}") from None

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    for name in ("poll", "body_timeout", "header_timeout", "keepalive_timeout", "graceful_timeout"):
        if getattr(args, name) <= 0:
            raise _cli().UsageError(f"--{name.replace('_', '-')} must be a positive number of seconds")
    for name in ("workers", "max_body", "max_connections", "max_in_flight"):
        if getattr(args, name) < 1:
            raise _cli().UsageError(f"--{name.replace('_', '-')} must be at least 1")
    from ..core.scoring import check_method

    check_method(args.method)
    # Load once here, through the core's trust rule: a ref that names nothing, or a version this user may
    # not load, fails with one line before any worker starts (each worker then loads its own copy).
    reg.load(args.ref, trust=args.trust)
    limits = Limits(max_body=args.max_body, body_timeout=args.body_timeout, header_timeout=args.header_timeout,
                    keepalive_timeout=args.keepalive_timeout, max_connections=args.max_connections,
                    max_in_flight=args.max_in_flight, graceful_timeout=args.graceful_timeout)

    def listening(url):
        sys.stderr.write(f"nbregistry serve: {args.ref} on {url} with {args.workers} worker(s) - POST /invocations,"
                         " POST /v2/models/<name>/infer, GET /ping, /version, /metrics; Ctrl-C stops\n")
        sys.stderr.flush()

    run(reg, args.ref, host=args.host, port=args.port, workers=args.workers, trust=args.trust, poll=args.poll,
        method=args.method, limits=limits, access_log=args.access_log, on_listen=listening)
    sys.stderr.write("nbregistry serve: stopped\n")
    return 0


# ==================================================================== predict
def add_predict_parser(sub):
    p = sub.add_parser("predict", help="score a file in batch (csv, parquet, jsonl) with the server's checks")
    p.add_argument("ref", help="the version to score with: churn@production, churn:3, churn")
    p.add_argument("input", help="input file: .csv, .parquet or .jsonl (one JSON object per line)")
    p.add_argument("-o", "--output", required=True, help="output file: .parquet, .csv or .jsonl")
    p.add_argument("--method", default="predict", help="model method (predict, predict_proba, ...)")
    p.add_argument("--chunk-size", type=int, default=10_000, metavar="ROWS", help="rows per batch (default 10000)")
    p.add_argument("--trust", action="store_true",
                   help="allow pickle-based versions authored by someone else (unpickling runs their code)")


def cmd_predict(reg, args):
    from ..core.batch import predict_file

    if args.chunk_size < 1:
        raise _cli().UsageError("--chunk-size must be at least 1")
    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(desc=f"scoring with {args.ref}", unit="rows", leave=False)
    try:
        report = predict_file(reg, args.ref, args.input, args.output, method=args.method,
                              chunk_size=args.chunk_size, trust=args.trust, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    return _cli().output(args, report, lambda r: f"scored {r['rows']} rows of {r['input']} with {r['ref']}"
                                                 f" ({r['method']}) -> {r['output']}")


# ==================================================================== export
def add_export_parser(sub):
    p = sub.add_parser("export", help="write a version, model or the registry as a bundle, MLflow model or Docker context")
    p.add_argument("paths", nargs="+", metavar="[REF] DEST",
                   help="REF: churn:3, churn@production, churn (bundle: the whole model); omit it for the whole "
                        "registry (bundle). DEST: bundle file (.tar or .tar.gz), or a new folder (mlflow, docker)")
    p.set_defaults(trailing_positionals="paths")  # `export churn:3 --format mlflow DIR` (see cli.main)
    p.add_argument("--format", choices=["bundle", "mlflow", "docker", "hf"], default="bundle",
                   help="default: bundle; hf: a Hugging Face-style folder with the card as README.md")
    p.add_argument("--trust", action="store_true",
                   help="mlflow: allow re-serializing a pickle-based version authored by someone else")
    p.add_argument("--serialization", choices=["cloudpickle", "pickle", "skops"], default="cloudpickle",
                   help="mlflow, sklearn models: the model file's format (default cloudpickle, loadable by any MLflow)")
    p.add_argument("--port", type=int, default=8080, help="docker: the port the image serves on (default 8080)")


def cmd_export(reg, args):
    if len(args.paths) > 2:
        raise _cli().UsageError(f"export takes [REF] DEST, not {len(args.paths)} paths: {' '.join(args.paths)}")
    ref, dest = (None, args.paths[0]) if len(args.paths) == 1 else args.paths
    report = reg.export(ref, dest, format=args.format, trust=args.trust, port=args.port,
                        serialization=args.serialization)
    cli = _cli()

    def human(r):
        what = ", ".join(r.refs) if len(r.refs) <= 6 else f"{len(r.refs)} versions"
        lines = [f"exported {what} as {r.format} to {r.path}"]
        if r.format in ("bundle", "docker"):
            rows = sum(r.tables.values())
            lines.append(f"{rows} rows in {len(r.tables)} tables, {r.blobs} blobs ({cli.fmt_bytes(r.bytes)})")
        if r.files and r.format != "bundle":
            lines.append("files: " + ", ".join(r.files))
        return "\n".join(lines)

    return cli.output(args, report, human)


# ==================================================================== import
def add_import_parser(sub):
    p = sub.add_parser("import", help="restore a bundle, or copy models from an MLflow registry")
    p.add_argument("file", nargs="?", help="a bundle written by `nbregistry export`")
    p.add_argument("--from-mlflow", metavar="URI",
                   help="an MLflow tracking/registry URI (sqlite:///mlflow.db, http://mlflow:5000, ...)")
    p.add_argument("--model", action="append", default=None, metavar="NAME",
                   help="--from-mlflow: only this registered model (repeatable)")


def cmd_import(reg, args):
    cli = _cli()
    if bool(args.file) == bool(args.from_mlflow):
        raise cli.UsageError("give either a bundle FILE or --from-mlflow URI")
    if args.model and not args.from_mlflow:
        raise cli.UsageError("--model goes with --from-mlflow")
    report = reg.import_mlflow(args.from_mlflow, models=args.model) if args.from_mlflow else reg.import_bundle(args.file)

    def human(r):
        added = {k: v for k, v in r.added.items() if v}
        if not r.changed:
            lines = [f"nothing new in {r.source}: everything was already here"]
        else:
            lines = [f"imported from {r.source}: " + (", ".join(r.refs) if r.refs else "no new versions"),
                     "added: " + (", ".join(f"{k} {v}" for k, v in added.items()) or "-")
                     + f"; {r.blobs_added} new blobs"]
        lines += [f"warning: {w}" for w in r.warnings]
        return "\n".join(lines)

    return cli.output(args, report, human, json_obj=dict(report.to_dict(), changed=report.changed))


# ==================================================================== webhooks
def add_webhooks_parser(sub):
    p = sub.add_parser("webhooks", help="subscriptions that POST registry events (signed) to URLs")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    actions.required = True
    original = actions.add_parser

    def add_parser(name, **kwargs):  # the global --root/--json also work after the action
        action = original(name, **kwargs)
        action.add_argument("--root", default=argparse.SUPPRESS, metavar="PATH", help="registry folder")
        action.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
        return action

    actions.add_parser = add_parser
    actions.add_parser("list", help="subscriptions, with pending and failed deliveries")
    add = actions.add_parser("add", help="subscribe a URL (prints the signing secret once)")
    add.add_argument("url")
    add.add_argument("--events", default="*", help="comma-separated action globs (default *; e.g. 'alias.*,version.registered')")
    add.add_argument("--model", default=None, help="only events of models matching this glob")
    add.add_argument("--secret", default=None, help="signing secret (default: a random one, printed once)")
    add.add_argument("--description", default="", help="a note")
    remove = actions.add_parser("remove", help="delete a subscription and its delivery log")
    remove.add_argument("id", type=int)
    test = actions.add_parser("test", help="send a signed webhook.test ping now and show the result")
    test.add_argument("id", type=int)
    deliveries = actions.add_parser("deliveries", help="the delivery log, newest first, every attempt")
    deliveries.add_argument("id", type=int, nargs="?", default=None, help="one subscription's (default: all)")
    deliveries.add_argument("--limit", type=int, default=20, help="at most this many deliveries (default 20)")
    run = actions.add_parser("run", help="deliver continuously (for registries written by processes that exit)")
    run.add_argument("--poll", type=float, default=1.0, metavar="SECONDS", help="check interval (default 1)")


def cmd_webhooks(reg, args):
    cli = _cli()
    if args.action == "list":
        hooks = reg.list_webhooks()
        return cli.output(args, hooks, lambda hs: cli.table(
            [[h.id, h.url, h.events, h.model, h.pending, h.failed, h.created_by] for h in hs],
            ["ID", "URL", "EVENTS", "MODEL", "PENDING", "FAILED", "BY"], max_width=60) if hs else "no webhooks")
    if args.action == "add":
        hook = reg.add_webhook(args.url, events=args.events, model=args.model, secret=args.secret,
                               description=args.description)
        return cli.output(args, hook, lambda h: f"webhook #{h.id}: {h.url} (events {h.events})\n"
                                               f"secret (shown once): {h.secret}")
    if args.action == "remove":
        reg.remove_webhook(args.id)
        return cli.output(args, {"removed": args.id}, lambda d: f"removed webhook #{d['removed']}")
    if args.action == "test":
        delivery = reg.test_webhook(args.id)
        cli.output(args, delivery, _render_delivery)
        return 0 if delivery.status == "delivered" else cli.EXIT_REFUSED
    if args.action == "deliveries":
        log = reg.webhook_deliveries(args.id, limit=args.limit)
        return cli.output(args, log, lambda ds: "\n".join(_render_delivery(d) for d in ds) if ds else "no deliveries")
    if args.action == "run":
        from ..core.webhooks import run_forever

        sys.stderr.write(f"nbregistry webhooks: delivering for {reg.root}; Ctrl-C stops\n")
        try:
            run_forever(reg.store, poll=args.poll, allowed=reg.webhook_networks)
        except KeyboardInterrupt:
            pass
        return 0
    raise cli.UsageError(f"unknown webhooks action {args.action!r}")


def _render_delivery(d) -> str:
    cli = _cli()
    head = f"#{d.id} {d.action} -> webhook {d.webhook_id}: {d.status} after {d.attempts} attempt(s)"
    lines = [head]
    for a in d.log:
        outcome = f"HTTP {a['status_code']}" if a["status_code"] is not None else "no answer"
        error = f" ({a['error']})" if a["error"] and a["status_code"] is None else ""
        lines.append(f"  {a['attempt']}. {cli.fmt_time(a['time'])} {outcome}{error} {a['duration_ms']:.0f} ms")
    return "\n".join(lines)
