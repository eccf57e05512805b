"""The scoring server: ``nbregistry serve churn@production``.

A standard-library HTTP server (no Jupyter needed) that speaks MLflow's scoring protocol:

- ``POST /invocations``: JSON with one of ``dataframe_split``, ``dataframe_records``, ``instances``,
  ``inputs`` (``Content-Type: application/json``) or CSV (``text/csv``) -> ``{"predictions": [...]}``.
  ``?method=predict_proba`` (or the ``X-Nbregistry-Method`` header) picks another method. Input is
  validated against the version's signature: a 400 names the offending column or shape.
- ``GET /ping`` (and ``/health``): 200 while a model is loaded.
- ``GET /version``: ``{"ref", "model", "version", "loaded_at", "last_error", ...}``.

It follows the alias (or ``churn`` = latest): a watcher polls the registry's event feed (one indexed
``SELECT`` per poll) and, when the ref points elsewhere, loads the new version in the background,
smoke-tests it on its stored input example, and swaps it in with one reference assignment. A
request uses the model it started with, so in-flight requests finish on the old one. A version that
fails to load or to predict is not swapped in: the old one keeps serving and ``/version`` reports
``last_error``.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from ..core.errors import RegistryError, ValidationError
from ..core.refs import parse_ref
from ..core.store import now_iso

log = logging.getLogger("nbregistry.serve")

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")
PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MAX_BODY_BYTES = 64 * 1024 * 1024
METHOD_HEADER = "X-Nbregistry-Method"
VERSION_HEADER = "X-Nbregistry-Version"


@dataclass(frozen=True)
class Live:
    """The model being served. Replaced as a whole (never mutated) when the alias moves."""

    model: Any
    name: str
    version: int
    flavor: str
    signature: dict | None
    loaded_at: str

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST"):
        super().__init__(message)
        self.status = status
        self.code = code


class ScoringServer:
    """Serve ``ref`` from ``registry`` on ``host:port`` (port 0 picks a free one).

    ``trust`` allows pickle-based versions authored by someone else (see ``Registry.load``).
    ``poll`` is the watcher's interval in seconds. ``start()`` loads the model (raising if it cannot)
    and serves in background threads; ``serve_forever()`` blocks instead.
    """

    def __init__(self, registry, ref: str, *, host: str = "127.0.0.1", port: int = 8080, trust: bool = False,
                 poll: float = 1.0, method: str = "predict", max_body: int = MAX_BODY_BYTES,
                 access_log: bool = False):
        self.registry = registry
        self.ref = parse_ref(ref)
        self.spec = str(self.ref)
        self.trust = trust
        self.poll = poll
        if method not in METHODS:
            raise ValidationError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
        self.default_method = method
        self.max_body = max_body
        self.access_log = access_log
        self.live: Live | None = None
        self.last_error: dict | None = None
        self.swaps = 0
        self._failed_version: int | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_event = 0
        self.httpd = ThreadingHTTPServer((host, port), _handler_class(self))
        self.httpd.daemon_threads = True

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ScoringServer":
        if self._threads:  # already running (``with serve(...)`` after ``serve()`` started it)
            return self
        self._last_event = self._latest_event_id()
        number = self._target()
        self.live = self._load(number)
        log.info("serving %s (%s) on %s", self.spec, self.live.ref, self.url)
        self._spawn(self.httpd.serve_forever, "http")
        if self.ref.version is None:  # a fixed version never moves
            self._spawn(self._watch, "watch")
        return self

    def serve_forever(self) -> None:
        """Start (if needed) and block until interrupted (Ctrl-C), then stop."""
        self.start()
        try:
            while not self._stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, target, name: str) -> None:
        t = threading.Thread(target=target, name=f"nbregistry-serve-{name}", daemon=True)
        t.start()
        self._threads.append(t)

    # ---------------------------------------------------------------- following the ref
    def _latest_event_id(self) -> int:
        last = 0
        while True:
            batch = self.registry.events(since=last, model=self.ref.name, limit=10_000)
            if not batch:
                return last
            last = batch[-1].id

    def _target(self) -> int:
        return self.registry.get(self.spec).version

    def _load(self, number: int) -> Live:
        ref = f"{self.ref.name}:{number}"
        version = self.registry.get(ref)
        model = self.registry.load(ref, trust=self.trust)
        live = Live(model=model, name=version.name, version=number, flavor=version.flavor,
                    signature=version.signature, loaded_at=now_iso())
        if version.has_input_example:  # a version that cannot score its own example is not served
            example = self.registry.input_example(ref)
            predict(live, validate_input_or_raise(live, example), self.default_method)
        return live

    def check_now(self) -> bool:
        """Resolve the ref once and swap if it moved; returns whether a new version went live."""
        try:
            number = self._target()
        except RegistryError as exc:  # alias removed, model deleted: keep serving what we have
            self._report(None, exc)
            return False
        if self.live is not None and number == self.live.version:
            self._failed_version = None
            if self.last_error and self.last_error.get("version") is None:
                self.last_error = None
            return False
        if number == self._failed_version:
            return False
        try:
            live = self._load(number)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the old model serving
            self._failed_version = number
            self._report(number, exc)
            return False
        old, self.live = self.live, live  # the swap: one reference assignment
        self.swaps += 1
        self.last_error = None
        self._failed_version = None
        log.info("%s moved: now serving %s (was %s)", self.spec, live.ref, old.ref if old else None)
        return True

    def _report(self, number: int | None, exc: BaseException) -> None:
        self.last_error = {"version": number, "error": f"{type(exc).__name__}: {exc}", "time": now_iso()}
        log.error("%s: could not switch to version %s, still serving %s: %s", self.spec, number,
                  self.live.ref if self.live else None, exc)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                batch = self.registry.events(since=self._last_event, model=self.ref.name, limit=10_000)
                if batch:
                    self._last_event = batch[-1].id
                    self.check_now()
            except Exception as exc:  # noqa: BLE001 - a locked database must not stop the watcher
                log.warning("watcher: %s", exc)

    # ---------------------------------------------------------------- status
    def status(self) -> dict:
        live = self.live
        return {"ref": self.spec, "model": live.name if live else self.ref.name,
                "version": live.version if live else None, "flavor": live.flavor if live else None,
                "loaded_at": live.loaded_at if live else None, "signature": live.signature if live else None,
                "last_error": self.last_error, "swaps": self.swaps}


# ==================================================================== request handling
def parse_body(body: bytes, content_type: str, signature: dict | None) -> Any:
    """The model input from a request body in one of MLflow's formats."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media == "text/csv":
        import pandas as pd

        try:
            return pd.read_csv(io.BytesIO(body))
        except Exception as exc:  # noqa: BLE001 - pandas raises several kinds
            raise BadRequest(f"could not parse the CSV body: {exc}") from None
    if media != "application/json":
        raise BadRequest(f"unsupported Content-Type {media!r}: use application/json or text/csv", 415,
                         "UNSUPPORTED_MEDIA_TYPE")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    keys = [k for k in PAYLOAD_KEYS if isinstance(payload, dict) and k in payload]
    if len(keys) != 1:
        raise BadRequest(f"the JSON body must be an object with exactly one of {', '.join(PAYLOAD_KEYS)}")
    key, value = keys[0], payload[keys[0]]
    import pandas as pd

    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value or not isinstance(value["data"], list):
            raise BadRequest("dataframe_split must be an object with 'columns' and 'data' (a list of rows)")
        try:
            return pd.DataFrame(value["data"], columns=value.get("columns"), index=value.get("index"))
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"dataframe_split: {exc}") from None
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise BadRequest("dataframe_records must be a list of objects (one per row)")
        return pd.DataFrame.from_records(value)
    # instances / inputs: a list of rows, a list of records, or an object of named columns
    if isinstance(value, dict):
        try:
            return pd.DataFrame(value)
        except ValueError as exc:
            raise BadRequest(f"{key}: {exc}") from None
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        return pd.DataFrame.from_records(value)
    if not isinstance(value, list):
        raise BadRequest(f"{key} must be a list of rows or an object of columns")
    if signature is None or signature["type"] == "tensor":
        import numpy as np

        try:
            return np.asarray(value)
        except ValueError as exc:
            raise BadRequest(f"{key} is not a regular array: {exc}") from None
    return value  # rows for a dataframe signature: validate_input names the columns


def validate_input_or_raise(live: Live, data: Any) -> Any:
    from ..core.signature import validate_input

    return validate_input(live.signature, data)


def predict(live: Live, data: Any, method: str) -> Any:
    """Call the model: the flavor's ``predict(model, data, method)`` when it has one, else the method."""
    from ..core.flavors import get_flavor

    try:
        flavor = get_flavor(live.flavor)
    except ValidationError:
        flavor = None
    custom = getattr(flavor, "predict", None)
    if custom is not None:
        return custom(live.model, data, method)
    fn = getattr(live.model, method, None)
    if fn is None:
        raise BadRequest(f"{live.ref} ({type(live.model).__name__}) has no method {method!r}")
    return fn(data)


def jsonable(value: Any) -> Any:
    """Predictions as JSON-ready lists (numpy, pandas, tensors); NaN and infinities become null."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # DataFrame
        value = value.to_dict(orient="records")
    elif hasattr(value, "tolist"):
        value = value.tolist()
    elif hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy().tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value


def _handler_class(server: ScoringServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nbregistry-serve"
        disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stalls

        def log_message(self, fmt, *args):
            if server.access_log:
                log.info("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, payload: Any, headers: dict | None = None) -> None:
            data = b"" if payload is None else json.dumps(payload, allow_nan=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, code: str, message: str) -> None:
            self._send(status, {"error_code": code, "message": message})

        def do_GET(self):
            path = urlparse(self.path).path.rstrip("/") or "/"
            if path in ("/ping", "/health"):
                if server.live is None:
                    return self._error(503, "NOT_READY", "no model loaded")
                return self._send(200, {"status": "ok"}, {VERSION_HEADER: server.live.ref})
            if path == "/version":
                return self._send(200, server.status())
            if path == "/invocations":
                return self._error(405, "METHOD_NOT_ALLOWED", "use POST /invocations")
            return self._error(404, "NOT_FOUND", f"no route {path}; try POST /invocations, GET /ping, GET /version")

        def do_POST(self):
            url = urlparse(self.path)
            if url.path.rstrip("/") != "/invocations":
                self._drain()
                return self._error(404, "NOT_FOUND", f"no route {url.path}; POST /invocations")
            live = server.live  # this request's model, whatever happens to the alias meanwhile
            try:
                body = self._body()
                method = (parse_qs(url.query).get("method", [None])[0] or self.headers.get(METHOD_HEADER)
                          or server.default_method)
                if method not in METHODS:
                    raise BadRequest(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
                data = parse_body(body, self.headers.get("Content-Type", ""), live.signature)
                try:
                    data = validate_input_or_raise(live, data)
                except ValidationError as exc:
                    raise BadRequest(f"input does not match the signature of {live.ref}: {exc}") from None
                try:
                    result = predict(live, data, method)
                except BadRequest:
                    raise
                except (ValueError, TypeError, KeyError) as exc:
                    raise BadRequest(f"{live.ref} refused the input: {type(exc).__name__}: {exc}") from None
                self._send(200, {"predictions": jsonable(result)}, {VERSION_HEADER: live.ref})
            except BadRequest as exc:
                self._error(exc.status, exc.code, str(exc))
            except Exception as exc:  # noqa: BLE001 - report, keep serving
                log.exception("prediction failed")
                self._error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True
                raise BadRequest("chunked bodies are not supported: send Content-Length", 411, "LENGTH_REQUIRED")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self.close_connection = True
                raise BadRequest("Content-Length is required", 411, "LENGTH_REQUIRED") from None
            if length > server.max_body:
                self.close_connection = True
                raise BadRequest(f"body of {length} bytes is over the {server.max_body}-byte limit", 413,
                                 "PAYLOAD_TOO_LARGE")
            return self.rfile.read(length)

        def _drain(self) -> None:
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = 0
            if 0 < length <= server.max_body:
                self.rfile.read(length)
            elif length:
                self.close_connection = True

    return Handler


def serve(registry, ref: str, **kwargs) -> ScoringServer:
    """Start a :class:`ScoringServer` in background threads and return it (``.url``, ``.stop()``)."""
    return ScoringServer(registry, ref, **kwargs).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m nbregistry.deploy.serve REF ...`` = ``nbregistry serve REF ...`` (Docker entry point)."""
    import sys

    from ..cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
