"""`Database`: every query the service makes, behind one small facade.

Each method is one short transaction. Callers get plain values (tuples, dicts, numpy arrays),
never ORM objects, so nothing lazy-loads after the session is gone. Any sign that the database
is unreachable becomes `DatabaseUnavailable`, which the web layer turns into a 503.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from api.config import API_KEY_SCOPES

from .breaker import CircuitBreaker
from .engine import SQLITE_WRITE, create_storage_engine
from .errors import AlreadyExists, DatabaseUnavailable, ImageTooLarge, NotFound
from .models import (
    EMBEDDING_DIMS,
    MAX_ID_LENGTH,
    ApiKey,
    Base,
    Embedding,
    Image,
    Lock,
    Person,
    Recognition,
    TrainingJob,
)
from .sightings import SightingStore, sighting_dict

JOB_STATES = ("queued", "running", "succeeded", "failed")
FINISHED_JOB_STATES = ("succeeded", "failed")
MAX_PER_PAGE = 1000
KEY_DIGEST = re.compile(r"[0-9a-f]{64}")
# PyMySQL sends bytes hex-encoded (two characters a byte) inside one packet of at most the
# server's max_allowed_packet; this much is left for the rest of the INSERT.
STATEMENT_OVERHEAD = 64 * 1024


MARIADB_DEADLOCK = 1213
MARIADB_LOCK_WAIT_TIMEOUT = 1205
MARIADB_NO_SUCH_TABLE = 1146
CONFLICT_ATTEMPTS = 3
# A health check must answer well within the readiness probe's period.
PING_TIMEOUT_SECONDS = 2.0


def _retry_deadlocks(method):
    """Run a write again when MariaDB chose it as a deadlock's victim.

    InnoDB breaks a deadlock by rolling one transaction back whole; running that transaction
    again is safe and almost always succeeds, so the caller never sees the conflict.
    """

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return method(self, *args, **kwargs)
            except DatabaseUnavailable as error:
                if attempt + 1 == CONFLICT_ATTEMPTS or not _is_deadlock(error.__cause__):
                    raise
                time.sleep(0.05 * 2**attempt)

    return run


def _error_code(error) -> int | None:
    arguments = getattr(getattr(error, "orig", None), "args", ())
    return arguments[0] if arguments and isinstance(arguments[0], int) else None


def _is_deadlock(error) -> bool:
    return _error_code(error) == MARIADB_DEADLOCK


def _is_missing_table(error) -> bool:
    return _error_code(error) == MARIADB_NO_SUCH_TABLE or "no such table" in str(error)


def _is_busy(error) -> bool:
    """The database answered, but another transaction was in the way: no sign of an outage."""
    return _error_code(error) in (MARIADB_DEADLOCK, MARIADB_LOCK_WAIT_TIMEOUT) or (
        "database is locked" in str(error)
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return value


def _check_id(value, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise ValueError(f"{what} must be a string of 1 to {MAX_ID_LENGTH} characters")
    return value


def _optional_id(value, what: str) -> str | None:
    return None if value is None else _check_id(value, what)


def _embedding_bytes(embedding) -> bytes:
    vector = np.asarray(embedding, dtype="<f4")
    if vector.ndim != 1 or len(vector) not in EMBEDDING_DIMS or not np.all(np.isfinite(vector)):
        raise ValueError(
            f"an embedding is {' or '.join(map(str, EMBEDDING_DIMS))} finite numbers, "
            f"got shape {vector.shape}"
        )
    return vector.tobytes()


def _embedding_matrix(blobs: list[bytes]) -> np.ndarray:
    """One embedding space's vectors as [n, dim] float32; they must all have one size."""
    if not blobs:
        return np.zeros((0, EMBEDDING_DIMS[0]), np.float32)
    if len({len(blob) for blob in blobs}) != 1 or len(blobs[0]) // 4 not in EMBEDDING_DIMS:
        raise ValueError("a stored embedding has the wrong size")
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)


def _key_digest(digest: str) -> str:
    """API keys arrive as HMAC-SHA256 hex digests (api/web/auth.py); never as keys."""
    if not isinstance(digest, str) or not KEY_DIGEST.fullmatch(digest):
        raise ValueError("an API key digest is 64 lowercase hex characters")
    return digest


def _job_dict(job: TrainingJob) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "model_version": job.model_version,
        "error": job.error,
    }


class Database(SightingStore):
    """The storage facade. `url` is any SQLAlchemy URL: a SQLite file or mysql+pymysql://..."""

    def __init__(self, url: str, *, timeout: float = 5.0):
        self.url = url
        self._engine = create_storage_engine(url, timeout)
        self._probe = (
            self._engine
            if self.dialect == "sqlite"
            else create_storage_engine(url, min(timeout, PING_TIMEOUT_SECONDS), pooled=False)
        )
        self._reads = sessionmaker(self._engine, expire_on_commit=False)
        writer = self._engine.execution_options(**{SQLITE_WRITE: True})
        self._writes = sessionmaker(writer, expire_on_commit=False)
        self._max_image_bytes: int | None = None
        self.breaker = CircuitBreaker()
        # False until create_schema succeeds, and again when a query finds a table missing
        # (the database was recreated or its tables dropped): the owner calls create_schema.
        self.schema_ready = False

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self):
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        """Drop pooled connections (call after fork, or when done)."""
        self._engine.dispose()
        self._probe.dispose()

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Session]:
        """One transaction; DatabaseUnavailable if the database cannot serve it now.

        Unreachable or hung: the breaker counts it and soon fails calls at once. A missing
        table: `schema_ready` turns False so the owner recreates the schema; 503 meanwhile.
        """
        self.breaker.before_call()
        sessions = self._writes if write else self._reads
        try:
            with sessions() as session, session.begin():
                yield session
        except ProgrammingError as error:
            if not _is_missing_table(error):
                raise
            self.schema_ready = False
            raise DatabaseUnavailable(
                f"the database has no {getattr(error, 'orig', error)}; the schema is being "
                "created again, retry"
            ) from error
        except (OperationalError, InterfaceError, PoolTimeout) as error:
            reason = getattr(error, "orig", None) or error
            if _is_missing_table(error):
                self.schema_ready = False
            elif not _is_busy(error):
                self.breaker.failed(str(reason))
            raise DatabaseUnavailable(f"database unavailable: {reason}") from error
        self.breaker.succeeded()

    def create_schema(self, attempts: int = 5) -> None:
        """Create missing tables (idempotent).

        Every worker of every replica calls this at start-up; when two race, one CREATE TABLE
        fails with "already exists" and the next attempt skips the tables that are there.
        """
        for attempt in range(attempts):
            try:
                Base.metadata.create_all(self._engine)
                self.schema_ready = True
                return
            except (OperationalError, InterfaceError, PoolTimeout) as error:
                if attempt == attempts - 1:
                    reason = getattr(error, "orig", None) or error
                    raise DatabaseUnavailable(f"cannot create the schema: {reason}") from error
                time.sleep(0.1 * (attempt + 1))

    def ping(self) -> bool:
        """True when the database answers SELECT 1 within PING_TIMEOUT_SECONDS. Never raises.

        It always asks, on a fresh connection, whatever the breaker says: it is what closes
        the breaker when the database is back, and opens it at once when it is not.
        """
        try:
            with self._probe.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            self.breaker.failed(str(getattr(error, "orig", None) or error), open_now=True)
            return False
        self.breaker.succeeded()
        return True

    # --- people and images ---------------------------------------------------------------

    @_retry_deadlocks
    def add_person(self, person_id: str) -> None:
        _check_id(person_id, "person_id")
        try:
            with self._transaction(write=True) as session:
                session.add(Person(id=person_id, created_at=_now()))
        except IntegrityError as error:
            raise AlreadyExists(f"person {person_id!r} already exists") from error

    def person_exists(self, person_id: str) -> bool:
        with self._transaction() as session:
            return session.get(Person, person_id) is not None

    def existing_people(self, person_ids) -> set[str]:
        """Which of these ids are still enrolled (a trained model may outlive a deletion)."""
        person_ids = sorted(set(person_ids))
        if not person_ids:
            return set()
        with self._transaction() as session:
            return set(session.scalars(select(Person.id).where(Person.id.in_(person_ids))))

    def list_people(self) -> list[tuple[str, int]]:
        """(person_id, number_of_images), sorted by id."""
        query = (
            select(Person.id, func.count(Image.id))
            .outerjoin(Image, Image.person_id == Person.id)
            .group_by(Person.id)
            .order_by(Person.id)
        )
        with self._transaction() as session:
            return [(person_id, count) for person_id, count in session.execute(query)]

    @_retry_deadlocks
    def delete_person(self, person_id: str) -> None:
        """Remove the person; the foreign keys cascade to images, embeddings and recognitions."""
        with self._transaction(write=True) as session:
            deleted = session.execute(delete(Person).where(Person.id == person_id)).rowcount
        if not deleted:
            raise NotFound(f"no person {person_id!r}")

    @_retry_deadlocks
    def add_image(
        self, person_id: str, data: bytes, embedding, bundle_version: str
    ) -> tuple[int, bool]:
        """Store an image with its embedding: (image_id, created).

        The same bytes for the same person are stored once: a repeat returns the first id and
        `created=False`. Concurrent callers are serialised by the unique (person_id, sha256).
        """
        vector = _embedding_bytes(embedding)
        _check_id(bundle_version, "bundle_version")
        if not isinstance(data, bytes | bytearray) or not data:
            raise ValueError("image data must be non-empty bytes")
        if len(data) > self.max_image_bytes():
            raise ImageTooLarge(
                f"the image has {len(data)} bytes; this database stores at most "
                f"{self.max_image_bytes()} (raise MariaDB's max_allowed_packet)"
            )
        digest = hashlib.sha256(data).hexdigest()
        try:
            with self._transaction(write=True) as session:
                if session.get(Person, person_id) is None:
                    raise NotFound(f"no person {person_id!r}")
                existing = self._image_id(session, person_id, digest)
                if existing is not None:
                    return existing, False
                now = _now()
                image = Image(
                    person_id=person_id,
                    sha256=digest,
                    data=bytes(data),
                    size_bytes=len(data),
                    created_at=now,
                )
                session.add(image)
                session.flush()
                session.add(
                    Embedding(
                        image_id=image.id,
                        vector=vector,
                        bundle_version=bundle_version,
                        created_at=now,
                    )
                )
                return image.id, True
        except IntegrityError:
            # Another caller stored the same image first, or deleted the person meanwhile.
            with self._transaction() as session:
                existing = self._image_id(session, person_id, digest)
            if existing is None:
                raise NotFound(f"no person {person_id!r}") from None
            return existing, False

    def max_image_bytes(self) -> int:
        """The largest image one INSERT can carry: MariaDB refuses (and drops the connection
        on) a statement above its max_allowed_packet, 16 MiB by default, i.e. ~8 MB of image."""
        if self._max_image_bytes is None:
            if self.dialect in ("mysql", "mariadb"):
                with self._transaction() as session:
                    packet = int(session.scalar(text("SELECT @@max_allowed_packet")))
                self._max_image_bytes = max(0, (packet - STATEMENT_OVERHEAD) // 2)
            else:
                self._max_image_bytes = 1_000_000_000  # SQLite's default SQLITE_MAX_LENGTH
        return self._max_image_bytes

    @staticmethod
    def _image_id(session: Session, person_id: str, digest: str) -> int | None:
        return session.scalar(
            select(Image.id).where(Image.person_id == person_id, Image.sha256 == digest)
        )

    def iter_images(self, batch_size: int = 16) -> Iterator[tuple[int, str, bytes]]:
        """(image_id, person_id, data) for every image, in id order, a few at a time.

        Each batch is its own short transaction, so re-embedding a large dataset neither holds
        every photo in memory nor keeps a transaction open for minutes.
        """
        last_id = 0
        while True:
            query = (
                select(Image.id, Image.person_id, Image.data)
                .where(Image.id > last_id)
                .order_by(Image.id)
                .limit(batch_size)
            )
            with self._transaction() as session:
                rows = [tuple(row) for row in session.execute(query)]
            if not rows:
                return
            yield from rows
            last_id = rows[-1][0]

    @_retry_deadlocks
    def replace_embedding(self, image_id: int, embedding, bundle_version: str) -> None:
        vector = _embedding_bytes(embedding)
        _check_id(bundle_version, "bundle_version")
        try:
            with self._transaction(write=True) as session:
                if session.get(Image, image_id) is None:
                    raise NotFound(f"no image {image_id}")
                stored = session.get(Embedding, image_id)
                if stored is None:
                    stored = Embedding(image_id=image_id)
                    session.add(stored)
                stored.vector = vector
                stored.bundle_version = bundle_version
                stored.created_at = _now()
        except IntegrityError as error:  # the image was deleted after the check above
            raise NotFound(f"no image {image_id}") from error

    def training_set(self, embedding_space: str) -> tuple[np.ndarray, list[str]]:
        """The embeddings of one space (an embedder's name and weights; the column keeps its
        old name, bundle_version), [n, dim] float32, and their person ids."""
        query = (
            select(Embedding.vector, Image.person_id)
            .join(Image, Image.id == Embedding.image_id)
            .where(Embedding.bundle_version == embedding_space)
            .order_by(Image.id)
        )
        with self._transaction() as session:
            rows = session.execute(query).all()
        return _embedding_matrix([vector for vector, _ in rows]), [person for _, person in rows]

    # --- training jobs ----------------------------------------------------------

    @_retry_deadlocks
    def create_job(self, kind: str) -> dict:
        if not isinstance(kind, str) or not 1 <= len(kind) <= 32:
            raise ValueError("a job kind is a string of 1 to 32 characters")
        with self._transaction(write=True) as session:
            job = TrainingJob(kind=kind, state="queued", created_at=_now())
            session.add(job)
            session.flush()
            return _job_dict(job)

    @_retry_deadlocks
    def update_job(
        self,
        job_id: int,
        state: str,
        error: str | None = None,
        model_version: str | None = None,
    ) -> dict:
        """Move a job to `state`; the start and finish times are stamped on the way."""
        if state not in JOB_STATES:
            raise ValueError(f"a job state is one of {JOB_STATES}, not {state!r}")
        with self._transaction(write=True) as session:
            job = session.get(TrainingJob, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            job.state = state
            if state == "running" and job.started_at is None:
                job.started_at = _now()
            if state in FINISHED_JOB_STATES:
                job.finished_at = _now()
            if error is not None:
                job.error = error
            if model_version is not None:
                job.model_version = model_version
            return _job_dict(job)

    @_retry_deadlocks
    def fail_unfinished_jobs(self, error: str, keep: int | None = None) -> int:
        """Mark every queued or running job but `keep` as failed; returns how many.

        Call it right after taking the training lease: any other unfinished job belonged to a
        worker that died holding the lease, and would otherwise say "running" forever.
        """
        conditions = [TrainingJob.state.in_(("queued", "running"))]
        if keep is not None:
            conditions.append(TrainingJob.id != keep)
        with self._transaction(write=True) as session:
            return session.execute(
                update(TrainingJob)
                .where(*conditions)
                .values(state="failed", error=error, finished_at=_now())
                .execution_options(synchronize_session=False)
            ).rowcount

    def get_job(self, job_id: int) -> dict:
        with self._transaction() as session:
            job = session.get(TrainingJob, job_id)
            if job is None:
                raise NotFound(f"no job {job_id}")
            return _job_dict(job)

    # --- leases (one training job across every replica) ------------------------------------

    def _lease_clock(self, session: Session) -> datetime:
        """The database's clock for MariaDB, so replicas with skewed clocks agree on expiry."""
        if self.dialect in ("mysql", "mariadb"):
            return session.scalar(text("SELECT UTC_TIMESTAMP(6)")).replace(tzinfo=UTC)
        return _now()

    @_retry_deadlocks
    def try_acquire_lock(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Take the lease `name` for `ttl_seconds`: True if it was free, expired or already ours."""
        _check_id(name, "lock name")
        try:
            with self._transaction(write=True) as session:
                now = self._lease_clock(session)
                expires = now + timedelta(seconds=ttl_seconds)
                taken = session.execute(
                    update(Lock)
                    .where(Lock.name == name, or_(Lock.expires_at <= now, Lock.holder == holder))
                    .values(holder=holder, acquired_at=now, expires_at=expires)
                    .execution_options(synchronize_session=False)
                ).rowcount
                if taken:
                    return True
                if session.get(Lock, name) is not None:
                    return False  # someone else's live lease
                session.add(Lock(name=name, holder=holder, acquired_at=now, expires_at=expires))
                return True
        except IntegrityError:
            return False  # another holder inserted the row first

    @_retry_deadlocks
    def renew_lock(self, name: str, holder: str, ttl_seconds: float) -> bool:
        """Extend our lease; False if it is no longer ours (it expired and was taken over)."""
        with self._transaction(write=True) as session:
            now = self._lease_clock(session)
            return bool(
                session.execute(
                    update(Lock)
                    .where(Lock.name == name, Lock.holder == holder)
                    .values(expires_at=now + timedelta(seconds=ttl_seconds))
                    .execution_options(synchronize_session=False)
                ).rowcount
            )

    @_retry_deadlocks
    def release_lock(self, name: str, holder: str) -> None:
        """Give the lease back (a no-op if it is not ours any more)."""
        with self._transaction(write=True) as session:
            session.execute(delete(Lock).where(Lock.name == name, Lock.holder == holder))

    # --- recognitions ---------------------------------------------------------------------

    @_retry_deadlocks
    def add_recognitions(self, rows: Iterable[dict]) -> None:
        """Record faces seen by cameras, all or none.

        A `person_id` the database no longer knows (deleted after the model was trained) is
        stored as NULL with its label kept, rather than failing the whole batch.
        """
        values = [self._recognition_values(row) for row in rows]
        if not values:
            return
        named = {value["person_id"] for value in values if value["person_id"] is not None}
        with self._transaction(write=True) as session:
            known = set(session.scalars(select(Person.id).where(Person.id.in_(named))))
            for value in values:
                if value["person_id"] not in known:
                    value["person_id"] = None
            session.execute(Recognition.__table__.insert(), values)

    @staticmethod
    def _recognition_values(row: dict) -> dict:
        left, top, right, bottom = (float(v) for v in row["box"])
        recognized_at = row.get("recognized_at") or _now()
        return {
            "person_id": _optional_id(row.get("person_id"), "person_id"),
            "label": _check_id(row["label"], "label"),
            "confidence": float(row["confidence"]),
            "camera_id": _optional_id(row.get("camera_id"), "camera_id"),
            "location_id": _optional_id(row.get("location_id"), "location_id"),
            "box_left": left,
            "box_top": top,
            "box_right": right,
            "box_bottom": bottom,
            "model_version": _optional_id(row.get("model_version"), "model_version"),
            "recognized_at": _aware(recognized_at, "recognized_at"),
        }

    def recognitions(
        self,
        person: str | None = None,
        camera: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> tuple[list[dict], int]:
        """One page of recognitions, newest first, and how many match in all.

        Each row: {"id", "person_id" (None for strangers), "label", "confidence", "camera_id",
        "location_id", "box" (left, top, right, bottom), "model_version", "recognized_at"}.

        `person` matches the label, so `person="unknown"` lists the strangers; `since` is
        inclusive, `until` exclusive.
        """
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"page starts at 1 and per_page is 1 to {MAX_PER_PAGE}")
        conditions = []
        if person is not None:
            conditions.append(Recognition.label == person)
        if camera is not None:
            conditions.append(Recognition.camera_id == camera)
        if since is not None:
            conditions.append(Recognition.recognized_at >= _aware(since, "since"))
        if until is not None:
            conditions.append(Recognition.recognized_at < _aware(until, "until"))
        query = (
            select(Recognition)
            .where(*conditions)
            .order_by(Recognition.recognized_at.desc(), Recognition.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        with self._transaction() as session:
            total = session.scalar(select(func.count()).select_from(Recognition).where(*conditions))
            rows = [sighting_dict(row) for row in session.scalars(query)]
        return rows, total

    def last_known_location(self, person_id: str) -> dict | None:
        """Where the person was last seen at a known location, or None if never."""
        query = (
            select(Recognition.location_id, Recognition.camera_id, Recognition.recognized_at)
            .where(Recognition.person_id == person_id, Recognition.location_id.is_not(None))
            .order_by(Recognition.recognized_at.desc(), Recognition.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            if session.get(Person, person_id) is None:
                raise NotFound(f"no person {person_id!r}")
            row = session.execute(query).first()
        if row is None:
            return None
        return {"location_id": row[0], "camera_id": row[1], "recognized_at": row[2]}

    # --- API keys -------------------------------------------------------------------------

    @_retry_deadlocks
    def set_api_keys(self, digests: Iterable[tuple[str, str]]) -> None:
        """Make (scope, key digest) pairs the whole table, in one transaction: a key left out of
        the configuration is gone. Only digests are stored (the column predates HMAC)."""
        pairs = [(scope, _key_digest(digest)) for scope, digest in digests]
        for scope, _digest in pairs:
            if scope not in API_KEY_SCOPES:
                raise ValueError(f"an API key scope is one of {API_KEY_SCOPES}, not {scope!r}")
        now = _now()
        with self._transaction(write=True) as session:
            session.execute(delete(ApiKey))
            for digest, scope in {digest: scope for scope, digest in pairs}.items():
                session.add(ApiKey(key_sha256=digest, scope=scope, created_at=now))
