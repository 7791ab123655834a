"""People, their enrolment images and the images' embeddings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import AlreadyExists, ImageTooLarge, NotFound
from .group_counts import groups_of, settle
from .models import EMBEDDING_DIMS, Embedding, Image, ImageQuality, Person, Recognition
from .track_joins import drop_windows
from .transactions import Transactions, retry_deadlocks, utc_now
from .validation import check_id

# PyMySQL sends bytes hex-encoded (two characters a byte) inside one packet of at most the
# server's max_allowed_packet; this much is left for the rest of the INSERT.
STATEMENT_OVERHEAD = 64 * 1024


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


class PeopleQueries(Transactions):
    _max_image_bytes: int | None = None  # asked once, on first use

    @retry_deadlocks
    def add_person(self, person_id: str) -> None:
        check_id(person_id, "person_id")
        try:
            with self._transaction(write=True) as session:
                session.add(Person(id=person_id, created_at=utc_now()))
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

    def person_images(self, person_id: str) -> list[dict]:
        """The person's enrolment images, oldest first: id, size, when, and their face's quality
        (None for images enrolled before qualities were kept). NotFound for nobody."""
        query = (
            select(Image.id, Image.size_bytes, Image.created_at, ImageQuality.quality)
            .outerjoin(ImageQuality, ImageQuality.image_id == Image.id)
            .where(Image.person_id == person_id)
            .order_by(Image.id)
        )
        with self._transaction() as session:
            if session.get(Person, person_id) is None:
                raise NotFound(f"no person {person_id!r}")
            return [
                {"image_id": i, "size_bytes": size, "created_at": at, "quality": quality}
                for i, size, at, quality in session.execute(query)
            ]

    def count_images(self, person_id: str) -> int:
        """How many images the person has (one index range: (person_id, sha256) is unique)."""
        query = select(func.count(Image.id)).where(Image.person_id == person_id)
        with self._transaction() as session:
            return session.execute(query).scalar_one()

    @retry_deadlocks
    def delete_person(self, person_id: str) -> None:
        """Remove the person; the foreign keys cascade to images, embeddings and recognitions."""
        with self._transaction(write=True) as session:
            # Locked first: a crop naming them that is being recorded now holds the row (its
            # foreign key), so it commits before the tracks holding their faces are found.
            session.execute(select(Person.id).where(Person.id == person_id).with_for_update())
            theirs = select(Recognition.id).where(Recognition.person_id == person_id)
            drop_windows(session, theirs)
            groups = groups_of(session, theirs)  # a correction named a stranger's sighting
            deleted = session.execute(delete(Person).where(Person.id == person_id)).rowcount
            settle(session, groups)
        if not deleted:
            raise NotFound(f"no person {person_id!r}")

    @retry_deadlocks
    def add_image(
        self,
        person_id: str,
        data: bytes,
        embedding,
        bundle_version: str,
        quality: float | None = None,
    ) -> tuple[int, bool]:
        """Store an image with its embedding (and its face's quality): (image_id, created).

        The same bytes for the same person are stored once: a repeat returns the first id and
        `created=False`. Concurrent callers are serialised by the unique (person_id, sha256).
        """
        vector = _embedding_bytes(embedding)
        check_id(bundle_version, "bundle_version")
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
                now = utc_now()
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
                if quality is not None:
                    session.add(ImageQuality(image_id=image.id, quality=float(quality)))
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

    @retry_deadlocks
    def replace_embedding(self, image_id: int, embedding, bundle_version: str) -> None:
        vector = _embedding_bytes(embedding)
        check_id(bundle_version, "bundle_version")
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
                stored.created_at = utc_now()
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

    def recent_faces(self, embedding_space: str, limit: int) -> tuple[np.ndarray, list[str], list]:
        """The newest `limit` enrolled faces of one space: (vectors, person ids, when stored).
        Newest first by image id, so the cost is bounded by `limit` whatever the table's size;
        a caller keeps the ones a model does not hold yet."""
        query = (
            select(Embedding.vector, Image.person_id, Image.created_at)
            .join(Image, Image.id == Embedding.image_id)
            .where(Embedding.bundle_version == embedding_space)
            .order_by(Image.id.desc())
            .limit(limit)
        )
        with self._transaction() as session:
            rows = session.execute(query).all()
        return (
            _embedding_matrix([row[0] for row in rows]),
            [row[1] for row in rows],
            [row[2] for row in rows],
        )
