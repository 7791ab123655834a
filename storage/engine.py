"""Engines configured so SQLite and MariaDB keep the same promises (foreign keys, atomic writes)."""

from __future__ import annotations

import select
import sqlite3
import time
from pathlib import Path

from sqlalchemy import Engine, NullPool, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

# The execution option that makes a SQLite transaction take the write lock when it begins.
SQLITE_WRITE = "sqlite_write"
# How long a new connection keeps asking for WAL while another process is switching the file.
WAL_SWITCH_SECONDS = 10.0


def create_storage_engine(url: str, timeout: float = 5.0, *, pooled: bool = True) -> Engine:
    """An engine whose pool never hands out a connection the server has closed (a replica
    survives a database restart).

    `timeout` bounds connecting and every read and write on the socket: a database that
    accepts connections but never answers (hung, or a host gone without a RST) costs a call
    seconds, not minutes. `pooled=False` opens a fresh connection each time (health checks).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    # No ROLLBACK when a connection goes back to the pool: every transaction here ends in a
    # commit or a rollback of its own (sessions and connections are context managers), so the
    # pool's reset was one more round trip per transaction that undid nothing.
    pool = {
        "pool_recycle": 3600,
        "pool_timeout": timeout,
        "pool_reset_on_return": None,
    }
    engine = create_engine(
        url,
        **(pool if pooled else {"poolclass": NullPool}),
        # Short transactions and unique constraints are the concurrency control; READ COMMITTED
        # avoids the gap locks that make concurrent inserts deadlock under REPEATABLE READ.
        isolation_level="READ COMMITTED",
        connect_args={
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "write_timeout": timeout,
            "charset": "utf8mb4",
        },
    )
    if pooled:
        event.listen(engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection, _record, _proxy) -> None:
    """Replace a pooled connection the server has closed (a restart, KILL, wait_timeout).

    Instead of `pool_pre_ping`, which spent a round trip on every transaction (benchmarks/
    track_store.py): a closed connection has bytes to read (the server's error packet, or the
    end of the stream), and a live idle one never has, as MariaDB only writes in answer. A host
    gone without closing its sockets is caught, as the ping caught it, by the read timeout.
    """
    sock = getattr(dbapi_connection, "_sock", None)
    if sock is None:  # closed on this side already
        raise DisconnectionError("this pooled connection is closed")  # the pool retries
    waiting = select.poll()  # not select.select: a worker's descriptors may pass 1024
    waiting.register(sock, select.POLLIN)
    if waiting.poll(0):
        raise DisconnectionError("the database closed this pooled connection")


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
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A DEFERRED transaction that reads and then writes fails at once ("database is locked")
        # when another writer got in between; IMMEDIATE waits for the lock up front instead.
        immediate = connection.get_execution_options().get(SQLITE_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _switch_to_wal(cursor) -> None:
    """`PRAGMA journal_mode = WAL`, asked again while another connection is switching.

    SQLite answers a concurrent switch "database is locked" at once, without waiting on the busy
    timeout, so the workers of a fresh deployment opening the new file together raced for it and
    the losers' connections failed (6% of three-process starts). WAL then sticks to the file:
    only the first switch can race, and a retry finds it done.
    """
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
