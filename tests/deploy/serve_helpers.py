"""A real ``nbregistry serve`` process (uvicorn workers) on 127.0.0.1, and raw-socket clients."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


class CliServer:
    """``nbregistry serve REF --workers N --port 0 ...`` in a subprocess; ``url`` once every worker answers."""

    def __init__(self, root, ref: str, *args: str, workers: int = 2, user: str = "server", log: Path,
                 extra_path: str | None = None):
        self.workers = workers
        self.log_path = Path(log)
        env = dict(os.environ, NBREGISTRY_USER=user)
        if extra_path:  # a folder of test modules the served model's classes live in
            env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), extra_path) if p)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nbregistry.deploy.serve", ref, "--root", str(root), "--port", "0",
             "--workers", str(workers), "--poll", "0.05", *args],
            stdout=subprocess.DEVNULL, stderr=self._log, env=env)
        self.url = self._wait_for_url()
        self.pids = self.wait_workers()

    def _wait_for_url(self, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log_path.read_text().splitlines():
                if line.startswith("nbregistry serve:") and " on http://" in line:
                    return line.split(" on ")[1].split()[0]
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def get(self, path: str, **kwargs):
        """A request on a fresh connection, so the kernel may hand it to any worker."""
        return requests.get(self.url + path, headers={"Connection": "close"}, timeout=60, **kwargs)

    def post(self, path: str, **kwargs):
        headers = {"Connection": "close", **kwargs.pop("headers", {})}
        return requests.post(self.url + path, headers=headers, timeout=60, **kwargs)

    def wait_workers(self, *, version: int | None = None, timeout: float = 240) -> set[str]:
        """Worker pids seen answering ``/version`` (on ``version``, if given) until all of them were."""
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r = self.get("/version")
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            status = r.json()
            if version is None or status["version"] == version:
                seen.add(r.headers["X-Nbregistry-Worker"])
            if len(seen) == self.workers:
                return seen
        raise AssertionError(f"saw only workers {seen} (version {version}) in {timeout}s")

    def worker_rss(self, pid: str) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for {pid}")

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def raw_connection(url: str, timeout: float) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (``socket.timeout`` if it never does)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0
