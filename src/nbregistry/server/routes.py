"""REST handlers of the server extension and, at the end, the route table.

Every handler parses its input, calls ONE core ``Registry`` method on a per-request view acting as
the caller (``Registry.as_author``) and renders the result's ``to_dict()``. Core errors become HTTP
answers in one place (:meth:`RegistryHandler.send_error` / :func:`error_reply`). Reads run on a
small thread pool, writes on one writer thread, never on the event loop. The contract is
docs/rest-api.md; the machine-readable one is ``openapi.yaml`` next to this file.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .._version import __version__
from ..core.errors import RegistryError, ValidationError
from . import API_PREFIX

API_VERSION = 1
MODELS = "nbregistry:models"
COMMENTS = "nbregistry:comments"
PROMOTIONS = "nbregistry:promotions"
ADMIN = "nbregistry:admin"
CHUNK = 1 << 20

# THE translation of core error codes (core/errors.py) to HTTP statuses.
STATUS_BY_CODE = {"bad_request": 400, "forbidden": 403, "not_found": 404, "conflict": 409,
                  "integrity": 500, "schema": 500}
# ... and of HTTP statuses raised by Jupyter/tornado (auth, XSRF, sizes) to codes.
CODE_BY_STATUS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 409: "conflict", 411: "length_required", 413: "too_large"}
AUTHOR_RE = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
ANONYMOUS_USERNAME = re.compile(r"[0-9a-f]{32}")


class RegistryService:
    """The registry a server serves, with its read pool and its single writer thread."""

    def __init__(self, settings):
        from ..core.identity import default_author, default_root
        from ..core.registry import Registry

        self.settings = settings
        root = settings.root or default_root()  # never NBREGISTRY_URL: a server serves a folder
        self.registry = Registry(root, origin="server")
        self.anonymous_author = settings.anonymous_author or default_author()
        self.readers = ThreadPoolExecutor(max(1, settings.read_threads), thread_name_prefix="nbregistry-read")
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="nbregistry-write")

    def author_for(self, user, claimed: str | None) -> str:
        """The author recorded for a request: the Jupyter identity's username; for an anonymous
        identity (one shared token) the name the client claims, else the configured default."""
        if not _is_anonymous(user):
            return user.username
        if claimed and self.settings.trust_client_author and AUTHOR_RE.fullmatch(claimed.strip()):
            return claimed.strip()
        return self.anonymous_author

    def close(self) -> None:
        self.readers.shutdown(wait=False)
        self.writer.shutdown(wait=True)


def _is_anonymous(user) -> bool:
    """jupyter_server's generated users for a shared token: a uuid username, named 'Anonymous …'."""
    return bool(ANONYMOUS_USERNAME.fullmatch(user.username or "")) and (user.name or "").startswith("Anonymous")


def error_reply(exc: RegistryError) -> tuple[int, dict]:
    """``(status, JSON body)`` for a core error: the one place codes become HTTP."""
    body = {"message": str(exc), "code": exc.code, "type": type(exc).__name__}
    report = getattr(exc, "report", None)
    if report is not None:
        body["report"] = report.to_dict() if hasattr(report, "to_dict") else report
    return STATUS_BY_CODE.get(exc.code, 500), body


def jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


# ==================================================================== base handler
class RegistryHandler(APIHandler):
    """Parsing helpers, off-loop execution and the error translation shared by every route."""

    auth_resource = MODELS
    _view = None

    @property
    def service(self) -> RegistryService:
        return self.settings["nbregistry"]

    @property
    def author(self) -> str:
        return self.service.author_for(self.current_user, self.request.headers.get("X-NBRegistry-Author"))

    @property
    def reg(self):
        """The registry acting as the caller, for this request only."""
        if self._view is None:
            self._view = self.service.registry.as_author(self.author)
        return self._view

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

    # -- running core calls off the event loop -------------------------------------------------
    async def read(self, fn: Callable) -> Any:
        """Run ``fn(registry)`` on the read pool."""
        reg = self.reg
        return await asyncio.get_running_loop().run_in_executor(self.service.readers, fn, reg)

    async def change(self, fn: Callable) -> Any:
        """Run ``fn(registry)`` on the single writer thread."""
        reg = self.reg
        return await asyncio.get_running_loop().run_in_executor(self.service.writer, fn, reg)

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(jsonable(data), default=str))

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

    def arg_int(self, name: str, default: int | None) -> int | None:
        value = self.arg(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ValidationError(f"?{name}= must be an integer, not {value!r}") from None

    def arg_bool(self, name: str, default: bool = False) -> bool:
        value = self.arg(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValidationError(f"?{name}= must be 1 or 0, not {value!r}")

    def json_body(self) -> Any:
        try:
            return json.loads(self.request.body or b"null")
        except ValueError:
            raise ValidationError("the request body must be JSON") from None

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


EDITABLE = {"description": str, "tags": dict, "archived": bool}


# ==================================================================== models and versions
class VersionInfoHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"version": __version__, "api": API_VERSION, "author": self.author,
                    "max_upload_bytes": self.service.settings.max_upload_bytes})


class ModelsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q, archived = self.arg("q"), self.arg_bool("archived")
        limit, offset = self.arg_int("limit", 100), self.arg_int("offset", 0)
        found = await self.read(lambda r: r.list_models(q, archived=archived, limit=limit, offset=offset))
        self.reply({"models": found, "total": found.total})


class ModelHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.read(lambda r: r.get_model(name)))

    @web.authenticated
    @authorized
    async def patch(self, name):
        data = self.body(optional=EDITABLE)
        self.reply(await self.change(lambda r: r.update_model(name, **data)))


class ModelVersionsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        limit, offset = self.arg_int("limit", 100), self.arg_int("offset", 0)
        archived = self.arg_bool("archived", True)
        found = await self.read(lambda r: r.list_versions(name, limit=limit, offset=offset, archived=archived))
        self.reply({"versions": found, "total": found.total})


class VersionHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, ref):
        self.reply(await self.read(lambda r: r.get(ref)))

    @web.authenticated
    @authorized
    async def patch(self, ref):
        data = self.body(optional=EDITABLE)
        self.reply(await self.change(lambda r: r.update_version(ref, **data)))

    @web.authenticated
    @authorized
    async def delete(self, ref):
        self.reply({"deleted": await self.change(lambda r: r.delete_version(ref))})


class ArtifactHandler(RegistryHandler):
    """What a remote client needs to load a version: flavor, flavor metadata, author, files."""

    @web.authenticated
    @authorized
    async def get(self, ref):
        self.reply(await self.read(lambda r: r.artifact(ref)))


class InputExampleHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, ref):
        from ..core.signature import example_to_json

        example = await self.read(lambda r: r.input_example(ref))
        self.set_status(200)
        self.finish(b"null" if example is None else example_to_json(example))


class FileHandler(RegistryHandler):
    """One artifact file, streamed. The path is checked by the core (``safe_relpath``) and only
    ever matched against the version's manifest, never opened as a path."""

    @web.authenticated
    @authorized
    async def get(self, ref, path):
        f = await self.read(lambda r: r.open_file(ref, path))
        loop = asyncio.get_running_loop()
        try:
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Length", str(os.fstat(f.fileno()).st_size))
            self.set_header("Content-Disposition", "attachment")
            while chunk := await loop.run_in_executor(self.service.readers, f.read, CHUNK):
                self.write(chunk)
                await self.flush()
        finally:
            f.close()
        self.finish(set_content_type="application/octet-stream")


class SearchHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q, order_by = self.arg("q", ""), self.arg("order_by")
        limit, offset = self.arg_int("limit", 100), self.arg_int("offset", 0)
        found = await self.read(lambda r: r.search(q, order_by=order_by, limit=limit, offset=offset))
        self.reply({"versions": found})


class CompareHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        from ..core.compare import parse_goals

        model, refs = self.arg("model"), self.arg("refs")
        if bool(model) == bool(refs):
            raise ValidationError("give exactly one of ?model=<name> or ?refs=<ref>,<ref>,...")
        goals = parse_goals(self.arg("goals"))
        limit = self.arg_int("limit", 1000)
        target = model if model else [r for r in refs.split(",") if r.strip()]
        self.reply(await self.read(lambda r: r.compare(target, goals=goals, limit=limit)))


class DiffHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        a, b = self.arg("a", required=True), self.arg("b", required=True)
        self.reply(await self.read(lambda r: r.diff(a, b)))


class AliasesHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def post(self):
        data = self.body(("ref", "alias"), {"reason": object})
        self.reply(await self.change(lambda r: r.set_alias(data["ref"], data["alias"], reason=data.get("reason"))))


class AliasHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def delete(self, name, alias):
        reason = self.arg("reason")
        self.reply(await self.change(lambda r: r.remove_alias(name, alias, reason=reason)))


class HistoryHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        ref, alias, at = self.arg("ref", required=True), self.arg("alias"), self.arg("at")
        if at is None:
            self.reply({"moves": await self.read(lambda r: r.history(ref, alias))})
            return
        target = f"{ref}@{alias}" if alias else ref
        self.reply({"version": await self.read(lambda r: r.resolve(target, at=at))})


class ResolveHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        ref, at = self.arg("ref", required=True), self.arg("at")
        self.reply({"version": await self.read(lambda r: r.resolve(ref, at=at))})


class EventsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        since, model, limit = self.arg_int("since", 0), self.arg("model"), self.arg_int("limit", 1000)
        found = await self.read(lambda r: r.events(since, model=model, limit=limit))
        self.reply({"events": found, "last_id": found[-1].id if found else since})


class ActivityHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        model, since, limit = self.arg("model"), self.arg("since"), self.arg_int("limit", 100)
        if since is not None and since.isdigit():
            since = int(since)
        self.reply({"items": await self.read(lambda r: r.activity(model, since=since, limit=limit))})


# ==================================================================== comments and reviews
class CommentsHandler(RegistryHandler):
    auth_resource = COMMENTS

    @web.authenticated
    @authorized
    async def get(self):
        ref = self.arg("ref", required=True)
        self.reply({"comments": await self.read(lambda r: r.comments(ref))})

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "body"), {"anchor": object, "reply_to": object})
        self.reply(await self.change(lambda r: r.comment(d["ref"], d["body"], anchor=d.get("anchor"),
                                                         reply_to=d.get("reply_to"))), 201)


class CommentHandler(RegistryHandler):
    auth_resource = COMMENTS

    @web.authenticated
    @authorized
    async def patch(self, id):
        d = self.body(("body",))
        self.reply(await self.change(lambda r: r.edit_comment(int(id), d["body"])))

    @web.authenticated
    @authorized
    async def delete(self, id):
        self.reply(await self.change(lambda r: r.delete_comment(int(id))))


class CommentHistoryHandler(RegistryHandler):
    auth_resource = COMMENTS

    @web.authenticated
    @authorized
    async def get(self, id):
        self.reply({"edits": await self.read(lambda r: r.comment_history(int(id)))})


class ReviewStateHandler(RegistryHandler):
    auth_resource = COMMENTS

    @web.authenticated
    @authorized
    async def get(self):
        ref = self.arg("ref", required=True)
        self.reply(await self.read(lambda r: r.review_state(ref)))


class ReviewsHandler(RegistryHandler):
    auth_resource = COMMENTS

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "verdict"), {"body": object})
        self.reply(await self.change(lambda r: r.review(d["ref"], d["verdict"], d.get("body") or "")), 201)


# ==================================================================== promotions
class CheckHandler(RegistryHandler):
    auth_resource = PROMOTIONS

    @web.authenticated
    @authorized("read")  # asks, changes nothing
    async def post(self):
        d = self.body(("ref", "alias"))
        self.reply(await self.read(lambda r: r.check(d["ref"], d["alias"])))


class PromoteHandler(RegistryHandler):
    auth_resource = PROMOTIONS

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "alias"), {"reason": object, "force": object})
        self.reply(await self.change(lambda r: r.promote(d["ref"], d["alias"], reason=d.get("reason"),
                                                         force=d.get("force", False))))


class RollbackHandler(RegistryHandler):
    auth_resource = PROMOTIONS

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref",), {"reason": object})
        self.reply(await self.change(lambda r: r.rollback(d["ref"], reason=d.get("reason"))))


class PolicyHandler(RegistryHandler):
    auth_resource = PROMOTIONS

    @web.authenticated
    @authorized
    async def get(self, name, alias):
        self.reply(await self.read(lambda r: r.get_policy(name, alias)))

    @web.authenticated
    @authorized
    async def put(self, name, alias):
        policy = self.json_body()  # any JSON: the core validates policies and names what is wrong
        self.reply(await self.change(lambda r: r.set_policy(name, alias, policy)))


# ==================================================================== maintenance
class VerifyHandler(RegistryHandler):
    auth_resource = ADMIN

    @web.authenticated
    @authorized
    async def get(self):
        fast = self.arg_bool("fast")
        self.reply(await self.read(lambda r: r.verify(fast=fast)))


class GCHandler(RegistryHandler):
    auth_resource = ADMIN

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(optional={"grace": (int, float), "dry_run": bool})
        kwargs = {k: d[k] for k in ("grace", "dry_run") if d.get(k) is not None}
        self.reply(await self.change(lambda r: r.gc(**kwargs)))


from .upload import UploadHandler  # noqa: E402  (it subclasses RegistryHandler)

# ==================================================================== route table
NAME = r"(?P<name>[^/]+)"
REF = r"(?P<ref>[^/]+)"
ALIAS = r"(?P<alias>[^/]+)"

# (path under <base_url>/nbregistry/api, handler). docs/rest-api.md and openapi.yaml list the same.
ROUTES = [
    (r"/version", VersionInfoHandler),
    (r"/models", ModelsHandler),
    (rf"/models/{NAME}", ModelHandler),
    (rf"/models/{NAME}/versions", ModelVersionsHandler),
    (r"/versions", UploadHandler),
    (rf"/versions/{REF}", VersionHandler),
    (rf"/versions/{REF}/artifact", ArtifactHandler),
    (rf"/versions/{REF}/input-example", InputExampleHandler),
    (rf"/versions/{REF}/files/(?P<path>.+)", FileHandler),
    (r"/search", SearchHandler),
    (r"/compare", CompareHandler),
    (r"/diff", DiffHandler),
    (r"/aliases", AliasesHandler),
    (rf"/aliases/{NAME}/{ALIAS}", AliasHandler),
    (r"/history", HistoryHandler),
    (r"/resolve", ResolveHandler),
    (r"/events", EventsHandler),
    (r"/activity", ActivityHandler),
    (r"/comments", CommentsHandler),
    (r"/comments/(?P<id>[0-9]+)", CommentHandler),
    (r"/comments/(?P<id>[0-9]+)/history", CommentHistoryHandler),
    (r"/reviews", ReviewsHandler),
    (r"/review-state", ReviewStateHandler),
    (r"/check", CheckHandler),
    (r"/promote", PromoteHandler),
    (r"/rollback", RollbackHandler),
    (rf"/policies/{NAME}/{ALIAS}", PolicyHandler),
    (r"/verify", VerifyHandler),
    (r"/gc", GCHandler),
]


def setup_handlers(web_app, settings) -> RegistryService:
    """Open the registry and register every route under ``<base_url>/nbregistry/api``."""
    service = RegistryService(settings)
    web_app.settings["nbregistry"] = service
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(base + path, handler) for path, handler in ROUTES])
    return service
