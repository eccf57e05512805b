"""A token per person for a team registry server, so authors are real names, not "anonymous".

    c.ServerApp.identity_provider_class = "nbregistry.server.identity.TeamIdentityProvider"
    c.TeamIdentityProvider.users = {"alice": "<alice's token>", "bob": "<bob's token>"}

``nbregistry server --users users.json`` sets both. A request carrying one of these tokens
(``Authorization: token …``, or the login form) is that user; the server's own token, if any,
still works and gives an anonymous identity. Tokens are compared in constant time. This is a
simple scheme for a small trusted team: for more, run behind JupyterHub (see docs/server.md).
"""

from __future__ import annotations

import hmac

from jupyter_server.auth.identity import IdentityProvider, User
from traitlets import Dict, Unicode


class TeamIdentityProvider(IdentityProvider):
    """Identifies users by personal tokens (``users``: username -> token)."""

    users = Dict(key_trait=Unicode(), value_trait=Unicode(), help="username -> personal token").tag(config=True)

    def _user_for(self, token: str | None) -> User | None:
        if not token:
            return None
        for name, expected in self.users.items():
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                return User(username=name)
        return None

    async def get_user_token(self, handler):
        user = self._user_for(self.get_token(handler))
        if user is not None:
            return user
        return await super().get_user_token(handler)

    def process_login_form(self, handler):
        user = self._user_for(handler.get_argument("password", default=""))
        return user if user is not None else super().process_login_form(handler)

    @property
    def auth_enabled(self) -> bool:
        return True
