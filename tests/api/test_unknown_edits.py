"""Operators edit the grouper's work (real LFW faces, SQLite and MariaDB): merge groups that are
one person, release a track that is someone else, check look-alikes before enrolling a group,
and say many Live tracks are one person at once. The grouper keeps every edit: it never writes
a merged group's id again, and a released track (and strangers like it) stay apart."""

from __future__ import annotations

from sqlalchemy import func, select

from api.service import service_of
from storage.alert_rules import parse_spec
from storage.models import Recognition, Track
from tests.api.conftest import ADMIN, RECOGNIZE, upload
from tests.api.test_sightings import REVIEW, app, client, listed, store  # noqa: F401 (fixtures)
from tests.api.test_unknowns import AHMED, AI, LONE, _wait_until_grouped


def _groups(client) -> list[dict]:  # noqa: F811
    page = client.get("/unknowns", headers=REVIEW)
    assert page.status_code == 200, page.get_json()
    return page.get_json()["groups"]


def _group_of(client, sighting_id: int) -> int:  # noqa: F811
    for group in _groups(client):
        faces = client.get(f"/unknowns/{group['id']}", headers=REVIEW).get_json()["faces"]
        if sighting_id in {f["id"] for f in faces}:
            return group["id"]
    raise AssertionError(f"sighting {sighting_id} is in no group")


def _seen(client, photo, camera: str, **track) -> int:  # noqa: F811
    """Store one crop, as an edge does; its sighting's id."""
    store(client, photo, camera, **track)
    return max(row["id"] for row in listed(client))


def _in_group(flask_app, group_id: int) -> int:
    db = service_of(flask_app).db
    with db._transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(Recognition)
            .where(Recognition.unknown_group_id == group_id)
        )


def test_merged_groups_stay_one_and_a_released_track_stays_apart(app, client):  # noqa: F811
    ai = [_seen(client, p, "door", track_id="ai-1") for p in AI[:2]]
    ahmed = _seen(client, AHMED[0], "gate", track_id="ahmed-1")
    _seen(client, LONE[0], "door")
    _wait_until_grouped(app, 4)
    ai_group, ahmed_group = _group_of(client, ai[0]), _group_of(client, ahmed)
    db = service_of(app).db
    rule = db.add_alert_rule("ahmed", parse_spec({"unknown_groups": [ahmed_group]}), None, 0)

    merged = client.post(
        f"/unknowns/{ai_group}/merge", json={"groups": [ahmed_group]}, headers=REVIEW
    )
    assert merged.status_code == 200, merged.get_json()
    body = merged.get_json()
    assert body["merged"] == [ahmed_group] and body["sightings_moved"] == 1
    assert body["group"]["id"] == ai_group and body["group"]["size"] == 3
    assert body["group"]["cameras"] == ["door", "gate"]
    assert client.get(f"/unknowns/{ahmed_group}", headers=REVIEW).status_code == 404
    assert db.alert_rules()[0]["unknown_groups"] == [ai_group]  # the rule follows the merge
    assert rule["id"] == db.alert_rules()[0]["id"]

    # The grouper keeps the merge: a later crop of the merged track, and a new track like it,
    # join the merged group; the removed id is never written again.
    store(client, AHMED[1], "gate", track_id="ahmed-1")
    ahmed_again = _seen(client, AHMED[2], "gate", track_id="ahmed-2")
    _wait_until_grouped(app, 6)
    assert _in_group(app, ai_group) == 5 and _in_group(app, ahmed_group) == 0
    assert sorted(g["size"] for g in _groups(client)) == [1, 5]

    # "These are someone else": Ahmed's two tracks leave for a group of their own.
    released = client.post(
        f"/unknowns/{ai_group}/release", json={"sightings": [ahmed, ahmed_again]}, headers=REVIEW
    )
    assert released.status_code == 200, released.get_json()
    body = released.get_json()
    new_group = body["group"]["id"]
    assert body["sightings_moved"] == 3  # whole tracks: ahmed-1's two crops, ahmed-2's one
    assert body["group"]["size"] == 3 and body["from_group"]["size"] == 2
    assert body["group"]["face_url"] and body["from_group"]["face_url"]
    assert new_group not in (ai_group, ahmed_group)

    # ... and stays apart: its later crop follows it, and a new track like it joins it.
    store(client, AHMED[3], "gate", track_id="ahmed-1")
    store(client, AHMED[4], "yard", track_id="ahmed-3")
    _wait_until_grouped(app, 8)
    assert _in_group(app, new_group) == 5 and _in_group(app, ai_group) == 2
    assert len(_groups(client)) == 3


def test_bad_merges_and_releases_are_refused_clearly(app, client):  # noqa: F811
    ai = _seen(client, AI[0], "door", track_id="ai-1")
    ahmed = _seen(client, AHMED[0], "door", track_id="ahmed-1")
    _wait_until_grouped(app, 2)
    ai_group, ahmed_group = _group_of(client, ai), _group_of(client, ahmed)

    def merge(into, body, headers=REVIEW):
        return client.post(f"/unknowns/{into}/merge", json=body, headers=headers)

    release = lambda group, ids: client.post(  # noqa: E731
        f"/unknowns/{group}/release", json={"sightings": ids}, headers=REVIEW
    )
    form = client.post(f"/unknowns/{ai_group}/merge", data={"groups": "2"}, headers=REVIEW)
    refused = [
        (400, "invalid_merge", merge(ai_group, {"groups": [ai_group]})),
        (400, "invalid_json", merge(ai_group, {"groups": []})),
        (400, "invalid_json", form),  # not JSON
        (404, "not_found", merge(ai_group, {"groups": [ahmed_group + 100]})),
        (404, "not_found", merge(ai_group + 100, {"groups": [ahmed_group]})),
        (404, "not_found", merge(ai_group, {"groups": [2**40]})),
        (403, "forbidden", merge(ai_group, {"groups": [ahmed_group]}, RECOGNIZE)),
        (422, "cannot_release", release(ai_group, [ahmed])),  # not in the group
        (422, "cannot_release", release(ai_group, [ai])),  # the whole group
        (400, "invalid_json", release(ai_group, [2**64])),
        (404, "not_found", release(ahmed_group + 100, [ai])),
    ]
    for body in ({}, {"groups": ["2"]}, {"groups": [True]}, {"groups": [1], "x": 1}, [1]):
        refused.append((400, "invalid_json", merge(ai_group, body)))
    for index, (status, code, response) in enumerate(refused):
        assert (response.status_code, response.get_json()["error"]) == (status, code), index
    # Nothing changed.
    assert sorted(g["id"] for g in _groups(client)) == sorted([ai_group, ahmed_group])
    assert _in_group(app, ai_group) == 1 and _in_group(app, ahmed_group) == 1


def test_a_group_is_checked_for_look_alikes_before_anything_is_stored(app, client):  # noqa: F811
    assert client.post("/dataset/ai_sugiyama", headers=ADMIN).status_code == 201
    enrolled = client.post("/dataset/ai_sugiyama/image", data=upload(AI[0]), headers=ADMIN)
    assert enrolled.status_code == 201, enrolled.get_json()
    seen = [_seen(client, p, "door", track_id="again") for p in AI[1:4]]
    _wait_until_grouped(app, 3)
    group = _group_of(client, seen[0])

    check = client.post(
        f"/unknowns/{group}/look-alike-check", data={"person_id": "ai_again"}, headers=REVIEW
    )
    assert check.status_code == 200, check.get_json()
    body = check.get_json()
    assert body["faces"] == 3 and [w["looks_like"] for w in body["warnings"]] == ["ai_sugiyama"]
    assert client.get("/dataset/ai_again/images", headers=ADMIN).status_code == 404
    assert _in_group(app, group) == 3  # nothing stored, nothing named
    own = client.post(
        f"/unknowns/{group}/look-alike-check", data={"person_id": "ai_sugiyama"}, headers=REVIEW
    ).get_json()
    assert own["warnings"] == []  # their own faces are no look-alike
    missing = client.post(
        f"/unknowns/{group + 100}/look-alike-check", data={"person_id": "x"}, headers=REVIEW
    )
    assert missing.status_code == 404
    bad = client.post(
        f"/unknowns/{group}/look-alike-check", data={"person_id": "unknown"}, headers=REVIEW
    )
    assert bad.status_code == 400


def test_many_live_tracks_are_said_to_be_one_person_all_or_none(app, client):  # noqa: F811
    assert client.post("/dataset/ahmed", headers=ADMIN).status_code == 201
    store(client, AHMED[0], "door", track_id="t-1")
    store(client, AHMED[1], "gate", track_id="t-2")
    tracks = [{"camera_id": "door", "track_id": "t-1"}, {"camera_id": "gate", "track_id": "t-2"}]

    def bulk(body):
        return client.post("/corrections/bulk", json=body, headers=REVIEW)

    # One unknown track refuses them all: neither changes.
    missing = bulk({"person_id": "ahmed", "tracks": [*tracks, {"camera_id": "x", "track_id": "y"}]})
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    for body in (
        {"person_id": "ahmed", "tracks": []},
        {"person_id": "ahmed", "tracks": [tracks[0], tracks[0]]},
        {"person_id": "ahmed", "tracks": [{"camera_id": 3, "track_id": "t-1"}]},
        {"person_id": "ahmed", "tracks": tracks, "enrol": "yes"},
        {"person_id": "unknown", "tracks": tracks},
        {"person": "ahmed", "tracks": tracks},
    ):
        assert bulk(body).status_code == 400, body
    assert bulk({"person_id": "nobody", "tracks": tracks}).status_code == 404
    labels = client.get("/tracks", headers=REVIEW).get_json()["tracks"]
    assert {t["label"] for t in labels} == {"unknown"}

    done = bulk({"person_id": "ahmed", "tracks": tracks})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert [t["label"] for t in body["tracks"]] == ["ahmed", "ahmed"]
    assert [(c["kind"], c["to"], c["track_id"]) for c in body["changes"]] == [
        ("is", "ahmed", "t-1"),
        ("is", "ahmed", "t-2"),
    ]
    # Each track keeps its own change: undo one, the other stays.
    undone = client.post("/tracks/door/t-1/label/undo", headers=REVIEW).get_json()
    assert undone["track"]["label"] == "unknown"
    assert client.get("/tracks/gate/t-2", headers=REVIEW).get_json()["label"] == "ahmed"
    assert client.post("/corrections/bulk", json={}, headers=RECOGNIZE).status_code == 403


def _track_id(flask_app, key: str) -> int:
    with service_of(flask_app).db._transaction() as session:
        return session.scalar(select(Track.id).where(Track.track_key == key))


def test_the_grouper_moves_a_track_only_while_it_is_alone_in_the_group_it_founded(app, client):  # noqa: F811
    """The grouper's second look (workers/grouper.py): a track that founded a group alone may
    join another group later; once its group holds another track, it stays."""
    ahmed = _seen(client, AHMED[0], "door", track_id="a-1")
    ai = _seen(client, AI[0], "yard", track_id="b-1")
    lone = _seen(client, LONE[0], "gate", track_id="c-1")
    _wait_until_grouped(app, 3)
    db = service_of(app).db
    first, second = _group_of(client, ahmed), _group_of(client, ai)
    assert first != second and len(_groups(client)) == 3

    assert db.join_unknown_track(_track_id(app, "b-1"), like=_track_id(app, "a-1")) == first
    assert _group_of(client, ai) == first and _in_group(app, first) == 2
    assert client.get(f"/unknowns/{second}", headers=REVIEW).status_code == 404

    # Its group now holds two tracks: neither moves again, and nothing changes.
    assert db.join_unknown_track(_track_id(app, "a-1"), like=_track_id(app, "c-1")) is None
    assert db.join_unknown_track(_track_id(app, "b-1"), like=_track_id(app, "c-1")) is None
    assert _group_of(client, ahmed) == _group_of(client, ai) == first
    assert _group_of(client, lone) not in (first, second) and len(_groups(client)) == 2
