"""One webhook receiver for every test folder: a real HTTP server on 127.0.0.1 that records each
request (body, headers, whether its signature verifies with ``secret``) and answers the statuses it
is told to, in order, after ``delay`` seconds."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nbregistry.core import webhooks


class Receiver:
    """An HTTP receiver on 127.0.0.1 that answers the status codes it is told to, in order."""

    def __init__(self, secret: str | None = None, statuses=(), delay: float = 0.0):
        self.secret = secret
        self.statuses = list(statuses)
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append({
                        "body": body, "json": json.loads(body), "headers": dict(self.headers), "status": status,
                        "signature_ok": receiver.secret is not None and webhooks.verify_signature(
                            receiver.secret, body, self.headers.get(webhooks.SIGNATURE_HEADER))})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"receiver got {len(self.requests)} requests, expected {n}")

    @property
    def bodies(self) -> list[dict]:
        """The JSON bodies received, in order."""
        with self.lock:
            return [r["json"] for r in self.requests]

    @property
    def bad_signatures(self) -> int:
        with self.lock:
            return sum(not r["signature_ok"] for r in self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
