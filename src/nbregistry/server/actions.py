"""Who may call which route: THE table of every REST route's action (core/permissions.py), the
resource an operator's jupyter_server Authorizer is asked about, and how a request's target model
and alias are read from its own fields. The check itself is ``RegistryHandler.require``, run by
``RegistryHandler.prepare`` for every request; docs/team.md shows this table and a test keeps the two
equal and runs every route for every role.
"""

from __future__ import annotations

import json
import urllib.parse

from .base import ADMIN, COMMENTS, MODELS, POLICIES, PROMOTIONS
from .routes import ALIAS, NAME, REF

# THE table of who may call what: (route path in ROUTES, HTTP method) -> action (core/permissions.py).
# The authorization check (RegistryHandler.prepare), docs/team.md and the permission-matrix test all
# read it. A route missing here needs ``admin`` (fail closed).
ACTIONS = {
    ("/version", "GET"): "read",
    ("/whoami", "GET"): "signed_in",                 # anyone signed in may ask what they may do
    ("/models", "GET"): "read",
    (f"/models/{NAME}", "GET"): "read",
    (f"/models/{NAME}", "PATCH"): "edit",            # "archived" in the body: delete
    (f"/models/{NAME}/versions", "GET"): "read",
    ("/versions", "POST"): "register",
    (f"/versions/{REF}", "GET"): "read",
    (f"/versions/{REF}", "PATCH"): "edit",           # "archived" in the body: delete
    (f"/versions/{REF}", "DELETE"): "delete",
    (f"/versions/{REF}/artifact", "GET"): "read",
    (f"/versions/{REF}/input-example", "GET"): "read",
    (f"/versions/{REF}/files/(?P<path>.+)", "GET"): "read",
    ("/search", "GET"): "read",
    ("/compare", "GET"): "read",
    ("/diff", "GET"): "read",
    ("/aliases", "POST"): "promote",                 # per alias (body "alias")
    (f"/aliases/{NAME}/{ALIAS}", "DELETE"): "promote",
    ("/history", "GET"): "read",
    ("/resolve", "GET"): "read",
    ("/events", "GET"): "read",
    ("/activity", "GET"): "read",
    ("/comments", "GET"): "read",
    ("/comments", "POST"): "comment",
    ("/comments/(?P<id>[0-9]+)", "PATCH"): "comment",   # own comments only (the core checks)
    ("/comments/(?P<id>[0-9]+)", "DELETE"): "comment",
    ("/comments/(?P<id>[0-9]+)/history", "GET"): "read",
    ("/reviews", "POST"): "review",
    ("/review-state", "GET"): "read",
    ("/check", "POST"): "read",
    ("/promote", "POST"): "promote",
    ("/rollback", "POST"): "promote",                # the alias of the body's ref (name@alias)
    (f"/policies/{NAME}/{ALIAS}", "GET"): "read",
    (f"/policies/{NAME}/{ALIAS}", "PUT"): "set_policy",
    ("/verify", "GET"): "admin",
    ("/gc", "POST"): "admin",
    # routes_versioning.py
    ("/revert", "POST"): "register",                 # a new version (with the old one's artifacts)
    (f"/models/{NAME}/rename", "POST"): "delete",    # retires a name, like deleting the model
    (f"/models/{NAME}/delete", "POST"): "delete",
    (f"/retired-names/{NAME}", "DELETE"): "admin",   # lets another model take a retired name
    (f"/cards/{REF}", "GET"): "read",
    (f"/cards/{REF}", "PUT"): "edit",
    (f"/cards/{REF}/history", "GET"): "read",
    ("/evaluations", "GET"): "read",
    ("/evaluations", "POST"): "edit",                # logged metrics beside the immutable ones
}
SIGNED_IN = "signed_in"  # not a permission: every authenticated caller

# What an operator's jupyter_server Authorizer sees as the resource of each action.
RESOURCES = {"signed_in": None, "read": None, "register": MODELS, "edit": MODELS, "delete": MODELS, "comment": COMMENTS,
             "review": COMMENTS, "promote": PROMOTIONS, "set_policy": POLICIES, "admin": ADMIN}
READ_RESOURCE = {"/comments": COMMENTS, "/comments/(?P<id>[0-9]+)/history": COMMENTS, "/review-state": COMMENTS,
                 "/check": PROMOTIONS, f"/policies/{NAME}/{ALIAS}": PROMOTIONS, "/verify": ADMIN}


def route_action(route: str, method: str) -> str:
    return ACTIONS.get((route, method.upper()), "admin")


def route_resource(route: str, method: str) -> str:
    """The jupyter_server resource an Authorizer is asked about for ``method`` on ``route``."""
    return RESOURCES[route_action(route, method)] or READ_RESOURCE.get(route, MODELS)


def resource_for(handler) -> str:
    return route_resource(getattr(handler, "route", ""), handler.request.method)


def action_for(handler) -> tuple[str, str | None, str | None]:
    """``(action, model, alias)`` of a request, from the route table and the request's own fields
    (path, query, JSON body) -- never from who the client says it is."""
    from ..core.refs import parse_ref

    route, method = getattr(handler, "route", ""), handler.request.method
    action = route_action(route, method)
    kwargs = handler.path_kwargs or {}
    body = {}
    if "json" in (handler.request.headers.get("Content-Type") or "") and handler.request.body:
        try:
            body = json.loads(handler.request.body)
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
    if action == "edit" and "archived" in body:
        action = "delete"
    ref = kwargs.get("ref") or (body.get("ref") if isinstance(body.get("ref"), str) else None) \
        or handler.get_query_argument("ref", None)
    model, alias = kwargs.get("name"), kwargs.get("alias")
    if model is None and ref:
        try:
            parsed = parse_ref(urllib.parse.unquote(ref))
            model, alias = parsed.name, alias or parsed.alias
        except Exception:  # a bad ref: the handler answers 400
            model = None
    if model is None and route != "/whoami":  # /whoami?model= asks about a model, acts on none
        model = handler.get_query_argument("model", None)
    if isinstance(body.get("alias"), str):
        alias = body["alias"]
    return action, model, alias if action == "promote" else None
