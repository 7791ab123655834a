"""db-gen/face_recognition_db.sql and the SQLAlchemy models describe the same MariaDB schema.

Both are created in scratch MariaDB databases and reflected with SQLAlchemy's inspector: tables,
column order, types, nullability, defaults, primary keys, foreign keys (with ON DELETE), unique
constraints, indexes and table options must be identical.
"""

from __future__ import annotations

import re
from pathlib import Path

import pymysql
import pytest
from sqlalchemy import create_engine, inspect

from storage.models import Base

from .conftest import MARIADB, mariadb_url

DDL = Path(__file__).resolve().parents[2] / "db-gen" / "face_recognition_db.sql"

pytestmark = pytest.mark.mariadb


def statements(sql: str) -> list[str]:
    """Split a DDL script: drop `--` comments, cut at `;` (the file has no string literals)."""
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return [part.strip() for part in without_comments.split(";") if part.strip()]


def load_ddl(database: str, sql: str) -> None:
    connection = pymysql.connect(**MARIADB, database=database, autocommit=True)
    try:
        with connection.cursor() as cursor:
            for statement in statements(sql):
                cursor.execute(statement)
    finally:
        connection.close()


def describe(database: str) -> dict:
    engine = create_engine(mariadb_url(database))
    try:
        inspector = inspect(engine)
        return {table: _describe_table(inspector, table) for table in inspector.get_table_names()}
    finally:
        engine.dispose()


def _describe_table(inspector, table: str) -> dict:
    def by_name(items):
        return sorted(items, key=lambda item: item["name"])

    return {
        "columns": [
            (c["name"], repr(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
            for c in inspector.get_columns(table)
        ],
        "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
        "foreign_keys": by_name(inspector.get_foreign_keys(table)),
        "unique_constraints": by_name(inspector.get_unique_constraints(table)),
        "indexes": by_name(inspector.get_indexes(table)),
        "options": inspector.get_table_options(table),
    }


@pytest.fixture(scope="module")
def from_models(scratch_mariadb) -> dict:
    database = scratch_mariadb("models")
    engine = create_engine(mariadb_url(database))
    Base.metadata.create_all(engine)
    engine.dispose()
    return describe(database)


@pytest.fixture(scope="module")
def from_ddl(scratch_mariadb) -> dict:
    database = scratch_mariadb("ddl")
    sql = DDL.read_text()
    load_ddl(database, sql)
    load_ddl(database, sql)  # IF NOT EXISTS: provisioning twice is harmless
    return describe(database)


def test_the_ddl_file_creates_exactly_the_models_schema(from_models, from_ddl):
    assert set(from_models) == set(Base.metadata.tables)
    assert set(from_ddl) == set(from_models)
    for table in sorted(from_models):
        assert from_ddl[table] == from_models[table], f"table {table} differs"


def test_the_schema_has_what_the_service_relies_on(from_models):
    """Guards the comparison against comparing two wrong schemas."""
    images = from_models["images"]
    columns = {name: kind for name, kind, *_ in images["columns"]}
    assert columns["data"] == "LONGBLOB()"
    assert "DATETIME(fsp=6)" in columns["created_at"]
    assert images["unique_constraints"][0]["column_names"] == ["person_id", "sha256"]
    cascades = {
        (table, fk["referred_table"]): fk["options"].get("ondelete")
        for table, description in from_models.items()
        for fk in description["foreign_keys"]
    }
    assert cascades == {
        ("images", "people"): "CASCADE",
        ("image_qualities", "images"): "CASCADE",
        ("embeddings", "images"): "CASCADE",
        ("recognitions", "people"): "CASCADE",
        ("recognitions", "tracks"): "SET NULL",  # a track's retention keeps its sightings
        ("sighting_thumbnails", "recognitions"): "CASCADE",
        ("tracks", "people"): "CASCADE",
        ("track_events", "tracks"): "CASCADE",
        ("track_codes", "tracks"): "CASCADE",
        # Audit rows name their targets by value: deleting a person keeps what was done to them.
        ("audit_targets", "audit_log"): "CASCADE",
        ("person_tags", "people"): "CASCADE",
        ("alerts", "track_events"): "CASCADE",
        ("alerts", "tracks"): "CASCADE",
        ("alerts", "alert_rules"): "SET NULL",  # a deleted rule leaves its alerts
        ("person_negatives", "label_changes"): "CASCADE",
        ("person_negatives", "people"): "CASCADE",
        ("label_change_sightings", "label_changes"): "CASCADE",
        ("label_change_sightings", "recognitions"): "CASCADE",
        ("label_change_images", "label_changes"): "CASCADE",
        ("label_change_images", "images"): "CASCADE",
    }
    assert all(d["options"]["mysql_engine"] == "InnoDB" for d in from_models.values())


def test_the_comparison_notices_a_one_character_drift(scratch_mariadb, from_models):
    drifted = DDL.read_text().replace("label VARCHAR(64)", "label VARCHAR(65)")
    database = scratch_mariadb("drift")
    load_ddl(database, drifted)
    described = describe(database)
    assert described["recognitions"] != from_models["recognitions"]
    assert described["people"] == from_models["people"]
