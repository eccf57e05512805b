"""How the registry's REST requests are served: the registry service (one registry, a read pool,
a blob pool, one writer thread), the base handler every route subclasses (parsing, off-loop execution,
rendering) and THE translation of core errors to HTTP answers (:func:`error_reply`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..core.entities import to_jsonable
from ..core.errors import PermissionDenied, RegistryError, ValidationError
from ..core.identity import LOCAL, SHARED, VERIFIED
from ..core.limits import MAX_INT, loads_json, parse_int

MODELS = "nbregistry:models"
COMMENTS = "nbregistry:comments"
PROMOTIONS = "nbregistry:promotions"
POLICIES = "nbregistry:policies"
ADMIN = "nbregistry:admin"
CHUNK = 1 << 20
WEBHOOK_SWEEP_SECONDS = 5.0  # how often a server looks for webhook work nobody is doing
QUICK_PAGE, QUICK_OFFSET = 100, 1000  # a page this small, this near the start, is a quick read (see read())

# THE translation of core error codes (core/errors.py) to HTTP statuses.
STATUS_BY_CODE = {"bad_request": 400, "forbidden": 403, "not_found": 404, "conflict": 409,
                  "integrity": 500, "schema": 500}
# ... and of HTTP statuses raised by Jupyter/tornado (auth, XSRF, sizes) to codes.
CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 411: "length_required", 413: "too_large"}
log = logging.getLogger("nbregistry.server")
AUTHOR_RE = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
ANONYMOUS_USERNAME = re.compile(r"[0-9a-f]{32}")


class RegistryService:
    """The registry a server serves, with its read pool, its blob pool and its single writer thread.

    Three pools, so that nothing short waits behind something long: metadata reads run on
    ``readers``; blob bytes (an upload's spooling, unpacking, hashing and fsyncs, a download's file
    reads) on ``blobs``; the short metadata transaction of every write on the one ``writer``."""

    def __init__(self, settings):
        from ..core.identity import default_author, default_root
        from ..core.permissions import HUB_DEFAULT, OPEN, load_roles
        from ..core.registry import Registry

        self.settings = settings
        root = settings.root or default_root()  # never NBREGISTRY_URL: a server serves a folder
        self.registry = Registry(root, origin="server", objects=getattr(settings, "objects", "") or None,
                                 db=getattr(settings, "db", "") or None)
        self.registry.trust_own_pickles = False  # no user's pickle runs inside the shared server
        self.registry.code_allowed = False  # ... nor any stored code, whoever asks (core/trust.py)
        self.registry.limits = settings.limits() if hasattr(settings, "limits") else self.registry.limits
        if getattr(settings, "webhook_networks", None):
            self.registry.webhook_networks = settings.webhook_networks
        self.anonymous_author = settings.anonymous_author or default_author()
        self.roles = load_roles(settings.roles_file) if settings.roles_file else \
            HUB_DEFAULT if settings.jupyterhub else OPEN
        self.readers = ThreadPoolExecutor(max(1, settings.read_threads), thread_name_prefix="nbregistry-read")
        # quick reads run on the event loop when nothing they touch waits on a network (see read())
        self.inline_reads = bool(getattr(settings, "inline_reads", False) and self.registry.store.engine.local
                                 and self.registry.objects.local)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="nbregistry-write")
        self.blobs = ThreadPoolExecutor(max(1, getattr(settings, "blob_threads", 8)), thread_name_prefix="nbregistry-blob")

    def start_webhook_sweep(self, seconds: float = WEBHOOK_SWEEP_SECONDS) -> None:
        """Every ``seconds``, on the read pool: deliver webhooks that nobody is dispatching (a replica
        or a CLI process that wrote them died first). Cheap: one indexed SELECT while nobody subscribes."""
        from tornado.ioloop import PeriodicCallback

        def sweep():
            future = self.readers.submit(self.registry._dispatch_pending_webhooks)
            future.add_done_callback(lambda f: f.exception() and log.warning("webhook sweep: %s", f.exception()))

        self.webhook_sweep = PeriodicCallback(sweep, seconds * 1000)
        self.webhook_sweep.start()

    def identify(self, handler) -> "Identity":
        """Who is acting on this request, and how that was established (docs/team.md):

        - personal tokens (``--users``) or JupyterHub: the token's owner, verified; nothing the client
          sends changes it (the header ``X-NBRegistry-Author`` is ignored);
        - another named Jupyter identity (a Hub single-user server's own login): verified;
        - an anonymous identity (one shared token): a single-identity server. The author is the
          server's user; a name the client claims is kept as ``claimed_by`` only. The identity is
          ``local`` (a person's own Jupyter server, ``NBRegistry.shared_token_identity``) or ``shared``
          (``nbregistry server --token``) -- and any claim of another name makes it ``shared``."""
        from .identity import HubIdentityProvider, TeamIdentityProvider

        user = handler.current_user
        provider = handler.identity_provider
        if isinstance(provider, HubIdentityProvider):
            model = provider.hub_model(handler) or {}
            return Identity(user.username, VERIFIED, None, "jupyterhub", tuple(model.get("groups") or ()),
                            tuple(model.get("scopes") or ()))
        if isinstance(provider, TeamIdentityProvider):
            return Identity(user.username, VERIFIED, None, "token", tuple(provider.groups_of(user.username)))
        if not _is_anonymous(user):
            return Identity(user.username, VERIFIED, None, "jupyter")
        claimed = (handler.request.headers.get("X-NBRegistry-Author") or "").strip()
        identity = self.settings.shared_token_identity
        claim = None
        if claimed and claimed != self.anonymous_author and self.settings.trust_client_author:
            if not AUTHOR_RE.fullmatch(claimed):
                claimed = ""
            claim, identity = (claimed or None), (SHARED if claimed else identity)
        auth = "local" if identity == LOCAL else "shared-token"
        return Identity(self.anonymous_author, identity, claim, auth)

    def caller(self, ident: "Identity"):
        from ..core.permissions import Caller

        return Caller.of(self.roles, ident.user, ident.groups, ident.scopes, hub=ident.auth == "jupyterhub")


class Identity(tuple):
    """``(user, identity, claimed_by, auth, groups, scopes)`` of one request."""

    def __new__(cls, user, identity, claimed_by, auth, groups=(), scopes=()):
        return super().__new__(cls, (user, identity, claimed_by, auth, tuple(groups), tuple(scopes)))

    user = property(lambda self: self[0])
    identity = property(lambda self: self[1])
    claimed_by = property(lambda self: self[2])
    auth = property(lambda self: self[3])
    groups = property(lambda self: self[4])
    scopes = property(lambda self: self[5])


def _is_anonymous(user) -> bool:
    """jupyter_server's generated users for a shared token: a uuid username, named 'Anonymous …'."""
    return bool(ANONYMOUS_USERNAME.fullmatch(user.username or "")) and (user.name or "").startswith("Anonymous")


def error_reply(exc: RegistryError) -> tuple[int, dict]:
    """``(status, JSON body)`` for a core error: the one place codes become HTTP."""
    body = {"message": str(exc), "code": exc.code, "type": type(exc).__name__, **getattr(exc, "details", {})}
    report = getattr(exc, "report", None)
    if report is not None:
        body["report"] = report.to_dict() if hasattr(report, "to_dict") else report
    return STATUS_BY_CODE.get(exc.code, 500), body


# ==================================================================== base handler
@web.stream_request_body  # bodies are read here, at most NBRegistry.max_body_bytes of them (413 beyond)
class RegistryHandler(APIHandler):
    """Parsing helpers, off-loop execution and the error translation shared by every route."""

    _view = None
    route = ""

    def initialize(self, route: str = "", **kwargs):
        self.route = route  # the ROUTES path this handler serves (actions.ACTIONS is keyed by it)
        super().initialize(**kwargs)

    @property
    def service(self) -> RegistryService:
        return self.settings["nbregistry"]

    _ident = None

    @property
    def ident(self) -> Identity:
        """Who is acting on this request (:meth:`RegistryService.identify`)."""
        if self._ident is None:
            self._ident = self.service.identify(self)
        return self._ident

    @property
    def author(self) -> str:
        return self.ident.user

    @property
    def reg(self):
        """The registry acting as the caller, for this request only."""
        if self._view is None:
            # events say "remote" for RemoteRegistry clients, "server" for the panel and other callers
            origin = "remote" if self.request.headers.get("X-NBRegistry-Origin") == "remote" else "server"
            ident = self.ident
            self._view = self.service.registry.as_author(ident.user, origin=origin, identity=ident.identity,
                                                         claimed_by=ident.claimed_by)
        return self._view

    # -- permissions: THE route -> action table is actions.ACTIONS ----------------------------
    @property
    def auth_resource(self) -> str:  # what an operator's Authorizer sees (jupyter_server's @authorized)
        from .actions import resource_for

        return resource_for(self)

    _authorized = False

    def check_roles(self) -> None:
        """Refuse the request unless the caller's roles allow its action (actions.action_for). A body
        not read yet (a streamed one) leaves the model and the alias open, so this may pass early;
        :meth:`authorize` runs it again with the body before any core call."""
        from .actions import SIGNED_IN, action_for

        action, model, alias = action_for(self)
        if action != SIGNED_IN:
            self.require(action, model, alias)

    def authorize(self) -> None:
        """THE role check with the whole request in hand; run by read(), change() and reply(), so no
        core call and no answer happens without it."""
        if not self._authorized:
            self.check_roles()
            self._authorized = True

    def require(self, action: str, model: str | None = None, alias: str | None = None) -> None:
        """Refuse (403 naming the action and the role that would allow it) unless the caller may."""
        caller = self.service.caller(self.ident)
        if caller.may(action, model, alias):
            return
        what = action + (f" to {alias!r}" if alias and action == "promote" else "")
        where = f" on {model!r}" if model else ""
        reason = caller.reason(self.service.roles, action, model, alias)
        exc = PermissionDenied(f"{self.ident.user} may not {what}{where}: {reason}")
        exc.details = {"action": action, "alias": alias, "model": model, "reason": reason}
        raise exc

    async def prepare(self):
        try:
            await super().prepare()
        except web.HTTPError as exc:
            # jupyter_server answers 403 when nobody is logged in; say 401 so clients know to authenticate
            if exc.status_code == 403 and getattr(self, "_jupyter_current_user", None) is None and self.check_host():
                raise web.HTTPError(401, "authentication required: send 'Authorization: token <token>'") from None
            raise
        if not self.current_user:
            raise web.HTTPError(401, "authentication required: send 'Authorization: token <token>'")
        self.limit_body()
        self.check_roles()  # early, with what is known before the body; authorize() decides

    def limit_body(self) -> None:
        """Refuse a declared body over ``NBRegistry.max_body_bytes`` before reading it; stop reading an
        undeclared one there. (The upload route overrides this with its own, larger limit.)"""
        limit = self.service.registry.limits.body_bytes
        self._body = bytearray()
        length = self.request.headers.get("Content-Length")
        if length is not None and not (length.isascii() and length.isdigit()):
            raise web.HTTPError(400, f"bad Content-Length {length[:40]!r}")
        if length is not None and int(length) > limit:
            raise web.HTTPError(413, f"a request body of {int(length)} bytes is larger than the limit of {limit} bytes")
        self.request.connection.set_max_body_size(limit)

    def data_received(self, chunk: bytes) -> None:
        # Every JSON route reads its (size-limited) body here; the upload route overrides this.
        # One growing buffer (linear in the body's size), which is the request's body from now on.
        self._body.extend(chunk)
        self.request.body = self._body

    # -- running core calls off the event loop (quick reads of a local registry: on it) ----------
    @staticmethod
    def quick_page(limit: int, offset: int = 0) -> bool:
        return limit <= QUICK_PAGE and offset <= QUICK_OFFSET

    async def read(self, fn: Callable, *, quick: bool = False) -> Any:
        """Run ``fn(registry)`` on the read pool or, for a ``quick`` read (one entity, or one page
        of at most :data:`QUICK_PAGE` items near the start) of a registry on this machine's disk
        (SQLite and a folder), right here on the event loop. Such a read is a millisecond or two of Python that
        holds the interpreter lock either way; handing it to a pool thread and back cost about as
        much again and left it queued for the lock behind the loop (bench/load_rest.py, 32 clients at
        128 requests/s: list p99 27-31 ms through the pool, 18-22 ms here). A read that waits on
        PostgreSQL or S3, or that is not bounded (verify, compare, files), always goes to the pool."""
        self.authorize()
        reg = self.reg
        if quick and self.service.inline_reads:
            return fn(reg)
        return await asyncio.get_running_loop().run_in_executor(self.service.readers, fn, reg)

    async def move_blobs(self, fn: Callable) -> Any:
        """Run ``fn(registry)`` on the blob pool (work dominated by file bytes and fsyncs)."""
        self.authorize()
        reg = self.reg
        return await asyncio.get_running_loop().run_in_executor(self.service.blobs, fn, reg)

    async def change(self, fn: Callable) -> Any:
        """Run ``fn(registry)`` on the single writer thread."""
        self.authorize()
        reg = self.reg
        return await asyncio.get_running_loop().run_in_executor(self.service.writer, fn, reg)

    def reply(self, data: Any, status: int = 200, *, plain: bool = False) -> None:
        """Answer ``data`` as JSON: entities (inside dicts and lists too) as their ``to_dict()``.
        ``plain=True`` says ``data`` holds no entity (it is a ``to_dict()`` already), so it is not
        walked to look for one: a registration's answer carries its whole environment (hundreds of
        packages), and that walk was a tenth of the registration's server time."""
        self.authorize()
        self.set_status(status)
        self.finish(json.dumps(data if plain else to_jsonable(data), default=str, separators=(",", ":")))

    # -- errors: core codes and HTTP statuses, rendered as {"message", "code"} ---------------
    def send_error(self, status_code: int = 500, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RegistryError):
            status_code = error_reply(exc)[0]
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, RegistryError):
            body = error_reply(exc)[1]
        elif isinstance(exc, web.HTTPError):
            body = {"message": exc.log_message or self._reason, "code": CODE_BY_STATUS.get(status_code, "error")}
        else:
            body = {"message": "internal server error (see the server log)", "code": "error"}
        if status_code == 401:
            self.set_header("WWW-Authenticate", "token")
        if getattr(self.request.connection, "_read_finished", True) is False:
            # Refused before its (streamed) body was read: tornado closes the connection after this
            # answer. Say so, or a keep-alive proxy (JupyterHub's) reuses the socket and answers 503.
            self.set_header("Connection", "close")
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, RegistryError):  # an answer, not a crash
            self.log.info("nbregistry: %s %s -> %s: %s", self.request.method, self.request.path, value.code, value)
            return
        super().log_exception(typ, value, tb)

    # -- input parsing (shape only; meaning is the core's business) ----------------------------
    def arg(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.get_query_argument(name, None)
        if value is None or value == "":
            if required:
                raise ValidationError(f"query parameter ?{name}= is required")
            return default
        return value

    def arg_int(self, name: str, default: int | None, *, minimum: int = 0) -> int | None:
        value = self.arg(name)
        if value is None:
            return default
        return parse_int(value, f"?{name}=", minimum=minimum)

    @staticmethod
    def path_int(value: str, what: str) -> int:
        """An integer taken from the URL path (``/comments/<id>``): ASCII digits within 64 bits."""
        return parse_int(value, what, minimum=0, maximum=MAX_INT)

    def arg_bool(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        if value in ("1", "true", "yes"):
            return True
        if value in ("0", "false", "no"):
            return False
        raise ValidationError(f"?{name}= must be 1 or 0 (or true/false, yes/no), not {value[:40]!r}")

    def json_body(self) -> Any:
        """The body as JSON, checked (core/limits.py): depth, 64-bit integers, finite numbers, no lone surrogates."""
        return loads_json(self.request.body or b"null", "the request body",
                          max_depth=self.service.registry.limits.json_depth)

    def body(self, required: tuple = (), optional: dict | None = None) -> dict:
        """The JSON object body with exactly the ``required`` keys plus any of ``optional``
        (``{key: allowed types}``); required keys must be strings."""
        optional = optional or {}
        data = {} if not self.request.body else self.json_body()
        if not isinstance(data, dict):
            raise ValidationError("the request body must be a JSON object")
        unknown = sorted(set(data) - set(required) - set(optional))
        if unknown:
            raise ValidationError(f"unknown field(s) {', '.join(unknown)}; expected {', '.join([*required, *optional])}")
        for key in required:
            if key not in data:
                raise ValidationError(f"field {key!r} is required")
        for key, types in optional.items():  # ``object``: any value, the core checks it
            if types is object or key not in data or data[key] is None:
                continue
            if not isinstance(data[key], types) or isinstance(data[key], bool) and bool not in _tuple(types):
                raise ValidationError(f"field {key!r} has the wrong type ({type(data[key]).__name__})")
        return data


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)
