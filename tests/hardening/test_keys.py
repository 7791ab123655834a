"""Issue 11, items 12 and 13: the configured keys are the whole set (revocation works), they are
stored only as HMAC-SHA256 digests, weak or ambiguous keys and unknown FACEREC_AUTH values stop
the start-up, and a database outage never leaks into an answer about a key."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from api.app import create_app
from api.config import Settings
from api.service import service_of
from tests.api.conftest import ADMIN, ADMIN_KEY, FACES, RECOGNIZE, settings_for, upload
from tests.api.servers import ROOT, Gunicorn

from .conftest import server_env

KEY_SECRET = secrets.token_hex(32)
FACE = FACES / "people" / "kit_harington" / "kit2.jpg"


def stored_digests(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT key_sha256 FROM api_keys")).scalars())
    finally:
        engine.dispose()


# --- item 12: revocation ------------------------------------------------------------------------


def test_a_key_removed_from_the_configuration_stops_working_after_a_restart(tmp_path):
    kept, revoked, camera = (secrets.token_hex(16) for _ in range(3))
    env = server_env(tmp_path, FACEREC_API_KEYS=f"admin:{kept},admin:{revoked},recognize:{camera}")
    with Gunicorn(env, tmp_path / "first.log") as first:
        for key in (kept, revoked):
            response = requests.get(f"{first.url}/dataset", headers={"X-API-Key": key}, timeout=10)
            assert response.status_code == 200
    env["FACEREC_API_KEYS"] = f"admin:{kept},recognize:{camera}"
    with Gunicorn(env, tmp_path / "second.log") as second:
        response = requests.get(f"{second.url}/dataset", headers={"X-API-Key": revoked}, timeout=10)
        assert response.status_code == 401 and response.json()["error"] == "invalid_api_key"
        response = requests.get(f"{second.url}/dataset", headers={"X-API-Key": kept}, timeout=10)
        assert response.status_code == 200


# --- item 12: storage ---------------------------------------------------------------------------


def test_with_a_secret_the_database_holds_exactly_the_hmac_digests(tmp_path):
    settings = settings_for(tmp_path, key_secret=KEY_SECRET)
    app = create_app(settings)
    try:
        expected = {
            hmac.new(KEY_SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()
            for _scope, key in settings.api_keys
        }
        assert stored_digests(settings.database_url) == expected
        plain = {hashlib.sha256(key.encode()).hexdigest() for _scope, key in settings.api_keys}
        assert not plain & stored_digests(settings.database_url)  # no unkeyed hash to brute-force
        database = Path(settings.database_url.removeprefix("sqlite:///")).read_bytes()
        assert ADMIN_KEY.encode() not in database
        assert app.test_client().get("/dataset", headers=ADMIN).status_code == 200
    finally:
        service_of(app).close()


def test_without_a_secret_no_key_is_stored_and_old_digests_are_dropped(tmp_path):
    settings = settings_for(tmp_path)
    service_of(create_app(settings)).close()  # creates the schema
    engine = create_engine(settings.database_url)
    legacy = hashlib.sha256(b"a key an older version stored, revoked since").hexdigest()
    with engine.begin() as connection:  # what versions before HMAC wrote
        connection.execute(
            text("INSERT INTO api_keys (key_sha256, scope, created_at) VALUES (:d, 'admin', :t)"),
            {"d": legacy, "t": "2026-01-01 00:00:00"},
        )
    engine.dispose()
    app = create_app(settings)
    try:
        assert stored_digests(settings.database_url) == set()
        assert app.test_client().get("/dataset", headers=ADMIN).status_code == 200
    finally:
        service_of(app).close()


# --- items 12 and 13: start-up errors -----------------------------------------------------------

LONG = "k" * 32


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FACEREC_API_KEYS": "admin:short-key-of-23-chars"}, "at least 24"),
        ({"FACEREC_API_KEYS": f"admin:{LONG},recognize:{LONG}"}, "listed twice"),
        ({"FACEREC_API_KEYS": f"admin:{LONG},admin:{LONG}"}, "listed twice"),
        ({"FACEREC_AUTH": ""}, "`on` or `off`"),
        ({"FACEREC_AUTH": "OFF"}, "`on` or `off`"),
        ({"FACEREC_AUTH": "false"}, "`on` or `off`"),
        ({"FACEREC_AUTH": "disabled"}, "`on` or `off`"),
        ({"FACEREC_KEY_SECRET": "too-short"}, "at least 32"),
    ],
    ids=[
        "short",
        "two-scopes",
        "twice",
        "auth-empty",
        "auth-OFF",
        "auth-false",
        "auth-typo",
        "secret",
    ],
)
def test_a_bad_security_setting_stops_the_start_up(monkeypatch, variables, message):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message) as refused:
        Settings.from_env()
    assert LONG not in str(refused.value)  # a key is never printed


@pytest.mark.parametrize(("value", "enabled"), [(None, True), ("on", True), ("off", False)])
def test_only_exactly_off_turns_authentication_off(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv("FACEREC_AUTH", raising=False)
    else:
        monkeypatch.setenv("FACEREC_AUTH", value)
    assert Settings.from_env().auth_enabled is enabled


@pytest.mark.parametrize(
    "variables",
    [{"FACEREC_AUTH": ""}, {"FACEREC_API_KEYS": f"admin:{LONG},recognize:{LONG}"}],
    ids=["auth-empty", "two-scopes"],
)
def test_gunicorn_refuses_to_start(tmp_path, variables):
    env = {**os.environ, **server_env(tmp_path), **variables, "FACEREC_BIND": "127.0.0.1:0"}
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "api.app:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ValueError" in done.stderr and LONG not in done.stderr


# --- item 13: keys during a database outage -----------------------------------------------------

DRIVER_WORDS = ("2003", "Can't connect", "127.0.0.1", "Errno", "pymysql", "MySQL")


def test_a_database_outage_never_leaks_into_a_key_answer(tmp_path, caplog):
    down = "mysql+pymysql://root@127.0.0.1:1/none"  # nothing listens on port 1
    app = create_app(settings_for(tmp_path, database_url=down))
    try:
        client = app.test_client()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            wrong = client.get("/dataset", headers={"X-API-Key": "x" * 40})
            assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_api_key"
            recognized = client.post(
                "/face-recognition/get-results", data=upload(FACE), headers=RECOGNIZE
            )
            assert recognized.status_code == 200  # recognition needs no database
            logged_before = len(caplog.records)
            for _ in range(3):
                response = client.get("/dataset", headers=ADMIN)
                assert response.status_code == 503
                body = response.get_json()
                assert body["error"] == "database_unavailable"
                assert not [word for word in DRIVER_WORDS if word in body["message"]], body
        # The request path's loggers (the database monitor's thread logs on its own).
        requests_log = [r for r in caplog.records if r.name in ("api.app", "api.errors")]
        outage_lines = [r for r in requests_log if r in caplog.records[logged_before:]]
        assert len(outage_lines) == 3, [r.getMessage() for r in outage_lines]  # one per request
        assert not [r for r in requests_log if r.exc_info], "a traceback was logged"
    finally:
        service_of(app).close()
