"""Operators' corrections: "this is Y" and "this is not X" on a track or one sighting, and undo.

Each correction is one transaction that relabels the track (or sighting) and its sightings,
keeps what undo needs (the sightings' labels before, the images it enrolled, the negatives it
made) and appends a `label_changes` row; undo walks a target's history back, one change at a
time, and is itself a row. A track's newest active change also sticks to the decisions its
later crops make (`sticky_decision`): a track said to be Y stays Y, one said not to be X is
never X again. "Not X" keeps the target's best faces as X's negatives for the next training.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
from sqlalchemy import delete, insert, select, update

from recognition import UNKNOWN
from recognition.gallery import decode

from .correction_faces import enrol_faces, keep_negatives, target_faces
from .errors import NotFound, StorageError
from .models import Image, Person, Recognition, Track, TrackEvent
from .operator_models import LabelChange, LabelChangeImage, LabelChangeSighting, PersonNegative
from .paging import page_in
from .rows import columns
from .track_rows import track_events
from .transactions import retry_deadlocks, utc_now
from .validation import check_id

KINDS = ("is", "not")


class NothingToUndo(StorageError):
    """The target has no correction left to undo."""


class CannotCorrect(StorageError, ValueError):
    """The correction makes no sense for the target (e.g. "not X" on a track not named X)."""


@dataclasses.dataclass(frozen=True)
class Target:
    """A track (camera_id, track_key) or a sighting (recognition_id)."""

    camera_id: str | None = None
    track_key: str | None = None
    recognition_id: int | None = None

    @property
    def kind(self) -> str:
        return "sighting" if self.recognition_id is not None else "track"

    def where(self) -> tuple:
        if self.recognition_id is not None:
            return (LabelChange.recognition_id == self.recognition_id,)
        return (LabelChange.camera_id == self.camera_id, LabelChange.track_key == self.track_key)


def change_dict(row: LabelChange) -> dict:
    made = columns(row, "id", "at", "who", "kind")
    target = columns(row, "target", "camera_id", ("track_id", "track_key"), "recognition_id")
    labels = columns(row, ("from", "from_label"), ("to", "to_label"))
    return {**made, **target, **labels, **columns(row, "undoes", "undone_by")}


def sticky_decision(session, camera_id: str, track_key: str, decision):
    """`decision` (a TrackDecision) as the track's newest active correction allows it."""
    change = _active(session, Target(camera_id, track_key))
    if change is None:
        return decision
    if change.kind == "is" and session.get(Person, change.to_label) is not None:
        return dataclasses.replace(decision, label=change.to_label)
    if change.kind == "not" and decision.label == change.from_label:
        return dataclasses.replace(decision, label=UNKNOWN)
    return decision


def _active(session, target: Target) -> LabelChange | None:
    """The target's newest correction not undone (undo rows themselves are not corrections)."""
    return session.scalars(
        select(LabelChange)
        .where(*target.where(), LabelChange.kind.in_(KINDS), LabelChange.undone_by.is_(None))
        .order_by(LabelChange.id.desc())
        .limit(1)
    ).first()


def _relabel_sightings(session, change_id: int, ids: list[int], label: str) -> None:
    """Give these sightings `label`, keeping each one's label before for undo."""
    rows = session.execute(
        select(Recognition.id, Recognition.label).where(Recognition.id.in_(ids))
    ).all()
    changed = [row for row in rows if row.label != label]
    if not changed:
        return
    session.execute(
        insert(LabelChangeSighting),
        [{"change_id": change_id, "recognition_id": r.id, "from_label": r.label} for r in changed],
    )
    person = label if label != UNKNOWN else None
    session.execute(
        update(Recognition)
        .where(Recognition.id.in_([r.id for r in changed]))
        .values(label=label, person_id=person)
        .execution_options(synchronize_session=False)
    )


def _subject(session, target: Target) -> tuple[Track | None, Recognition | None, str]:
    """The target's row (locked) and its label now; NotFound when it does not exist."""
    if target.recognition_id is not None:
        row = session.scalars(
            select(Recognition).where(Recognition.id == target.recognition_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"no sighting {target.recognition_id}")
        return None, row, row.label
    where = (Track.camera_id == target.camera_id, Track.track_key == target.track_key)
    track = session.scalars(select(Track).where(*where).with_for_update()).first()
    if track is None:
        raise NotFound(f"no track {target.track_key!r} of camera {target.camera_id!r}")
    return track, None, track.label


def _checked(session, kind: str, label: str | None, current: str) -> tuple[str, str]:
    """(from, to) of a correction; CannotCorrect or NotFound when it cannot be made."""
    if kind not in KINDS:
        raise CannotCorrect(f"a correction's kind is one of {KINDS}")
    person = label if kind == "is" else (label or current)
    check_id(person, "person_id")
    if kind == "not" and person != current:
        raise CannotCorrect(f"it is named {current!r}, not {person!r}: nothing to refuse")
    if person == UNKNOWN or session.get(Person, person) is None:
        raise NotFound(f"no person {person!r}")
    return (current, person) if kind == "is" else (person, UNKNOWN)


def _set_label(session, track: Track | None, label: str, at: datetime) -> list[int]:
    """A track's label after a change, with its 'label' event (ids)."""
    if track is None or track.label == label:
        return []
    person = label if label != UNKNOWN and session.get(Person, label) is not None else None
    session.execute(update(Track).where(Track.id == track.id).values(label=label, person_id=person))
    result = session.execute(
        insert(TrackEvent).values(
            track_id=track.id, camera_id=track.camera_id, kind="label", label=label, at=at
        )
    )
    return [result.inserted_primary_key[0]]


def _sighting_ids(session, track: Track | None, row: Recognition | None) -> list[int]:
    if track is None:
        return [row.id]
    return list(session.scalars(select(Recognition.id).where(Recognition.track_id == track.id)))


def _add_change(session, target: Target, **values) -> LabelChange:
    change = LabelChange(
        at=utc_now(), target=target.kind, camera_id=target.camera_id,
        track_key=target.track_key, recognition_id=target.recognition_id, **values,
    )  # fmt: skip
    session.add(change)
    session.flush()
    return change


class CorrectionStore:
    """The corrections part of `Database` (a mixin over the facade's `_transaction`)."""

    def _correct_in(
        self, session, target: Target, kind: str, label: str | None, who: str, enrol: bool,
        floor: float,
    ) -> tuple[dict, dict, list[int]]:  # fmt: skip
        """One correction in the caller's transaction: (the change, the target now, the ids
        of the track events written)."""
        track, row, current = _subject(session, target)
        before, after = _checked(session, kind, label, current)
        change = _add_change(session, target, who=who, kind=kind, from_label=current, to_label=after)  # fmt: skip
        ids = _sighting_ids(session, track, row)
        if kind == "not":  # only the sightings that named X
            ids = [i for i in ids if session.get(Recognition, i).label == before]
        _relabel_sightings(session, change.id, ids, after)
        crops = target_faces(session, target, track, floor if track is not None else 0.0)
        made = {"negatives": 0, "enrolled": 0}
        if kind == "not":
            made["negatives"] = keep_negatives(session, change.id, before, crops)
        elif enrol:
            made["enrolled"] = enrol_faces(session, change.id, after, crops, floor)
        events = _set_label(session, track, after, change.at)
        return {**change_dict(change), **made}, self._target_row(session, track, row), events

    @retry_deadlocks
    def correct(
        self, target: Target, kind: str, label: str | None, who: str, *,
        enrol: bool = False, floor: float = 0.0,
    ) -> tuple[dict, dict, list[dict]]:  # fmt: skip
        """Say the target is `label` (kind 'is') or is not `label` (kind 'not'; default: its
        label now), in one transaction: (the change, with `negatives` and `enrolled` counts;
        the target as it is now; the track events written). `enrol`: an 'is' change also
        enrols the target's faces at or above `floor` that have a kept face as images."""

        check_id(who, "who")
        with self._transaction(write=True) as session:
            change, now, events = self._correct_in(session, target, kind, label, who, enrol, floor)
            return change, now, track_events(session, events)

    @retry_deadlocks
    def correct_many(
        self, targets: list[Target], kind: str, label: str | None, who: str, *,
        enrol: bool = False, floor: float = 0.0,
    ) -> tuple[list[dict], list[dict], list[dict]]:  # fmt: skip
        """`correct` for several targets, all or none (one transaction: the first that cannot
        be corrected undoes the others); each target keeps its own change, to undo alone.
        (the changes, the targets now, the track events written)."""
        from .tracks import track_events  # noqa: PLC0415

        check_id(who, "who")
        changes, rows, events = [], [], []
        with self._transaction(write=True) as session:
            for target in targets:
                change, now, written = self._correct_in(
                    session, target, kind, label, who, enrol, floor
                )
                changes.append(change)
                rows.append(now)
                events += written
            return changes, rows, track_events(session, events)

    @retry_deadlocks
    def undo_correction(self, target: Target, who: str) -> tuple[dict, dict, list[dict]]:
        """Revert the target's newest correction not yet undone: its sightings' labels come
        back, its negatives and the images it enrolled go, the label is what it was before;
        (the undo row, the target now, the track events). NothingToUndo when none is left."""

        check_id(who, "who")
        with self._transaction(write=True) as session:
            track, row, current = _subject(session, target)
            change = _active(session, target)
            if change is None:
                raise NothingToUndo("no correction of this is left to undo")
            for item in session.scalars(
                select(LabelChangeSighting).where(LabelChangeSighting.change_id == change.id)
            ):
                _relabel_back(session, item.recognition_id, item.from_label)
            images = select(LabelChangeImage.image_id).where(
                LabelChangeImage.change_id == change.id
            )
            session.execute(
                delete(Image)
                .where(Image.id.in_(images))
                .execution_options(synchronize_session=False)
            )
            session.execute(delete(PersonNegative).where(PersonNegative.change_id == change.id))
            undo = _add_change(session, target, who=who, kind="undo", from_label=current, to_label=change.from_label, undoes=change.id)  # fmt: skip
            change.undone_by = undo.id
            events = _set_label(session, track, change.from_label, undo.at)
            return (
                change_dict(undo),
                self._target_row(session, track, row),
                track_events(session, events),
            )

    def _target_row(self, session, track: Track | None, row: Recognition | None) -> dict:
        if track is not None:
            return self._track_row(session, track.id)
        session.refresh(row)  # relabelled by a bulk UPDATE
        return {"id": row.id, "label": row.label, "person_id": row.person_id}

    def label_changes(
        self, target: Target | None = None, person: str | None = None,
        page: int = 1, per_page: int = 50,
    ) -> tuple[list[dict], int]:  # fmt: skip
        """One page of the history, newest first: of one target, or of changes from or to a
        person, or all; and how many match."""
        where = list(target.where()) if target is not None else []
        if person is not None:
            where.append((LabelChange.from_label == person) | (LabelChange.to_label == person))
        newest = select(LabelChange).order_by(LabelChange.id.desc())
        return page_in(
            self._transaction, newest, LabelChange, where, page=page, per_page=per_page,
            rows=lambda _, result: [change_dict(r) for r in result.scalars()],
        )  # fmt: skip

    def training_negatives(self, embedding_space: str) -> tuple[np.ndarray, list[str]]:
        """The corrections' negatives of one space as unit float32 [K, d], and whom each is not."""
        with self._transaction() as session:
            rows = session.execute(
                select(PersonNegative.code, PersonNegative.person_id)
                .where(PersonNegative.embedding_space == embedding_space)
                .order_by(PersonNegative.id)
            ).all()
        if not rows:
            return np.zeros((0, 0), np.float32), []
        codes = np.frombuffer(b"".join(r.code for r in rows), np.int8).reshape(len(rows), -1)
        return decode(codes), [r.person_id for r in rows]


def _relabel_back(session, recognition_id: int, label: str) -> None:
    person = label if label != UNKNOWN and session.get(Person, label) is not None else None
    session.execute(
        update(Recognition).where(Recognition.id == recognition_id)
        .values(label=label, person_id=person)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
