"""The tables, in SQLAlchemy 2 typed declarative style.

`db-gen/face_recognition_db.sql` is the same schema written out for MariaDB; a test reflects both
and demands they are identical, so change them together. The operators' tables (API keys,
the audit trail, alert rules) are in `operator_models.py`, on the same `Base`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import BigId, Blob, Code, UtcDateTime

MAX_ID_LENGTH = 64  # person, camera and location ids, model versions
# float32, little-endian: SFace and dlib's ResNet give 128 numbers, their fusion 256, CASIA 512.
EMBEDDING_DIMS = (128, 256, 512)

# Named constraints, so the DDL file can name them the same and the parity test compares names.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}
# utf8mb4_bin: ids compare byte for byte, as they do in SQLite ("Obama" and "obama" are two people).
MARIADB_TABLE_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _table_args(*constraints) -> tuple:
    return (*constraints, MARIADB_TABLE_OPTIONS)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = _table_args()

    id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Image(Base):
    """An enrolment photo, kept so the whole dataset can be re-embedded by a new bundle."""

    __tablename__ = "images"
    __table_args__ = _table_args(UniqueConstraint("person_id", "sha256"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(
        String(MAX_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE")
    )
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(Blob)
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Embedding(Base):
    """One embedding per image, tagged with the bundle that computed it (embeddings of two
    bundles live in different spaces and must never be mixed in one training set)."""

    __tablename__ = "embeddings"
    __table_args__ = _table_args(Index(None, "bundle_version"))

    image_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    bundle_version: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ImageQuality(Base):
    """How good a face an enrolment image holds (recognition.tracks.crop_quality of its
    subject), measured when it was enrolled; images enrolled before have no row."""

    __tablename__ = "image_qualities"
    __table_args__ = _table_args()

    image_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    quality: Mapped[float] = mapped_column(Double)


class TrainingJob(Base):
    __tablename__ = "training_jobs"
    __table_args__ = _table_args()

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    model_version: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    error: Mapped[str | None] = mapped_column(Text)


class Lock(Base):
    """A lease: whoever holds an unexpired row owns the lock; a dead holder's lease runs out."""

    __tablename__ = "locks"
    __table_args__ = _table_args()

    name: Mapped[str] = mapped_column(String(MAX_ID_LENGTH), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Recognition(Base):
    """One face seen by a camera. `person_id` is NULL for strangers; `label` says what the model said."""

    __tablename__ = "recognitions"
    __table_args__ = _table_args(
        Index(None, "person_id", "recognized_at"),
        Index(None, "label", "recognized_at"),
        Index(None, "camera_id", "recognized_at"),
        Index(None, "recognized_at"),
        Index(None, "unknown_group_id", "recognized_at"),  # a group's sightings; its span
        Index(None, "track_id", "quality"),  # a track's crops, best first: its evidence
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str | None] = mapped_column(
        String(MAX_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    confidence: Mapped[float] = mapped_column(Double)
    camera_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    location_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    box_left: Mapped[float] = mapped_column(Double)
    box_top: Mapped[float] = mapped_column(Double)
    box_right: Mapped[float] = mapped_column(Double)
    box_bottom: Mapped[float] = mapped_column(Double)
    model_version: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    recognized_at: Mapped[datetime] = mapped_column(UtcDateTime())
    threshold: Mapped[float | None] = mapped_column(Double)  # what naming needed (None: no model)
    unknown_group_id: Mapped[int | None] = mapped_column(Integer)  # strangers seen again
    # The track this face is the crop of (NULL: another face in the crop, or its track is
    # gone), how good a face it is (recognition.tracks.crop_quality) and whether it is grey
    # (infrared). On the row, not in a table of their own: one insert fewer for every crop.
    track_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("tracks.id", ondelete="SET NULL")
    )
    quality: Mapped[float | None] = mapped_column(Double)
    grey: Mapped[int | None] = mapped_column(Integer)
    # The face as int8 codes (recognition.gallery.encode) in the embedding space that made them:
    # a track's evidence, the crops a search reranks, the faces a group enrols. On the row (in
    # it: VARBINARY), not in a table of their own: one insert fewer for every sighting. NULL
    # for a recognition stored without its face.
    embedding_space: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    code: Mapped[bytes | None] = mapped_column(Code)


def _recognition_key():
    """The primary key of a table that keeps one thing per recognition, gone with the row."""
    return mapped_column(
        BigId,
        ForeignKey("recognitions.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    )


class SightingThumbnail(Base):
    """A recognition's face as a small JPEG (recognition.sighting.thumbnail), to look at."""

    __tablename__ = "sighting_thumbnails"
    __table_args__ = _table_args()

    recognition_id: Mapped[int] = _recognition_key()
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


class Track(Base):
    """One person passing one camera: every crop an edge sent under one track id, decided
    together (its crops are the `recognitions` rows naming it). `label`, `score` and
    `threshold` are the decision over its best crops so far."""

    __tablename__ = "tracks"
    __table_args__ = _table_args(
        UniqueConstraint("camera_id", "track_key"),
        Index(None, "person_id", "last_seen_at"),
        Index(None, "label", "last_seen_at"),
        Index(None, "last_seen_at"),
        Index(None, "ended_at", "last_seen_at"),  # the open tracks gone quiet (track_closer)
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    track_key: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))  # the edge's track id
    location_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    crops: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str | None] = mapped_column(
        String(MAX_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE")
    )
    label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    score: Mapped[float] = mapped_column(Double)
    threshold: Mapped[float | None] = mapped_column(Double)
    faces: Mapped[int] = mapped_column(Integer)  # crops the decision averaged
    model_version: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    # While open: its best crops, as their read would return them (storage/track_window.py).
    # Deferred: only a crop joining the track reads it.
    best_crops: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)


class TrackEvent(Base):
    """What happened to a track, append-only, written in the transaction that changed it:
    'start' (created, or a crop after its end), 'label' (its decided label changed), 'end'.
    Ids only grow: live streams (GET /events) read the rows above the last id they sent."""

    __tablename__ = "track_events"
    __table_args__ = _table_args(Index(None, "camera_id", "id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    track_id: Mapped[int] = mapped_column(BigId, ForeignKey("tracks.id", ondelete="CASCADE"))
    camera_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))  # the track's label after it
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class TrackCode(Base):
    """A track's face for search and grouping: the normalised mean of its best crops' embeddings
    as int8 codes, one row per track. Re-deciding a track replaces its row, so `id` only grows:
    a replica's in-memory index (storage/track_index.py) catches up by reading the ids above the
    last it saw. Time, camera and location are copies, so a search reads this table alone."""

    __tablename__ = "track_codes"
    __table_args__ = (
        UniqueConstraint("track_id"),
        {**MARIADB_TABLE_OPTIONS, "sqlite_autoincrement": True},  # SQLite never reuses an id
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)  # change id
    track_id: Mapped[int] = mapped_column(BigId, ForeignKey("tracks.id", ondelete="CASCADE"))
    embedding_space: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    camera_id: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    location_id: Mapped[str | None] = mapped_column(String(MAX_ID_LENGTH))
    code: Mapped[bytes] = mapped_column(Code)


class UnknownGroup(Base):
    """Faces nobody could name that look like one person (workers/grouper.py groups them)."""

    __tablename__ = "unknown_groups"
    __table_args__ = _table_args(Index(None, "last_seen_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    embedding_space: Mapped[str] = mapped_column(String(MAX_ID_LENGTH))
    size: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cover_id: Mapped[int | None] = mapped_column(BigId)  # the sighting that shows the group
