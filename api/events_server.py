"""facerec-events: GET /events for every open stream of a replica, in one asyncio process.

gunicorn's /events holds a request thread per stream (2 workers x 4 threads: eight streams fill
a replica). Here an open stream is a socket and a coroutine: a few KB. One `Feed` polls the
database once per FACEREC_EVENTS_POLL_SECONDS for every stream together (one query, not one per
stream), keeps the recent track events in memory and wakes the streams, which pick their
camera's. A stream that resumes from further back (Last-Event-ID older than the memory) reads its
gap from the database, a batch at a time, then joins the others.

The contract is gunicorn's route's (api/routes/events.py, the same bytes through api/sse.py):
API keys checked as api/auth.py checks them (REVIEW scope), Last-Event-ID or `after`, the
`camera` filter, `retry: 2000`, a heartbeat comment every 2 quiet seconds, the end after
FACEREC_EVENTS_STREAM_SECONDS. Open streams are capped per replica (503) and per key (429),
with Retry-After (api/stream_limits.py). The pod's nginx (api/proxy_config.py) routes /events
here and everything else to gunicorn.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess

from api import params, sse
from api.audit import INVALID_KEY, NO_KEY, forwarded_address
from api.auth import HEADER, REVIEW, scope_allows
from api.config import Settings, bind_port
from api.errors import ApiError, error_body
from api.keys import KeyChecker
from api.stream_limits import StreamLimits
from storage import Database, DatabaseUnavailable

FORWARDED = "X-Forwarded-For"
log = logging.getLogger(__name__)

# Recent track events kept in memory for streams that fall behind or resume; older gaps are read
# from the database.
KEEP_EVENTS = 5000
# Batches one poll reads at most before it lets the streams send what it found.
POLL_BATCHES = 10
# Track event ids read into memory when the process starts (at most one poll's worth).
PRELOAD_IDS = POLL_BATCHES * sse.BATCH
# A client that does not take a write within this long is dropped.
WRITE_TIMEOUT_SECONDS = 30.0

SETTINGS = web.AppKey("settings", Settings)


class Feed:
    """New track events for every stream: one poller, a window of recent events in memory."""

    def __init__(
        self, db: Database, poll_seconds: float, keep: int = KEEP_EVENTS, quiet_seconds=10.0
    ):
        self.db = db
        self.poll_seconds = poll_seconds
        self.quiet_seconds = quiet_seconds  # a track this quiet counts as ended
        self.keep = keep
        self.head: int | None = None  # the highest id read; None until the database answered
        self.floor = 0  # every event above `floor`, up to `head`, is in the window
        self._ids: list[int] = []
        self._events: list[tuple[str | None, str]] = []  # (camera, SSE text), as _ids
        self._new = asyncio.Event()

    async def run(self) -> None:
        """Poll until cancelled; a database error waits for the next round."""
        while True:
            try:
                await self.poll_once()
            except (DatabaseUnavailable, OSError) as error:
                log.warning("events: the database did not answer: %s", error)
            except Exception:
                log.exception("events: polling failed")
            await asyncio.sleep(self.poll_seconds)

    async def poll_once(self) -> None:
        after = self.head
        if after is None:
            # A new process starts with the last PRELOAD ids in memory: the streams of a pod
            # that went away reconnect here with their Last-Event-ID, and read nothing more.
            last = await asyncio.to_thread(self.db.last_track_event_id)
            after = max(0, last - PRELOAD_IDS)
        found = await asyncio.to_thread(self._read_new, after)
        if self.head is None:
            self.head = self.floor = after
        if found:
            self._add(found)

    def _add(self, found: list[tuple[int, str | None, str]]) -> None:
        for event_id, camera, text in found:
            self._ids.append(event_id)
            self._events.append((camera, text))
        self.head = self._ids[-1]
        if len(self._ids) > self.keep:
            drop = len(self._ids) - self.keep // 2
            self.floor = self._ids[drop - 1]
            del self._ids[:drop], self._events[:drop]
        woken, self._new = self._new, asyncio.Event()
        woken.set()

    def _read_new(self, after: int) -> list[tuple[int, str | None, str]]:
        found = []
        for _ in range(POLL_BATCHES):
            rows = read_events(self.db, after, None, self.quiet_seconds)
            found += rows
            if len(rows) < sse.BATCH:
                break
            after = rows[-1][0]
        return found

    async def wait(self, timeout: float) -> bool:
        """True when new events came in within `timeout` seconds."""
        try:
            await asyncio.wait_for(self._new.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def catch_up(self, cursor: int, camera: str | None) -> tuple[list[str], int]:
        """The events after `cursor` for `camera` (a batch), and the cursor after them."""
        if cursor >= self.floor:
            start = bisect.bisect_right(self._ids, cursor)
            texts = [text for cam, text in self._events[start:] if camera in (None, cam)]
            return texts, max(cursor, self.head or cursor)
        floor = self.floor
        try:
            rows = await asyncio.to_thread(read_events, self.db, cursor, camera, self.quiet_seconds)
        except (DatabaseUnavailable, OSError):
            return [], cursor  # the stream waits, with heartbeats, and asks again
        if len(rows) < sse.BATCH:
            return [text for _id, _cam, text in rows], max(rows[-1][0] if rows else cursor, floor)
        return [text for _id, _cam, text in rows], rows[-1][0]


def read_events(
    db: Database, after: int, camera: str | None, quiet_seconds: float = 10.0
) -> list[tuple[int, str | None, str]]:
    """One batch of track events above `after` as (id, camera, SSE text)."""
    rows = db.track_events_after(after, sse.BATCH, camera)
    return [(r["id"], r["camera_id"], sse.track_event(r, quiet_seconds)) for r in rows]


def json_error(status: int, code: str, message: str, headers=None) -> web.Response:
    return web.json_response(error_body(code, message), status=status, headers=headers)


class EventServer:
    """The aiohttp application's state: settings, keys, the feed and the stream caps."""

    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or Database(settings.database_url, timeout=settings.database_timeout_seconds)
        self.keys = KeyChecker(
            settings.auth_enabled, settings.api_keys, self.db, secret=settings.key_secret
        )
        self.feed = Feed(
            self.db, settings.events.poll_seconds, quiet_seconds=settings.track_quiet_seconds
        )
        self.limits = StreamLimits(settings.events.max_streams, settings.events.max_streams_per_key)

    def key_of(self, request: web.Request) -> str | None:
        """The caller's key (None with auth off); ApiError 401/403 as api/auth.py answers, the
        refused key's name left in `request["audit_who"]` for the audit trail."""
        if not self.keys.enabled:
            return None
        key = request.headers.get(HEADER, "")
        if not key:
            raise ApiError(f"send an API key in the {HEADER} header", "missing_api_key", 401)
        found = self.keys.identify(key)
        if found is None:
            request["audit_who"] = INVALID_KEY
            raise ApiError("the API key is not valid", "invalid_api_key", 401)
        scope, request["audit_who"] = found
        if not scope_allows(scope, REVIEW):
            raise ApiError(f"this needs a key with the {REVIEW!r} scope", "forbidden", 403)
        return key

    async def audit_refusal(self, request: web.Request, error: ApiError) -> None:
        """A refused key writes one audit row, as it does at the API (api/audit.py)."""
        entry = {
            "who": request.get("audit_who", NO_KEY),
            "address": forwarded_address(request.remote, request.headers.get(FORWARDED, "")),
            "method": request.method,
            "route": "/events",
            "kind": "refused",
            "status": error.status,
            "outcome": error.code,
        }
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.db.record_audit, entry, {})
        except Exception as failure:  # noqa: BLE001 - the refusal stands; the row is logged
            log.error("audit row not written (%s): %s", failure, entry)

    def start_id(self, request: web.Request) -> int:
        raw = request.headers.get("Last-Event-ID") or request.query.get("after")
        try:
            start = sse.parse_start_id(raw)
        except ValueError as error:
            raise ApiError(str(error), "invalid_parameter", 400) from None
        if start is None and self.feed.head is None:
            raise ApiError(
                "the database is unavailable; retry shortly", "database_unavailable", 503
            )
        return self.feed.head if start is None else start

    async def events(self, request: web.Request) -> web.StreamResponse:
        try:
            key = self.key_of(request)
        except ApiError as error:
            await self.audit_refusal(request, error)
            return json_error(error.status, error.code, error.message, error.headers)
        try:
            camera = params.optional_id(request.query, "camera")
            cursor = self.start_id(request)
        except ApiError as error:
            return json_error(error.status, error.code, error.message, error.headers)
        refusal = self.limits.acquire(key)
        if refusal is not None:
            return json_error(refusal.status, refusal.code, refusal.message, refusal.headers)
        try:
            return await self._stream(request, cursor, camera)
        finally:
            self.limits.release(key)

    async def _stream(self, request, cursor: int, camera: str | None) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.events.stream_seconds
        with contextlib.suppress(ConnectionError, TimeoutError):
            await _send(response, sse.RETRY)
            quiet_since = loop.time()
            while (left := deadline - loop.time()) > 0:
                texts, cursor = await self.feed.catch_up(cursor, camera)
                if texts:
                    await _send(response, "".join(texts))
                    quiet_since = loop.time()
                    continue
                await self.feed.wait(min(sse.HEARTBEAT_SECONDS, left))
                if loop.time() - quiet_since >= sse.HEARTBEAT_SECONDS:
                    await _send(response, sse.HEARTBEAT)
                    quiet_since = loop.time()
        return response


async def _send(response: web.StreamResponse, text: str) -> None:
    await asyncio.wait_for(response.write(text.encode()), WRITE_TIMEOUT_SECONDS)


@web.middleware
async def json_errors(request: web.Request, handler):
    """aiohttp's own 404/405 as the API's `{"error", "message"}` JSON."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status, "http_error")
        return json_error(error.status, code, error.reason)


def metrics_text(settings: Settings) -> bytes:
    registry = REGISTRY
    if settings.metrics_dir is not None:
        registry = CollectorRegistry()
        prometheus_multiprocess.MultiProcessCollector(registry, path=str(settings.metrics_dir))
    return generate_latest(registry)


def build_app(server: EventServer) -> web.Application:
    app = web.Application(middlewares=[json_errors])
    app[SETTINGS] = server.settings

    async def healthz(_request):
        return web.json_response({"status": "ok"})

    async def readyz(_request):
        ready = server.feed.head is not None
        return web.json_response({"ready": ready, "streams": server.limits.open})

    async def metrics(_request):
        body = metrics_text(server.settings)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def feed_task(app):
        task = asyncio.create_task(server.feed.run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.router.add_get("/events", server.events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(feed_task)
    return app


def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT; open streams are cut at shutdown (clients reconnect)."""
    host = settings.events.bind.rpartition(":")[0] or "0.0.0.0"
    app = build_app(EventServer(settings))
    web.run_app(
        app,
        host=host,
        port=bind_port(settings.events.bind),
        shutdown_timeout=2.0,
        access_log=None,
        print=None,
        # Thousands of idle streams: the listen backlog must take a burst of reconnects.
        backlog=4096,
        # A client that hangs up ends its stream (and frees its slot) at once, not at the next
        # heartbeat's failed write.
        handler_cancellation=True,
    )
