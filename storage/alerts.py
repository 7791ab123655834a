"""Alerts: rules an operator sets, checked in the transaction that writes a track's event.

An alert is a `track_events` row of kind 'alert' (so /events keeps one ordered id space and
every stream, resume and replica sees alerts exactly as it sees track events) plus an `alerts`
row saying which rule, and whether someone acknowledged it. A rule fires at most once per track
(a unique key on (rule, track), and the track's row is locked by the writer), and not again for
the same person (or any stranger) at the same camera within its cooldown: the rule's row is
locked while that is checked, so two replicas cannot both raise it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import delete, insert, select, update

from .alert_rules import RuleSpec, parse_spec, subject_of
from .errors import NotFound
from .models import Person, Recognition, Track, TrackEvent
from .operator_models import Alert, AlertRule, PersonTag
from .paging import sliced
from .rows import columns
from .transactions import retry_deadlocks
from .validation import check_id

MAX_TAGS = 20
_RULE_SETTINGS = ("cooldown_seconds", "destination", "created_at")
_ALERT_COLUMNS = (
    "id", "event_id", "rule_id", "rule_name", "camera_id", "subject", "at", "acked_at"
)  # fmt: skip
# Every crop that starts a track or changes its label reads the rules (most sites have none):
# built once and run on the Core connection, its rows carry the rules' columns as attributes.
_RULES = select(AlertRule.__table__).order_by(AlertRule.__table__.c.id)


def _rule_dict(rule: AlertRule) -> dict:
    spec = parse_spec(json.loads(rule.spec)).to_json()
    return {**columns(rule, "id", "name"), **spec, **columns(rule, *_RULE_SETTINGS)}


def _alert_dict(alert: Alert) -> dict:
    return columns(alert, *_ALERT_COLUMNS)


def _track_facts(session, track_id: int, groups_needed: bool) -> tuple:
    """(track row as the transaction left it, its person's tags, its crops' unknown groups)."""
    track = session.execute(
        select(Track.id, Track.camera_id, Track.location_id, Track.person_id, Track.label).where(
            Track.id == track_id
        )
    ).one()
    tags, groups = set(), set()
    if track.person_id is not None:
        tags = set(
            session.scalars(select(PersonTag.tag).where(PersonTag.person_id == track.person_id))
        )
    elif groups_needed:
        groups = set(
            session.scalars(
                select(Recognition.unknown_group_id)
                .where(Recognition.track_id == track_id, Recognition.unknown_group_id.is_not(None))
                .distinct()
            )
        )
    return track, tags, groups


def _raise(session, rule, track, at: datetime) -> int | None:
    """Write the rule's alert for the track (its event id), unless the rule fired for this
    track already or for the same subject at this camera within its cooldown."""
    session.execute(select(AlertRule.id).where(AlertRule.id == rule.id).with_for_update())
    mine = (Alert.rule_id == rule.id, Alert.track_id == track.id)
    if session.scalar(select(Alert.id).where(*mine)) is not None:
        return None
    subject = subject_of(track.person_id)
    if rule.cooldown_seconds > 0:
        recent = session.scalar(
            select(Alert.id)
            .where(Alert.rule_id == rule.id, Alert.subject == subject)
            .where(Alert.camera_id == track.camera_id)
            .where(Alert.at > at - timedelta(seconds=rule.cooldown_seconds))
            .limit(1)
        )
        if recent is not None:
            return None
    event_id = session.execute(
        insert(TrackEvent).values(
            track_id=track.id, camera_id=track.camera_id, kind="alert", label=track.label, at=at
        )
    ).inserted_primary_key[0]
    session.execute(
        insert(Alert).values(
            event_id=event_id, rule_id=rule.id, rule_name=rule.name, track_id=track.id,
            camera_id=track.camera_id, subject=subject, at=at,
        )
    )  # fmt: skip
    return event_id


def raise_alerts(session, track_id: int, wrote_event: bool, at: datetime, zone: tzinfo) -> list:
    """The alert events a crop of a track raises (in the caller's transaction, the track's row
    locked). Rules are checked when the crop wrote a 'start' or 'label' event; rules about
    unknown groups also on the crops after (the grouper names a stranger's group a second or
    so after the crop)."""
    rules = session.connection().execute(_RULES).all()
    specs = [(rule, parse_spec(json.loads(rule.spec))) for rule in rules]
    if not wrote_event:
        specs = [(rule, spec) for rule, spec in specs if spec.needs_group()]
    if not specs:
        return []
    track, tags, groups = _track_facts(session, track_id, any(s.needs_group() for _, s in specs))
    written = []
    for rule, spec in specs:
        if _matches(spec, track, tags, groups, at, zone):
            event = _raise(session, rule, track, at)
            if event is not None:
                written.append(event)
    return written


def _matches(spec: RuleSpec, track, tags, groups, at: datetime, zone: tzinfo) -> bool:
    return (
        spec.who(track.person_id, tags, groups)
        and spec.where(track.camera_id, track.location_id)
        and spec.when(at, zone)
    )


def attach_alerts(session, rows: list[dict]) -> list[dict]:
    """Give each 'alert' track event its `alert` (rule, subject, ack) and the rule's destination."""
    ids = [row["id"] for row in rows if row["kind"] == "alert"]
    if not ids:
        return rows
    found = {
        alert.event_id: {**_alert_dict(alert), "destination": destination}
        for alert, destination in session.execute(
            select(Alert, AlertRule.destination)
            .outerjoin(AlertRule, AlertRule.id == Alert.rule_id)
            .where(Alert.event_id.in_(ids))
        ).all()
    }
    for row in rows:
        if row["id"] in found:
            row["alert"] = found[row["id"]]
    return rows


class AlertStore:
    """The alerts part of `Database` (a mixin: it uses the facade's `_transaction`).
    `site_timezone` is the zone rules' weekdays and hours are read in (the service sets it)."""

    site_timezone: tzinfo = UTC

    def add_alert_rule(
        self, name: str, spec: RuleSpec, destination: str | None, cooldown_seconds: float
    ) -> dict:
        with self._transaction(write=True) as session:
            rule = AlertRule(
                name=name, spec=json.dumps(spec.to_json()), destination=destination,
                cooldown_seconds=float(cooldown_seconds), created_at=datetime.now(UTC),
            )  # fmt: skip
            session.add(rule)
            session.flush()
            return _rule_dict(rule)

    def alert_rules(self) -> list[dict]:
        with self._transaction() as session:
            return [
                _rule_dict(r) for r in session.scalars(select(AlertRule).order_by(AlertRule.id))
            ]

    def delete_alert_rule(self, rule_id: int) -> None:
        """Delete a rule; its alerts stay (with the rule's name, `rule_id` null)."""
        with self._transaction(write=True) as session:
            if session.execute(delete(AlertRule).where(AlertRule.id == rule_id)).rowcount == 0:
                raise NotFound(f"no alert rule {rule_id}")

    def alerts(self, limit: int = 50, offset: int = 0, unacked: bool = False) -> tuple[list, int]:
        """The newest alerts first, each with its track (as GET /tracks/... has it); the total."""
        where = (Alert.acked_at.is_(None),) if unacked else ()
        newest = select(Alert).order_by(Alert.id.desc())
        with self._transaction() as session:
            result, total = sliced(session, newest, Alert, where, limit=limit, offset=offset)
            rows = result.scalars().all()
            return [
                {**_alert_dict(a), "track": self._track_row(session, a.track_id)} for a in rows
            ], total

    @retry_deadlocks
    def ack_alert(self, alert_id: int, at: datetime | None = None) -> dict:
        """Acknowledge an alert (again: it keeps its first acknowledgement)."""
        with self._transaction(write=True) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise NotFound(f"no alert {alert_id}")
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.acked_at.is_(None))
                .values(acked_at=at or datetime.now(UTC))
            )
            session.refresh(alert)
            return {**_alert_dict(alert), "track": self._track_row(session, alert.track_id)}

    def person_tags(self, person_id: str) -> list[str]:
        with self._transaction() as session:
            if session.get(Person, person_id) is None:
                raise NotFound(f"no person {person_id!r}")
            where = PersonTag.person_id == person_id
            return list(session.scalars(select(PersonTag.tag).where(where).order_by(PersonTag.tag)))

    @retry_deadlocks
    def set_person_tags(self, person_id: str, tags: list[str]) -> list[str]:
        """Replace a person's tags (in one transaction); the tags, sorted."""
        tags = sorted({check_id(tag, "tag") for tag in tags})
        if len(tags) > MAX_TAGS:
            raise ValueError(f"a person has at most {MAX_TAGS} tags")
        with self._transaction(write=True) as session:
            if session.get(Person, person_id, with_for_update=True) is None:
                raise NotFound(f"no person {person_id!r}")
            session.execute(delete(PersonTag).where(PersonTag.person_id == person_id))
            for tag in tags:
                session.execute(insert(PersonTag).values(person_id=person_id, tag=tag))
            return tags
