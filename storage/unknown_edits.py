"""Operators' edits of unknown groups: merge groups that are one person, release tracks that are
someone else into a group of their own.

The grouper (workers/grouper.py) groups whole TRACKS and moves a grouped one only while it is
alone in a group it founded (`join_unknown_track`), so an edit moves whole tracks too: a released sighting takes the rest of its track along. Each edit is one
transaction that keeps the groups' sizes, times and covers right, so the grouper, which resolves
"the group of track T" when it writes (storage/unknowns.py, `group_of_track`), sees the edit
whole: it never writes a merged group's id again, nor puts a released track back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update

from .alert_rules import parse_spec
from .errors import NotFound, StorageError
from .group_counts import recount
from .models import Recognition, UnknownGroup
from .operator_models import AlertRule
from .transactions import retry_deadlocks
from .unknowns import group_of_track, groups_with_cameras


class CannotEditGroups(StorageError, ValueError):
    """The edit makes no sense (a group merged into itself, every track released, ...)."""


def _locked(session, group_ids: Sequence[int]) -> dict[int, UnknownGroup]:
    """The groups, locked in id order (two edits never wait on each other crosswise); NotFound
    names the first that does not exist."""
    rows = session.scalars(
        select(UnknownGroup)
        .where(UnknownGroup.id.in_(group_ids))
        .order_by(UnknownGroup.id)
        .with_for_update()
    ).all()
    found = {group.id: group for group in rows}
    for group_id in group_ids:
        if group_id not in found:
            raise NotFound(f"no unknown group {group_id}")
    return found


def _rules_follow(session, merged: set[int], into: int) -> None:
    """Alert rules that watched a merged group watch the group it became part of."""
    for rule in session.scalars(select(AlertRule)):
        spec = parse_spec(json.loads(rule.spec))
        if merged.isdisjoint(spec.unknown_groups):
            continue
        watched = tuple(sorted({into if g in merged else g for g in spec.unknown_groups}))
        rule.spec = json.dumps(dataclasses.replace(spec, unknown_groups=watched).to_json())


def _tracks_of(session, group_id: int, sighting_ids: Sequence[int]) -> set[int]:
    """The tracks of these sightings, every one of which must be in the group."""
    rows = session.execute(
        select(Recognition.id, Recognition.track_id)
        .where(Recognition.id.in_(sighting_ids), Recognition.unknown_group_id == group_id)
        .where(Recognition.track_id.is_not(None))
    ).all()
    strays = sorted(set(sighting_ids) - {row.id for row in rows})
    if strays:
        listed = ", ".join(map(str, strays[:10]))
        raise CannotEditGroups(f"sightings {listed} are not in group {group_id}")
    return {row.track_id for row in rows}


def _merge(session, into: UnknownGroup, others: list[int]) -> int:
    """Move the sightings of groups `others` into `into` and delete them (alert rules that
    watched them watch `into`); how many sightings moved. The groups are locked already."""
    moved = session.execute(
        update(Recognition)
        .where(Recognition.unknown_group_id.in_(others))
        .values(unknown_group_id=into.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(delete(UnknownGroup).where(UnknownGroup.id.in_(others)))
    recount(session, [into])
    _rules_follow(session, set(others), into.id)
    return moved


def _tracks_in(session, group_id: int) -> int:
    """How many tracks have sightings in the group."""
    return session.scalar(
        select(func.count(func.distinct(Recognition.track_id))).where(
            Recognition.unknown_group_id == group_id
        )
    )


class UnknownGroupEdits:
    """The operators' part of the unknown groups in `Database` (a mixin over `_transaction`)."""

    @retry_deadlocks
    def merge_unknown_groups(self, into: int, others: Sequence[int]) -> tuple[dict, int]:
        """Move the sightings of `others` into group `into` and delete the emptied groups, in
        one transaction (alert rules watching them watch `into`); (the group now, with its
        cameras; how many sightings moved). NotFound for a missing group."""
        others = list(dict.fromkeys(others))
        if not others or into in others:
            raise CannotEditGroups("merge one or more OTHER groups into a group")
        with self._transaction(write=True) as session:
            groups = _locked(session, [into, *others])
            spaces = {group.embedding_space for group in groups.values()}
            if len(spaces) > 1:
                raise CannotEditGroups(
                    "the groups were grouped by different embedders and cannot be merged"
                )
            moved = _merge(session, groups[into], others)
            return groups_with_cameras(session, [groups[into]])[0], moved

    @retry_deadlocks
    def join_unknown_track(self, track_id: int, like: int) -> int | None:
        """The grouper's second look: a track that founded a group alone and now, with better
        crops, resembles track `like` joins `like`'s group, if its own group still holds it
        alone (no other track, no operator's edit since); the group it joined (None: nothing
        changed)."""
        with self._transaction(write=True) as session:
            mine, theirs = group_of_track(session, track_id), group_of_track(session, like)
            if mine is None or theirs is None or mine.id == theirs.id:
                return None
            if mine.embedding_space != theirs.embedding_space or _tracks_in(session, mine.id) != 1:
                return None
            _merge(session, theirs, [mine.id])
            return theirs.id

    @retry_deadlocks
    def release_unknown_sightings(
        self, group_id: int, sighting_ids: Sequence[int]
    ) -> tuple[dict, dict, int]:
        """The tracks of these sightings (each of the group) leave it for one new group: "they
        are someone else". One transaction; (the new group, the group now, how many sightings
        moved). CannotEditGroups when that would be the whole group (nothing changes)."""
        with self._transaction(write=True) as session:
            group = _locked(session, [group_id])[group_id]
            tracks = _tracks_of(session, group_id, list(dict.fromkeys(sighting_ids)))
            moving = session.scalars(
                select(Recognition.id).where(
                    Recognition.track_id.in_(tracks), Recognition.unknown_group_id == group_id
                )
            ).all()
            total = session.scalar(
                select(func.count())
                .select_from(Recognition)
                .where(Recognition.unknown_group_id == group_id)
            )
            if len(moving) >= total:
                raise CannotEditGroups(
                    f"that is every sighting of group {group_id}: release only some of its tracks"
                )
            new = UnknownGroup(
                embedding_space=group.embedding_space, size=0, first_seen_at=group.first_seen_at,
                last_seen_at=group.last_seen_at, cover_id=None,
            )  # fmt: skip
            session.add(new)
            session.flush()
            session.execute(
                update(Recognition)
                .where(Recognition.id.in_(moving))
                .values(unknown_group_id=new.id)
                .execution_options(synchronize_session=False)
            )
            recount(session, [new, group])
            released, kept = groups_with_cameras(session, [new, group])
            return released, kept, len(moving)
