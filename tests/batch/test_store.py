"""`--store` on the real MariaDB: crops, their faces and tracks land in the database, and a
re-run replaces them instead of adding a second copy."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from batch.job import BatchOptions, run_batch, tracks_path
from recognition import load_image
from recognition.gallery import decode_one
from recognition.sighting import THUMBNAIL_SIZE
from storage import Database, Segment
from storage.models import Recognition, SightingThumbnail, Track, TrackCode
from tests.batch.conftest import CLIP, SCENES
from tests.conftest import BUNDLE, people_images

STARTED_AT = 1_700_000_000.0
DURING = datetime.fromtimestamp(STARTED_AT + 5, UTC)


def _stored(database: Database) -> list[tuple]:
    """The crops' rows, without row ids (their tracks: `_stored_tracks`)."""
    table = Recognition.__table__
    columns = [c for c in table.columns if c.name not in ("id", "track_id")]
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(*columns).order_by(*columns))]


def _stored_tracks(database: Database) -> tuple[list, list, list]:
    """Tracks, their crops (by the crop's time and box) and their codes, without row ids."""
    tracks = [c for c in Track.__table__.columns if c.name != "id"]
    crops = (
        Track.camera_id, Track.track_key, Recognition.recognized_at, Recognition.box_left,
        Recognition.box_top, Recognition.quality, Recognition.grey,
    )  # fmt: skip
    codes = (Track.track_key, TrackCode.embedding_space, TrackCode.last_seen_at, TrackCode.code)
    with database.engine.connect() as connection:
        return (
            [tuple(r) for r in connection.execute(select(*tracks).order_by(*tracks))],
            [
                tuple(r)
                for r in connection.execute(
                    select(*crops)
                    .join(Recognition, Recognition.track_id == Track.id)
                    .order_by(*crops)
                )
            ],
            [
                tuple(r)
                for r in connection.execute(
                    select(*codes).join(Track, Track.id == TrackCode.track_id).order_by(*codes)
                )
            ],
        )


def _thumbnails(database: Database) -> list[tuple]:
    """The faces kept, each by its crop's camera, file, time and box (not row ids)."""
    crop = (
        Recognition.camera_id, Recognition.location_id, Recognition.recognized_at,
        Recognition.box_left, Recognition.box_top,
    )  # fmt: skip
    query = select(*crop, SightingThumbnail.jpeg).join(
        SightingThumbnail, SightingThumbnail.recognition_id == Recognition.id
    )
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query.order_by(*crop))]


def _best_crops(database: Database) -> dict[str, tuple[int, bytes]]:
    """Each track's key -> its best crop by quality (what storage/track_rows.best_crop picks
    among the crops with a face) and the track's code (the mean its decision classified)."""
    query = (
        select(Track.track_key, Recognition.id, TrackCode.code)
        .join(Recognition, Recognition.track_id == Track.id)
        .join(TrackCode, TrackCode.track_id == Track.id)
        .order_by(Recognition.quality, Recognition.id.desc())
    )
    with database.engine.connect() as connection:
        return {key: (crop, code) for key, crop, code in connection.execute(query)}


def _assert_best_faces(database: Database, analyzer, spark, output: str) -> None:
    """Every archive track shows its best crop's face, as a live track does: a small JPEG of
    one face, the track's person (its embedding near the track's mean), and the tracks
    dataset's."""
    listed, _ = database.tracks(per_page=100)
    best = _best_crops(database)
    written = dict(
        spark.read.parquet(tracks_path(output)).select("track_id", "best_thumbnail").collect()
    )
    assert {track["id"] for track in listed} == {*written, "other.mp4-0-1"}
    for track in listed:
        face = track["best_recognition_id"]
        assert face == database.track(track["camera_id"], track["id"])["best_recognition_id"]
        if track["id"] == "other.mp4-0-1":
            assert face is None  # stored without a face: none to show
            continue
        crop, mean = best[track["id"]]
        jpeg = database.sighting_thumbnail(face)
        assert face == crop and jpeg == bytes(written[track["id"]])
        image = Image.open(io.BytesIO(jpeg))
        assert image.format == "JPEG" and 40 <= max(image.size) <= THUMBNAIL_SIZE, image.size
        rgb = np.asarray(image.convert("RGB"))
        [seen] = analyzer.detect(rgb)  # one face, most of the picture (20% margin each side)
        assert (seen.box[2] - seen.box[0]) > 0.5 * rgb.shape[1] and seen.probability > 0.9
        similarity = float(analyzer.embed(rgb, [seen])[0] @ decode_one(mean))
        assert similarity > 0.6, (track["id"], similarity)


def _another_recording(database: Database, space: str, name: str = "other.mp4") -> None:
    """This camera's one-crop track from another file, in the same seconds."""
    crop = {
        "label": "y", "score": 1, "threshold": None, "box": (0, 0, 1, 1), "camera_id": "video",
        "location_id": name, "model_version": None, "recognized_at": DURING,
        "embedding_space": space, "codes": bytes(256), "track_id": f"{name}-0-1",
        "quality": 1.0, "grey": False,
    }  # fmt: skip
    track = {
        **{key: crop[key] for key in ("camera_id", "location_id", "label", "model_version")},
        "track_id": crop["track_id"], "first_seen_at": DURING, "last_seen_at": DURING,
        "crops": 1, "score": 1.0, "threshold": None, "faces": 1, "embedding_space": space,
        "embedding": [1.0] + [0.0] * 255,
    }  # fmt: skip
    window = Segment("video", name, DURING, DURING.replace(second=DURING.second + 1))
    assert database.store_recognitions([crop], replacing=window, tracks=[track]) == 1


def test_storing_a_recording_again_replaces_it_and_nothing_else(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'facerec.db'}")
    database.create_schema()
    _another_recording(database, "space", "a.mp4")
    _another_recording(database, "space", "b.mp4")
    before = _stored(database), _stored_tracks(database)
    _another_recording(database, "space", "a.mp4")
    assert (_stored(database), _stored_tracks(database)) == before
    tracks, crops, codes = before[1]
    assert len(before[0]) == len(tracks) == len(crops) == len(codes) == 2


def test_a_recording_stored_again_takes_its_strangers_groups_with_it(tmp_path):
    """A re-run deletes the recording's crops: a group they were all of goes with them, a group
    they shared with another recording keeps that one's, counted (storage/group_counts.py)."""
    database = Database(f"sqlite:///{tmp_path / 'facerec.db'}")
    database.create_schema()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        _another_recording(database, "space", name)
    with database.engine.connect() as connection:
        track = dict(connection.execute(select(Track.track_key, Track.id)).all())
    a, b, c = (track[f"{name}-0-1"] for name in ("a.mp4", "b.mp4", "c.mp4"))
    shared, _, _ = database.assign_unknown_tracks("space", [(a, None), (b, a), (c, None)])
    assert database.unknown_groups()[1] == 2 and database.unknown_group(shared)[0]["size"] == 2
    _another_recording(database, "space", "a.mp4")
    _another_recording(database, "space", "c.mp4")
    groups, total = database.unknown_groups()
    assert total == 1 and groups[0]["id"] == shared and groups[0]["size"] == 1
    [face] = database.unknown_group(shared)[1]
    assert face["location_id"] == "b.mp4" and groups[0]["cover_id"] == face["id"]


@pytest.mark.mariadb
def test_a_rerun_replaces_the_crops_and_tracks_instead_of_duplicating_them(
    spark, model_dir, scratch_database_url, tmp_path, analyzer
):
    database = Database(scratch_database_url)
    database.create_schema()
    database.add_person("lin_manuel_miranda")  # biden and obama are not in this database
    # Another camera's sighting in the same seconds, and this camera's track of another file.
    database.store_recognitions(
        [{"label": "x", "score": 1, "camera_id": "lobby", "location_id": CLIP.name,
          "box": (0, 0, 1, 1), "recognized_at": DURING}]
    )  # fmt: skip
    _another_recording(database, analyzer.embedding_space)
    options = BatchOptions(
        inputs=[str(CLIP), str(SCENES / "two_people.jpg")],
        output=str(tmp_path / "first.parquet"),
        bundle_dir=str(BUNDLE),
        model_dir=str(model_dir),
        fps=1.0,
        segment_seconds=4.0,
        started_at=STARTED_AT,
        database_url=scratch_database_url,
    )
    first = run_batch(spark, options)
    after_first, tracks_after_first = _stored(database), _stored_tracks(database)
    assert not first.failed
    assert sum(item.stored for item in first.items) == first.rows > 10
    assert len(after_first) == first.rows + 2
    tracks, crops, codes = tracks_after_first
    assert first.joined > 0 and first.stored_tracks == first.tracks
    assert len(tracks) == len(codes) == first.tracks + 1 and len(crops) == first.rows + 1
    faces = _thumbnails(database)
    assert len(faces) == first.rows  # every crop of the job keeps its face
    _assert_best_faces(database, analyzer, spark, options.output)

    second = run_batch(spark, options)
    assert sum(item.stored for item in second.items) == second.rows == first.rows
    assert _stored(database) == after_first  # same rows, once each; the others untouched
    assert _stored_tracks(database) == tracks_after_first
    assert _thumbnails(database) == faces  # the same faces, once each

    with database.engine.connect() as connection:
        table = Recognition.__table__
        linked = dict(
            connection.execute(
                select(table.c.label, func.count(table.c.person_id)).group_by(table.c.label)
            ).all()
        )
        kept = connection.scalar(select(func.count()).select_from(SightingThumbnail))
    assert kept == len(faces)  # the first run's faces went with their rows: none left over
    assert linked["lin_manuel_miranda"] > 0  # enrolled here: linked to the person
    assert linked["biden"] == 0  # known to the model, not to this database: label kept, no link
    # Search by face finds his stored track: on stage 3-7 s, across the border at 4 s.
    _, _, embedding = analyzer.subject(
        load_image(people_images()["lin_manuel_miranda"][0].read_bytes())
    )
    [best], _ = database.search_tracks(embedding, analyzer.embedding_space, limit=1)
    assert best["label"] == best["person_id"] == "lin_manuel_miranda"
    assert best["first_seen_at"].timestamp() <= STARTED_AT + 3
    assert best["last_seen_at"].timestamp() >= STARTED_AT + 7 and best["ended_at"] is not None
