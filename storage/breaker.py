"""A circuit breaker: while the database is known to be down, fail at once instead of waiting.

A hung database (it accepts connections but never answers) costs every call its full timeout;
with the breaker only the calls that find out pay it. After `failures_to_open` consecutive
failures, or when the background check reports the database down, calls fail fast for
`open_seconds`; then one call at a time is let through to try again, and the first success
(or a good background check) closes the breaker.
"""

from __future__ import annotations

import threading
import time

from .errors import DatabaseUnavailable


class CircuitBreaker:
    def __init__(self, failures_to_open: int = 2, open_seconds: float = 5.0):
        self.failures_to_open = failures_to_open
        self.open_seconds = open_seconds
        self._failures = 0
        self._open_until: float | None = None  # None: closed
        self._reason = ""
        self._lock = threading.Lock()

    def before_call(self) -> None:
        """Raise DatabaseUnavailable while open; let one trial call through once per period."""
        with self._lock:
            if self._open_until is None:
                return
            now = time.monotonic()
            if now < self._open_until:
                raise DatabaseUnavailable(
                    f"database unavailable: {self._reason} "
                    f"(not retried for {self._open_until - now:.1f} s)"
                )
            self._open_until = now + self.open_seconds  # this caller is the trial

    def raise_if_open(self) -> None:
        """Raise DatabaseUnavailable while open, without taking the period's trial call: a
        caller about to do costly work for a write fails before the work, not after it."""
        with self._lock:
            if self._open_until is not None and time.monotonic() < self._open_until:
                raise DatabaseUnavailable(f"database unavailable: {self._reason}")

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None

    def failed(self, reason: str, *, open_now: bool = False) -> None:
        with self._lock:
            self._failures += 1
            self._reason = reason
            if open_now or self._failures >= self.failures_to_open:
                self._open_until = time.monotonic() + self.open_seconds
