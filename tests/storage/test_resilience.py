"""Start-up races and dropped connections: what N replicas and a restarting database do."""

from __future__ import annotations

import threading
import time

import pymysql
import pytest
from sqlalchemy import inspect, text

from storage import Database, DatabaseUnavailable
from storage.breaker import CircuitBreaker
from storage.models import Base

from .conftest import MARIADB, empty, mariadb_url
from .test_concurrency import run_at_once


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def fresh_url(request, tmp_path) -> str:
    """The URL of a database with no tables yet."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return mariadb_url(request.getfixturevalue("scratch_mariadb")("fresh"))


def test_workers_creating_the_schema_at_once_all_succeed(fresh_url):
    databases = [Database(fresh_url) for _ in range(4)]
    try:
        run_at_once(lambda i: databases[i].create_schema(), len(databases))
        assert set(inspect(databases[0].engine).get_table_names()) == set(Base.metadata.tables)
        databases[0].add_person("obama")
        assert databases[3].list_people() == [("obama", 0)]
    finally:
        for database in databases:
            database.close()


@pytest.mark.mariadb
def test_a_connection_killed_by_the_server_is_replaced(mariadb_database):
    """After a database restart (or a killed connection) the next call works: the pool hands
    out no connection the server closed (storage/engine.py)."""
    db = mariadb_database
    db.engine.dispose()  # so the pool holds exactly the connection that gets killed
    with db.engine.connect() as connection:
        killed = connection.execute(text("SELECT CONNECTION_ID()")).scalar()
    admin = pymysql.connect(**MARIADB, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f"KILL {int(killed)}")
    admin.close()
    db.add_person("after_the_kill")  # would raise DatabaseUnavailable without the check
    assert ("after_the_kill", 0) in db.list_people()
    db.delete_person("after_the_kill")
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT CONNECTION_ID()")).scalar() != killed


@pytest.mark.mariadb
def test_the_victim_of_a_deadlock_is_run_again(mariadb_database):
    """A real InnoDB deadlock: another client holds a recognition of obama's and then asks for
    obama's row, while delete_person holds obama's row and cascades into that recognition.
    InnoDB rolls back the lighter transaction (ours); the retry then finishes the delete."""
    db = mariadb_database
    empty(db)
    db.add_person("obama")
    db.add_person("biden")
    row = {"score": 1.0, "box": (0, 0, 1, 1)}
    db.store_recognitions([{**row, "label": "obama"}] + [{**row, "label": "biden"}] * 50)
    (obama_row,), _ = db.recognitions(person="obama")
    obama_recognition = obama_row["id"]
    other = pymysql.connect(**MARIADB, database=db.engine.url.database)
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("UPDATE recognitions SET confidence = 0.5 WHERE person_id = 'biden'")
            cursor.execute(
                f"UPDATE recognitions SET confidence = 0.5 WHERE id = {obama_recognition}"
            )
            deleting = threading.Thread(target=db.delete_person, args=("obama",))
            deleting.start()
            time.sleep(0.5)  # delete_person now holds obama's row and waits for the recognition
            cursor.execute("SELECT id FROM people WHERE id = 'obama' FOR UPDATE")  # -> deadlock
            other.commit()
        deleting.join(timeout=30)
    finally:
        other.close()
    assert not deleting.is_alive()
    assert not db.person_exists("obama")
    assert db.recognitions(person="obama")[1] == 0 and db.recognitions(person="biden")[1] == 50


def test_an_open_breaker_refuses_costly_writes_without_taking_the_trial_call():
    breaker = CircuitBreaker(failures_to_open=1, open_seconds=0.2)
    breaker.raise_if_open()  # closed: nothing to say
    breaker.failed("hung")
    with pytest.raises(DatabaseUnavailable, match="hung"):
        breaker.raise_if_open()
    time.sleep(0.25)
    breaker.raise_if_open()  # the period is over: a write may try again ...
    breaker.before_call()  # ... and the trial call is still there to take
    with pytest.raises(DatabaseUnavailable):
        breaker.before_call()  # one trial per period
