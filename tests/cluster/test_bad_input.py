"""1,000 malformed requests through nginx: every one a 4xx, and the replicas do not bloat."""

from __future__ import annotations

import itertools
import os

import requests

from scripts.cluster.loadgen import Load
from scripts.cluster.processes import rss_bytes
from scripts.cluster.steps import GET_RESULTS, STORE_RESULTS, upload

REQUESTS = 1000
MAX_MEMORY_GROWTH = 0.20
JPEG_HEAD = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")


def malformed_requests(obama_crop: bytes):
    """(name, send) pairs, each a request the API must refuse with a 4xx."""
    boundary = "facerec-broken"
    broken_multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + obama_crop[:500]  # never closed
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    just_over_api_limit = os.urandom(10 * 1024 * 1024 + 4096)
    over_nginx_limit = b"\0" * (12 * 1024 * 1024)

    def post(path, **kwargs):
        return lambda s, _: s.post(path, timeout=60, **kwargs)

    def get(path):
        return lambda s, _: s.get(path, timeout=60)

    return [
        ("no image field", post(GET_RESULTS, data={"camera_id": "x"})),
        ("text file", post(GET_RESULTS, files=upload(b"hello, not an image", "a.txt"))),
        ("random bytes", post(GET_RESULTS, files=upload(os.urandom(2048)))),
        ("truncated jpeg", post(GET_RESULTS, files=upload(obama_crop[: len(obama_crop) // 3]))),
        ("jpeg header only", post(GET_RESULTS, files=upload(JPEG_HEAD))),
        ("empty file", post(GET_RESULTS, files=upload(b""))),
        ("json, not multipart", post(GET_RESULTS, json={"image": "aGVsbG8="})),
        ("broken multipart", post(GET_RESULTS, data=broken_multipart, headers=multipart)),
        (
            "bad boolean",
            post(GET_RESULTS, files=upload(obama_crop), data={"include_predictions": "maybe"}),
        ),
        (
            "camera id too long",
            post(
                STORE_RESULTS,
                files=upload(obama_crop),
                data={"camera_id": "c" * 300, "location_id": "l"},
            ),
        ),
        (
            "camera id with slashes",
            post(
                STORE_RESULTS,
                files=upload(obama_crop),
                data={"camera_id": "../../etc", "location_id": "l"},
            ),
        ),
        ("body over the API limit", post(GET_RESULTS, files=upload(just_over_api_limit))),
        ("body over nginx's limit", post(GET_RESULTS, data=over_nginx_limit, headers=multipart)),
        ("path trick id", post("/dataset/..%2F..%2Fetc")),
        ("id too long", post("/dataset/" + "a" * 200)),
        ("id with spaces", post("/dataset/bad%20id")),
        ("image for nobody", post("/dataset/nobody-here/image", files=upload(obama_crop))),
        ("unknown person", get("/database/nobody-here/last-known-location")),
        ("job id not a number", get("/model/jobs/not-a-number")),
        ("job that does not exist", get("/model/jobs/987654321")),
        ("negative page", get("/recognitions?page=-1")),
        ("page not a number", get("/recognitions?page=abc")),
        ("since not a date", get("/recognitions?since=yesterday-ish")),
        ("delete nobody", lambda s, _: s.delete("/dataset/nobody-here", timeout=60)),
        ("wrong method", lambda s, _: s.put(GET_RESULTS, timeout=60)),
    ]


def replica_memory(cluster) -> dict[str, int]:
    """Resident bytes of each replica's master and workers together."""
    return {
        replica.name: sum(rss_bytes(pid) for pid in [replica.pid, *replica.worker_pids()])
        for replica in cluster.replicas
    }


def test_a_thousand_malformed_requests_get_4xx_and_memory_stays_flat(cluster, trained, obama_crop):
    cases = malformed_requests(obama_crop)
    # Huge bodies are a few per cent of the load: enough to show they are refused.
    weighted = [case for case in cases if "limit" not in case[0]] * 8 + [
        case for case in cases if "limit" in case[0]
    ]
    plan = list(itertools.islice(itertools.cycle(weighted), REQUESTS))

    def send(session, sequence):
        _, request = plan[sequence]
        return request(_Prefixed(session, cluster.url), sequence)

    Load(send, concurrency=2, total=20).run()  # warm every worker's allocator first
    before = replica_memory(cluster)
    load = Load(send, concurrency=4, total=REQUESTS)
    outcomes = load.run()
    after = replica_memory(cluster)

    assert len(outcomes) == REQUESTS
    wrong = [
        (plan[o.sequence][0], o.status, o.error, o.body)
        for o in outcomes
        if o.status is None or not 400 <= o.status < 500
    ]
    assert not wrong, wrong[:5]
    for name in before:
        growth = (after[name] - before[name]) / before[name]
        assert growth <= MAX_MEMORY_GROWTH, f"{name}: {before[name]} -> {after[name]} bytes"


class _Prefixed:
    """A requests.Session whose paths are relative to one base URL."""

    def __init__(self, session: requests.Session, base: str):
        self._session, self._base = session, base

    def __getattr__(self, method):
        call = getattr(self._session, method)
        return lambda path, **kwargs: call(self._base + path, **kwargs)
