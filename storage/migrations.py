"""Additive schema changes for a database made by an older release.

`create_all` makes missing tables but leaves an existing table as it is, so a column or an index
added to a model since would be missing there: every query naming the column would fail, and
every query needing the index would scan. Columns are only ever added, and only nullable ones
(an old row has no value for them): this adds each one that is missing, then each missing
index. Every worker runs it at start-up; when two race, the loser's statement fails because
the column or index is there, which is what it wanted.

An index a release replaced with a wider one (REPLACED_INDEXES) is dropped once the new one is
made: every insert would keep both up to date.

One release moved data: sightings' codes, once rows of `sighting_embeddings`, are columns of
their `recognitions` row; `move_sighting_codes` copies them there and drops the old table.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.schema import CreateColumn, CreateIndex

MARIADB_DUPLICATE_COLUMN = 1060
MARIADB_DUPLICATE_INDEX = 1061
REPLACED_INDEXES = {  # table: indexes that a wider index of the models now serves
    "recognitions": ("ix_recognitions_unknown_group_id",),  # by (unknown_group_id, recognized_at)
}
MOVE_BATCH_ROWS = 10_000  # recognition ids one transaction of the codes' move covers
_COPY = {  # one batch of codes into the rows that have none yet
    "mysql": "UPDATE recognitions r JOIN sighting_embeddings e ON e.recognition_id = r.id "
    "SET r.embedding_space = e.embedding_space, r.code = e.code "
    "WHERE r.id >= :low AND r.id < :high AND r.code IS NULL",
    "sqlite": "UPDATE recognitions SET embedding_space = e.embedding_space, code = e.code "
    "FROM sighting_embeddings e WHERE e.recognition_id = recognitions.id "
    "AND recognitions.id >= :low AND recognitions.id < :high AND recognitions.code IS NULL",
}


def upgrade_tables(engine: Engine, metadata) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each nullable model column its table lacks, then CREATE
    INDEX for each model index it lacks and DROP INDEX for each of REPLACED_INDEXES it still
    has (IF EXISTS: workers race); which ("table.column", "table.index"). A missing NOT NULL
    column is a change this cannot make: ValueError."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    changed = []
    for table in metadata.sorted_tables:
        if table.name not in tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise ValueError(f"{table.name}.{column.name} is missing and NOT NULL")
            definition = CreateColumn(column).compile(dialect=engine.dialect)
            _run(engine, f"ALTER TABLE {table.name} ADD COLUMN {definition}")
            changed.append(f"{table.name}.{column.name}")
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                _run(engine, str(CreateIndex(index).compile(dialect=engine.dialect)))
                changed.append(f"{table.name}.{index.name}")
        for name in REPLACED_INDEXES.get(table.name, ()):
            if name in present:
                on = "" if engine.dialect.name == "sqlite" else f" ON {table.name}"
                _run(engine, f"DROP INDEX IF EXISTS {name}{on}")
                changed.append(f"{table.name}.{name}")
    return changed


def _run(engine: Engine, statement: str) -> None:
    """One ALTER or CREATE INDEX; one that another worker made first is no error."""
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    except OperationalError as error:
        code = getattr(error.orig, "args", (None,))[0]
        message = str(error).lower()
        if code in (MARIADB_DUPLICATE_COLUMN, MARIADB_DUPLICATE_INDEX):
            return
        if "duplicate column" not in message and "already exists" not in message:
            raise


def move_sighting_codes(engine: Engine) -> int:
    """Copy each `sighting_embeddings` row's codes onto its `recognitions` row, a batch of ids a
    transaction (short locks; a worker that dies mid-way leaves the rest to the next start),
    then drop that table; how many rows were copied. Workers racing copy the same values, and
    one finding the table dropped under it has nothing left to do."""
    if "sighting_embeddings" not in inspect(engine).get_table_names():
        return 0
    copy = text(_COPY["sqlite" if engine.dialect.name == "sqlite" else "mysql"])
    moved = 0
    try:
        with engine.begin() as connection:
            low, high = connection.execute(
                text("SELECT MIN(recognition_id), MAX(recognition_id) FROM sighting_embeddings")
            ).one()
        for start in range(low or 0, (high or -1) + 1, MOVE_BATCH_ROWS):
            with engine.begin() as connection:
                batch = {"low": start, "high": start + MOVE_BATCH_ROWS}
                moved += connection.execute(copy, batch).rowcount
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS sighting_embeddings")
    except (OperationalError, ProgrammingError):
        if "sighting_embeddings" in inspect(engine).get_table_names():
            raise  # not another worker's drop
    return moved
