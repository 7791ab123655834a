"""Fixtures: a fresh Database on SQLite (a temp file) and on the real MariaDB (a scratch schema).

MariaDB is the server of tests.conftest.mariadb_server (127.0.0.1:3306 or a private one; root, no
password). Each test session creates its own uniquely named databases and drops them at the end,
so parallel runs do not clash. If the server cannot be reached the MariaDB tests fail; they are
never skipped.
"""

from __future__ import annotations

import os
import secrets

import numpy as np
import pymysql
import pytest

from storage import Database
from storage.models import Base
from tests.conftest import MARIADB, PEOPLE, mariadb_url


@pytest.fixture(scope="session")
def scratch_mariadb(mariadb_server):
    """A factory of empty MariaDB databases, all dropped when the session ends."""
    try:
        admin = pymysql.connect(**MARIADB, connect_timeout=5, autocommit=True)
    except pymysql.MySQLError as error:
        pytest.fail(f"MariaDB is not reachable on {MARIADB['host']}:{MARIADB['port']}: {error}")
    session_tag = f"facerec_test_{os.getpid()}_{secrets.token_hex(4)}"
    created: list[str] = []

    def create(purpose: str) -> str:
        name = f"{session_tag}_{purpose}"
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        created.append(name)
        return name

    yield create
    with admin.cursor() as cursor:
        for name in created:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


@pytest.fixture(scope="session")
def mariadb_database(scratch_mariadb):
    database = Database(mariadb_url(scratch_mariadb("db")))
    database.create_schema()
    yield database
    database.close()


def empty(database: Database) -> None:
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def db(request, tmp_path) -> Database:
    """An empty, ready Database on each backend."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'facerec.db'}")
        database.create_schema()
        yield database
        database.close()
    else:
        database = request.getfixturevalue("mariadb_database")
        empty(database)
        yield database


@pytest.fixture(scope="session")
def face_images() -> dict[str, list[bytes]]:
    """Real enrolment photos by person, from tests/data/people."""
    people = {}
    for folder in sorted(PEOPLE.iterdir()):
        people[folder.name] = [path.read_bytes() for path in sorted(folder.iterdir())]
    assert len(people) >= 5, f"expected the real faces in {PEOPLE}"
    return people


def unit_vector(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return vector / np.linalg.norm(vector)
