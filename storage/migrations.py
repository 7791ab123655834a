"""Additive schema changes for a database made by an older release.

`create_all` makes missing tables but leaves an existing table as it is, so a column added to a
model since would be missing there and every query naming it would fail. Columns are only ever
added, and only nullable ones (an old row has no value for them): this adds each one that is
missing. Every worker runs it at start-up; when two race, the loser's ALTER fails because the
column is there, which is what it wanted.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateColumn

MARIADB_DUPLICATE_COLUMN = 1060


def add_missing_columns(engine: Engine, metadata) -> list[str]:
    """ALTER TABLE ... ADD COLUMN for each nullable model column its table lacks; which
    ("table.column"). A missing NOT NULL column is a change this cannot make: ValueError."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    added = []
    for table in metadata.sorted_tables:
        if table.name not in tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable:
                raise ValueError(f"{table.name}.{column.name} is missing and NOT NULL")
            _add(engine, table.name, column)
            added.append(f"{table.name}.{column.name}")
    return added


def _add(engine: Engine, table: str, column) -> None:
    definition = CreateColumn(column).compile(dialect=engine.dialect)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {definition}")
    except OperationalError as error:
        code = getattr(error.orig, "args", (None,))[0]
        if code != MARIADB_DUPLICATE_COLUMN and "duplicate column" not in str(error).lower():
            raise
