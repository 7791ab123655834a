"""Every bad request gets a JSON `{"error", "message"}` with the right 4xx, never a 500."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from PIL import Image

from api.app import create_app
from api.config import Settings
from api.service import service_of
from tests.api.conftest import ADMIN, ADMIN_KEY, FACES, RECOGNIZE, settings_for, upload

FACE = FACES / "people" / "kit_harington" / "kit2.jpg"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "message"}, body
    assert body["message"]
    if code is not None:
        assert body["error"] == code, body
    return body


def jpeg(color=(128, 128, 128), size=(320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


# --- API keys --------------------------------------------------------------------------


def test_a_missing_key_is_401_and_names_the_header(client):
    body = assert_error(client.get("/dataset"), 401, "missing_api_key")
    assert "X-API-Key" in body["message"]
    response = client.post("/face-recognition/get-results", data=upload(FACE))
    assert_error(response, 401, "missing_api_key")
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


def test_an_unknown_key_is_401(client):
    assert_error(client.get("/dataset", headers={"X-API-Key": "nope"}), 401, "invalid_api_key")


def test_a_recognize_key_cannot_administer(client):
    assert_error(client.post("/dataset/someone", headers=RECOGNIZE), 403, "forbidden")
    assert_error(client.delete("/dataset/someone", headers=RECOGNIZE), 403, "forbidden")
    assert_error(client.post("/model/train", headers=RECOGNIZE), 403, "forbidden")
    assert client.get("/dataset", headers=RECOGNIZE).status_code == 200


def test_an_admin_key_may_also_recognize(client):
    response = client.post("/face-recognition/dry-run", data=upload(FACE), headers=ADMIN)
    assert response.status_code == 200
    assert response.get_json() == {"received_bytes": FACE.stat().st_size}


def test_probes_and_metrics_need_no_key(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_keys_are_never_stored_in_the_clear(app):
    """Without FACEREC_KEY_SECRET the database holds no key at all (tests/hardening covers the
    HMAC digests stored with a secret)."""
    service = service_of(app)
    database_file = Path(service.settings.database_url.removeprefix("sqlite:///"))
    assert ADMIN_KEY.encode() not in database_file.read_bytes()
    with service.db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM api_keys").scalar() == 0


def test_the_key_list_is_parsed_strictly(monkeypatch):
    admin, recognize = "a" * 24, "r" * 32
    monkeypatch.setenv("FACEREC_API_KEYS", f"admin:{admin}, recognize:{recognize},")
    assert Settings.from_env().api_keys == (("admin", admin), ("recognize", recognize))
    monkeypatch.setenv("FACEREC_API_KEYS", f"root:{admin}")
    with pytest.raises(ValueError, match="scope"):
        Settings.from_env()


def test_the_log_level_takes_any_case_and_refuses_unknown_names(monkeypatch):
    monkeypatch.setenv("FACEREC_LOG_LEVEL", "debug")  # a worker crashed on it ("Unknown level")
    assert Settings.from_env().log_level == "DEBUG"
    monkeypatch.setenv("FACEREC_LOG_LEVEL", "verbose")
    with pytest.raises(ValueError, match="FACEREC_LOG_LEVEL must be one of DEBUG, INFO"):
        Settings.from_env()


def test_auth_off_is_announced_loudly(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="api.app"):
        app = create_app(settings_for(tmp_path, auth_enabled=False))
    try:
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert any("FACEREC_AUTH=off" in r.getMessage() for r in warnings)
        assert app.test_client().get("/dataset").status_code == 200
    finally:
        service_of(app).close()


# --- uploads ---------------------------------------------------------------------------


def test_no_file_is_400(client):
    client.post("/dataset/uploader", headers=ADMIN)
    for path in ("/face-recognition/get-results", "/dataset/uploader/image"):
        assert_error(client.post(path, headers=ADMIN), 400, "missing_image")
        assert_error(client.post(path, data={"other": "x"}, headers=ADMIN), 400, "missing_image")


@pytest.mark.parametrize(
    "data",
    [
        FACE.read_bytes()[:2000],  # a truncated JPEG
        b"this is a text file, not an image\n" * 20,
        b"",
    ],
    ids=["truncated-jpeg", "text", "empty"],
)
def test_bytes_that_are_no_image_are_400(client, data):
    response = client.post(
        "/face-recognition/get-results", data=upload(data, "x.jpg"), headers=RECOGNIZE
    )
    assert_error(response, 400, "invalid_image")
    response = client.post("/dataset/uploader/image", data=upload(data, "x.txt"), headers=ADMIN)
    assert_error(response, 400, "invalid_image")


def test_an_upload_over_the_limit_is_413(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 10 * 1024 * 1024
    big = upload(b"\xff" * (limit + 1), "big.jpg")
    assert_error(
        client.post("/face-recognition/get-results", data=big, headers=RECOGNIZE),
        413,
        "payload_too_large",
    )


def test_enrolment_needs_exactly_one_face(client):
    client.post("/dataset/enrolment", headers=ADMIN)
    response = client.post("/dataset/enrolment/image", data=upload(jpeg()), headers=ADMIN)
    assert_error(response, 422, "no_face")
    two = FACES / "scenes" / "two_people.jpg"
    response = client.post("/dataset/enrolment/image", data=upload(two), headers=ADMIN)
    assert_error(response, 422, "several_faces")
    assert client.get("/dataset", headers=ADMIN).get_json()["face_ids"] == [
        {"id_name": "enrolment", "number_of_images": 0},
        {"id_name": "uploader", "number_of_images": 0},
    ]


def test_enrolling_into_a_missing_person_is_404(client):
    response = client.post("/dataset/nobody/image", data=upload(FACE), headers=ADMIN)
    assert_error(response, 404, "not_found")


# --- ids and routes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "person_id", ["a..b", "-dash", ".hidden", "x" * 65, "unknown", "Unknown", "sp ace", "é"]
)
def test_bad_ids_are_400(client, person_id):
    assert_error(client.post(f"/dataset/{person_id}", headers=ADMIN), 400, "invalid_id")
    assert_error(client.delete(f"/dataset/{person_id}", headers=ADMIN), 400, "invalid_id")
    response = client.get(f"/database/{person_id}/last-known-location", headers=ADMIN)
    assert_error(response, 400, "invalid_id")


@pytest.mark.parametrize("path", ["/dataset/..%2F..%2Fetc", "/dataset/../../etc/passwd"])
def test_path_tricks_never_reach_a_handler(client, path):
    response = client.post(path, headers=ADMIN)
    assert response.status_code in (400, 404)
    assert_error(response, response.status_code)


def test_unknown_routes_and_methods_are_json(client):
    assert_error(client.get("/no/such/thing"), 404, "not_found")
    response = client.delete("/healthz")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_conflicts_and_missing_things(client):
    assert client.post("/dataset/twice", headers=ADMIN).status_code == 201
    assert_error(client.post("/dataset/twice", headers=ADMIN), 409, "already_exists")
    assert_error(client.delete("/dataset/never-created", headers=ADMIN), 404, "not_found")
    assert_error(client.get("/model/jobs/999999", headers=ADMIN), 404, "not_found")
    huge = "/model/jobs/797326927425784958963247218688"  # found by schemathesis: was a 500
    assert_error(client.get(huge, headers=ADMIN), 404, "not_found")
    assert_error(client.post("/model/rollback", headers=ADMIN), 409, "no_previous_model")


def test_bad_query_parameters_are_400(client):
    for query in ("page=0", "per_page=5000", "page=x", "since=yesterday", "camera=a..b"):
        response = client.get(f"/recognitions?{query}", headers=RECOGNIZE)
        assert_error(response, 400)
    assert_error(client.post("/model/train?wait=maybe", headers=ADMIN), 400, "invalid_parameter")


@pytest.mark.parametrize(
    "query", ["since=0001-01-01T00:00:00%2B01:00", "until=9999-12-31T23:59:59-14:00"]
)
def test_dates_at_the_ends_of_time_are_clamped_not_500(client, query):
    response = client.get(f"/recognitions?{query}", headers=RECOGNIZE)
    assert response.status_code == 200, response.get_json()


def test_store_results_needs_camera_and_location(client):
    response = client.post(
        "/face-recognition/store-results", data=upload(FACE, location_id="hall"), headers=RECOGNIZE
    )
    assert_error(response, 400, "missing_field")


# --- training --------------------------------------------------------------------------


def test_training_with_nothing_enrolled_fails_cleanly(client):
    response = client.post("/model/optimized-train?wait=true", headers=ADMIN)
    assert response.status_code == 200
    job = response.get_json()
    assert job["state"] == "failed" and "enrol" in job["error"]
    assert client.get(f"/model/jobs/{job['id']}", headers=ADMIN).get_json() == job


def test_a_second_training_job_is_409(client, app):
    db = service_of(app).db
    assert db.try_acquire_lock("training", "another-replica", 30)
    try:
        response = client.post("/model/train", headers=ADMIN)
        assert_error(response, 409, "training_in_progress")
    finally:
        db.release_lock("training", "another-replica")


# --- the database down -----------------------------------------------------------------


def test_a_database_outage_is_503_but_recognition_and_readiness_go_on(tmp_path):
    down = "mysql+pymysql://root@127.0.0.1:1/none"  # nothing listens on port 1
    app = create_app(settings_for(tmp_path, database_url=down))
    try:
        service_of(app).analyzers.get()  # ready once the networks are loaded
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.get_json()["database"] == "down"
        response = client.post(
            "/face-recognition/get-results", data=upload(FACE), headers=RECOGNIZE
        )
        assert response.status_code == 200
        assert response.get_json()["faces"][0]["top_prediction"]["label"] == "unknown"
        response = client.post(
            "/face-recognition/store-results",
            data=upload(FACE, camera_id="cam", location_id="hall"),
            headers=RECOGNIZE,
        )
        assert_error(response, 503, "database_unavailable")
        assert_error(client.get("/dataset", headers=ADMIN), 503, "database_unavailable")
        assert "facerec_database_up 0.0" in client.get("/metrics").get_data(as_text=True)
    finally:
        service_of(app).close()  # its threads would retry the dead database for the session


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/alerts/32396582862962860032/ack"),
        ("GET", "/recognitions/9223372036854775808/face"),
        ("DELETE", "/unknowns/99999999999999999999"),
        ("GET", "/model/jobs/18446744073709551616"),
    ],
)
def test_an_id_past_bigint_is_404_json_not_a_driver_error(client, method, path):
    """Row ids are BIGINT: one past it matches no route, before the database could choke."""
    response = client.open(path, method=method, headers=ADMIN)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
