"""A database made by an older release gets what this one needs at start-up, data included:
sightings' codes, once rows of their own table, move onto their `recognitions` rows; an index
it widened replaces the narrow one."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect, text, update

from storage import Database
from storage.models import Track
from tests.storage.conftest import mariadb_url
from tests.storage.test_tracks import SPACE, judge, noisy, people, record  # noqa: F401

DATABASES = itertools.count()  # a scratch MariaDB database per test

# The table as the release before this one made it (db-gen/face_recognition_db.sql then).
OLD_CODES_TABLE = """
CREATE TABLE sighting_embeddings (
    recognition_id BIGINT NOT NULL PRIMARY KEY
        REFERENCES recognitions (id) ON DELETE CASCADE,
    embedding_space VARCHAR(64) NOT NULL,
    recognized_at DATETIME(6) NOT NULL,
    camera_id VARCHAR(64) NULL,
    location_id VARCHAR(64) NULL,
    code VARBINARY(512) NOT NULL
)"""


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/old.db"
    return mariadb_url(request.getfixturevalue("scratch_mariadb")(f"old_{next(DATABASES)}"))


def evidence(db, key: str):
    """A track's evidence read from its crops' rows (its kept window dropped)."""
    with db._transaction(write=True) as session:
        session.execute(update(Track).where(Track.track_key == key).values(best_crops=None))
    return db.track_evidence("door", key, SPACE)


def test_codes_kept_apart_by_an_older_release_move_onto_their_rows(
    url,
    judge,  # noqa: F811
    people,  # noqa: F811
):
    db = Database(url)
    db.create_schema()
    for seed in range(3):
        record(db, judge, noisy(people["ann"], seed), key="walk", quality=0.3 + 0.1 * seed)
    before = evidence(db, "walk")
    db.close()
    engine = create_engine(url)
    with engine.begin() as connection:  # the older release's layout, holding the same codes
        connection.execute(text(OLD_CODES_TABLE))
        connection.execute(
            text(
                "INSERT INTO sighting_embeddings SELECT id, embedding_space, recognized_at, "
                "camera_id, location_id, code FROM recognitions"
            )
        )
        for column in ("code", "embedding_space"):
            connection.execute(text(f"ALTER TABLE recognitions DROP COLUMN {column}"))

    upgraded = Database(url)
    upgraded.create_schema()
    upgraded.create_schema()  # once moved, nothing to do
    assert "sighting_embeddings" not in inspect(engine).get_table_names()
    after = evidence(upgraded, "walk")
    assert len(after[0]) == 3
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])
    record(upgraded, judge, noisy(people["ann"], 9), key="walk", quality=0.9)
    assert len(evidence(upgraded, "walk")[0]) == 4  # old and new crops decide together
    upgraded.close()
    engine.dispose()


def test_an_index_a_release_widened_is_replaced_at_start(url):
    """The older release's index on unknown_group_id alone gives way to (unknown_group_id,
    recognized_at); keeping both would cost every insert a second index to update."""
    db = Database(url)
    db.create_schema()
    db.close()
    engine = create_engine(url)
    new, old = "ix_recognitions_unknown_group_id_recognized_at", "ix_recognitions_unknown_group_id"
    on = "" if url.startswith("sqlite") else " ON recognitions"
    with engine.begin() as connection:  # the older release's layout
        connection.execute(text(f"DROP INDEX {new}{on}"))
        connection.execute(text(f"CREATE INDEX {old} ON recognitions (unknown_group_id)"))

    upgraded = Database(url)
    upgraded.create_schema()
    upgraded.create_schema()  # once replaced, nothing to do
    indexes = {index["name"] for index in inspect(engine).get_indexes("recognitions")}
    assert new in indexes and old not in indexes
    upgraded.close()
    engine.dispose()
