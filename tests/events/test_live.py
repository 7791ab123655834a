"""Live sightings through real gunicorn processes: a stream on one replica receives what another
replica records, and a webhook receiver gets each sighting signed."""

from __future__ import annotations

import json
import threading
import time

import requests

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import ROOT, people_images
from tests.events.test_webhooks import SECRET, Receiver, receiver  # noqa: F401 (fixture)
from workers.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

REVIEW_KEY = "review-" + "r" * 24


def _env(tmp_path, **extra) -> dict[str, str]:
    return {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(tmp_path / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path}/facerec.db",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:{REVIEW_KEY}",
        **extra,
    }


def test_a_stream_on_one_replica_gets_what_another_records(tmp_path, receiver):  # noqa: F811
    env = _env(tmp_path, FACEREC_WEBHOOK_URL=receiver, FACEREC_WEBHOOK_SECRET=SECRET)
    with (
        Gunicorn(env, tmp_path / "a.log") as recorder,
        Gunicorn(env, tmp_path / "b.log") as watcher,
    ):
        events: list[dict] = []

        def listen():
            with requests.get(
                f"{watcher.url}/events", headers={"X-API-Key": REVIEW_KEY}, stream=True, timeout=30
            ) as stream:
                assert stream.headers["Content-Type"].startswith("text/event-stream")
                for line in stream.iter_lines(decode_unicode=True):
                    if line.startswith("data: "):
                        events.append(json.loads(line[6:]))
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(1.5)  # the stream starts "from now"
        with open(people_images()["obama"][0], "rb") as photo:
            stored = requests.post(
                f"{recorder.url}/face-recognition/store-results",
                files={"image": photo},
                data={"camera_id": "door", "location_id": "hall"},
                headers={"X-API-Key": RECOGNIZE_KEY},
            )
        assert stored.status_code == 200, stored.text
        recorded = time.monotonic()
        listener.join(15)
        assert events, "no event reached the other replica's stream"
        latency = time.monotonic() - recorded
        assert events[0]["camera_id"] == "door" and events[0]["face_url"], events[0]
        assert latency < 5.0
        assert (
            requests.get(
                f"{watcher.url}/events", headers={"X-API-Key": RECOGNIZE_KEY}, timeout=10
            ).status_code
            == 403
        )

        deadline = time.monotonic() + 10
        while not Receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        headers, body = Receiver.received[0]
        assert headers[SIGNATURE_HEADER] == signature(SECRET, headers[TIMESTAMP_HEADER], body)
        hooked = json.loads(body)
        assert hooked["camera_id"] == "door" and hooked["id"] == events[0]["id"]
