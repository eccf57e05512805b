"""``nbregistry server --workers N``: N server processes answering on one listening socket.

One jupyter-server process runs Python on one core at a time (the interpreter lock), so under load
its requests queue behind each other even when the machine has idle cores. With ``--workers N`` the
command becomes a small supervisor: it binds the address once, then starts N ordinary
``nbregistry server`` processes (the same command line) that inherit that socket and accept from it.
A busy worker is not waiting in ``accept``, so new connections go to the idle ones; a worker that is
restarted leaves the socket open, so clients never see "connection refused" meanwhile.

The workers are replicas on one host: they share the registry's stores exactly as replicas behind a
load balancer do (docs/scale-out.md: SQLite + folder on a local disk, or PostgreSQL + S3), with the
same guarantees (gapless versions, gates inside the alias transaction, each webhook delivered once).

The supervisor:
- refuses to start, in one line, when the address is taken;
- gives the workers one generated shared token when the command line and environment name none
  (each jupyter-server would otherwise generate its own), through the environment, never argv;
- restarts a worker that dies after it was serving (each worker says so on a pipe of its own once it
  listens), and stops everything (exit 1) when one dies before that: a configuration problem that a
  restart would only repeat;
- stops the workers with SIGTERM on SIGTERM or Ctrl-C (they run in their own session, so a terminal's
  Ctrl-C reaches only the supervisor), and a worker whose supervisor is gone stops by itself.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

SOCKETS_ENV = "NBREGISTRY_SERVER_SOCKETS"  # comma-separated inherited listening file descriptors
SUPERVISOR_ENV = "NBREGISTRY_SERVER_SUPERVISOR"  # the supervisor's pid: a worker outliving it stops
WORKER_ENV = "NBREGISTRY_SERVER_WORKER"  # "k/N", for the worker's own start-up line
READY_ENV = "NBREGISTRY_SERVER_READY_FD"  # the worker writes one byte there once it listens
STOP_TIMEOUT_SECONDS = 20.0
MAX_WORKERS = 64


def is_worker() -> bool:
    return bool(os.environ.get(SOCKETS_ENV))


def inherited_sockets() -> list:
    """The listening sockets a worker was given by its supervisor."""
    import socket

    fds = [int(fd) for fd in os.environ[SOCKETS_ENV].split(",") if fd.strip()]
    return [socket.socket(fileno=fd) for fd in fds]


def say_ready() -> None:
    """In a worker, once it listens: tell the supervisor (a worker that dies later is restarted)."""
    fd = int(os.environ.get(READY_ENV) or -1)
    if fd >= 0:
        try:
            os.write(fd, b"1")
            os.close(fd)
        except OSError:
            pass


def watch_supervisor(io_loop, stop) -> None:
    """In a worker: call ``stop()`` once the supervisor process is gone (checked every second)."""
    from tornado.ioloop import PeriodicCallback

    supervisor = int(os.environ.get(SUPERVISOR_ENV) or 0)
    if not supervisor:
        return

    def check() -> None:
        if os.getppid() != supervisor:
            sys.stderr.write("nbregistry server: the supervisor is gone; this worker stops\n")
            callback.stop()
            stop()

    callback = PeriodicCallback(check, 1000)
    callback.start()


class Supervisor:
    def __init__(self, workers: int, argv: list[str], ip: str, port: int, *, needs_token: bool):
        self.count, self.argv, self.ip, self.port = workers, list(argv), ip, port
        self.needs_token = needs_token
        self.procs: list[subprocess.Popen | None] = [None] * workers
        self.ready_pipes: list[int | None] = [None] * workers  # read ends, until the worker says it listens
        self.stopping = False

    def run(self) -> int:
        from tornado.netutil import bind_sockets

        from ..core.errors import ValidationError

        try:
            sockets = bind_sockets(self.port, self.ip)
        except OSError as exc:
            raise ValidationError(f"cannot listen on {self.ip}:{self.port}: {exc.strerror or exc}") from None
        self.port = sockets[0].getsockname()[1]
        fds = [s.fileno() for s in sockets]
        env = {**os.environ, SOCKETS_ENV: ",".join(map(str, fds)), SUPERVISOR_ENV: str(os.getpid())}
        generated = None
        if self.needs_token and not env.get("JUPYTER_TOKEN"):
            generated = env["JUPYTER_TOKEN"] = secrets.token_hex(24)  # one token for every worker
        self.env = env
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for i in range(self.count):
                self._start(i, fds)
            sys.stderr.write(f"nbregistry server: {self.count} workers on {self.ip}:{self.port} "
                             f"(pids {', '.join(str(p.pid) for p in self.procs)})\n")
            if generated:  # the workers' own start-up lines hide a token they were given
                sys.stderr.write(f"nbregistry server: the workers' shared token (generated; --token sets one, "
                                 f"a --config file's wins): {generated}\n")
            return self._supervise(fds)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for s in sockets:
                s.close()
            for read in self.ready_pipes:
                if read is not None:
                    os.close(read)

    def _start(self, i: int, fds: list[int]) -> None:
        read, write = os.pipe()
        env = {**self.env, WORKER_ENV: f"{i + 1}/{self.count}", READY_ENV: str(write)}
        try:
            self.procs[i] = subprocess.Popen([sys.executable, "-m", "nbregistry.cli", *self.argv], env=env,
                                             pass_fds=[*fds, write], start_new_session=True)
        finally:
            os.close(write)
        self.ready_pipes[i] = read

    def _ready(self, i: int) -> bool:
        """Whether worker ``i`` said it listens (reads its pipe without waiting)."""
        import select

        read = self.ready_pipes[i]
        if read is None:
            return True
        if select.select([read], [], [], 0)[0] and os.read(read, 1):
            os.close(read)
            self.ready_pipes[i] = None
            return True
        return False

    def _supervise(self, fds: list[int]) -> int:
        while not self.stopping:
            for i, proc in enumerate(self.procs):
                ready = self._ready(i)
                code = proc.poll()
                if code is None or self.stopping:
                    continue
                if not ready:
                    sys.stderr.write(f"nbregistry server: worker {i + 1} (pid {proc.pid}) exited with {code} "
                                     "before it was serving; stopping (see its messages above)\n")
                    return 1
                sys.stderr.write(f"nbregistry server: worker {i + 1} (pid {proc.pid}) exited with {code}; "
                                 "starting it again\n")
                self._start(i, fds)
            time.sleep(0.2)
        return 0

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        live = [p for p in self.procs if p is not None and p.poll() is None]
        for p in live:
            p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for p in live:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
