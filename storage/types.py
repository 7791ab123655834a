"""Column types that behave the same on SQLite and on MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator

# MariaDB's plain BLOB stops at 64 KiB; an uploaded photo is up to the upload limit (10 MB).
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
# A face's int8 codes (at most 512 dimensions) stored inline: MariaDB keeps a BLOB off the row
# and copies it through on-disk temporary tables, which made a search over 1M faces 2x slower.
Code = LargeBinary().with_variant(mysql.VARBINARY(512), "mysql", "mariadb")
# SQLite only auto-increments an INTEGER PRIMARY KEY; MariaDB gets the wider type.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator):
    """A UTC instant: stored naive (in UTC), always returned timezone-aware.

    MariaDB's DATETIME keeps whole seconds unless asked for microseconds, which lease
    expiry and the ordering of recognitions need.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)
