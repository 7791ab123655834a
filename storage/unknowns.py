"""Unknown groups: the strangers' sightings that look like one person, and what operators do
with them (look, enrol, dismiss). The grouping itself is workers/grouper.py; this is its storage."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import delete, func, select, update

from .errors import NotFound
from .models import Recognition, SightingEmbedding, SightingThumbnail, UnknownGroup
from .rows import sighting_dict
from .sightings import UNKNOWN

FACES_PER_PAGE = 1_000


def _group_dict(group: UnknownGroup, cameras: list[str]) -> dict:
    return {
        "id": group.id,
        "size": group.size,
        "first_seen_at": group.first_seen_at,
        "last_seen_at": group.last_seen_at,
        "cover_id": group.cover_id,
        "cameras": cameras,
    }


class UnknownStore:
    """The unknown-groups part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    def _unknown_faces(self, space: str, grouped: bool, after: int, limit: int):
        """Strangers' faces of `space`, grouped or not yet, after id `after`, oldest first."""
        group = Recognition.unknown_group_id
        return (
            select(Recognition.id, group, SightingEmbedding.code)
            .join(SightingEmbedding, SightingEmbedding.recognition_id == Recognition.id)
            .where(Recognition.label == UNKNOWN, SightingEmbedding.embedding_space == space)
            .where(group.is_not(None) if grouped else group.is_(None), Recognition.id > after)
            .order_by(Recognition.id)
            .limit(limit)
        )

    def grouped_unknown_faces(self, space: str) -> Iterator[tuple[int, int, bytes]]:
        """(sighting id, group id, int8 codes) of every grouped stranger's face, oldest first,
        read in pages."""
        after = 0
        while True:
            query = self._unknown_faces(space, True, after, FACES_PER_PAGE)
            with self._transaction() as session:
                rows = session.execute(query).all()
            yield from ((r.id, r.unknown_group_id, r.code) for r in rows)
            if len(rows) < FACES_PER_PAGE:
                return
            after = rows[-1].id

    def ungrouped_unknown_faces(
        self, space: str, after: int, limit: int
    ) -> list[tuple[int, bytes]]:
        """(sighting id, int8 codes) of strangers' faces not grouped yet, after id `after`."""
        query = self._unknown_faces(space, False, after, limit)
        with self._transaction() as session:
            return [(r.id, r.code) for r in session.execute(query).all()]

    def assign_unknown_groups(
        self, space: str, assignments: Sequence[tuple[int, int | None]]
    ) -> list[int]:
        """Put each sighting in its group (None: a new group, which it founds); the group ids."""
        groups = []
        with self._transaction(write=True) as session:
            for sighting_id, group_id in assignments:
                seen = session.get(Recognition, sighting_id)
                if seen is None:  # purged or deleted meanwhile
                    groups.append(group_id)
                    continue
                if group_id is None or (group := session.get(UnknownGroup, group_id)) is None:
                    group = UnknownGroup(
                        embedding_space=space,
                        size=0,
                        first_seen_at=seen.recognized_at,
                        last_seen_at=seen.recognized_at,
                        cover_id=sighting_id,
                    )
                    session.add(group)
                    session.flush()
                group.size += 1
                group.last_seen_at = max(group.last_seen_at, seen.recognized_at)
                seen.unknown_group_id = group.id
                groups.append(group.id)
        return groups

    def unknown_groups(self, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        """Groups, largest and most recent first, with the cameras that saw them; and the total."""
        with self._transaction() as session:
            total = session.scalar(select(func.count(UnknownGroup.id)))
            groups = session.scalars(
                select(UnknownGroup)
                .order_by(UnknownGroup.size.desc(), UnknownGroup.last_seen_at.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            cameras: dict[int, list[str]] = {g.id: [] for g in groups}
            pairs = session.execute(
                select(Recognition.unknown_group_id, Recognition.camera_id)
                .where(Recognition.unknown_group_id.in_(list(cameras)))
                .distinct()
            ).all()
            for group_id, camera_id in pairs:
                if camera_id is not None:
                    cameras[group_id].append(camera_id)
            return [_group_dict(g, sorted(cameras[g.id])) for g in groups], total

    def unknown_group(self, group_id: int) -> tuple[dict, list[dict]]:
        """A group and its sightings, newest first; NotFound if there is no such group."""
        with self._transaction() as session:
            group = session.get(UnknownGroup, group_id)
            if group is None:
                raise NotFound(f"no unknown group {group_id}")
            rows = session.scalars(
                select(Recognition)
                .where(Recognition.unknown_group_id == group_id)
                .order_by(Recognition.recognized_at.desc(), Recognition.id.desc())
            ).all()
            faces = [sighting_dict(r) for r in rows]
            return _group_dict(
                group, sorted({f["camera_id"] for f in faces if f["camera_id"]})
            ), faces

    def best_unknown_faces(
        self, group_id: int, space: str, count: int
    ) -> list[tuple[int, bytes, bytes]]:
        """(sighting id, JPEG, int8 codes) of the group's largest faces: the best to enrol."""
        area = (Recognition.box_right - Recognition.box_left) * (
            Recognition.box_bottom - Recognition.box_top
        )
        query = (
            select(Recognition.id, SightingThumbnail.jpeg, SightingEmbedding.code)
            .join(SightingThumbnail, SightingThumbnail.recognition_id == Recognition.id)
            .join(SightingEmbedding, SightingEmbedding.recognition_id == Recognition.id)
            .where(
                Recognition.unknown_group_id == group_id,
                SightingEmbedding.embedding_space == space,
            )
            .order_by(area.desc(), Recognition.id)
            .limit(count)
        )
        with self._transaction() as session:
            if session.get(UnknownGroup, group_id) is None:
                raise NotFound(f"no unknown group {group_id}")
            return [tuple(row) for row in session.execute(query).all()]

    def name_unknown_group(self, group_id: int, person_id: str) -> int:
        """The group's sightings become `person_id`'s, and the group goes; how many there were."""
        with self._transaction(write=True) as session:
            group = session.get(UnknownGroup, group_id)
            if group is None:
                raise NotFound(f"no unknown group {group_id}")
            named = session.execute(
                update(Recognition)
                .where(Recognition.unknown_group_id == group_id)
                .values(person_id=person_id, label=person_id, unknown_group_id=None)
            ).rowcount
            session.delete(group)
            return named

    def delete_unknown_group(self, group_id: int) -> int:
        """Dismiss a group: it and its sightings (with their faces) are deleted; how many."""
        with self._transaction(write=True) as session:
            group = session.get(UnknownGroup, group_id)
            if group is None:
                raise NotFound(f"no unknown group {group_id}")
            gone = session.execute(
                delete(Recognition).where(Recognition.unknown_group_id == group_id)
            ).rowcount
            session.delete(group)
            return gone
