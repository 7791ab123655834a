"""Reading what a client sent (ids, query strings, form fields, the uploaded image), strictly.

Every helper raises `BadRequest` with a message that names the offending parameter, so a typo
in a client is a clear 400, never a 500 or a silently ignored filter.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import request

from recognition import UNKNOWN

from .errors import BadRequest

# `$` keeps the pattern valid for the OpenAPI spec (ECMA regex); matching is always whole-string
# (fullmatch): Python's `$` also matches before a final newline, which let `obama\n` in.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ID_RULE = "1-64 characters: letters, digits, '_', '.', '-'; starts with a letter or digit; no '..'"
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def valid_id(value: str | None, what: str) -> str:
    """A person/camera/location id safe as a label, a database key and a file name."""
    if value is None or not ID_PATTERN.fullmatch(value) or ".." in value:
        raise BadRequest(f"{what} {value!r} is not a valid id ({ID_RULE})", code="invalid_id")
    return value


def person_id(value: str) -> str:
    valid_id(value, "person id")
    if value.lower() == UNKNOWN:
        raise BadRequest(f"{value!r} is reserved for faces nobody knows", code="invalid_id")
    return value


def boolean(source, name: str, default: bool = False) -> bool:
    raw = source.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest(f"{name} must be true or false, not {raw!r}", code="invalid_parameter")


def integer(source, name: str, default: int, low: int, high: int) -> int:
    raw = source.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadRequest(
            f"{name} must be an integer from {low} to {high}, not {raw!r}",
            code="invalid_parameter",
        )
    return value


def timestamp(source, name: str) -> datetime | None:
    """An ISO 8601 date-time in UTC; one without a zone is taken as UTC.

    Values beyond what any database column holds are clamped: `since=0001-01-01T00:00+01:00`
    means "from the beginning", not a server error."""
    raw = source.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("z", "Z"))
    except ValueError:
        raise BadRequest(
            f"{name} must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z, not {raw!r}",
            code="invalid_parameter",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted across the date line
        value = EARLIEST if value.year < 2000 else LATEST
    return min(max(value, EARLIEST), LATEST)


def optional_id(source, name: str) -> str | None:
    raw = source.get(name)
    return None if raw is None else valid_id(raw, name)


def required_id(source, name: str) -> str:
    if source.get(name) is None:
        raise BadRequest(f"the form field {name!r} is required", code="missing_field")
    return valid_id(source.get(name), name)


def uploaded_image(field: str = "image") -> bytes:
    """The bytes of a multipart file field (Werkzeug enforces the size limit -> 413)."""
    upload = request.files.get(field)
    if upload is None:
        raise BadRequest(
            f"send the image as the multipart/form-data field {field!r}", code="missing_image"
        )
    data = upload.read()
    if not data:
        raise BadRequest(f"the uploaded {field!r} is empty", code="invalid_image")
    return data


def iso(value: datetime | None) -> str | None:
    """Datetimes out of the database as ISO 8601 in UTC (SQLite hands them back naive)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def listing(args, max_per_page: int) -> dict:
    """A listing's query: `person` (an id, or "unknown"), `camera`, `since`, `until`, `page`
    (from 1) and `per_page` (1 to `max_per_page`), checked."""
    person = args.get("person")
    if person is not None and person != UNKNOWN:
        valid_id(person, "person")
    return {
        "person": person,
        "camera": optional_id(args, "camera"),
        "since": timestamp(args, "since"),
        "until": timestamp(args, "until"),
        **paging(args, max_per_page),
    }


def paging(args, max_per_page: int) -> dict:
    """A page's query: `page` (from 1) and `per_page` (1 to `max_per_page`, 50 unless sent)."""
    return {
        "page": integer(args, "page", 1, 1, 1_000_000),
        "per_page": integer(args, "per_page", 50, 1, max_per_page),
    }


def window(args) -> tuple[int, int]:
    """`limit` (1 to 500, 50 unless sent) and `offset` (from 0) of a listing read by offset."""
    return integer(args, "limit", 50, 1, 500), integer(args, "offset", 0, 0, 10**9)
