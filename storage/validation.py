"""Checks on the values a query is given, so a bad one is a ValueError, not a database error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .models import MAX_ID_LENGTH


def aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return value


def check_id(value, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ValueError(f"{what} must be a string of 1 to {MAX_ID_LENGTH} characters")
    return value


def optional_id(value, what: str) -> str | None:
    return None if value is None else check_id(value, what)


def seen_filters(
    table, *, camera_id=None, location_id=None, since=None, until=None, at: str = "recognized_at"
) -> list:
    """SQL conditions on a table of sightings (camera_id, location_id and the time column `at`):
    the ids that are given must match, `since` is inclusive and `until` exclusive."""
    conditions = [
        getattr(table, column) == value
        for column, value in (("camera_id", camera_id), ("location_id", location_id))
        if value is not None
    ]
    if since is not None:
        conditions.append(getattr(table, at) >= aware(since, "since"))
    if until is not None:
        conditions.append(getattr(table, at) < aware(until, "until"))
    return conditions


MAX_PER_PAGE = 1000


def check_page(page: int, per_page: int, most: int = MAX_PER_PAGE) -> None:
    if page < 1 or not 1 <= per_page <= most:
        raise ValueError(f"page starts at 1 and per_page is 1 to {most}")


@dataclass(frozen=True)
class Listing:
    """What a page of a listing of sightings or tracks asks for: `person` matches the label, so
    "unknown" lists the strangers; `camera` the camera; `since` (inclusive) and `until`
    (exclusive) bound the listing's time column; `page` from 1, `per_page` rows a page."""

    person: str | None = None
    camera: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    per_page: int = 50

    def where(self, table, at: str) -> list:
        """The SQL conditions on `table`, whose time column is `at`. A page out of range, or a
        naive time, is a ValueError."""
        check_page(self.page, self.per_page)
        conditions = seen_filters(
            table, camera_id=self.camera, since=self.since, until=self.until, at=at
        )
        if self.person is not None:
            conditions.append(table.label == self.person)
        return conditions
