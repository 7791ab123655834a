"""A small, bounded load generator: threads that send requests and record every outcome.

Every request's status or exception is kept, so a scenario can say "zero failed" and mean it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

# send(session, sequence_number) -> response; the number lets a caller make requests unique.
Send = Callable[[requests.Session, int], requests.Response]


@dataclass(frozen=True)
class Outcome:
    sequence: int
    started: float  # time.monotonic() when it was sent
    seconds: float
    status: int | None  # None when no HTTP answer came back
    error: str | None = None  # the exception, for connection errors and timeouts
    upstream: str | None = None  # nginx's X-Upstream: which replica(s) answered
    body: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post_image(url: str, image: bytes, fields: Callable[[int], dict] | None = None) -> Send:
    """A `Send` that posts `image` as the multipart field `image` (plus form `fields`)."""

    def send(session: requests.Session, sequence: int) -> requests.Response:
        data = fields(sequence) if fields else None
        files = {"image": ("face.jpg", image, "image/jpeg")}
        return session.post(url, files=files, data=data, timeout=60)

    return send


class Load:
    """`concurrency` threads calling `send` until `total` requests, `duration` s or `stop()`.

    Use as a context manager to run it in the background around a scenario:

        with Load(send, concurrency=2, duration=30) as load:
            ...   # kill something
        failures = [o for o in load.outcomes if not o.ok]
    """

    def __init__(
        self,
        send: Send,
        concurrency: int = 2,
        total: int | None = None,
        duration: float | None = None,
        keep_body: bool = False,
    ):
        if total is None and duration is None:
            raise ValueError("bound the load: give total, duration or both")
        self.send = send
        self.concurrency = concurrency
        self.total = total
        self.duration = duration
        self.keep_body = keep_body
        self.outcomes: list[Outcome] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at = 0.0
        self.finished_at = 0.0

    def _take_number(self) -> int | None:
        with self._lock:
            if self._stop.is_set() or (self.total is not None and self._next >= self.total):
                return None
            if self.duration is not None and time.monotonic() - self.started_at > self.duration:
                return None
            self._next += 1
            return self._next - 1

    def _worker(self) -> None:
        with requests.Session() as session:
            while (sequence := self._take_number()) is not None:
                self._record(self._one(session, sequence))

    def _one(self, session: requests.Session, sequence: int) -> Outcome:
        started = time.monotonic()
        try:
            response = self.send(session, sequence)
        except requests.RequestException as error:
            elapsed = time.monotonic() - started
            return Outcome(sequence, started, elapsed, None, f"{type(error).__name__}: {error}")
        elapsed = time.monotonic() - started
        body = None
        if self.keep_body or not 200 <= response.status_code < 300:
            try:
                body = response.json()
            except ValueError:
                body = {"text": response.text[:200]}
        return Outcome(
            sequence,
            started,
            elapsed,
            response.status_code,
            upstream=response.headers.get("X-Upstream"),
            body=body,
        )

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def start(self) -> Load:
        self.started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._worker, name=f"load-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self) -> Load:
        for thread in self._threads:
            thread.join()
        self.finished_at = time.monotonic()
        return self

    def run(self) -> list[Outcome]:
        """Run in the foreground until the bound is reached."""
        self.start().join()
        return self.outcomes

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]

    def latencies(self) -> list[float]:
        return sorted(outcome.seconds for outcome in self.outcomes if outcome.ok)


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


class SlowHeaders:
    """A slow-client attack: `count` sockets, each sending one request header line every
    `interval` s and never finishing, reconnecting whenever the server cuts one (`cut` counts)."""

    def __init__(self, host: str, port: int, count: int, interval: float = 2.0):
        self.host, self.port, self.count, self.interval = host, port, count, interval
        self.stop = threading.Event()
        self.cut = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
        return sock

    def _run(self) -> None:
        socks = [self._connect() for _ in range(self.count)]
        line = 0
        while not self.stop.wait(self.interval):
            line += 1
            for i, sock in enumerate(socks):
                try:
                    sock.sendall(f"X-Slow-{line}: {'a' * 20}\r\n".encode())
                except OSError:
                    self.cut += 1
                    sock.close()
                    try:
                        socks[i] = self._connect()
                    except OSError:
                        continue
        for sock in socks:
            sock.close()

    def __enter__(self) -> SlowHeaders:
        self.thread.start()
        time.sleep(1.0)
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
