"""Webhooks against a real HTTP receiver on 127.0.0.1: signed, retried, never blocking."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workers.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender, signature

SECRET = "a-webhook-secret-of-some-length"


class Receiver(BaseHTTPRequestHandler):
    failures_left = 0
    received: list = []
    reached = threading.Event()
    gate = threading.Event()  # a POST is answered only once this is set

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        cls.reached.set()
        cls.gate.wait()
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(503)
        else:
            cls.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.failures_left, Receiver.received = 0, []
    Receiver.reached.clear()
    Receiver.gate.set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def _wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_events_arrive_signed_after_the_receiver_recovers(receiver):
    Receiver.failures_left = 2
    sender = WebhookSender(receiver, SECRET, first_backoff=0.05)
    sender.send({"label": "obama", "camera_id": "door"})
    assert _wait_for(lambda: Receiver.received)
    headers, body = Receiver.received[0]
    assert json.loads(body) == {"label": "obama", "camera_id": "door"}
    assert headers[SIGNATURE_HEADER] == signature(SECRET, headers[TIMESTAMP_HEADER], body)
    assert signature("another-secret", headers[TIMESTAMP_HEADER], body) != headers[SIGNATURE_HEADER]
    assert _wait_for(lambda: sender.delivered == 1) and sender.failed == 0
    sender.close()


def test_send_returns_while_the_receiver_is_still_answering(receiver):
    """Delivery is the sender's thread's: had send() waited for it, it would wait for the gate."""
    Receiver.gate.clear()
    sender = WebhookSender(receiver, SECRET, attempts=1, timeout=5)
    sender.send({"label": "obama", "camera_id": "door"})
    assert Receiver.reached.wait(10) and not Receiver.received
    Receiver.gate.set()
    assert _wait_for(lambda: sender.delivered == 1)
    sender.close()


def test_an_unreachable_receiver_costs_attempts_not_requests():
    sender = WebhookSender(
        "http://127.0.0.1:9/hook", SECRET, attempts=2, first_backoff=0.01, max_queue=3
    )
    for n in range(10):
        sender.send({"n": n})
    assert _wait_for(lambda: sender.failed + sender.dropped >= 8)
    sender.close()
    assert sender.delivered == 0 and sender.dropped >= 6  # a bounded queue, the oldest dropped
