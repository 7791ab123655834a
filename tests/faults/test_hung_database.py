"""A hung database (SIGSTOP: it accepts connections and never answers) must not hang the API.

Before: /healthz timed out for minutes (the only sync worker sat in a database call), /readyz
took 30 s and get-results, which needs no database, hung too.
"""

from __future__ import annotations

import statistics
import threading
import time

import requests

from .conftest import ADMIN, PHOTO, RECOGNIZE, paused, serve, timed

STORE = "/face-recognition/store-results"
GET = "/face-recognition/get-results"


def store(url: str, timeout: float = 30) -> requests.Response:
    with open(PHOTO, "rb") as image:
        return requests.post(
            url + STORE,
            files={"image": image},
            data={"camera_id": "cam", "location_id": "hall"},
            headers=RECOGNIZE,
            timeout=timeout,
        )


def recognize(url: str) -> requests.Response:
    with open(PHOTO, "rb") as image:
        return requests.post(url + GET, files={"image": image}, headers=RECOGNIZE, timeout=5)


def test_a_hung_database_costs_seconds_and_probes_never_wait(tmp_path, mariadb, database_url):
    url, _name = database_url
    with serve(tmp_path, {"FACEREC_DATABASE_URL": url}) as api:
        assert store(api.url).status_code == 200
        assert requests.post(api.url + "/dataset/before", headers=ADMIN, timeout=5).ok
        with paused(mariadb.process):
            hung_at = time.monotonic()
            # A request already on its way to the database when it hung.
            first: dict = {}
            caught = threading.Thread(target=lambda: first.update(r=timed(lambda: store(api.url))))
            caught.start()
            time.sleep(0.3)

            health, ready = [], []
            while time.monotonic() - hung_at < 4:
                health.append(timed(lambda: requests.get(api.url + "/healthz", timeout=2))[0])
                seconds, answer = timed(lambda: requests.get(api.url + "/readyz", timeout=2))
                ready.append(seconds)
                assert answer.status_code == 200  # the networks are loaded: still in service
                time.sleep(0.2)
            assert answer.json()["database"] == "down"

            seconds, answer = timed(lambda: recognize(api.url))
            assert answer.status_code == 200, answer.text
            assert seconds < 3, f"get-results took {seconds:.1f} s"

            fast, answer = timed(lambda: store(api.url))
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"] == "database_unavailable"
            assert fast < 0.5, f"store-results took {fast:.2f} s to answer 503"

            caught.join(20)
            slow, answer = first["r"]
            assert answer.status_code == 503
            assert slow < 14, f"the request caught by the hang took {slow:.1f} s"

        assert max(health) < 0.5, health
        assert statistics.median(ready) < 0.1 and max(ready) < 0.5, ready
        print(
            f"\nhung database: /healthz max {max(health) * 1000:.0f} ms, /readyz median "
            f"{statistics.median(ready) * 1000:.0f} ms max {max(ready) * 1000:.0f} ms, "
            f"get-results {seconds:.2f} s, store-results 503 in {fast * 1000:.0f} ms "
            f"(caught by the hang: {slow:.1f} s)"
        )
        # Resumed: the breaker closes at the next check and writes go through again.
        deadline = time.monotonic() + 10
        while requests.get(api.url + "/readyz", timeout=2).json()["database"] != "up":
            assert time.monotonic() < deadline, "the database never came back"
            time.sleep(0.2)
        assert store(api.url).status_code == 200
