"""Prometheus metrics of the scoring server, as text at ``GET /metrics``.

With several uvicorn workers a scrape reaches one of them, so per-process counters would be
wrong. ``nbregistry serve`` therefore runs prometheus-client in its multiprocess mode: the parent
creates a folder and names it in ``PROMETHEUS_MULTIPROC_DIR`` before the workers start; each worker
writes its samples there and any worker's ``/metrics`` sums all of them (counters and histograms
added up; the served-version gauge is reported per live worker, labelled ``pid``). Without that
variable (one process, or the app mounted in someone's own server) the metrics live in a registry
of the app's own.

- ``nbregistry_requests_total{route, status}``: requests answered.
- ``nbregistry_request_seconds{route}``: latency histogram.
- ``nbregistry_model_version{model}``: the version served (per worker).
- ``nbregistry_swaps_total{model}``: alias moves that went live.
"""

from __future__ import annotations

import os

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class ServingMetrics:
    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.shared = multiprocess_dir() is not None
        # In multiprocess mode samples go to files (the registry argument only avoids the global one).
        self.registry = CollectorRegistry()
        own = None if self.shared else self.registry
        self.requests = Counter("nbregistry_requests", "Requests answered", ["route", "status"], registry=own)
        self.latency = Histogram("nbregistry_request_seconds", "Request latency", ["route"], buckets=BUCKETS,
                                 registry=own)
        gauge_kwargs = {"multiprocess_mode": "liveall"} if self.shared else {}
        self.version = Gauge("nbregistry_model_version", "Version being served", ["model"], registry=own,
                             **gauge_kwargs)
        self.swaps = Counter("nbregistry_swaps", "Alias moves that went live", ["model"], registry=own)
        if self.shared:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(self.registry)

    def observe(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def served(self, live, *, swapped: bool) -> None:
        self.version.labels(model=live.name).set(live.version)
        if swapped:
            self.swaps.labels(model=live.name).inc()

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """At worker exit: drop this process's live gauges from the shared folder."""
        if self.shared:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())
