"""The scoring server: ``nbregistry serve churn@production``.

An ASGI app (Starlette) under uvicorn, in ``deploy/serving/``: MLflow's ``/invocations`` and the
Open Inference Protocol (KServe V2), input validated by column name against the signature, output
against the recorded output schema, following the alias so a promote or rollback swaps the model
without a restart (in every worker), with body and connection limits, timeouts and Prometheus
metrics. See docs/deploy.md.

This module keeps the entry points: :func:`serve` (a server in a background thread of this process)
and ``python -m nbregistry.deploy.serve REF ...`` (the Docker image's command).
"""

from __future__ import annotations

from .serving.runner import Limits, ThreadedServer

__all__ = ["serve", "create_app", "Limits", "ThreadedServer"]


def create_app(registry, ref: str, **options):
    """The scoring ASGI app for ``ref`` (mount it in your own Starlette/FastAPI app; docs/deploy.md)."""
    from .serving.app import create_app as make

    return make(registry, ref, **options)


def serve(registry, ref: str, *, host: str = "127.0.0.1", port: int = 0, trust: bool = False, poll: float = 1.0,
          method: str = "predict", limits: Limits | None = None) -> ThreadedServer:
    """Start the scoring server for ``ref`` in a background thread and return it (``.url``, ``.stop()``,
    usable as a context manager). ``nbregistry serve`` runs the same app in worker processes."""
    limits = limits or Limits()
    app = create_app(registry, ref, trust=trust, poll=poll, method=method, max_body=limits.max_body,
                     body_timeout=limits.body_timeout)
    return ThreadedServer(app, host=host, port=port, limits=limits).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m nbregistry.deploy.serve REF ...`` = ``nbregistry serve REF ...`` (Docker entry point)."""
    import sys

    from ..cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
