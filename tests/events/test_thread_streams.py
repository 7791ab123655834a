"""Issue 21, `make run`'s path: gunicorn alone serves /events from its threads, so it caps them.

With 4 threads and FACEREC_EVENTS_THREAD_STREAMS=2, a third stream is refused at once (503 with
Retry-After, JSON), never queued, and recognition goes on beside the two that are open."""

from __future__ import annotations

import time

import requests

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import ROOT, people_images

REVIEW_KEY = "review-" + "r" * 24


def test_gunicorn_streams_are_capped_per_worker_and_per_key(tmp_path, bundle_dir):
    env = {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(tmp_path / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path}/facerec.db",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:{REVIEW_KEY}",
        "FACEREC_THREADS": "4",
        "FACEREC_EVENTS_THREAD_STREAMS": "2",
        "FACEREC_EVENTS_MAX_STREAMS_PER_KEY": "1",
    }
    with Gunicorn(env, tmp_path / "gunicorn.log") as api:
        url = f"{api.url}/events"
        first = requests.get(url, headers={"X-API-Key": REVIEW_KEY}, stream=True, timeout=10)
        same_key = requests.get(url, headers={"X-API-Key": REVIEW_KEY}, timeout=10)
        second = requests.get(url, headers={"X-API-Key": ADMIN_KEY}, stream=True, timeout=10)
        try:
            assert first.status_code == 200 and second.status_code == 200
            assert same_key.status_code == 429 and same_key.headers["Retry-After"] == "5"
            assert same_key.json()["error"] == "too_many_streams_for_key"
            started = time.monotonic()
            third = requests.get(url, headers={"X-API-Key": RECOGNIZE_KEY}, timeout=10)
            assert third.status_code == 403  # the scope is checked before the cap
            third = requests.get(url, headers={"X-API-Key": ADMIN_KEY}, timeout=10)
            assert time.monotonic() - started < 2
            assert third.status_code == 503 and third.headers["Retry-After"] == "5"
            assert third.json()["error"] == "too_many_streams"
            with open(people_images()["obama"][0], "rb") as photo:
                answer = requests.post(
                    f"{api.url}/face-recognition/get-results",
                    files={"image": photo},
                    headers={"X-API-Key": RECOGNIZE_KEY},
                    timeout=10,
                )
            assert answer.status_code == 200, answer.text
            metrics = requests.get(f"{api.url}/metrics", timeout=10).text
            assert "facerec_event_streams_open 2.0" in metrics
            assert 'facerec_event_streams_refused_total{reason="replica"} 1.0' in metrics
        finally:
            first.close()
            second.close()
