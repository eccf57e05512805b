"""A webhook receiver for the attack tests: a real HTTP server on 127.0.0.1 recording what it gets."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, secret: str | None = None):
        from nbregistry.core import webhooks

        self.secret = secret
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({
                    "body": body, "json": json.loads(body), "headers": dict(self.headers),
                    "signature_ok": receiver.secret is not None and webhooks.verify_signature(
                        receiver.secret, body, self.headers.get(webhooks.SIGNATURE_HEADER))})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
