"""The scoring server as an ASGI app (Starlette): ``create_app(registry, "churn@production")``.

Routes: ``POST /invocations`` (MLflow), ``GET /ping`` and ``/health``, ``GET /version``,
``GET /metrics`` (Prometheus), and the Open Inference Protocol under ``/v2`` (see
``v2_protocol.py``). The app is what ``nbregistry serve`` runs under uvicorn, and it can be mounted
in a user's own Starlette/FastAPI app (docs/deploy.md shows how): the model is loaded by the app's
lifespan, or on the first request when the host does not run sub-app lifespans.

Bodies are read in chunks with a size limit (413 as soon as it is passed, or at once when
``Content-Length`` says so) and a deadline (408 when a client stalls); both answers close the
connection, so the rest of a huge body is never read. Parsing, validation and the model run in a
worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from .errors import (BAD_REQUEST, ENDPOINT_NOT_FOUND, INTERNAL_ERROR, INVALID_PARAMETER_VALUE, REQUEST_LIMIT_EXCEEDED,
                     RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE, ServingError)
from .follower import Follower, score

log = logging.getLogger("nbregistry.serve")

MAX_BODY_BYTES = 64 * 1024 * 1024
BODY_TIMEOUT = 30.0
METHOD_HEADER = "X-Nbregistry-Method"
POSITIONAL_HEADER = "X-Nbregistry-Positional"
VERSION_HEADER = "X-Nbregistry-Version"
WORKER_HEADER = "X-Nbregistry-Worker"
CONFIG_ENV = "NBREGISTRY_SERVE_CONFIG"


class ScoringService:
    """What the routes share: the follower (the live model), the metrics, the limits."""

    def __init__(self, registry, ref: str, *, trust: bool = False, poll: float = 1.0, method: str = "predict",
                 max_body: int = MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT, close_registry: bool = False):
        from ...core.scoring import check_method
        from .metrics import ServingMetrics

        self.default_method = check_method(method)
        self.max_body = max_body
        self.body_timeout = body_timeout
        self.metrics = ServingMetrics()
        self.follower = Follower(registry, ref, trust=trust, poll=poll,
                                 on_swap=lambda live: self.metrics.served(live, swapped=self.follower.swaps > 0))
        self.registry = registry
        self._close_registry = close_registry
        self._start_lock = asyncio.Lock()

    async def ensure_started(self) -> None:
        if self.follower.live is None:
            async with self._start_lock:
                if self.follower.live is None:
                    await asyncio.to_thread(self.follower.start)

    def stop(self) -> None:
        self.follower.stop()
        self.metrics.close()
        if self._close_registry:
            self.registry.close()


def create_app(registry, ref: str, **options):
    """A Starlette app serving ``ref`` from ``registry`` (options: ``trust``, ``poll``, ``method``,
    ``max_body``, ``body_timeout``; see :class:`ScoringService`)."""
    import contextlib

    from starlette.applications import Starlette
    from starlette.routing import Route

    service = ScoringService(registry, ref, **options)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await service.ensure_started()
        log.info("serving %s (%s) in worker %s", service.follower.spec, service.follower.live.ref, os.getpid())
        try:
            yield
        finally:
            service.stop()

    routes = [
        Route("/invocations", _endpoint(service, "invocations", invocations), methods=["POST"]),
        Route("/ping", _endpoint(service, "ping", ping), methods=["GET"]),
        Route("/health", _endpoint(service, "ping", ping), methods=["GET"]),
        Route("/version", _endpoint(service, "version", version), methods=["GET"]),
        Route("/metrics", metrics_endpoint(service), methods=["GET"]),
        Route("/v2", _endpoint(service, "v2.server", v2_server), methods=["GET"]),
        Route("/v2/health/live", _endpoint(service, "v2.live", v2_live), methods=["GET"]),
        Route("/v2/health/ready", _endpoint(service, "v2.ready", v2_ready), methods=["GET"]),
        Route("/v2/models/{name}", _endpoint(service, "v2.metadata", v2_metadata), methods=["GET"]),
        Route("/v2/models/{name}/ready", _endpoint(service, "v2.ready", v2_ready), methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}", _endpoint(service, "v2.metadata", v2_metadata), methods=["GET"]),
        Route("/v2/models/{name}/versions/{version}/ready", _endpoint(service, "v2.ready", v2_ready), methods=["GET"]),
        Route("/v2/models/{name}/infer", _endpoint(service, "v2.infer", v2_infer), methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", _endpoint(service, "v2.infer", v2_infer),
              methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.service = service
    return app


def app_from_env():
    """The app of one ``nbregistry serve`` worker, configured by the parent through ``NBREGISTRY_SERVE_CONFIG``."""
    from ...core.registry import Registry

    config = json.loads(os.environ[CONFIG_ENV])
    where = config.pop("root")
    author = {"author": config.pop("author")} if config.get("author") else {}
    stores = config.pop("stores", None) or {}  # the parent's --db / --objects, when not the defaults
    config.pop("author", None)
    if where.startswith(("http://", "https://")):  # a team server (NBREGISTRY_URL): through its API
        from ...remote import RemoteRegistry

        registry = RemoteRegistry(where, **author)
    else:
        registry = Registry(where, **author, **stores)
    return create_app(registry, config.pop("ref"), close_registry=True, **config)


# ==================================================================== plumbing
def _json(status: int, payload: Any, headers: dict | None = None):
    from starlette.responses import Response

    return Response(json.dumps(payload, allow_nan=False, separators=(",", ":")), status_code=status,
                    media_type="application/json", headers=headers)


def _error(exc: ServingError, *, v2: bool = False):
    body = exc.body()
    if v2:
        body = {"error": exc.message, "error_code": exc.code}
    return _json(exc.status, body, {"Connection": "close"} if exc.close else None)


async def _not_found(request, exc):
    return _json(404, {"error_code": ENDPOINT_NOT_FOUND,
                       "message": f"no route {request.url.path}; try POST /invocations, GET /ping, GET /version,"
                                  " GET /metrics, or the Open Inference Protocol under /v2"})


async def _not_allowed(request, exc):
    return _json(405, {"error_code": BAD_REQUEST, "message": f"{request.method} is not allowed on {request.url.path}"})


def _endpoint(service: ScoringService, route: str, handler):
    v2 = route.startswith("v2.")

    async def endpoint(request):
        started = time.perf_counter()
        try:
            await service.ensure_started()
            response = await handler(service, request)
        except ServingError as exc:
            response = _error(exc, v2=v2)
        except Exception as exc:  # noqa: BLE001 - report, keep serving
            log.exception("%s failed", route)
            response = _error(ServingError(500, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"), v2=v2)
        response.headers[WORKER_HEADER] = str(os.getpid())
        service.metrics.observe(route, response.status_code, time.perf_counter() - started)
        return response

    return endpoint


def metrics_endpoint(service: ScoringService):
    async def endpoint(request):
        from starlette.responses import Response

        body, content_type = await asyncio.to_thread(service.metrics.render)
        return Response(body, headers={"Content-Type": content_type, WORKER_HEADER: str(os.getpid())})

    return endpoint


async def read_body(service: ScoringService, request) -> bytes:
    """The request body, at most ``max_body`` bytes, within ``body_timeout`` seconds."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise ServingError(400, BAD_REQUEST, f"invalid Content-Length {length!r}", close=True)
        if int(length) > service.max_body:
            raise ServingError(413, REQUEST_LIMIT_EXCEEDED,
                               f"body of {int(length)} bytes is over the {service.max_body}-byte limit", close=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + service.body_timeout
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    while True:
        remaining = deadline - loop.time()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            chunk = await asyncio.wait_for(stream.__anext__(), remaining)
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise ServingError(408, BAD_REQUEST, f"the body did not arrive within {service.body_timeout:g} s",
                               close=True) from None
        size += len(chunk)
        if size > service.max_body:
            raise ServingError(413, REQUEST_LIMIT_EXCEEDED, f"body over the {service.max_body}-byte limit", close=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def _predict(live, data, method, *, positional: bool = False):
    """Validate, score and check the output; translate core errors into serving errors."""
    from ...core.errors import ValidationError
    from ...core.scoring import OutputMismatch, ScoringError

    try:
        return score(live, data, method, positional=positional)
    except ScoringError as exc:
        raise ServingError(400, BAD_REQUEST, f"{live.ref}: {exc}") from None
    except ValidationError as exc:
        raise ServingError(400, INVALID_PARAMETER_VALUE, f"input does not match the signature of {live.ref}: {exc}") \
            from None
    except OutputMismatch as exc:
        raise ServingError(500, INTERNAL_ERROR, f"{live.ref} answered outside its recorded output schema: {exc}") \
            from None


def _method(service, requested: str | None) -> str:
    from ...core.errors import ValidationError
    from ...core.scoring import check_method

    try:
        return check_method(requested or service.default_method)
    except ValidationError as exc:
        raise ServingError(400, INVALID_PARAMETER_VALUE, str(exc)) from None


# ==================================================================== MLflow routes
async def invocations(service: ScoringService, request):
    from ...core.scoring import jsonable
    from .mlflow_protocol import media_type, parse_invocation

    live = service.follower.live  # this request's model, whatever happens to the alias meanwhile
    content_type = request.headers.get("content-type")
    media_type(content_type, ("application/json", "text/csv"))  # refused before the body is read
    method = _method(service, request.query_params.get("method") or request.headers.get(METHOD_HEADER))
    positional = _flag(request.query_params.get("positional")) or _flag(request.headers.get(POSITIONAL_HEADER))
    body = await read_body(service, request)

    def work():
        data = parse_invocation(body, content_type, live.signature)
        prediction, _ = _predict(live, data, method, positional=positional)
        return {"predictions": jsonable(prediction)}

    return _json(200, await asyncio.to_thread(work), {VERSION_HEADER: live.ref})


def _unready(service) -> ServingError:
    f = service.follower
    if f.live is None:
        return ServingError(503, TEMPORARILY_UNAVAILABLE, "no model loaded yet")
    why = f"; last error: {f.last_error['error']}" if f.last_error else ""
    names = f"names version {f.target}" if f.target is not None else "names no version"
    return ServingError(503, TEMPORARILY_UNAVAILABLE, f"stale: serving {f.live.ref} while {f.spec} {names}{why}")


async def ping(service: ScoringService, request):
    if not service.follower.ready:
        raise _unready(service)
    return _json(200, {"status": "ok", "version": service.follower.live.ref},
                 {VERSION_HEADER: service.follower.live.ref})


async def version(service: ScoringService, request):
    return _json(200, {**service.follower.status(), "worker": os.getpid()})


# ==================================================================== Open Inference Protocol
async def v2_server(service, request):
    from ... import __version__

    return _json(200, {"name": "nbregistry", "version": __version__, "extensions": []})


async def v2_live(service, request):
    return _json(200, {"live": True})


async def v2_ready(service, request):
    _model(service, request)
    if not service.follower.ready:
        raise _unready(service)
    return _json(200, {"ready": True})


def _model(service, request):
    """The live model when the path names it (and the served version, if it names one)."""
    live = service.follower.live
    name = request.path_params.get("name")
    if name is not None and name != live.name:
        raise ServingError(404, RESOURCE_DOES_NOT_EXIST, f"no model {name!r} here; this server serves {live.name!r}")
    wanted = request.path_params.get("version")
    if wanted is not None and wanted != str(live.version):
        raise ServingError(404, RESOURCE_DOES_NOT_EXIST,
                           f"version {wanted} of {live.name!r} is not served here; {live.ref} is")
    return live


async def v2_metadata(service, request):
    from .v2_protocol import model_metadata

    return _json(200, model_metadata(_model(service, request)))


async def v2_infer(service, request):
    from .mlflow_protocol import load_json, media_type
    from .v2_protocol import infer_response, parse_infer

    live = _model(service, request)
    media_type(request.headers.get("content-type"), ("application/json",))
    body = await read_body(service, request)

    def work():
        data, requested, payload = parse_infer(load_json(body), live.signature)
        method = _method(service, requested)
        prediction, _ = _predict(live, data, method)
        return infer_response(live, prediction, method, payload)

    return _json(200, await asyncio.to_thread(work), {VERSION_HEADER: live.ref})
