"""Webhooks: every recorded sighting POSTed as JSON to `FACEREC_WEBHOOK_URL`, never in a request's way.

Events go into a bounded queue (the oldest are dropped, and counted, when the receiver cannot keep
up) and one background thread delivers them, retrying with exponential backoff. The body is
signed so the receiver can check it came from us and is fresh:

    X-Facerec-Timestamp: <unix seconds>
    X-Facerec-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under FACEREC_WEBHOOK_SECRET>
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import logging
import threading
import time

import requests

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Facerec-Signature"
TIMESTAMP_HEADER = "X-Facerec-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookSender:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        max_queue: int = 1000,
        attempts: int = 5,
        first_backoff: float = 0.5,
        timeout: float = 5.0,
    ):
        self.url, self.secret = url, secret
        self.attempts, self.first_backoff, self.timeout = attempts, first_backoff, timeout
        self._queue: collections.deque[dict] = collections.deque(maxlen=max_queue)
        self._wake = threading.Condition()
        self._stopping = False
        self.delivered = self.dropped = self.failed = 0
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        self._thread.start()

    def send(self, event: dict) -> None:
        """Queue an event; returns at once."""
        with self._wake:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(event)
            self._wake.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (for at most `timeout` s), then stop."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout)

    def _next(self) -> dict | None:
        with self._wake:
            while not self._queue and not self._stopping:
                self._wake.wait()
            return self._queue.popleft() if self._queue else None

    def _run(self) -> None:
        while (event := self._next()) is not None:
            self._deliver(event)

    def _deliver(self, event: dict) -> None:
        body = json.dumps(event, separators=(",", ":"), default=str).encode()
        delay = self.first_backoff
        for attempt in range(1, self.attempts + 1):
            timestamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: signature(self.secret, timestamp, body),
            }
            try:
                response = self._session.post(
                    self.url, data=body, headers=headers, timeout=self.timeout
                )
                if response.status_code < 300:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            except requests.RequestException as error:
                problem = type(error).__name__
            if attempt < self.attempts and not self._stopping:
                time.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning(
            "webhook %s gave up on an event after %d attempts (%s)", self.url, attempt, problem
        )
