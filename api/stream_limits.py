"""How many /events streams may be open at once: per replica, and per API key when auth is on.

One more stream than a cap allows is refused at once, with a JSON error and Retry-After: 503
`too_many_streams` when the replica is full, 429 `too_many_streams_for_key` when the key is.
Both gunicorn's /events (threads) and facerec-events (asyncio) count through `StreamLimits`;
the open streams and the refusals are in /metrics.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from api import metrics

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class Refusal:
    """Why a stream was not opened: the status, the error body's code and message."""

    status: int
    code: str
    message: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


class StreamLimits:
    """Counts open streams; `acquire` says no (a Refusal) or takes a slot to `release` later."""

    def __init__(self, max_streams: int, max_per_key: int):
        self.max_streams = max_streams
        self.max_per_key = max_per_key
        self.open = 0
        self._by_key: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str | None) -> Refusal | None:
        """Take a slot for a stream of `key` (None: auth off), or say why not."""
        with self._lock:
            if self.open >= self.max_streams:
                metrics.EVENT_STREAMS_REFUSED.labels("replica").inc()
                return Refusal(
                    503,
                    "too_many_streams",
                    f"this replica serves {self.max_streams} open event streams already; "
                    "retry later",
                )
            if key is not None and self._by_key.get(key, 0) >= self.max_per_key:
                metrics.EVENT_STREAMS_REFUSED.labels("key").inc()
                return Refusal(
                    429,
                    "too_many_streams_for_key",
                    f"this API key holds {self.max_per_key} open event streams already; "
                    "close one or retry later",
                )
            self.open += 1
            if key is not None:
                self._by_key[key] = self._by_key.get(key, 0) + 1
            metrics.EVENT_STREAMS_OPEN.inc()
            return None

    def release(self, key: str | None) -> None:
        with self._lock:
            self.open -= 1
            if key is not None:
                left = self._by_key.pop(key) - 1
                if left:
                    self._by_key[key] = left
            metrics.EVENT_STREAMS_OPEN.dec()
