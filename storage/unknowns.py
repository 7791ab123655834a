"""Unknown groups: the strangers' tracks that look like one person, and what operators do
with them (look, enrol, dismiss). The grouping itself is workers/grouper.py; this is its storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select, update

from .errors import NotFound
from .models import (
    Recognition,
    SightingThumbnail,
    Track,
    TrackCode,
    UnknownGroup,
)
from .paging import sliced
from .rows import sighting_dict
from .sightings import UNKNOWN
from .track_joins import drop_windows
from .transactions import retry_deadlocks


class UnknownTrack(NamedTuple):
    change_id: int  # its track_codes row: the grouper's cursor
    track_id: int
    code: bytes  # the mean of its best crops
    group_id: int | None
    loose: int  # its sightings not in a group yet
    camera_id: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None


def _group(session, group_id: int) -> UnknownGroup:
    """The group; NotFound if there is no such group."""
    group = session.get(UnknownGroup, group_id)
    if group is None:
        raise NotFound(f"no unknown group {group_id}")
    return group


def _ungrouped():
    """A sighting a stranger's group can take: in no group, named after no one enrolled."""
    return Recognition.unknown_group_id.is_(None), Recognition.person_id.is_(None)


def _of_track():
    return (
        select(func.count())
        .select_from(Recognition)
        .where(Recognition.track_id == TrackCode.track_id)
    )


def _track_group():
    """A track's group: the group its sightings are in (correlated with `track_codes`)."""
    query = _of_track().with_only_columns(func.max(Recognition.unknown_group_id))
    return query.scalar_subquery().label("group_id")


def _loose():
    """How many of a track's sightings no group has yet (correlated with `track_codes`)."""
    return _of_track().where(*_ungrouped()).scalar_subquery().label("loose")


def group_of_track(session, track_id: int) -> UnknownGroup | None:
    """The group the track's sightings are in now, locked (None: in none). Locking reads see
    what committed last: a group an operator merged away since is never handed out."""
    group_id = session.scalar(
        select(func.max(Recognition.unknown_group_id))
        .where(Recognition.track_id == track_id)
        .with_for_update()
    )
    if group_id is None:
        return None
    return session.scalars(
        select(UnknownGroup).where(UnknownGroup.id == group_id).with_for_update()
    ).first()


def _group_dict(group: UnknownGroup, cameras: list[str]) -> dict:
    return {
        "id": group.id,
        "size": group.size,
        "first_seen_at": group.first_seen_at,
        "last_seen_at": group.last_seen_at,
        "cover_id": group.cover_id,
        "cameras": cameras,
    }


def groups_with_cameras(session, groups: Sequence[UnknownGroup]) -> list[dict]:
    """The groups as dicts, each with the cameras that saw it."""
    cameras: dict[int, list[str]] = {g.id: [] for g in groups}
    pairs = session.execute(
        select(Recognition.unknown_group_id, Recognition.camera_id)
        .where(Recognition.unknown_group_id.in_(list(cameras)))
        .distinct()
    ).all()
    for group_id, camera_id in pairs:
        if camera_id is not None:
            cameras[group_id].append(camera_id)
    return [_group_dict(g, sorted(cameras[g.id])) for g in groups]


class UnknownStore:
    """The unknown-groups part of `Database` (a mixin: it uses the facade's `_transaction`)."""

    def unknown_tracks(self, space: str, after: int, limit: int) -> list[UnknownTrack]:
        """The strangers' tracks of `space` whose code changed after change id `after`, in
        change order: each with its group (None: not grouped yet) and whether some of its
        sightings are not in it yet (crops that came after it was grouped)."""
        query = (
            select(
                TrackCode.id,
                TrackCode.track_id,
                TrackCode.code,
                _track_group(),
                _loose(),
                Track.camera_id,
                Track.first_seen_at,
                Track.last_seen_at,
            )  # fmt: skip
            .join(Track, Track.id == TrackCode.track_id)
            .where(Track.label == UNKNOWN, TrackCode.embedding_space == space)
            .where(TrackCode.id > after)
            .order_by(TrackCode.id)
            .limit(limit)
        )
        with self._transaction() as session:
            return [UnknownTrack(*row) for row in session.execute(query).all()]

    @retry_deadlocks
    def assign_unknown_tracks(
        self, space: str, assignments: Sequence[tuple[int, int | None]]
    ) -> list[int | None]:
        """Put each track's ungrouped sightings in the group track `like` is in NOW (`like`
        None, or in no group: a new group, which the track founds, its best crop the cover),
        in order, in one transaction; the group ids (None: nothing left to group). Resolving
        `like` here, not in the grouper, is what makes operators' merges and releases stick."""
        groups = []
        with self._transaction(write=True) as session:
            for track_id, like in assignments:
                seen = session.execute(
                    select(Recognition.id, Recognition.recognized_at)
                    .where(Recognition.track_id == track_id, *_ungrouped())
                    .order_by(Recognition.quality.desc(), Recognition.id)
                ).all()
                if not seen:  # purged, deleted or named meanwhile
                    groups.append(None)
                    continue
                group = None if like is None else group_of_track(session, like)
                if group is None:
                    group = UnknownGroup(
                        embedding_space=space, size=0, first_seen_at=seen[0].recognized_at,
                        last_seen_at=seen[0].recognized_at, cover_id=seen[0].id,
                    )  # fmt: skip
                    session.add(group)
                    session.flush()
                group.size += len(seen)
                group.first_seen_at = min(group.first_seen_at, *(r.recognized_at for r in seen))
                group.last_seen_at = max(group.last_seen_at, *(r.recognized_at for r in seen))
                session.execute(
                    update(Recognition)
                    .where(Recognition.id.in_([r.id for r in seen]))
                    .values(unknown_group_id=group.id)
                )
                groups.append(group.id)
        return groups

    def unknown_groups(self, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
        """Groups, largest and most recent first, with the cameras that saw them; and the total."""
        largest = select(UnknownGroup).order_by(
            UnknownGroup.size.desc(), UnknownGroup.last_seen_at.desc()
        )
        with self._transaction() as session:
            result, total = sliced(session, largest, UnknownGroup, limit=limit, offset=offset)
            return groups_with_cameras(session, result.scalars().all()), total

    def unknown_group(self, group_id: int) -> tuple[dict, list[dict]]:
        """A group and its sightings, newest first; NotFound if there is no such group."""
        with self._transaction() as session:
            group = _group(session, group_id)
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
        """(sighting id, JPEG, int8 codes) of the group's best-quality faces (their crops'
        quality: size and detector confidence): the best to enrol."""
        query = (
            select(Recognition.id, SightingThumbnail.jpeg, Recognition.code)
            .join(SightingThumbnail, SightingThumbnail.recognition_id == Recognition.id)
            .where(
                Recognition.unknown_group_id == group_id,
                Recognition.track_id.is_not(None),
                Recognition.embedding_space == space,
                Recognition.code.is_not(None),
            )
            .order_by(Recognition.quality.desc(), Recognition.id)
            .limit(count)
        )
        with self._transaction() as session:
            _group(session, group_id)
            return [tuple(row) for row in session.execute(query).all()]

    def name_unknown_group(self, group_id: int, person_id: str) -> int:
        """The group's sightings become `person_id`'s, and the group goes; how many there were."""
        with self._transaction(write=True) as session:
            group = _group(session, group_id)
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
            group = _group(session, group_id)
            grouped = Recognition.unknown_group_id == group_id
            drop_windows(session, select(Recognition.id).where(grouped))
            gone = session.execute(delete(Recognition).where(grouped)).rowcount
            session.delete(group)
            return gone
