"""An unknown group's size, first and last sighting and cover stay true however its sightings go
(storage/group_counts.py): purged by retention or with a person deleted; a group left with none
leaves the Unknowns list instead of staying there as an empty card with a stale count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.corrections import Target
from storage.models import Track
from tests.storage.test_tracks import SPACE, judge, noisy, people, record  # noqa: F401


def track_id(db, key: str) -> int:
    with db._transaction() as session:
        return session.scalar(select(Track.id).where(Track.track_key == key))


def listed(db) -> dict[int, dict]:
    """The Unknowns list, each group checked against its sightings as the database has them."""
    groups = {group["id"]: group for group in db.unknown_groups(limit=100)[0]}
    for group_id, group in groups.items():
        faces = db.unknown_group(group_id)[1]
        assert group["size"] == len(faces) > 0, group
        seen = [face["recognized_at"] for face in faces]
        assert (group["first_seen_at"], group["last_seen_at"]) == (min(seen), max(seen)), group
        assert group["cover_id"] in {face["id"] for face in faces}, group
    return groups


def test_purged_sightings_leave_their_groups_counted_and_an_emptied_group_goes(db, judge, people):  # noqa: F811
    now, old = datetime.now(UTC), datetime.now(UTC) - timedelta(days=40)
    for seed in (1, 2):
        record(db, judge, noisy(people["cid"], seed), key="gone", at=old + timedelta(seconds=seed))
    (first_of_mixed,), _ = record(db, judge, noisy(people["cid"], 3), key="mixed", at=old)
    record(db, judge, noisy(people["cid"], 4), key="mixed", at=now)
    for seed in (5, 6):
        record(db, judge, noisy(people["cid"], seed), key="new", at=now)
    gone, mixed = db.assign_unknown_tracks(
        SPACE, [(track_id(db, "gone"), None), (track_id(db, "mixed"), None)]
    )
    db.assign_unknown_tracks(SPACE, [(track_id(db, "new"), track_id(db, "mixed"))])
    before = listed(db)
    assert (before[gone]["size"], before[mixed]["size"]) == (2, 4)
    assert before[mixed]["cover_id"] == first_of_mixed  # the best crop, the first of equals

    assert db.purge_sightings(now - timedelta(days=30), batch_rows=2, pause=0) == 3
    after = listed(db)
    assert gone not in after
    assert after[mixed]["size"] == 3 and after[mixed]["first_seen_at"] >= now
    assert after[mixed]["cover_id"] != first_of_mixed


def test_deleting_a_person_recounts_the_group_their_sighting_was_in(db, judge, people):  # noqa: F811
    db.add_person("ann")
    ids = [record(db, judge, noisy(people["cid"], seed), key="s")[0][0] for seed in (1, 2, 3)]
    (group,) = db.assign_unknown_tracks(SPACE, [(track_id(db, "s"), None)])
    db.correct(Target(recognition_id=ids[0]), "is", "ann", "operator")  # still in the group
    assert listed(db)[group]["size"] == 3

    db.delete_person("ann")
    assert listed(db)[group]["size"] == 2
    assert listed(db)[group]["cover_id"] in ids[1:]
