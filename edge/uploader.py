"""Send crops to the cloud from a worker thread, through a bounded queue that drops the oldest.

When the cloud is slow or down the camera does not wait: new crops push the oldest out of the
queue (counted as dropped), a crop that still fails after the client's retries is counted as
failed, and the worker pauses before the next one so a dead cloud is not hammered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.client import ApiError

log = logging.getLogger(__name__)

Send = Callable[[bytes], dict]
End = Callable[..., object]
OnResult = Callable[[Any, dict], None]


@dataclass
class UploadStats:
    queued: int = 0
    sent: int = 0
    sent_bytes: int = 0
    dropped: int = 0
    failed: int = 0
    rejected: int = 0
    ends: int = 0  # track ends told to the cloud


class Uploader:
    """`submit(jpeg, context, **fields)` never blocks; `on_result(context, answer)` runs on the
    worker thread. `submit_end(**fields)` queues `end(**fields)` behind the crops already queued
    (a track's end reaches the cloud after its crops)."""

    def __init__(
        self,
        send: Send,
        queue_size: int = 64,
        on_result: OnResult | None = None,
        pause_after_failure: float = 1.0,
        max_pause: float = 10.0,
        end: End | None = None,
    ):
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._send = send
        self._end = end
        self._on_result = on_result
        self._queue: deque[tuple[bytes | None, Any, dict]] = deque()
        self._queue_size = queue_size
        self._ready = threading.Condition()
        self._stopping = False
        self._busy = False
        self._pause_after_failure = pause_after_failure
        self._max_pause = max_pause
        self._stats = UploadStats()
        self._thread = threading.Thread(target=self._run, name="facerec-uploader", daemon=True)
        self._thread.start()

    def submit(self, jpeg: bytes, context: Any = None, **fields) -> None:
        """Queue a crop; `fields` (e.g. track_id) go to `send` as keyword arguments."""
        self._put(jpeg, context, fields)

    def submit_end(self, **fields) -> None:
        """Queue `end(**fields)` (e.g. a track's end); nothing when there is no `end`."""
        if self._end is not None:
            self._put(None, None, fields)

    def _put(self, jpeg: bytes | None, context: Any, fields: dict) -> None:
        with self._ready:
            if len(self._queue) >= self._queue_size:
                dropped = self._queue.popleft()
                self._stats.dropped += dropped[0] is not None
            self._queue.append((jpeg, context, fields))
            self._stats.queued += jpeg is not None
            self._ready.notify()

    def stats(self) -> UploadStats:
        with self._ready:
            return UploadStats(**vars(self._stats))

    @property
    def pending(self) -> int:
        with self._ready:
            return len(self._queue) + self._busy

    def _next(self) -> tuple[bytes | None, Any, dict] | None:
        with self._ready:
            while not self._queue and not self._stopping:
                self._ready.wait()
            if not self._queue:
                return None
            self._busy = True
            return self._queue.popleft()

    def _wait(self, seconds: float) -> None:
        """Sleep, but wake up at once when stopping."""
        with self._ready:
            self._ready.wait_for(lambda: self._stopping, timeout=seconds)

    def _run(self) -> None:
        failures = 0
        while (item := self._next()) is not None:
            jpeg, context, fields = item
            if jpeg is None:
                self._send_end(fields)
                continue
            try:
                answer = self._send(jpeg, **fields)
            except ApiError as exc:
                with self._ready:
                    self._busy = False
                    if exc.retryable:
                        self._stats.failed += 1
                    else:
                        self._stats.rejected += 1
                if exc.retryable:
                    failures += 1
                    log.warning("cloud unavailable (%s); crop given up", exc)
                    self._wait(
                        min(self._max_pause, self._pause_after_failure * 2 ** (failures - 1))
                    )
                else:
                    log.info("crop rejected: %s", exc)
                continue
            except Exception:  # a bug in send must not kill the worker and silently stop uploads
                log.exception("unexpected error while sending a crop")
                with self._ready:
                    self._busy = False
                    self._stats.failed += 1
                continue
            failures = 0
            with self._ready:
                self._busy = False
                self._stats.sent += 1
                self._stats.sent_bytes += len(jpeg)
            if self._on_result is not None:
                try:
                    self._on_result(context, answer)
                except Exception:
                    log.exception("result handler failed")

    def _send_end(self, fields: dict) -> None:
        """An end is told once: when the cloud does not take it, its quiet period closes it."""
        try:
            self._end(**fields)
            ended = 1
        except Exception as exc:
            log.info("track end not delivered (%s); the cloud closes it when quiet", exc)
            ended = 0
        with self._ready:
            self._busy = False
            self._stats.ends += ended

    def close(self, drain_timeout: float = 5.0) -> UploadStats:
        """Send what is queued (for at most `drain_timeout` seconds), then stop the worker."""
        deadline = time.monotonic() + drain_timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._ready:
            self._stopping = True
            self._stats.dropped += sum(jpeg is not None for jpeg, _, _ in self._queue)
            self._queue.clear()
            self._ready.notify_all()
        # A crop in flight ends within the client's own timeouts and retries: wait for it, so
        # every queued crop is counted once, as sent, dropped or failed.
        self._thread.join()
        return self.stats()
