"""Engines configured so SQLite and MariaDB keep the same promises (foreign keys, atomic writes)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

# The execution option that makes a SQLite transaction take the write lock when it begins.
SQLITE_WRITE = "sqlite_write"
IO_TIMEOUT_SECONDS = 30


def create_storage_engine(url: str, connect_timeout: float = 5.0) -> Engine:
    """An engine with `pool_pre_ping` (a replica survives a database restart)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        # Short transactions and unique constraints are the concurrency control; READ COMMITTED
        # avoids the gap locks that make concurrent inserts deadlock under REPEATABLE READ.
        isolation_level="READ COMMITTED",
        connect_args={
            "connect_timeout": max(1, round(connect_timeout)),
            # A database host that vanishes mid-query (no RST) must not hang a worker forever.
            "read_timeout": IO_TIMEOUT_SECONDS,
            "write_timeout": IO_TIMEOUT_SECONDS,
            "charset": "utf8mb4",
        },
    )


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if not database or database == ":memory:":
        raise ValueError("SQLite needs a file (sqlite:///path/to/facerec.db): workers share it")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Hand BEGIN to the listener below; pysqlite's own BEGIN is always DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A DEFERRED transaction that reads and then writes fails at once ("database is locked")
        # when another writer got in between; IMMEDIATE waits for the lock up front instead.
        immediate = connection.get_execution_options().get(SQLITE_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
