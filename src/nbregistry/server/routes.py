"""REST handlers of the server extension and, at the end, the route table.

Every handler parses its input, calls ONE core ``Registry`` method on a per-request view acting as
the caller (``Registry.as_author``) and renders the result's ``to_dict()``. Core errors become HTTP
answers in one place (``base.error_reply``, used by ``RegistryHandler.send_error``). Reads run on a
small thread pool, writes on one writer thread, never on the event loop. The contract is
docs/rest-api.md; the machine-readable one is ``openapi.yaml`` next to this file.
"""

from __future__ import annotations

import asyncio
import os

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from .._version import __version__
from ..core.errors import ValidationError
from . import API_PREFIX
from .base import CHUNK, RegistryHandler, RegistryService
from .routes_versioning import VERSIONING_ROUTES
from .upload import UploadHandler

API_VERSION = 1

EDITABLE = {"description": str, "tags": dict, "archived": bool}


# ==================================================================== models and versions
class VersionInfoHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"version": __version__, "api": API_VERSION, "author": self.author,
                    "max_upload_bytes": self.service.settings.max_upload_bytes})


class WhoAmIHandler(RegistryHandler):
    """Who the server says the caller is and what they may do (docs/team.md, contracts: /whoami)."""

    @web.authenticated
    @authorized
    async def get(self):
        model = self.arg("model")
        ident, service = self.ident, self.service
        caller = service.caller(ident)
        known = list(REPORTED_ALIASES)  # the usual ones, so the panel has a reason for each
        if model:
            known += await self.read(lambda r: _alias_names(r, model), quick=True)
        self.reply({"user": ident.user, "identity": ident.identity, "auth": ident.auth,
                    "claimed_by": ident.claimed_by, "groups": list(ident.groups), "roles": list(caller.roles),
                    **caller.summary(service.roles, model, known)})


REPORTED_ALIASES = ("production", "staging")


def _alias_names(reg, model: str) -> list[str]:
    from ..core.errors import RegistryError

    try:
        return sorted(reg.get_model(model).aliases)
    except RegistryError:
        return []


class ModelsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        q, archived = self.arg("q"), self.arg_bool("archived")
        limit, offset = self.arg_int("limit", 100), self.arg_int("offset", 0)
        order, metric = self.arg("order", "name"), self.arg("metric")
        found = await self.read(lambda r: r.list_models(q, archived=archived, limit=limit, offset=offset,
                                                        order=order, metric=metric),
                                quick=self.quick_page(limit, offset))
        self.reply({"models": found, "total": found.total})


class ModelHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name):
        self.reply(await self.read(lambda r: r.get_model(name), quick=True))

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
        found = await self.read(lambda r: r.list_versions(name, limit=limit, offset=offset, archived=archived),
                                quick=self.quick_page(limit, offset))
        self.reply({"versions": found, "total": found.total})


class VersionHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, ref):
        self.reply(await self.read(lambda r: r.get(ref), quick=True))

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
            while chunk := await loop.run_in_executor(self.service.blobs, f.read, CHUNK):
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
        found = await self.read(lambda r: r.search(q, order_by=order_by, limit=limit, offset=offset),
                                quick=self.quick_page(limit, offset) and _indexed(q))
        self.reply({"versions": found, "total": found.total, "total_capped": found.total_capped})


def _indexed(q: str) -> bool:
    """Only a search an index answers (core search_plan.indexed) is a quick read: a term no index
    answers (``description = 'x'``) scans every version, about 60 ms at 100,000, which must not
    hold the event loop. A bad expression goes the usual way, to its 400."""
    from ..core.errors import RegistryError
    from ..core.search_plan import indexed

    try:
        return indexed(q)
    except RegistryError:
        return False


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
        self.reply({"version": await self.read(lambda r: r.resolve(ref, at=at), quick=True)})


class EventsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        if self.arg("since") == "latest":  # a live feed starting from now: only the newest id, no history
            self.reply({"events": [], "last_id": await self.read(lambda r: r.last_event_id(), quick=True)})
            return
        since, model, limit = self.arg_int("since", 0), self.arg("model"), self.arg_int("limit", 1000)
        found = await self.read(lambda r: r.events(since, model=model, limit=limit), quick=self.quick_page(limit))
        self.reply({"events": found, "last_id": found[-1].id if found else since})


class ActivityHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        model, since, limit = self.arg("model"), self.arg("since"), self.arg_int("limit", 100)
        if since is not None and since.isascii() and since.isdigit():
            since = self.path_int(since, "?since=")
        self.reply({"items": await self.read(lambda r: r.activity(model, since=since, limit=limit))})


# ==================================================================== comments and reviews
class CommentsHandler(RegistryHandler):

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

    @web.authenticated
    @authorized
    async def patch(self, id):
        d = self.body(("body",))
        self.reply(await self.change(lambda r: r.edit_comment(self.path_int(id, "comment id"), d["body"])))

    @web.authenticated
    @authorized
    async def delete(self, id):
        self.reply(await self.change(lambda r: r.delete_comment(self.path_int(id, "comment id"))))


class CommentHistoryHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def get(self, id):
        self.reply({"edits": await self.read(lambda r: r.comment_history(self.path_int(id, "comment id")))})


class ReviewStateHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def get(self):
        ref = self.arg("ref", required=True)
        self.reply(await self.read(lambda r: r.review_state(ref)))


class ReviewsHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "verdict"), {"body": object})
        self.reply(await self.change(lambda r: r.review(d["ref"], d["verdict"], d.get("body") or "")), 201)


# ==================================================================== promotions
class CheckHandler(RegistryHandler):

    @web.authenticated
    @authorized("read")  # asks, changes nothing
    async def post(self):
        d = self.body(("ref", "alias"))
        self.reply(await self.read(lambda r: r.check(d["ref"], d["alias"])))


class PromoteHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "alias"), {"reason": object, "force": object})
        self.reply(await self.change(lambda r: r.promote(d["ref"], d["alias"], reason=d.get("reason"),
                                                         force=d.get("force", False))))


class RollbackHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref",), {"reason": object})
        self.reply(await self.change(lambda r: r.rollback(d["ref"], reason=d.get("reason"))))


class PolicyHandler(RegistryHandler):

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

    @web.authenticated
    @authorized
    async def get(self):
        fast = self.arg_bool("fast")
        self.reply(await self.read(lambda r: r.verify(fast=fast)))


class GCHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(optional={"grace": (int, float), "dry_run": bool})
        kwargs = {k: d[k] for k in ("grace", "dry_run") if d.get(k) is not None}
        self.reply(await self.change(lambda r: r.gc(**kwargs)))


# ==================================================================== route table
NAME = r"(?P<name>[^/]+)"
REF = r"(?P<ref>[^/]+)"
ALIAS = r"(?P<alias>[^/]+)"

# (path under <base_url>/nbregistry/api, handler). docs/rest-api.md and openapi.yaml list the same.
ROUTES = [
    (r"/version", VersionInfoHandler),
    (r"/whoami", WhoAmIHandler),
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
ROUTES += VERSIONING_ROUTES  # revert, rename/delete a model, cards, evaluations (routes_versioning.py)


class UnknownRouteHandler(RegistryHandler):
    """Anything else under the API prefix: a JSON 404 (after authentication), not Jupyter's HTML page."""

    def check_roles(self) -> None:
        pass  # no action to check: the answer is 404 for everyone signed in

    def authorize(self) -> None:
        pass

    @web.authenticated  # signed-in callers get the 404; others the 403 every route gives them
    def _unknown(self, *args):
        raise web.HTTPError(404, f"no such route: {self.request.method} {self.request.path}")

    get = post = put = patch = delete = head = _unknown


def setup_handlers(web_app, settings) -> RegistryService:
    """Open the registry and register every route under ``<base_url>/nbregistry/api``."""
    service = RegistryService(settings)
    web_app.settings["nbregistry"] = service
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(base + path, handler, {"route": path}) for path, handler in ROUTES])
    web_app.add_handlers(".*$", [(base + r"(/.*)?", UnknownRouteHandler)])  # last: only what nothing else matched
    service.start_webhook_sweep()
    return service
