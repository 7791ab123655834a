"""Alert rules as values: who, where and when a track must be for a rule to fire.

Plain Python (no database), so a rule is checked the same way wherever a track event is
written. A rule's lists are each "any of these"; an empty list (or no `unknown`) places no
condition on that part: a rule with nobody named matches everybody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from recognition import UNKNOWN

from .models import MAX_ID_LENGTH

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_LIST = 200  # ids in one list of a rule
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class RuleSpec:
    """What a track must be: a person of `people` or tagged with one of `tags`, or a stranger
    (`unknown`, or one of the `unknown_groups`), at one of `cameras` / `locations`, on one of
    `weekdays` between `start` and `end` (minutes after midnight, site time; `end` before
    `start` crosses midnight and the weekday is the one the window starts on)."""

    people: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    unknown: bool = False
    unknown_groups: tuple[int, ...] = ()
    cameras: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    weekdays: tuple[int, ...] = ()
    start: int | None = None
    end: int | None = None

    def needs_group(self) -> bool:
        return bool(self.unknown_groups)

    def names_someone(self) -> bool:
        return bool(self.people or self.tags or self.unknown or self.unknown_groups)

    def who(self, person: str | None, tags: set[str], groups: set[int]) -> bool:
        """Whether the track's person (None: a stranger) is one the rule is about."""
        if not self.names_someone():
            return True
        if person is not None:
            return person in self.people or bool(tags.intersection(self.tags))
        return self.unknown or bool(groups.intersection(self.unknown_groups))

    def where(self, camera: str, location: str | None) -> bool:
        return (not self.cameras or camera in self.cameras) and (
            not self.locations or location in self.locations
        )

    def when(self, at: datetime, zone: tzinfo) -> bool:
        """Whether `at` (aware) falls in the rule's window, read in the site's time zone."""
        local = at.astimezone(zone)
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if self.start is None or self.start == self.end:
            return self._on(day)
        if self.start < self.end:
            return self.start <= minute < self.end and self._on(day)
        if minute >= self.start:
            return self._on(day)
        return minute < self.end and self._on((local - timedelta(days=1)).weekday())

    def _on(self, day: int) -> bool:
        return not self.weekdays or day in self.weekdays

    def to_json(self) -> dict:
        return {
            "people": list(self.people),
            "tags": list(self.tags),
            "unknown": self.unknown,
            "unknown_groups": list(self.unknown_groups),
            "cameras": list(self.cameras),
            "locations": list(self.locations),
            "weekdays": [WEEKDAYS[day] for day in self.weekdays],
            "start": _clock(self.start),
            "end": _clock(self.end),
        }


def _clock(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _ids(body: dict, name: str) -> tuple[str, ...]:
    value = body.get(name) or []
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise ValueError(f"{name} must be a list of at most {MAX_LIST} ids")
    for item in value:
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_ID_LENGTH:
            raise ValueError(f"each of {name} must be a string of 1 to {MAX_ID_LENGTH} characters")
    return tuple(dict.fromkeys(value))


def _minutes(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{name} must be a time of day as HH:MM (00:00 to 23:59)")
    return int(match[1]) * 60 + int(match[2])


def _weekdays(body: dict) -> tuple[int, ...]:
    value = body.get("weekdays") or []
    if not isinstance(value, list) or any(day not in WEEKDAYS for day in value):
        raise ValueError(f"weekdays must be a list of {', '.join(WEEKDAYS)}")
    return tuple(sorted({WEEKDAYS.index(day) for day in value}))


def _groups(body: dict) -> tuple[int, ...]:
    value = body.get("unknown_groups") or []
    valid = isinstance(value, list) and len(value) <= MAX_LIST
    if not valid or any(type(group) is not int or group < 1 for group in value):
        raise ValueError(f"unknown_groups must be a list of at most {MAX_LIST} group ids")
    return tuple(sorted(set(value)))


def parse_spec(body: dict) -> RuleSpec:
    """A rule's conditions from its JSON (the API's or the stored); ValueError says what is wrong."""
    unknown = body.get("unknown", False)
    if not isinstance(unknown, bool):
        raise ValueError("unknown must be true or false")
    start, end = _minutes(body, "start"), _minutes(body, "end")
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    return RuleSpec(
        people=_ids(body, "people"),
        tags=_ids(body, "tags"),
        unknown=unknown,
        unknown_groups=_groups(body),
        cameras=_ids(body, "cameras"),
        locations=_ids(body, "locations"),
        weekdays=_weekdays(body),
        start=start,
        end=end,
    )


def subject_of(person: str | None) -> str:
    """What the cooldown counts per: the person, or every stranger together."""
    return person if person is not None else UNKNOWN
