"""MariaDB down for 10 s mid-load: recognitions go on, no stored result vanishes, /readyz stays up."""

from __future__ import annotations

import re
import threading
import time

import requests

from scripts.cluster.loadgen import Load, post_image
from scripts.cluster.steps import GET_RESULTS, STORE_RESULTS, upload

OUTAGE_SECONDS = 10.0
DATABASE_UP_METRIC = re.compile(r"^facerec_database_up(\{[^}]*\})? (\S+)$", re.MULTILINE)


def database_up_metric(replica) -> float:
    text = requests.get(replica.url + "/metrics", timeout=10).text
    values = [float(match.group(2)) for match in DATABASE_UP_METRIC.finditer(text)]
    assert values, "no facerec_database_up gauge in /metrics"
    return min(values)


def readiness(replica) -> tuple[int, dict]:
    response = requests.get(replica.url + "/readyz", timeout=10)
    return response.status_code, response.json()


def edge_like_store(url: str, image: bytes, refusals: dict[int, int]):
    """store-results as the edge sends it: one camera id per request, resent after each 503."""

    def send(session: requests.Session, sequence: int) -> requests.Response:
        fields = {"camera_id": f"outage-cam-{sequence}", "location_id": "outage-lab"}
        deadline = time.monotonic() + 3 * OUTAGE_SECONDS
        while True:
            response = session.post(url, files=upload(image), data=fields, timeout=60)
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
            refusals[sequence] = refusals.get(sequence, 0) + 1
            time.sleep(0.5)

    return send


def test_an_outage_loses_no_stored_result_and_keeps_replicas_ready(cluster, trained, obama_crop):
    database = cluster.database
    refusals: dict[int, int] = {}
    recognitions = Load(post_image(cluster.url + GET_RESULTS, obama_crop), 1, duration=50)
    stores = Load(
        edge_like_store(cluster.url + STORE_RESULTS, obama_crop, refusals),
        concurrency=1,
        duration=OUTAGE_SECONDS + 6,
        keep_body=True,
    )
    with recognitions, stores:
        time.sleep(2.0)
        database.stop()
        stopped_at = time.monotonic()
        seen_down = threading.Event()
        for replica in cluster.replicas:
            status, body = readiness(replica)
            while body.get("database") != "down" and time.monotonic() - stopped_at < 5:
                time.sleep(0.2)
                status, body = readiness(replica)
            assert status == 200, body
            assert body["database"] == "down", body
            assert database_up_metric(replica) == 0.0
            seen_down.set()
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
        database.start()
        for replica in cluster.replicas:
            deadline = time.monotonic() + 10
            while readiness(replica)[1].get("database") != "up":
                assert time.monotonic() < deadline, f"{replica.name} never saw the database back"
                time.sleep(0.2)
            assert database_up_metric(replica) == 1.0
        stores.join()  # its last requests finish, with the database back

    assert seen_down.is_set()
    failed_recognitions = recognitions.failures()
    assert not failed_recognitions, failed_recognitions[:5]
    assert len(recognitions.outcomes) > 10
    failed_stores = stores.failures()
    assert not failed_stores, failed_stores[:5]
    assert refusals, "no store-results was refused: the outage did not happen"

    expected = {f"outage-cam-{o.sequence}": len(o.body["faces"]) for o in stores.outcomes}
    stored = dict(
        database.query(
            "SELECT camera_id, COUNT(*) FROM recognitions WHERE location_id = %s "
            "GROUP BY camera_id",
            ("outage-lab",),
        )
    )
    assert stored == expected  # every answered record once: none lost, none written twice
