"""Track events through real gunicorn processes on real faces: a stream on one replica receives
what another replica writes, one event when a track starts, when its label changes and when it
ends (by the edge, or by itself after a quiet period), never one per crop; a webhook receiver on
127.0.0.1 gets the same events, signed."""

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
QUIET_SECONDS = 4
PEOPLE = people_images()


def _env(tmp_path, **extra) -> dict[str, str]:
    return {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(tmp_path / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path}/facerec.db",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:{REVIEW_KEY}",
        **extra,
    }


def _train(api: Gunicorn) -> None:
    admin = {"X-API-Key": ADMIN_KEY}
    for person, count in (("obama", 2), ("biden", 1)):
        requests.post(f"{api.url}/dataset/{person}", headers=admin, timeout=10)
        for path in PEOPLE[person][:count]:
            with open(path, "rb") as photo:
                added = requests.post(
                    f"{api.url}/dataset/{person}/image", files={"image": photo}, headers=admin
                )
            assert added.status_code in (200, 201), added.text
    job = requests.post(f"{api.url}/model/train?wait=true", headers=admin, timeout=300).json()
    assert job["state"] == "succeeded", job


def _store(api: Gunicorn, path, camera: str = "door", **fields) -> dict:
    with open(path, "rb") as photo:
        stored = requests.post(
            f"{api.url}/face-recognition/store-results",
            files={"image": photo},
            data={"camera_id": camera, "location_id": "hall", **fields},
            headers={"X-API-Key": RECOGNIZE_KEY},
            timeout=60,
        )
    assert stored.status_code == 200, stored.text
    return stored.json()["faces"][0]["track"]


class Stream:
    """An /events stream read in a thread: its events as (SSE id, event name, data)."""

    def __init__(self, url: str):
        self.events: list[tuple[str, str, dict]] = []
        self.response = requests.get(
            f"{url}/events", headers={"X-API-Key": REVIEW_KEY}, stream=True, timeout=60
        )
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if not line:
                    if "data" in fields:
                        self.events.append(
                            (fields["id"], fields["event"], json.loads(fields["data"]))
                        )
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    fields[name] = value
        except Exception:  # closed by the test
            return

    def of(self, track_id: str) -> list[str]:
        return [data["kind"] for _id, _name, data in self.events if data["track"]["id"] == track_id]


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def _label_changes(labels: list[str]) -> int:
    return sum(1 for before, after in zip(labels, labels[1:], strict=False) if before != after)


def test_tracks_make_one_event_each_way_on_every_replica_and_webhook(tmp_path, receiver):  # noqa: F811
    env = _env(
        tmp_path,
        FACEREC_WEBHOOK_URL=receiver,
        FACEREC_WEBHOOK_SECRET=SECRET,
        FACEREC_TRACK_QUIET_SECONDS=str(QUIET_SECONDS),
    )
    with (
        Gunicorn(env, tmp_path / "a.log") as recorder,
        Gunicorn(env, tmp_path / "b.log") as watcher,
    ):
        _train(recorder)
        stream = Stream(watcher.url)
        time.sleep(1.5)  # the stream starts "from now"
        # One person walking past: a stranger-looking first crop, then four of obama.
        walk = [PEOPLE["kit_harington"][0], *PEOPLE["obama"][1:5]]
        started = time.monotonic()
        labels = [_store(recorder, path, track_id="walk-1")["label"] for path in walk]
        assert time.monotonic() - started < QUIET_SECONDS * len(walk)
        assert labels[-1] == "obama", labels
        ended = requests.post(
            f"{recorder.url}/tracks/door/walk-1/end",
            headers={"X-API-Key": RECOGNIZE_KEY},
            timeout=10,
        )
        assert ended.status_code == 200 and ended.json()["ended"] is True
        # A second track the edge never ends: it closes itself after the quiet period.
        for path in PEOPLE["biden"]:
            _store(recorder, path, camera="gate", track_id="walk-2")
        # A crop without a track id: a track of its own, one 'start', already ended.
        alone = _store(recorder, PEOPLE["rose_leslie"][0])["id"]

        expected = {
            "walk-1": ["start"] + ["label"] * _label_changes(labels) + ["end"],
            "walk-2": ["start", "end"],
            alone: ["start"],
        }
        assert _label_changes(labels) >= 1  # unknown -> obama as evidence grew
        assert _wait_for(
            lambda: {t: stream.of(t) for t in expected} == expected, QUIET_SECONDS + 10
        ), stream.events
        time.sleep(2)  # nothing more comes: no event per crop, no second end
        assert len(stream.events) == sum(map(len, expected.values())), stream.events
        stream.response.close()
        assert all(
            name == "track" and int(sse_id) == data["id"] for sse_id, name, data in stream.events
        )
        label_event = next(data for _i, _n, data in stream.events if data["kind"] == "label")
        assert label_event["label"] == "obama" and label_event["track"]["face_url"]
        walk_2_end = next(
            d for _i, _n, d in stream.events if d["track"]["id"] == "walk-2" and d["kind"] == "end"
        )
        assert walk_2_end["track"]["ended"] is True and walk_2_end["track"]["crops"] == 2

        # The webhook receiver got the same events, once each, signed.
        assert _wait_for(lambda: len(Receiver.received) >= len(stream.events), 10)
        time.sleep(1)
        hooked = []
        for headers, body in Receiver.received:
            assert headers[SIGNATURE_HEADER] == signature(SECRET, headers[TIMESTAMP_HEADER], body)
            hooked.append(json.loads(body))
        assert all(h["event"] == "track" for h in hooked)

        def stable(event: dict) -> tuple:
            return (event["id"], event["kind"], event["at"], event["label"], event["track"]["id"])

        assert sorted(map(stable, hooked)) == sorted(stable(d) for _i, _n, d in stream.events)
