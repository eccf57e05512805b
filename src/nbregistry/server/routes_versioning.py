"""REST handlers for versioning, model cards and evaluations (revert, rename, delete a model, free a
retired name, cards, evaluations and logged metrics). Same shape as ``routes.py``: parse, call ONE
core method on the caller's registry view, render ``to_dict()``. ``routes.py`` appends
:data:`VERSIONING_ROUTES` to its route table.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import RegistryHandler

NAME = r"(?P<name>[^/]+)"
REF = r"(?P<ref>[^/]+)"


class RevertHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref",), {"reason": object, "description": object})
        self.reply(await self.change(lambda r: r.revert(d["ref"], reason=d.get("reason"),
                                                        description=d.get("description"))), 201)


class RenameModelHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self, name):
        d = self.body(("name",), {"force": bool, "reason": object})
        self.reply(await self.change(lambda r: r.rename_model(name, d["name"], force=d.get("force") or False,
                                                              reason=d.get("reason"))))


class DeleteModelHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def post(self, name):
        d = self.body(optional={"force": bool, "reason": object})
        self.reply(await self.change(lambda r: r.delete_model(name, force=d.get("force") or False,
                                                              reason=d.get("reason"))))


class RetiredNameHandler(RegistryHandler):

    @web.authenticated
    @authorized
    async def delete(self, name):
        reason = self.arg("reason")
        self.reply({"released": await self.change(lambda r: r.release_name(name, reason=reason))})


class CardHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, ref):
        draft = self.arg_bool("draft")
        self.reply(await self.read(lambda r: r.card(ref, draft=draft)))

    @web.authenticated
    @authorized
    async def put(self, ref):
        d = self.body(("body",))
        self.reply(await self.change(lambda r: r.set_card(ref, d["body"])))


class CardHistoryHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, ref):
        self.reply({"cards": await self.read(lambda r: r.card_history(ref))})


class EvaluationsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        ref, dataset = self.arg("ref", required=True), self.arg("dataset")
        self.reply({"evaluations": await self.read(lambda r: r.evaluations(ref, dataset=dataset))})

    @web.authenticated
    @authorized
    async def post(self):
        d = self.body(("ref", "metrics", "dataset"), {"fingerprint": object, "code": object})
        self.reply(await self.change(lambda r: r.log_metrics(d["ref"], d["metrics"], dataset=d["dataset"],
                                                             fingerprint=d.get("fingerprint"),
                                                             code=d.get("code"))), 201)


VERSIONING_ROUTES = [
    (r"/revert", RevertHandler),
    (rf"/models/{NAME}/rename", RenameModelHandler),
    (rf"/models/{NAME}/delete", DeleteModelHandler),
    (rf"/retired-names/{NAME}", RetiredNameHandler),
    (rf"/cards/{REF}", CardHandler),
    (rf"/cards/{REF}/history", CardHistoryHandler),
    (r"/evaluations", EvaluationsHandler),
]
