"""Fixtures every test area shares: where the real faces, the model bundle and MariaDB are."""

from __future__ import annotations

import os
from pathlib import Path

import pymysql
import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "tests" / "data"  # vendored (tests/data/README.md): a clone needs no ../shared
PEOPLE = FACES / "people"
ULTRAFACE = ROOT / "third_party" / "ultraface"
BUNDLE = ROOT / "models"
# The MariaDB of the tests: the server on 127.0.0.1:3306 when root can log in there, otherwise (or
# with FACEREC_TEST_MARIADB=private) a private mariadbd on a free port; see `mariadb_server`.
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def mariadb_url(database: str) -> str:
    return f"mysql+pymysql://{MARIADB['user']}@{MARIADB['host']}:{MARIADB['port']}/{database}"


def _answers() -> bool:
    try:
        pymysql.connect(**MARIADB, connect_timeout=2).close()
        return True
    except pymysql.MySQLError:
        return False


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory) -> dict:
    """MARIADB, pointed at a server that answers; started on first use, stopped by PID at the end.

    Every MariaDB fixture asks for this one before it reads MARIADB or calls `mariadb_url`.
    """
    if os.environ.get("FACEREC_TEST_MARIADB") != "private" and _answers():
        yield MARIADB
        return
    from scripts.cluster.mariadb import PrivateMariaDB

    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb")).start()
    MARIADB["port"] = server.port
    try:
        yield MARIADB
    finally:
        server.stop()
        MARIADB["port"] = 3306


def people_images() -> dict[str, list[Path]]:
    """person id -> their images in tests/data/people, sorted."""
    return {
        person.name: sorted(p for p in person.iterdir() if p.is_file())
        for person in sorted(PEOPLE.iterdir())
        if person.is_dir()
    }


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    if not (BUNDLE / "manifest.json").is_file():
        pytest.fail("no model bundle: run `make models` (make test builds it first)")
    return BUNDLE


@pytest.fixture(scope="session")
def analyzer(bundle_dir):
    from recognition import FaceAnalyzer

    return FaceAnalyzer.from_bundle(bundle_dir)


def faces_and_embeddings(analyzer, rgb):
    """Every face the analyzer finds in `rgb` and its embedding."""
    faces = analyzer.detect(rgb)
    return faces, analyzer.embed(rgb, faces)
