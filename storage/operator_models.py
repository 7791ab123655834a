"""The operators' tables: API keys and their names, the audit trail, watchlist tags and alert
rules with their alerts, label corrections and the negatives they keep. Same `Base` and conventions as `models.py` (one schema, one DDL file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .models import MAX_ID_LENGTH, Base, _table_args
from .types import BigId, Code, UtcDateTime


def _cascading(kind, target: str, **options):
    """A column referring to `target` ("table.column"): the row goes when that row does."""
    return mapped_column(kind, ForeignKey(target, ondelete="CASCADE"), **options)


class ApiKey(Base):
    """Only the key's sha256 is stored: a leaked table does not leak working keys."""

    __tablename__ = "api_keys"
    __table_args__ = _table_args(UniqueConstraint("key_sha256"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_sha256: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiKeyName(Base):
    """The name an audit shows for a configured key (a table of its own: `api_keys` rows written
    before keys had names stay valid without a migration)."""

    __tablename__ = "api_key_names"
    __table_args__ = _table_args(UniqueConstraint("name"))

    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))


class AuditEntry(Base):
    """One read of biometric data, one change or one refused key: who (a key's name, never the
    key), when, from where, which route and the outcome. Append-only: no route changes a row;
    only retention (FACEREC_AUDIT_RETENTION_DAYS) deletes them."""

    __tablename__ = "audit_log"
    __table_args__ = _table_args(
        Index(None, "at"), Index(None, "who", "at"), Index(None, "route", "at")
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    who: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    address: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(255))  # the rule: /unknowns/<int:group_id>
    kind: Mapped[str] = mapped_column(String(8))  # read, change or refused
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))  # ok or the error's code


class AuditTarget(Base):
    """What an audited request was about (`person_id` obama, `group_id` 3), one row each, so
    an audit can ask for everything done to one person."""

    __tablename__ = "audit_targets"
    __table_args__ = _table_args(Index(None, "value"))

    audit_id: Mapped[int] = _cascading(BigId, "audit_log.id", primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))


class PersonTag(Base):
    """A label an operator puts on a person (a watchlist), for alert rules to match on."""

    __tablename__ = "person_tags"
    __table_args__ = _table_args(Index(None, "tag"))

    person_id: Mapped[str] = _cascading(String(MAX_ID_LENGTH), "people.id", primary_key=True)
    tag: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)


class AlertRule(Base):
    """Who, where and when raises an alert (`spec`: JSON, storage/alert_rules.py), where it is
    POSTed, and how long one (person or unknown, camera) stays quiet after an alert."""

    __tablename__ = "alert_rules"
    __table_args__ = _table_args()

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    spec: Mapped[str] = mapped_column(Text)
    destination: Mapped[str | None] = mapped_column(String(2048))
    cooldown_seconds: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Alert(Base):
    """A rule matched a track: at most one per (rule, track). Its `track_events` row (kind
    'alert') puts it in the one ordered stream of /events; a deleted rule leaves its alerts."""

    __tablename__ = "alerts"
    __table_args__ = _table_args(
        UniqueConstraint("event_id"),
        UniqueConstraint("rule_id", "track_id"),
        Index(None, "rule_id", "subject", "camera_id", "at"),  # the cooldown's question
        Index(None, "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = _cascading(BigId, "track_events.id")
    rule_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("alert_rules.id", ondelete="SET NULL")
    )
    rule_name: Mapped[str] = mapped_column(String(128))
    track_id: Mapped[int] = _cascading(BigId, "tracks.id")
    camera_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    subject: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))  # the person id, or 'unknown'
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LabelChange(Base):
    """A correction of a label ('is', 'not', 'undo'), kept forever: no foreign keys."""

    __tablename__ = "label_changes"
    __table_args__ = _table_args(
        Index(None, "camera_id", "track_key"), Index(None, "recognition_id")
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    who: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(16))  # 'track' or 'sighting'
    camera_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    track_key: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    recognition_id: Mapped[int | None] = mapped_column(BigId)
    from_label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    to_label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    undoes: Mapped[int | None] = mapped_column(BigId)
    undone_by: Mapped[int | None] = mapped_column(BigId)


class PersonNegative(Base):
    """A face (int8 codes) an operator said is NOT `person_id`: a negative of theirs at training."""

    __tablename__ = "person_negatives"
    __table_args__ = _table_args(Index(None, "embedding_space"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    change_id: Mapped[int] = _cascading(BigId, "label_changes.id")
    person_id: Mapped[str] = _cascading(String(MAX_ID_LENGTH), "people.id")
    embedding_space: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    code: Mapped[bytes] = mapped_column(Code)


class _ChangePart:
    """A row that belongs to one label change (part of its key, deleted with it)."""

    __table_args__ = _table_args()

    # First, as in the DDL: a mixin's columns otherwise follow the class's own.
    change_id: Mapped[int] = _cascading(BigId, "label_changes.id", primary_key=True, sort_order=-1)


class LabelChangeSighting(_ChangePart, Base):
    """A sighting a change relabelled, and its label before: what undo puts back."""

    __tablename__ = "label_change_sightings"

    recognition_id: Mapped[int] = _cascading(BigId, "recognitions.id", primary_key=True)
    from_label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))


class LabelChangeImage(_ChangePart, Base):
    """An enrolment image an 'is' change made from a track's good crops: undo deletes it."""

    __tablename__ = "label_change_images"

    image_id: Mapped[int] = _cascading(Integer, "images.id", primary_key=True)
