"""The REST API of a Jupyter server forwarded to a team registry server (``NBRegistry.registry_url``).

Inside a JupyterHub single-user server the JupyterLab panel keeps calling ``<base_url>/nbregistry/api/…``
on its own server; this handler forwards each request to the team registry with the server's token
(``NBRegistry.registry_token``, by default ``JUPYTERHUB_API_TOKEN``), so the team server sees -- and
verifies -- the owner of the single-user server. Only that owner may use it: a Hub user a server is
shared with would otherwise act under the owner's name, so anyone else is refused (403).
"""

from __future__ import annotations

import json
import os

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from . import API_PREFIX

FORWARDED_HEADERS = ("Content-Type", "X-NBRegistry-SHA256", "Accept")
RETURNED_HEADERS = ("Content-Type", "Content-Disposition", "WWW-Authenticate")


class ForwardHandler(APIHandler):
    auth_resource = "nbregistry:models"

    def initialize(self, target: str = "", token: str = "", owner: str = ""):
        self.target, self.forward_token, self.owner = target.rstrip("/"), token, owner

    async def _forward(self, path: str) -> None:
        if self.owner and self.current_user.username != self.owner:
            raise web.HTTPError(403, f"this server forwards registry requests as {self.owner}; "
                                     f"{self.current_user.username} may not use it")
        url = f"{self.target}/{API_PREFIX}/{path}"
        if self.request.query:
            url += "?" + self.request.query
        headers = {k: self.request.headers[k] for k in FORWARDED_HEADERS if k in self.request.headers}
        headers["Authorization"] = f"token {self.forward_token}"
        headers["X-NBRegistry-Origin"] = "server"
        method = self.request.method
        body = self.request.body if method in ("POST", "PUT", "PATCH") else None
        if method in ("POST", "PUT", "PATCH") and body is None:
            body = b""
        response = await AsyncHTTPClient().fetch(url, method=method, headers=headers, body=body, raise_error=False,
                                                 allow_nonstandard_methods=True, request_timeout=300,
                                                 follow_redirects=False)
        if response.code == 599:  # no answer at all
            self.set_status(502)
            self.finish(json.dumps({"message": f"the team registry at {self.target} cannot be reached: "
                                               f"{response.error}", "code": "unavailable"}))
            return
        self.set_status(response.code)
        for key in RETURNED_HEADERS:
            if key in response.headers:
                self.set_header(key, response.headers[key])
        self.finish(response.body or b"")

    @web.authenticated
    @authorized
    async def get(self, path):
        await self._forward(path)

    @web.authenticated
    @authorized
    async def post(self, path):
        await self._forward(path)

    @web.authenticated
    @authorized
    async def put(self, path):
        await self._forward(path)

    @web.authenticated
    @authorized
    async def patch(self, path):
        await self._forward(path)

    @web.authenticated
    @authorized
    async def delete(self, path):
        await self._forward(path)


def setup_proxy(web_app, settings) -> None:
    if not settings.registry_token:
        raise ValueError("NBRegistry.registry_url is set but there is no token: set NBRegistry.registry_token "
                         "(or NBREGISTRY_TOKEN / JUPYTERHUB_API_TOKEN)")
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(".*$", [(base + "/(?P<path>.*)", ForwardHandler,
                                  {"target": settings.registry_url, "token": settings.registry_token,
                                   "owner": os.environ.get("JUPYTERHUB_USER", "")})])
