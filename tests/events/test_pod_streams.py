"""Issue 21: /events and slow clients on one pod's real processes (scripts/cluster/pod.py):
gunicorn with the shipped gunicorn.conf.py, facerec-events and nginx (facerec-proxy) in front.

Streams are served by facerec-events, never by a gunicorn thread; one over a cap is refused at
once with JSON and Retry-After; nginx holds slow clients away from gunicorn."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from api.keys import key_name
from scripts.cluster.pod import LocalPod
from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.conftest import ROOT, people_images
from tests.hardening.test_gunicorn_errors import BAD_REQUESTS

REVIEW_KEY = "review-" + "r" * 24
OTHER_REVIEW_KEY = "review-" + "o" * 24
REVIEW = {"X-API-Key": REVIEW_KEY}
RECOGNIZE = {"X-API-Key": RECOGNIZE_KEY}
ADMIN = {"X-API-Key": ADMIN_KEY}
WHO = {
    "missing_api_key": "no-key",
    "invalid_api_key": "invalid-key",
    "forbidden": key_name("recognize", RECOGNIZE_KEY),
}
MAX_STREAMS, PER_KEY, PER_CLIENT = 4, 2, 8
STREAM_SECONDS = 5
HEADER_TIMEOUT = 3


@pytest.fixture(scope="module")
def pod(tmp_path_factory, bundle_dir):
    root = tmp_path_factory.mktemp("pod")
    (root / "metrics").mkdir()
    keys = f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY},review:{REVIEW_KEY}"
    env = {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(root / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{root}/facerec.db",
        "FACEREC_API_KEYS": f"{keys},review:{OTHER_REVIEW_KEY}",
        "PROMETHEUS_MULTIPROC_DIR": str(root / "metrics"),
        "FACEREC_EVENTS_MAX_STREAMS": str(MAX_STREAMS),
        "FACEREC_EVENTS_MAX_STREAMS_PER_KEY": str(PER_KEY),
        "FACEREC_EVENTS_STREAM_SECONDS": str(STREAM_SECONDS),
        "FACEREC_PROXY_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
        "FACEREC_PROXY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "FACEREC_PROXY_BODY_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        "FACEREC_MAX_UPLOAD_MB": "2",
    }
    with LocalPod(root, env) as started:
        yield started


def store(pod, camera: str) -> None:
    with open(people_images()["obama"][0], "rb") as photo:
        stored = requests.post(
            f"{pod.url}/face-recognition/store-results",
            files={"image": photo},
            data={"camera_id": camera, "location_id": "hall"},
            headers=RECOGNIZE,
            timeout=30,
        )
    assert stored.status_code == 200, stored.text


class Listener:
    """A stream read in a thread: its SSE fields as (name, value) lines."""

    def __init__(self, url: str, headers: dict[str, str]):
        self.lines: list[tuple[float, str]] = []
        self.response = requests.get(url, headers=headers, stream=True, timeout=30)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                self.lines.append((time.monotonic(), line))
        except Exception:  # closed by the test
            return

    def events(self) -> list[dict]:
        return [json.loads(line[6:]) for _t, line in self.lines if line.startswith("data: ")]

    def close(self) -> None:
        self.response.close()


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_track_event_reaches_the_stream_through_the_proxy_within_about_a_second(pod):
    everything = Listener(f"{pod.url}/events", REVIEW)
    door_only = Listener(f"{pod.url}/events?camera=door", REVIEW)
    try:
        assert everything.response.headers["Content-Type"].startswith("text/event-stream")
        time.sleep(1.2)  # "from now" is the feed's head
        store(pod, "gate")
        store(pod, "door")
        stored = time.monotonic()
        assert wait_for(lambda: len(everything.events()) == 2, 5), everything.lines
        assert wait_for(lambda: door_only.events(), 5), door_only.lines
        arrived = next(t for t, line in door_only.lines if line.startswith("data: "))
        assert arrived - stored < 1.6
        assert [e["track"]["camera_id"] for e in everything.events()] == ["gate", "door"]
        assert [e["track"]["camera_id"] for e in door_only.events()] == ["door"]
        # A crop sent without a track id is a track of its own: one 'start', already ended.
        assert all(e["kind"] == "start" and e["track"]["ended"] for e in everything.events())
    finally:
        everything.close()
        door_only.close()
    first = everything.events()[0]["id"]
    # Last-Event-ID resumes after the given id; `after` does the same.
    for headers, query in (({"Last-Event-ID": str(first)}, ""), ({}, f"?after={first}")):
        resumed = Listener(f"{pod.url}/events{query}", {**REVIEW, **headers})
        try:
            assert wait_for(lambda r=resumed: r.events(), 5), resumed.lines
            assert resumed.events()[0]["track"]["camera_id"] == "door"
        finally:
            resumed.close()


def test_a_stream_ends_after_its_time_with_retry_and_heartbeats(pod):
    started = time.monotonic()
    with requests.get(f"{pod.url}/events", headers=REVIEW, stream=True, timeout=30) as stream:
        body = b"".join(stream.iter_content(None))
    took = time.monotonic() - started
    assert STREAM_SECONDS - 0.5 < took < STREAM_SECONDS + 3
    assert body.startswith(b"retry: 2000\n\n") and b": still here\n\n" in body


@pytest.mark.parametrize(
    ("headers", "query", "status", "code"),
    [
        ({}, "", 401, "missing_api_key"),
        ({"X-API-Key": "nope" * 8}, "", 401, "invalid_api_key"),
        (RECOGNIZE, "", 403, "forbidden"),
        (REVIEW, "?after=x1", 400, "invalid_parameter"),
        (REVIEW, "?camera=../x", 400, "invalid_id"),
    ],
)
def test_refusals_are_the_apis_json_errors(pod, headers, query, status, code):
    answer = requests.get(f"{pod.url}/events{query}", headers=headers, timeout=10)
    assert answer.status_code == status
    assert answer.json()["error"] == code and answer.json()["message"]
    # A refused key is one row in the audit trail, as at the API; a bad parameter is not.
    audit = requests.get(
        f"{pod.url}/audit", params={"route": "/events"}, headers=ADMIN, timeout=10
    ).json()
    refused = [
        row for row in audit["entries"] if row["outcome"] == code and row["kind"] == "refused"
    ]
    assert len(refused) == (1 if status in (401, 403) else 0), audit
    if refused:
        assert refused[0]["who"] == WHO[code] and refused[0]["status"] == status


def test_streams_over_a_cap_are_refused_at_once_with_retry_after(pod):
    streams = [Listener(f"{pod.url}/events", REVIEW) for _ in range(PER_KEY)]
    try:
        assert all(s.response.status_code == 200 for s in streams)
        over_key = requests.get(f"{pod.url}/events", headers=REVIEW, timeout=5)
        assert over_key.status_code == 429, over_key.text
        assert over_key.headers["Retry-After"] == "5"
        assert over_key.json()["error"] == "too_many_streams_for_key"
        other = {"X-API-Key": OTHER_REVIEW_KEY}
        streams += [Listener(f"{pod.url}/events", other) for _ in range(MAX_STREAMS - PER_KEY)]
        assert all(s.response.status_code == 200 for s in streams)
        full = requests.get(f"{pod.url}/events", headers={"X-API-Key": ADMIN_KEY}, timeout=5)
        assert full.status_code == 503 and full.headers["Retry-After"] == "5"
        assert full.json()["error"] == "too_many_streams"
        # Recognition does not wait for any of them.
        started = time.monotonic()
        store(pod, "door")
        assert time.monotonic() - started < 5
        metrics = requests.get(f"{pod.api_url}/metrics", timeout=10).text
        assert f"facerec_event_streams_open {float(MAX_STREAMS)}" in metrics
        assert 'facerec_event_streams_refused_total{reason="key"}' in metrics
        assert 'facerec_event_streams_refused_total{reason="replica"}' in metrics
    finally:
        for stream in streams:
            stream.close()
    assert wait_for(lambda: requests.get(pod.events_url + "/readyz").json()["streams"] == 0, 5)


def trickle(port: int, stop: threading.Event, closed: list[float]) -> None:
    """Request headers one line a second, never finished; notes when the server hangs up."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        line = 0
        while not stop.wait(1.0):
            line += 1
            try:
                sock.sendall(f"X-Slow-{line}: {'a' * 20}\r\n".encode())
                sock.settimeout(0.01)
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    closed.append(time.monotonic() - started)


def test_slow_headers_are_held_and_cut_by_the_proxy_not_gunicorn(pod):
    port = int(pod.url.rsplit(":", 1)[1])
    stop, closed = threading.Event(), []
    slow = [threading.Thread(target=trickle, args=(port, stop, closed)) for _ in range(20)]
    for client in slow:
        client.start()
    try:
        time.sleep(0.5)
        for _ in range(3):
            started = time.monotonic()
            store(pod, "door")
            assert time.monotonic() - started < 3
        assert wait_for(lambda: len(closed) == len(slow), HEADER_TIMEOUT + 5), closed
        assert max(closed) < HEADER_TIMEOUT + 3
    finally:
        stop.set()
        for client in slow:
            client.join()


def test_one_client_over_its_connections_gets_429_json(pod):
    port = int(pod.url.rsplit(":", 1)[1])
    held = []
    try:
        for _ in range(PER_CLIENT):  # whole headers, a body that never comes
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /face-recognition/get-results HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n"
            )
            held.append(sock)
        time.sleep(0.3)
        answer = requests.get(f"{pod.url}/healthz", timeout=5)
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "5"
        assert answer.json()["error"] == "too_many_connections"
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda: requests.get(f"{pod.url}/healthz").status_code == 200, 5)


def test_bodies_over_the_upload_limit_and_gunicorns_own_errors_are_json(pod):
    too_big = requests.post(
        f"{pod.url}/face-recognition/get-results",
        files={"image": ("a.jpg", b"x" * (3 * 1024 * 1024))},
        headers=RECOGNIZE,
        timeout=30,
    )
    assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
    long_line = requests.get(f"{pod.url}/{'a' * 5000}", timeout=10)
    assert long_line.status_code == 414 and long_line.json()["error"] == "uri_too_long"
    many = {f"X-H{i}": "v" for i in range(150)}
    too_many = requests.get(f"{pod.url}/healthz", headers=many, timeout=10)
    assert too_many.status_code == 431
    assert too_many.json()["error"] == "header_fields_too_large"


def raw_answer(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; (status, headers, body), the body read to its Content-Length
    (nginx keeps the connection open after answers that gunicorn closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer and (chunk := sock.recv(65536)):
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        while len(body) < int(headers.get("content-length", 0)) and (chunk := sock.recv(65536)):
            body += chunk
    return int(status_line.split()[1]), headers, body


NGINX_REQUESTS = {
    **BAD_REQUESTS,
    "uri-over-16k": (
        b"GET /" + b"a" * 17000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        414,
        "uri_too_long",
    ),
    "header-over-16k": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 17000 + b"\r\n\r\n",
        431,
        "header_fields_too_large",
    ),
}


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"), NGINX_REQUESTS.values(), ids=NGINX_REQUESTS
)
def test_malformed_requests_through_the_proxy_are_json(pod, request_bytes, status, code):
    """What gunicorn answers itself is still JSON through nginx, and so is what nginx answers."""
    port = int(pod.url.rsplit(":", 1)[1])
    got, headers, body = raw_answer(port, request_bytes)
    assert got == status, body[:300]
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == code
