"""Prometheus metrics: request latency by endpoint, faces recognised, model version, database up.

Under gunicorn every worker is its own process: with PROMETHEUS_MULTIPROC_DIR set,
prometheus_client writes each worker's values to files there and `/metrics` sums them;
without it, the default registry of this one process is served.
"""

from __future__ import annotations

import time

from flask import Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_LATENCY = Histogram(
    "facerec_request_duration_seconds",
    "Time to answer a request, by route rule (not raw path), method and status.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FACES_RECOGNIZED = Counter(
    "facerec_faces_recognized_total",
    "Faces answered by get-results/store-results, by kind: a known person or unknown.",
    ["kind"],
)
MODEL_INFO = Gauge(
    "facerec_model_info",
    "1 for the classifier version this worker serves (version 'none' before any training).",
    ["version"],
    multiprocess_mode="mostrecent",
)
DATABASE_UP = Gauge(
    "facerec_database_up",
    "1 when the database answered the last check, else 0.",
    multiprocess_mode="mostrecent",
)

EVENT_STREAMS_OPEN = Gauge(
    "facerec_event_streams_open",
    "Open /events streams, summed over gunicorn's workers and facerec-events.",
    multiprocess_mode="livesum",
)
EVENT_STREAMS_REFUSED = Counter(
    "facerec_event_streams_refused_total",
    "/events streams refused for a cap: `replica` (503) or `key` (429).",
    ["reason"],
)

_served_version: list[str] = []  # the label this process last set to 1


def observe_model(version: str | None) -> None:
    label = version or "none"
    if _served_version and _served_version[0] == label:
        return
    if _served_version:
        MODEL_INFO.labels(_served_version[0]).set(0)
        _served_version.clear()
    MODEL_INFO.labels(label).set(1)
    _served_version.append(label)


def observe_database(up: bool) -> None:
    DATABASE_UP.set(1 if up else 0)


def count_faces(labels: list[str], unknown: str) -> None:
    for label in labels:
        FACES_RECOGNIZED.labels("unknown" if label == unknown else "known").inc()


def start_timer() -> None:
    g.metrics_started = time.perf_counter()


def record_request(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        REQUEST_LATENCY.labels(rule, request.method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


def exposition(metrics_dir) -> Response:
    """The text format, summed over every worker when running in multiprocess mode."""
    registry = REGISTRY
    if metrics_dir is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def install(app) -> None:
    app.before_request(start_timer)
    app.after_request(record_request)
