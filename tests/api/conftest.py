"""Apps on a temporary SQLite file (or a scratch MariaDB database), with real networks and keys."""

from __future__ import annotations

import io
import secrets
from dataclasses import replace
from pathlib import Path

import pymysql
import pytest

from api.app import create_app
from api.config import Settings
from api.service import service_of
from tests.conftest import BUNDLE, FACES, MARIADB
from tests.conftest import mariadb_url as url_of

ADMIN_KEY = "admin-" + secrets.token_hex(12)
RECOGNIZE_KEY = "recognize-" + secrets.token_hex(12)
ADMIN = {"X-API-Key": ADMIN_KEY}
RECOGNIZE = {"X-API-Key": RECOGNIZE_KEY}


def settings_for(tmp: Path, database_url: str | None = None, **overrides) -> Settings:
    return replace(
        Settings(),
        bundle_dir=BUNDLE,
        model_dir=tmp / "model-store",
        database_url=database_url or f"sqlite:///{tmp / 'facerec.db'}",
        api_keys=(("admin", ADMIN_KEY), ("recognize", RECOGNIZE_KEY)),
        model_poll_seconds=0.2,
        **overrides,
    )


def upload(path: Path | bytes, name: str = "face.jpg", **fields) -> dict:
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    return {"image": (io.BytesIO(data), name), **fields}


@pytest.fixture(scope="session")
def make_app():
    """Build apps; each is closed (watcher stopped, pool dropped) at the end of the session."""
    made = []

    def make(settings: Settings):
        app = create_app(settings)
        app.config["TESTING"] = True
        made.append(app)
        service_of(app).analyzers.get()  # the networks, before any timing starts
        return app

    yield make
    for app in made:
        service_of(app).close()


@pytest.fixture(scope="module")
def app(make_app, tmp_path_factory):
    return make_app(settings_for(tmp_path_factory.mktemp("api")))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def mariadb_url(mariadb_server):
    """An empty MariaDB database for this session, dropped at its end. Never skipped."""
    try:
        admin = pymysql.connect(**MARIADB, connect_timeout=5, autocommit=True)
    except pymysql.MySQLError as error:
        pytest.fail(f"MariaDB is not reachable on {MARIADB['host']}:{MARIADB['port']}: {error}")
    names = []

    def create(purpose: str) -> str:
        name = f"facerec_api_{purpose}_{secrets.token_hex(4)}"
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        names.append(name)
        return url_of(name)

    yield create
    with admin.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


__all__ = ["ADMIN", "FACES", "RECOGNIZE", "settings_for", "upload"]
