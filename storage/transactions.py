"""What every area's queries run inside: the engines, one short transaction per call, the
circuit breaker and the schema.

Each query is one short transaction. Callers get plain values (tuples, dicts, numpy arrays),
never ORM objects, so nothing lazy-loads after the session is gone. Any sign that the database
is unreachable becomes `DatabaseUnavailable`, which the web layer turns into a 503.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from .breaker import CircuitBreaker
from .engine import SQLITE_WRITE, create_storage_engine
from .errors import DatabaseUnavailable
from .migrations import move_sighting_codes, upgrade_tables
from .models import Base

MARIADB_DEADLOCK = 1213
MARIADB_LOCK_WAIT_TIMEOUT = 1205
MARIADB_NO_SUCH_TABLE = 1146
CONFLICT_ATTEMPTS = 3
# A health check must answer well within the readiness probe's period.
PING_TIMEOUT_SECONDS = 2.0


def retry_deadlocks(method):
    """Run a write again when MariaDB chose it as a deadlock's victim, or it waited too long for
    another transaction's lock.

    InnoDB breaks a deadlock by rolling one transaction back whole; running that transaction
    again is safe and almost always succeeds, so the caller never sees the conflict.
    """

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return method(self, *args, **kwargs)
            except DatabaseUnavailable as error:
                if attempt + 1 == CONFLICT_ATTEMPTS or not _is_deadlock(error.__cause__):
                    raise
                time.sleep(0.05 * 2**attempt)

    return run


def _error_code(error) -> int | None:
    arguments = getattr(getattr(error, "orig", None), "args", ())
    return arguments[0] if arguments and isinstance(arguments[0], int) else None


def _is_deadlock(error) -> bool:
    return _error_code(error) in (MARIADB_DEADLOCK, MARIADB_LOCK_WAIT_TIMEOUT)


def _is_missing_table(error) -> bool:
    return _error_code(error) == MARIADB_NO_SUCH_TABLE or "no such table" in str(error)


def _is_busy(error) -> bool:
    """The database answered, but another transaction was in the way: no sign of an outage."""
    return _error_code(error) in (MARIADB_DEADLOCK, MARIADB_LOCK_WAIT_TIMEOUT) or (
        "database is locked" in str(error)
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Transactions:
    """One database's plumbing, which every query area (people.py, ...) builds on.

    `url` is any SQLAlchemy URL: a SQLite file or mysql+pymysql://...
    """

    def __init__(self, url: str, *, timeout: float = 5.0):
        self.url = url
        self._engine = create_storage_engine(url, timeout)
        self._probe = (
            self._engine
            if self.dialect == "sqlite"
            else create_storage_engine(url, min(timeout, PING_TIMEOUT_SECONDS), pooled=False)
        )
        self._reads = sessionmaker(self._engine, expire_on_commit=False)
        writer = self._engine.execution_options(**{SQLITE_WRITE: True})
        self._writes = sessionmaker(writer, expire_on_commit=False)
        self.breaker = CircuitBreaker()
        # False until create_schema succeeds, and again when a query finds a table missing
        # (the database was recreated or its tables dropped): the owner calls create_schema.
        self.schema_ready = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def engine(self):
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        """Drop pooled connections (call after fork, or when done)."""
        self._engine.dispose()
        self._probe.dispose()

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Session]:
        """One transaction; DatabaseUnavailable if the database cannot serve it now.

        Unreachable or hung: the breaker counts it and soon fails calls at once. A missing
        table: `schema_ready` turns False so the owner recreates the schema; 503 meanwhile.
        """
        self.breaker.before_call()
        sessions = self._writes if write else self._reads
        try:
            with sessions() as session, session.begin():
                yield session
        except ProgrammingError as error:
            if not _is_missing_table(error):
                raise
            self.schema_ready = False
            raise DatabaseUnavailable(
                f"the database has no {getattr(error, 'orig', error)}; the schema is being "
                "created again, retry"
            ) from error
        except (OperationalError, InterfaceError, PoolTimeout) as error:
            reason = getattr(error, "orig", None) or error
            if _is_missing_table(error):
                self.schema_ready = False
            elif not _is_busy(error):
                self.breaker.failed(str(reason))
            raise DatabaseUnavailable(f"database unavailable: {reason}") from error
        self.breaker.succeeded()

    def create_schema(self, attempts: int = 5) -> None:
        """Create missing tables, nullable columns and indexes (idempotent).

        Every worker of every replica calls this at start-up; when two race, one CREATE TABLE
        fails with "already exists" and the next attempt skips the tables that are there.
        """
        for attempt in range(attempts):
            try:
                Base.metadata.create_all(self._engine)
                upgrade_tables(self._engine, Base.metadata)  # a release's columns, indexes
                move_sighting_codes(self._engine)
                self.schema_ready = True
                return
            except (OperationalError, InterfaceError, PoolTimeout) as error:
                if attempt == attempts - 1:
                    reason = getattr(error, "orig", None) or error
                    raise DatabaseUnavailable(f"cannot create the schema: {reason}") from error
                time.sleep(0.1 * (attempt + 1))

    def ping(self) -> bool:
        """True when the database answers SELECT 1 within PING_TIMEOUT_SECONDS. Never raises.

        It always asks, on a fresh connection, whatever the breaker says: it is what closes
        the breaker when the database is back, and opens it at once when it is not.
        """
        try:
            with self._probe.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            self.breaker.failed(str(getattr(error, "orig", None) or error), open_now=True)
            return False
        self.breaker.succeeded()
        return True
