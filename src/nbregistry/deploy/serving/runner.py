"""Running the scoring app under uvicorn: workers, connection limits, timeouts, graceful shutdown.

uvicorn answers a malformed request line or header (``Content-Length: -1`` included) with a 400 at
once, and closes idle keep-alive connections, but it has no deadline for a request's headers: a
client that connects and sends nothing, or one header byte a minute (slowloris), would hold its
connection forever. :class:`GuardedH11Protocol` adds what is missing, per connection:

- a header deadline (``header_timeout``): the request line and headers must be complete within it,
  from the connection (or the end of the previous response); otherwise the connection is closed;
- a cap on open connections per worker (``max_connections``): one more is closed at once;
- the 400 for a malformed request is JSON with MLflow's ``error_code``.

The body has its own deadline and size limit in the app (``app.read_body``); ``limit_concurrency``
makes uvicorn answer 503 past that many requests in flight. SIGTERM (``docker stop``) and SIGINT
stop accepting, let in-flight requests finish (``graceful_timeout``), then stop each worker's
follower.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from dataclasses import asdict, dataclass

from uvicorn.protocols.http.h11_impl import H11Protocol

import h11


@dataclass
class Limits:
    max_body: int = 64 * 1024 * 1024
    body_timeout: float = 30.0
    header_timeout: float = 10.0
    keepalive_timeout: float = 5.0
    max_connections: int = 1000
    max_in_flight: int = 256
    graceful_timeout: float = 30.0


LIMITS_ENV = "NBREGISTRY_SERVE_LIMITS"


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header deadline, a connection cap and JSON 400s."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        limits = getattr(config, "nbregistry_limits", None) or Limits(**json.loads(os.environ.get(LIMITS_ENV, "{}")))
        self.header_timeout = limits.header_timeout
        self.max_connections = limits.max_connections
        self._header_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # headers and body leave at once: no delayed-ACK stalls (whatever socket uvicorn was given)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if len(self.connections) > self.max_connections:
            self.logger.warning("closing a connection: %d open, the limit is %d", len(self.connections),
                                self.max_connections)
            transport.abort()
            return
        self._arm()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE:  # still no complete request line and headers
            if not self.transport.is_closing():
                self.logger.info("closing a connection whose request headers did not arrive within %gs",
                                 self.header_timeout)
                self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()  # a new request starts: its headers have until the deadline
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # headers complete (the body has the app's own deadline)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error_code": "BAD_REQUEST", "message": f"{msg} (malformed request line or headers,"
                                                                  " e.g. an invalid Content-Length)"}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                   (b"content-length", str(len(body)).encode())]
        try:
            self.transport.write(self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request")))
            self.transport.write(self.conn.send(h11.Data(data=body)))
            self.transport.write(self.conn.send(h11.EndOfMessage()))
        except h11.LocalProtocolError:
            pass
        self.transport.close()


def uvicorn_config(app, *, host: str, port: int, limits: Limits, workers: int = 1, access_log: bool = False,
                   factory: bool = False, log_level: str = "info"):
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=factory,
                            http="nbregistry.deploy.serving.runner:GuardedH11Protocol", lifespan="on",
                            limit_concurrency=limits.max_in_flight, timeout_keep_alive=limits.keepalive_timeout,
                            timeout_graceful_shutdown=limits.graceful_timeout, access_log=access_log,
                            log_level=log_level, server_header=False, proxy_headers=False)
    config.nbregistry_limits = limits
    return config


def worker_stores(registry) -> dict:
    """The stores a worker must open besides ``root`` (``Registry(root, **stores)``): the object
    store when it is not the root's folder (``--objects s3://...``), the database when it is not
    ``<root>/registry.db`` (``--db postgresql://...``)."""
    root = getattr(registry, "root", None)
    if root is None:  # a RemoteRegistry: the workers reach the same server
        return {}
    stores = {}
    if registry.objects.url != str(root):
        stores["objects"] = registry.objects.url
    engine = registry.store.engine
    if engine.url != str(root / "registry.db"):
        stores["db"] = engine.url
    return stores


def run(registry, ref: str, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1, trust: bool = False,
        poll: float = 1.0, method: str = "predict", limits: Limits | None = None, access_log: bool = False,
        on_listen=None) -> None:
    """Serve in this process until SIGINT/SIGTERM: ``workers`` uvicorn processes on one socket.

    Each worker builds its own app (``app.app_from_env``) on its own ``Registry`` of the same root, so
    each runs its own follower. ``on_listen(url)`` is called once the socket is bound."""
    import tempfile

    from uvicorn import Server
    from uvicorn.supervisors import Multiprocess

    from .app import CONFIG_ENV

    limits = limits or Limits()
    root = getattr(registry, "url", None) or str(registry.root)
    os.environ[CONFIG_ENV] = json.dumps({"root": root, "stores": worker_stores(registry), "author": registry.author,
                                         "ref": ref, "trust": trust,
                                         "poll": poll, "method": method, "max_body": limits.max_body,
                                         "body_timeout": limits.body_timeout})
    os.environ[LIMITS_ENV] = json.dumps(asdict(limits))
    with tempfile.TemporaryDirectory(prefix="nbregistry-metrics-") as metrics_dir:
        if workers > 1:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before any worker imports prometheus_client
        config = uvicorn_config("nbregistry.deploy.serving.app:app_from_env", host=host, port=port, limits=limits,
                                workers=workers, access_log=access_log, factory=True)
        sock = listening_socket(host, port, config.backlog)
        bound_host, bound_port = sock.getsockname()[:2]
        if on_listen:
            on_listen(f"http://{bound_host}:{bound_port}")
        import signal

        # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with this handler
        # in place that ends here instead of killing the process, so a SIGTERM stop exits 0.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        try:
            if workers > 1:
                Multiprocess(config, sockets=[sock]).run()
            else:
                server = Server(config)
                server.run(sockets=[sock])
                if not server.started:
                    raise SystemExit(3)
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()


def listening_socket(host: str, port: int, backlog: int):
    """A bound, listening TCP socket: connections wait in its backlog until a worker has loaded the
    model, so clients told the address can connect at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP; without it every
    # keep-alive response waited ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class ThreadedServer:
    """One uvicorn server in a background thread of this process (tests, notebooks, embedding)."""

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None):
        from uvicorn import Server

        self.app = app
        self.limits = limits or Limits()
        self.config = uvicorn_config(app, host=host, port=port, limits=self.limits, log_level="warning")
        self.server = Server(self.config)
        self._sock = listening_socket(host, port, self.config.backlog)
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._thread: threading.Thread | None = None

    @property
    def service(self):
        """The scoring service when the app is the scoring app itself (not a host app mounting it)."""
        state = getattr(self.app, "state", None)
        return getattr(state, "service", None)

    @property
    def follower(self):
        return self.service.follower

    @property
    def live(self):
        return self.follower.live

    @property
    def last_error(self):
        return self.follower.last_error

    @property
    def swaps(self) -> int:
        return self.follower.swaps

    def check_now(self) -> bool:
        return self.follower.check_now()

    def start(self) -> "ThreadedServer":
        import time

        if self.service is not None:
            self.follower.start()  # load now: a version that cannot be served raises here, in the caller

        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]},
                                        name="nbregistry-serve", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the scoring server did not start (see its log)")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._sock.close()

    def __enter__(self):
        return self.start() if self._thread is None else self

    def __exit__(self, *exc):
        self.stop()
