"""An unknown group's size, first and last sighting and cover, kept true as its sightings go.

They live on the group's row, so the Unknowns page lists groups largest first without counting
a million sightings. Every change to a group's sightings corrects them in the same transaction:
an operator's edit recounts (storage/unknown_edits.py); a deletion of sightings (retention's
purge, a person deleted, a recording stored again) subtracts what it deleted, so a purge costs
what it deletes, not the size of the groups it touches. A group left with no sighting is
deleted: it would show an empty card with a stale count for ever, and nothing can join it
again (the grouper joins a track's group through that track's sightings).

First and last sighting come from the (unknown_group_id, recognized_at) index, one dive each.
A cover that is gone is replaced by the best face among the group's COVER_CHOICES latest
sightings of a track: found in one index range however big the group, and recent, so the next
purge does not take it again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Case, Integer, case, delete, func, literal, select, update

from .models import Recognition, UnknownGroup
from .types import BigId, UtcDateTime

COVER_CHOICES = 20


def groups_of(session, sightings) -> Counter[int]:
    """How many of `sightings` (ids, or a SELECT of ids) each group holds, those rows locked
    first, as the grouper locks them (storage/unknowns.py `group_of_track`). Call it before
    deleting them, and `settle` after."""
    return Counter(
        session.scalars(
            select(Recognition.unknown_group_id)
            .where(Recognition.id.in_(sightings), Recognition.unknown_group_id.is_not(None))
            .with_for_update()
        )
    )


def settle(session, deleted: Counter[int], left_from: datetime | None = None) -> None:
    """After sightings were deleted (`deleted`: how many from each group), each group's size
    less those, its first and last sighting and a cover still in it, in one UPDATE; an emptied
    group goes. `left_from`: no sighting left is older (a purge takes the oldest first), so a
    group's first is looked for from there on, past the index entries a purge has deleted and
    InnoDB has not yet cleaned away (which a plain MIN would walk, batch after batch)."""
    if not deleted:
        return
    had = dict(  # each group's cover now, its row locked
        session.execute(
            select(UnknownGroup.id, UnknownGroup.cover_id)
            .where(UnknownGroup.id.in_(list(deleted)))
            .order_by(UnknownGroup.id)
            .with_for_update()
        ).all()
    )
    spans = _spans(session, list(had), left_from)
    if empty := [group_id for group_id in had if group_id not in spans]:
        session.execute(delete(UnknownGroup).where(UnknownGroup.id.in_(empty)))
    if not spans:
        return
    covers = _covers(session, {group_id: had[group_id] for group_id in spans})
    session.execute(
        update(UnknownGroup)
        .where(UnknownGroup.id.in_(list(spans)))
        .values(
            size=UnknownGroup.size - _by_group({g: deleted[g] for g in spans}, Integer()),
            first_seen_at=_by_group({g: span[0] for g, span in spans.items()}, UtcDateTime()),
            last_seen_at=_by_group({g: span[1] for g, span in spans.items()}, UtcDateTime()),
            cover_id=_by_group(covers, BigId),
        )
        .execution_options(synchronize_session=False)
    )


def recount(session, groups: Sequence[UnknownGroup]) -> None:
    """Each group's size counted, first and last sighting, and a cover still in it (an edit's:
    its groups keep sightings)."""
    ids = [group.id for group in groups]
    sizes = dict(
        session.execute(
            select(Recognition.unknown_group_id, func.count())
            .where(Recognition.unknown_group_id.in_(ids))
            .group_by(Recognition.unknown_group_id)
        ).all()
    )
    spans = _spans(session, ids)
    covers = _covers(session, {group.id: group.cover_id for group in groups})
    for group in groups:
        group.size = sizes.get(group.id, 0)
        group.first_seen_at, group.last_seen_at = spans.get(group.id, (None, None))
        group.cover_id = covers[group.id]


def _spans(session, group_ids: list[int], left_from: datetime | None = None) -> dict[int, tuple]:
    """Each group's (first, last) sighting time, at or after `left_from`; a group with none is
    missing."""
    query = (
        select(
            Recognition.unknown_group_id,
            func.min(Recognition.recognized_at),
            func.max(Recognition.recognized_at),
        )
        .where(Recognition.unknown_group_id.in_(group_ids))
        .group_by(Recognition.unknown_group_id)
    )
    if left_from is not None:
        query = query.where(Recognition.recognized_at >= left_from)
    found = session.execute(query)
    return {group_id: (first, last) for group_id, first, last in found}


def _covers(session, covers: dict[int, int | None]) -> dict[int, int | None]:
    """Each group's cover: the one it has while that sighting is still in it, else a new one."""
    still = dict(
        session.execute(
            select(Recognition.id, Recognition.unknown_group_id).where(
                Recognition.id.in_([cover for cover in covers.values() if cover is not None])
            )
        ).all()
    )
    return {
        group_id: cover if still.get(cover) == group_id else _cover(session, group_id)
        for group_id, cover in covers.items()
    }


def _by_group(values: dict[int, object], kind) -> Case:
    """CASE unknown_groups.id WHEN <group> THEN <its value> ... END: one UPDATE for them all."""
    return case(
        {group_id: literal(value, kind) for group_id, value in values.items()},
        value=UnknownGroup.id,
    )


def _cover(session, group_id: int) -> int | None:
    """The best face among the group's COVER_CHOICES latest sightings of a track (of equals,
    the newest: the purge takes the oldest first)."""
    latest = session.execute(
        select(Recognition.id, Recognition.quality)
        .where(Recognition.unknown_group_id == group_id, Recognition.track_id.is_not(None))
        .order_by(Recognition.recognized_at.desc(), Recognition.id.desc())
        .limit(COVER_CHOICES)
    ).all()
    if not latest:
        return None
    return max(latest, key=lambda row: (row.quality or 0.0, row.id)).id
