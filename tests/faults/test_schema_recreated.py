"""A database created after start-up, or emptied while serving: the schema comes back by itself.

Before: the tables were only created at start-up, so requests got 500s for good (while /readyz
said the database was up).
"""

from __future__ import annotations

import time

import requests

from .conftest import ADMIN, serve


def status_until(call, wanted: int, seconds: float) -> tuple[list[int], float]:
    """Statuses seen while waiting for `wanted`, and how long it took."""
    seen, started = [], time.monotonic()
    while time.monotonic() - started < seconds:
        seen.append(call().status_code)
        if seen[-1] == wanted:
            break
        time.sleep(0.2)
    return seen, time.monotonic() - started


def database_state(url: str, wanted: str, within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        state = requests.get(url + "/readyz", timeout=2).json()["database"]
        if state == wanted or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_the_schema_is_created_whenever_the_database_answers_without_it(tmp_path, mariadb):
    name = f"late_{time.monotonic_ns()}"
    url = f"mysql+pymysql://root@127.0.0.1:{mariadb.port}/{name}"
    with serve(tmp_path, {"FACEREC_DATABASE_URL": url}) as api:

        def add(person):
            return lambda: requests.post(f"{api.url}/dataset/{person}", headers=ADMIN, timeout=10)

        assert requests.get(api.url + "/readyz", timeout=2).json()["database"] == "down"
        assert add("early")().status_code == 503

        mariadb.query(f"CREATE DATABASE {name}")  # after the replica started
        seen, created_in = status_until(add("first"), 201, 10)
        assert set(seen) <= {503, 201} and seen[-1] == 201, seen
        assert database_state(api.url, "up", within=3) == "up"  # the last check's answer

        mariadb.query(f"DROP DATABASE {name}")  # every table gone while serving
        mariadb.query(f"CREATE DATABASE {name}")
        seen, recreated_in = status_until(add("second"), 201, 10)
        assert set(seen) <= {503, 201} and seen[-1] == 201, seen
        assert mariadb.query(f"SELECT id FROM {name}.people") == [("second",)]
    print(
        f"\nschema: created {created_in:.1f} s after the database appeared, "
        f"recreated {recreated_in:.1f} s after its tables were dropped (503s meanwhile)"
    )
