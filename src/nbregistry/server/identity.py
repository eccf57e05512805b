"""Who a request is from, verified: personal tokens for a small team, JupyterHub for an organisation.

``nbregistry server --users users.json`` (a personal token per person)::

    c.ServerApp.identity_provider_class = "nbregistry.server.identity.TeamIdentityProvider"
    c.TeamIdentityProvider.users = {"alice": "<alice's token>", "bob": {"token": "<bob's>", "groups": ["release"]}}

A request carrying one of these tokens (``Authorization: token …``, or the login form) is that user,
verified; nothing the client sends can change who it is. The server's shared token is off: with
personal tokens there is no anonymous identity. A token is looked up by its SHA-256 digest (one dict
lookup whatever the team's size, parsed once per configuration), so the time an answer takes tells
nothing about the stored tokens.

``nbregistry server --jupyterhub`` (a JupyterHub service): :class:`HubIdentityProvider` asks the Hub
who a token or the OAuth cookie belongs to (``jupyterhub.services.auth.HubOAuth``); the Hub user,
their groups and the token's ``custom:nbregistry:*`` scopes are the identity. See docs/team.md.
"""

from __future__ import annotations

import hashlib
import os

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import Bool, Dict, Unicode, Union, default, observe


def parse_users(data: object) -> tuple[dict, dict]:
    """``{name: token}`` and ``{name: [groups]}`` from a users mapping whose values are a token or
    ``{"token": ..., "groups": [...]}``; ValueError names what is wrong."""
    if not isinstance(data, dict) or not data:
        raise ValueError('expected a JSON object {"username": "token", ...} '
                         'or {"username": {"token": "...", "groups": [...]}}')
    tokens, groups = {}, {}
    for name, value in data.items():
        if isinstance(value, dict):
            token, member_of = value.get("token"), value.get("groups", [])
        else:
            token, member_of = value, []
        if not isinstance(name, str) or not name or not isinstance(token, str) or not token:
            raise ValueError(f"user {name!r} needs a non-empty token string")
        if not isinstance(member_of, list) or not all(isinstance(g, str) for g in member_of):
            raise ValueError(f"groups of {name!r} must be a list of names")
        tokens[name], groups[name] = token, list(member_of)
    seen = {}
    for name, token in tokens.items():
        if token in seen:
            raise ValueError(f"{seen[token]!r} and {name!r} have the same token: each person needs their own")
        seen[token] = name
    return tokens, groups


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class TeamIdentityProvider(IdentityProvider):
    """Identifies users by personal tokens (``users``: username -> token or {token, groups})."""

    users = Dict(key_trait=Unicode(), value_trait=Union([Unicode(), Dict()]),
                 help='username -> personal token, or -> {"token": ..., "groups": [...]}').tag(config=True)

    _parsed = None  # ({sha256 of token: name}, {name: [groups]}), built from ``users`` on first use

    @observe("users")
    def _users_changed(self, change) -> None:
        self._parsed = None

    def _lookup(self) -> tuple[dict, dict]:
        if self._parsed is None:
            tokens, groups = parse_users(self.users) if self.users else ({}, {})
            self._parsed = ({_digest(token): name for name, token in tokens.items()}, groups)
        return self._parsed

    def groups_of(self, username: str) -> list[str]:
        return list(self._lookup()[1].get(username, []))

    def _user_for(self, token: str | None) -> User | None:
        if not token:
            return None
        found = self._lookup()[0].get(_digest(token))
        return User(username=found) if found else None

    async def get_user_token(self, handler):
        # Only personal tokens: the server's shared token gives nobody an identity here.
        return self._user_for(self.get_token(handler))

    async def get_user(self, handler):
        """A request that carries a personal token in its ``Authorization`` header (every API
        client) is that token's user, and nothing more is looked at: jupyter-server would also
        decode the signed login cookie and sign a new one into every answer, which API clients do
        not use and which cost a tenth of a small request's time. Anything else (a token in the URL,
        a browser's cookie, no or a wrong token) goes the usual way."""
        if not getattr(handler, "_jupyter_current_user", None) and not handler.get_argument("token", ""):
            match = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
            user = self._user_for(match.group(2)) if match else None
            if user is not None:
                handler._token_authenticated = True  # as jupyter-server marks it: no XSRF check
                return user
        return await super().get_user(handler)

    def process_login_form(self, handler):
        return self._user_for(handler.get_argument("password", default=""))

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True


class HubIdentityProvider(IdentityProvider):
    """The JupyterHub user of a request: a Hub API token (a kernel's ``JUPYTERHUB_API_TOKEN``) or the
    OAuth cookie a browser got through the Hub's login. Configured from the environment a managed
    service gets (``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_PREFIX``,
    ``JUPYTERHUB_CLIENT_ID``, …) or, for an external service, from ``c.HubOAuth.*``."""

    require_access_scope = Bool(True, help="Accept only tokens carrying access:services!service=<this "
                                           "service> (JupyterHub's own rule for services).").tag(config=True)
    service_name = Unicode(help="The service's name in the Hub (default: JUPYTERHUB_SERVICE_NAME)").tag(config=True)

    @default("service_name")
    def _service_name(self):
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", "nbregistry")

    _hub_auth = None

    @property
    def hub_auth(self):
        if self._hub_auth is None:
            from jupyterhub.services.auth import HubOAuth

            self._hub_auth = HubOAuth(parent=self, cache_max_age=60)
        return self._hub_auth

    async def get_user(self, handler):
        if getattr(handler, "_nbregistry_hub_checked", False):
            model = getattr(handler, "_nbregistry_hub_model", None)
        else:
            handler._nbregistry_hub_checked = True
            model = await self._hub_user(handler)
            if model and (model.get("kind", "user") != "user" or not self._has_access(model)):
                self.log.warning("nbregistry: Hub %s %r has no access:services!service=%s; refused",
                                 model.get("kind", "user"), model.get("name"), self.service_name)
                model = None
            handler._nbregistry_hub_model = model
        if not model:
            return None
        return User(username=model["name"], name=model["name"])

    async def _hub_user(self, handler) -> dict | None:
        # Not HubAuth.get_user: it patches jupyter_server's handler classes with JupyterHub's own XSRF
        # check, which then runs before authentication and refuses token-authenticated uploads.
        auth = self.hub_auth
        token = auth.get_token(handler, in_cookie=False)
        if token:
            model = await auth.user_for_token(token, session_id=auth.get_session_id(handler), sync=False)
            if model:
                handler._token_authenticated = True
            return model
        return await auth._get_user_cookie(handler)  # the OAuth cookie of a browser

    def _has_access(self, model: dict) -> bool:
        if not self.require_access_scope:
            return True
        scopes = set(model.get("scopes") or ())
        return bool({"access:services", f"access:services!service={self.service_name}"} & scopes)

    def hub_model(self, handler) -> dict | None:
        return getattr(handler, "_nbregistry_hub_model", None)

    def is_token_authenticated(self, handler) -> bool:
        return bool(getattr(handler, "_token_authenticated", False))

    def get_handlers(self) -> list:
        from jupyter_server.auth.decorator import allow_unauthenticated
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        class OAuthCallbackHandler(HubOAuthCallbackHandler):
            """The end of the Hub's OAuth login (sets the service's cookie); anyone may reach it."""

            @property
            def hub_auth(self):
                return self.settings["identity_provider"].hub_auth

            @allow_unauthenticated
            async def get(self):
                return await super().get()

        return [("/oauth_callback", OAuthCallbackHandler), ("/login", HubLoginHandler),
                ("/logout", HubLogoutHandler)]

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return True

    def validate_security(self, app, ssl_options=None):
        pass  # no shared token or password: the Hub authenticates


class HubLoginHandler(web.RequestHandler):
    """``/login``: send the browser through the Hub's OAuth login, then back to ``?next=``."""

    @property
    def hub_auth(self):
        return self.settings["identity_provider"].hub_auth

    @allow_unauthenticated
    async def get(self):
        next_url = self.get_argument("next", self.settings.get("base_url", "/"))
        if not next_url.startswith("/") or next_url.startswith("//"):
            next_url = self.settings.get("base_url", "/")
        if await self.settings["identity_provider"]._hub_user(self):
            self.redirect(next_url)
            return
        from tornado.httputil import url_concat

        auth, params, verifier = self.hub_auth, {}, None
        if auth.pkce_enabled:
            verifier, params["code_challenge"], params["code_challenge_method"] = auth.generate_pkce_code_challenge()
        params["state"] = auth.set_state_cookie(self, next_url=next_url, code_verifier=verifier)
        self.redirect(url_concat(auth.login_url, params))


class HubLogoutHandler(web.RequestHandler):
    @allow_unauthenticated
    def get(self):
        ip = self.settings["identity_provider"]
        ip.hub_auth.clear_cookie(self)
        self.redirect(ip.hub_auth.hub_host + ip.hub_auth.hub_prefix + "logout")
