"""One JSON shape for every error: `{"error": <short code>, "message": <human text>}`.

Clients (the edge uploader, the CLIs) branch on `error` and show `message`; nothing the service
answers is ever an HTML page or a bare 500 traceback.
"""

from __future__ import annotations

import errno
import logging

from flask import g, jsonify, request
from flask_restx import Api
from werkzeug.exceptions import HTTPException

from recognition import InvalidImage
from storage import AlreadyExists, DatabaseUnavailable, ImageTooLarge, NotFound

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client caused (or must wait out), with its status and short code."""

    status = 400
    code = "bad_request"

    def __init_subclass__(cls, status: int | None = None, code: str | None = None, **kwargs):
        """A kind of error is one line: `class Conflict(ApiError, status=409, code="conflict")`."""
        super().__init_subclass__(**kwargs)
        cls.status, cls.code = status or cls.status, code or cls.code

    def __init__(
        self,
        message: str,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.headers = dict(headers or {})


class BadRequest(ApiError, status=400, code="bad_request"): ...


class Unauthorized(ApiError, status=401, code="unauthorized"): ...


class Forbidden(ApiError, status=403, code="forbidden"): ...


class Conflict(ApiError, status=409, code="conflict"): ...


class Unprocessable(ApiError, status=422, code="unprocessable"): ...


class ServiceUnavailable(ApiError, status=503, code="unavailable"): ...


# What the storage and recognition layers raise, as (status, code).
_DOMAIN_ERRORS = (
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "already_exists"),
    (ImageTooLarge, 413, "image_too_large"),
    (InvalidImage, 400, "invalid_image"),
)
# The driver's words (host, port, errno) are for the log, not for clients.
DATABASE_UNAVAILABLE = "the database is unavailable; retry in a few seconds"

# Werkzeug's names for the HTTP errors the framework raises itself (404, 405, 413, ...).
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str) -> dict:
    return {"error": code, "message": message}


def describe(error: Exception) -> tuple[int, str, str, dict]:
    """(status, code, message, extra headers) for any exception; logs what deserves it, once:
    a line for a database outage, a traceback for a bug, nothing for the client's mistakes."""
    g.described_error = error
    if isinstance(error, DatabaseUnavailable):
        log.warning("%s %s: 503, %s", request.method, request.path, error)
        return 503, "database_unavailable", DATABASE_UNAVAILABLE, {}
    if isinstance(error, ApiError):
        return error.status, error.code, error.message, error.headers
    for kind, status, code in _DOMAIN_ERRORS:
        if isinstance(error, kind):
            return status, code, str(error), {}
    if isinstance(error, HTTPException):
        status = error.code or 500
        headers = {}
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        code = _HTTP_CODES.get(status, "http_error" if status < 500 else "internal_error")
        return status, code, error.description or error.name, headers
    log.exception("unhandled error", exc_info=error)
    return 500, "internal_error", "the server failed to handle the request", {}


# An upload refused for its size is still read (and dropped) up to this many bytes: a server
# that answers and closes while the client, or nginx in front of it, is still sending makes the
# kernel reset the connection, and the proxy reports a 502 instead of our 413.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024


def _drain_refused_body(response):
    """after_request: whichever handler answered 413, the unread body is consumed first."""
    if response.status_code == 413:
        _drain_body()
    return response


def _drain_body() -> None:
    stream = request.environ.get("wsgi.input")
    remaining = min(request.content_length or 0, DRAIN_LIMIT_BYTES)
    while stream is not None and remaining > 0:
        chunk = stream.read(min(remaining, 1 << 16))
        if not chunk:
            return
        remaining -= len(chunk)


def _json_response(error: Exception):
    status, code, message, headers = describe(error)
    response = jsonify(error_body(code, message))
    response.status_code = status
    response.headers.update(headers)
    return response


def register_error_handlers(app, api: Api) -> None:
    """Route every error through `describe`, whether flask-restx or Flask dispatched it."""

    @api.errorhandler(Exception)
    def restx_error(error):
        status, code, message, headers = describe(error)
        return error_body(code, message), status, headers

    app.register_error_handler(Exception, _json_response)
    app.register_error_handler(HTTPException, _json_response)
    app.after_request(_drain_refused_body)
    app.log_exception = _unless_described(app.log_exception)


def _unless_described(log_exception):
    """flask-restx logs a traceback for every 5xx it answers, a 503 for a database outage
    included; describe() has already logged those errors the way they deserve."""

    def log_undescribed(exc_info):
        if exc_info is None or exc_info[1] is not g.get("described_error"):
            log_exception(exc_info)

    return log_undescribed


FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


def model_store_error(error: OSError) -> ApiError:
    """A model store that cannot be written: full (507) or read-only/unreachable (503)."""
    if error.errno in FULL_ERRNOS:
        return ApiError(
            f"the model store is full: {error.strerror}", code="model_store_full", status=507
        )
    read_only = error.errno in READ_ONLY_ERRNOS
    return ServiceUnavailable(
        f"the model store cannot be written: {error.strerror or error}",
        code="model_store_read_only" if read_only else "model_store_unavailable",
    )
