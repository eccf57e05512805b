"""The model being served, following a ref (``churn@production``, or ``churn`` = latest).

One :class:`Follower` per worker process. A thread polls the registry's event feed (one indexed
``SELECT`` per poll) and, when the ref points elsewhere, loads the new version through the core
``Registry.load`` (its trust rule decides what may be unpickled), scores the version's stored input
example (the output checked against the recorded output schema), and swaps it in with one
reference assignment. Requests take ``follower.live`` once, so in-flight requests finish on the
model they started with. A version that fails to load or to score is not swapped in; the old one
keeps serving, ``last_error`` says why, and ``ready`` is false (``/ping`` answers 503) until the ref
and the served version agree again. Every worker resolves the same ref in the same registry, so
all workers end up on the same version.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from ...core.errors import RegistryError
from ...core.refs import parse_ref
from ...core.store import now_iso

log = logging.getLogger("nbregistry.serve")


@dataclass(frozen=True)
class Live:
    """The model being served. Replaced as a whole (never mutated) when the ref moves."""

    model: Any
    name: str
    version: int
    flavor: str
    signature: dict | None
    loaded_at: str

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def outputs(self) -> dict | None:
        return (self.signature or {}).get("outputs")


def score(live: Live, data: Any, method: str = "predict", *, positional: bool = False) -> tuple[Any, int]:
    """``core.scoring.score`` with the live model: ``(prediction, rows)``."""
    from ...core.scoring import score as core_score

    return core_score(live.model, live.flavor, live.signature, data, method, positional=positional)


class Follower:
    def __init__(self, registry, ref: str, *, trust: bool = False, poll: float = 1.0, on_swap=None):
        self.registry = registry
        self.ref = parse_ref(ref)
        self.spec = str(self.ref)
        self.trust = trust
        self.poll = poll
        self.on_swap = on_swap  # called with the new Live after every swap (metrics)
        self.live: Live | None = None
        self.target: int | None = None  # the version the ref named at the last check
        self.last_error: dict | None = None
        self.swaps = 0
        self._failed_version: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_event = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> "Follower":
        """Load what the ref names now (raising if it cannot), then follow it in a thread."""
        if self.live is not None:
            return self
        self._last_event = self._latest_event_id()
        self.target = self._resolve()
        self.live = self._load(self.target)
        if self.on_swap:
            self.on_swap(self.live)
        if self.ref.version is None:  # a fixed version never moves
            self._thread = threading.Thread(target=self._watch, name="nbregistry-serve-follow", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def ready(self) -> bool:
        return self.live is not None and self.target == self.live.version

    # ---------------------------------------------------------------- following
    def _latest_event_id(self) -> int:
        last = 0
        while True:
            batch = self.registry.events(since=last, model=self.ref.name, limit=10_000)
            if not batch:
                return last
            last = batch[-1].id

    def _resolve(self) -> int:
        return self.registry.get(self.spec).version

    def _load(self, number: int) -> Live:
        ref = f"{self.ref.name}:{number}"
        version = self.registry.get(ref)
        model = self.registry.load(ref, trust=self.trust)  # the core's trust rule, nothing of our own
        live = Live(model=model, name=version.name, version=number, flavor=version.flavor,
                    signature=version.signature, loaded_at=now_iso())
        if version.has_input_example:  # a version that cannot score its own example is not served
            score(live, self.registry.input_example(ref))
        return live

    def check_now(self) -> bool:
        """Resolve the ref once and swap if it moved; returns whether a new version went live."""
        try:
            number = self._resolve()
        except RegistryError as exc:  # alias removed, model deleted: keep serving what we have
            self.target = None
            self._report(None, exc)
            return False
        self.target = number
        if self.live is not None and number == self.live.version:
            self._failed_version = None
            self.last_error = None
            return False
        if number == self._failed_version:
            return False
        try:
            live = self._load(number)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the old model serving
            self._failed_version = number
            self._report(number, exc)
            return False
        old, self.live = self.live, live  # the swap: one reference assignment
        self.swaps += 1
        self.last_error = None
        self._failed_version = None
        if self.on_swap:
            self.on_swap(live)
        log.info("%s moved: now serving %s (was %s)", self.spec, live.ref, old.ref if old else None)
        return True

    def _report(self, number: int | None, exc: BaseException) -> None:
        self.last_error = {"version": number, "error": f"{type(exc).__name__}: {exc}", "time": now_iso()}
        log.error("%s: could not switch to version %s, still serving %s: %s", self.spec, number,
                  self.live.ref if self.live else None, exc)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                batch = self.registry.events(since=self._last_event, model=self.ref.name, limit=10_000)
                if batch:
                    self._last_event = batch[-1].id
                    self.check_now()
            except Exception as exc:  # noqa: BLE001 - a locked database must not stop the follower
                log.warning("follower: %s", exc)

    # ---------------------------------------------------------------- status
    def status(self) -> dict:
        live = self.live
        return {"ref": self.spec, "model": live.name if live else self.ref.name,
                "version": live.version if live else None, "target": self.target, "ready": self.ready,
                "flavor": live.flavor if live else None, "loaded_at": live.loaded_at if live else None,
                "signature": live.signature if live else None, "last_error": self.last_error, "swaps": self.swaps}
