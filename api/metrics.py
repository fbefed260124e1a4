"""Prometheus metrics: requests by route template, method and status with their latency, the
visits and heartbeats the viewer script had acknowledged, and which workers have started.

Under `pitchmap serve --workers N` every worker writes its numbers to files in
`PROMETHEUS_MULTIPROC_DIR` (`<data dir>/metrics`, emptied when the server starts; see
api/workers.py) and `/metrics` adds up every worker's, whichever worker answers the scrape.
Without that variable (a single process) the numbers are this process's own.

`/metrics` takes an admin key (`Authorization: Bearer`, as Prometheus's `authorization`
scrape setting sends it): the figures show which routes exist and how busy each one is.
"""

from __future__ import annotations

import os
import time
from typing import Final

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from api.auth import Action, permit
from tracker.keys import KeyInfo

MULTIPROCESS_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
VISITS_ROUTE: Final = "/d/{token}/visits"
EVENTS_ROUTE: Final = "/d/{token}/events"
_LABELS: Final = ("route", "method", "status")
# From a cached page (~1 ms) to a document generation or an import (seconds).
_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_registry = CollectorRegistry()
_requests = Counter(
    "pitchmap_requests",
    "Requests answered, by route template, method and status.",
    _LABELS,
    registry=_registry,
)
_latency = Histogram(
    "pitchmap_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template, method, status.",
    _LABELS,
    buckets=_BUCKETS,
    registry=_registry,
)
_visits = Counter(
    "pitchmap_visits_started",
    "Visits started: a browser ran the viewer page's script (previews and bots excluded).",
    registry=_registry,
)
_heartbeats = Counter(
    "pitchmap_heartbeats_acknowledged",
    "Heartbeats answered 204, i.e. committed; a replayed heartbeat is stored once but counted "
    "again here.",
    registry=_registry,
)
_workers = Gauge(
    "pitchmap_worker_started_seconds",
    "When each worker process started (unix time); one series per process id under several "
    "workers, kept until the server restarts.",
    registry=_registry,
    multiprocess_mode="all",
)


def observe(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request; a started visit or an acknowledged heartbeat also counts
    as such, told by its route and success status."""
    labels = (route, method, str(status))
    _requests.labels(*labels).inc()
    _latency.labels(*labels).observe(seconds)
    if route == VISITS_ROUTE and status == 201:
        _visits.inc()
    elif route == EVENTS_ROUTE and status == 204:
        _heartbeats.inc()


def worker_started() -> None:
    _workers.set(time.time())


def exposition() -> bytes:
    """The text Prometheus scrapes: every worker's numbers added up, or this process's own."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(_registry)
    workers = CollectorRegistry()
    multiprocess.MultiProcessCollector(workers)  # type: ignore[no-untyped-call]
    return generate_latest(workers)


# Litestar adds the charset to a text/* media type itself: without this, it would say it twice.
METRICS_TYPE = CONTENT_TYPE_LATEST.split("; charset=")[0]


class MetricsController(Controller):
    tags = ("operations",)

    @get(
        "/metrics",
        summary="Prometheus metrics of every worker (admin key)",
        media_type=METRICS_TYPE,
    )
    async def metrics(self, caller: NamedDependency[KeyInfo]) -> Response[bytes]:
        # Whoever manages the keys runs the installation; no other role reads its metrics.
        permit(caller, Action.READ_METRICS)
        return Response(exposition(), media_type=METRICS_TYPE)
