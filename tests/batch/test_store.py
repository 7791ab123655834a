"""`--store` on the real MariaDB: rows land in the recognitions table, and a re-run replaces them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from batch.job import BatchOptions, run_batch
from storage import Database
from storage.models import Recognition
from tests.batch.conftest import CLIP, SCENES
from tests.conftest import BUNDLE

pytestmark = pytest.mark.mariadb
STARTED_AT = 1_700_000_000.0


def _stored(database: Database) -> list[tuple]:
    table = Recognition.__table__
    columns = [c for c in table.columns if c.name != "id"]
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(*columns).order_by(*columns))]


def test_a_rerun_replaces_the_rows_instead_of_duplicating_them(
    spark, model_dir, scratch_database_url, tmp_path
):
    database = Database(scratch_database_url)
    database.create_schema()
    database.add_person("lin_manuel_miranda")  # biden and obama are not in this database
    # Another camera's sighting in the same seconds, and this camera's from another file.
    during = datetime.fromtimestamp(STARTED_AT + 5, UTC)
    others = [
        {"label": "x", "score": 1, "camera_id": "lobby", "location_id": CLIP.name,
         "box": (0, 0, 1, 1), "recognized_at": during},
        {"label": "y", "score": 1, "camera_id": "video", "location_id": "other.mp4",
         "box": (0, 0, 1, 1), "recognized_at": during},
    ]  # fmt: skip
    database.store_recognitions(others)
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
    after_first = _stored(database)
    assert not first.failed
    assert sum(item.stored for item in first.items) == first.rows > 10
    assert len(after_first) == first.rows + len(others)

    second = run_batch(spark, options)
    assert sum(item.stored for item in second.items) == second.rows == first.rows
    assert _stored(database) == after_first  # same rows, once each; the others untouched

    with database.engine.connect() as connection:
        table = Recognition.__table__
        linked = dict(
            connection.execute(
                select(table.c.label, func.count(table.c.person_id)).group_by(table.c.label)
            ).all()
        )
    assert linked["lin_manuel_miranda"] > 0  # enrolled here: linked to the person
    assert linked["biden"] == 0  # known to the model, not to this database: label kept, no link
