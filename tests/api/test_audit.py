"""The audit trail on real faces and a real SQLite file: walking /swagger.json, every operation
that reads biometric data or changes state writes exactly one row and every other none; a row
says who (the key's name), from where, which route and targets, and the outcome; no route
alters a row; a biometric read whose row cannot be written sends no data."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from api.audit import CHANGE, EXEMPT, MUTATING, NONE, POLICIES, READ, policy_for
from api.config import Settings
from api.keys import key_name
from api.service import service_of
from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY, settings_for, upload
from tests.conftest import people_images
from workers.retention import RetentionPurger

REVIEW_KEY = "review-" + secrets.token_hex(12)
ADMIN = {"X-API-Key": ADMIN_KEY}
REVIEW = {"X-API-Key": REVIEW_KEY}
RECOGNIZE = {"X-API-Key": RECOGNIZE_KEY}
# Operations the walk does not call: a live stream (never ends by itself).
STREAMS = {("GET", "/events")}


@pytest.fixture(scope="module")
def app(make_app, tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("audit"))
    keys = (("admin", ADMIN_KEY, "ops-alice"), ("recognize", RECOGNIZE_KEY))
    return make_app(replace(settings, api_keys=(*keys, ("review", REVIEW_KEY, "reviewer-bob"))))


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def rows(app, **filters) -> tuple[list[dict], int]:
    return service_of(app).db.audit_page(per_page=500, **filters)


def count(app) -> int:
    return rows(app)[1]


def operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    }


def unclassified(spec: dict) -> set[tuple[str, str]]:
    """Operations of the spec nobody has said whether they read faces or change state."""
    return operations(spec) - POLICIES.keys()


def test_every_operation_of_the_spec_is_classified(client):
    spec = client.get("/swagger.json").get_json()
    assert unclassified(spec) == set()
    assert POLICIES.keys() <= operations(spec), "POLICIES names an operation that is gone"
    for (method, path), policy in POLICIES.items():
        if method in MUTATING:  # audited (a POST may read: search), or says what records it
            assert policy.kind in (READ, CHANGE) or (policy.kind == EXEMPT and policy.why), path
        assert policy.kind in (READ, CHANGE, NONE, EXEMPT)


def test_a_new_route_cannot_skip_the_trail(client):
    spec = client.get("/swagger.json").get_json()
    spec["paths"]["/faces/{face_id}/export"] = {"get": {}, "post": {}}
    assert unclassified(spec) == {
        ("GET", "/faces/{face_id}/export"),
        ("POST", "/faces/{face_id}/export"),
    }
    # Unclassified, it is still audited at run time if its method can change anything.
    assert policy_for("POST", "/faces/<int:face_id>/export").kind == CHANGE
    assert policy_for("DELETE", "/anything").kind == CHANGE
    assert policy_for("HEAD", "/recognitions/<int:recognition_id>/face").kind == READ


def _seed(app, client) -> dict:
    """A person, a sighting with its face, a stranger's group: things to read and change."""
    people = people_images()
    assert client.post("/dataset/obama", headers=ADMIN).status_code == 201
    enrolled = client.post("/dataset/obama/image", data=upload(people["obama"][0]), headers=ADMIN)
    assert enrolled.status_code == 201, enrolled.get_json()
    seen = client.post(
        "/face-recognition/store-results",
        data=upload(people["biden"][0], camera_id="door", location_id="hall", track_id="walk-1"),
        headers=RECOGNIZE,
    )
    assert seen.status_code == 200, seen.get_json()
    (sighting,) = client.get("/recognitions", headers=RECOGNIZE).get_json()["recognitions"]
    return {
        "person_id": "obama",
        "recognition_id": sighting["id"],
        "group_id": 1,
        "job_id": 1,
        "camera_id": "door",
        "track_id": "walk-1",
        "alert_id": 1,
        "rule_id": 1,
    }


def _call(client, method: str, path: str, values: dict):
    url = path.format(**values)
    photo = people_images()["obama"][1]
    data = None
    if method == "POST":
        data = upload(photo, person_id="obama", camera_id="door", location_id="hall")
    return client.open(url, method=method, data=data, headers=ADMIN)


def test_walking_the_spec_every_read_and_change_writes_exactly_one_row(app, client):
    values = _seed(app, client)
    spec = client.get("/swagger.json").get_json()
    order = {"GET": 0, "POST": 1, "DELETE": 2}  # destroy last, so the reads find something
    walk = sorted(operations(spec) - STREAMS, key=lambda op: (order.get(op[0], 3), op[1]))
    for method, path in walk:
        before = count(app)
        response = _call(client, method, path, values)
        assert response.status_code < 500, (method, path, response.get_json())
        expected = 1 if POLICIES[(method, path)].kind in (READ, CHANGE) else 0
        assert count(app) - before == expected, (method, path, response.status_code)
        if expected:
            row = rows(app)[0][0]
            assert row["method"] == method and row["route"] == path
            assert row["who"] == "ops-alice" and row["status"] == response.status_code


def test_a_row_says_who_when_where_what_and_how_it_went(app, client):
    people = people_images()
    seen = client.post(
        "/face-recognition/store-results",
        data=upload(people["obama"][2], camera_id="gate", location_id="yard"),
        headers=RECOGNIZE,
    ).get_json()
    sighting = client.get("/recognitions", query_string={"camera": "gate"}, headers=RECOGNIZE)
    face_url = sighting.get_json()["recognitions"][0]["face_url"]
    assert seen["faces"]
    started = datetime.now(UTC)
    face = client.get(face_url, headers=REVIEW, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert face.status_code == 200 and face.mimetype == "image/jpeg"

    (row,), total = rows(app, who="reviewer-bob", since=started)
    assert total == 1 and row["kind"] == "read" and row["address"] == "10.1.2.3"
    assert row["route"] == "/recognitions/{recognition_id}/face" and row["outcome"] == "ok"
    assert row["targets"] == {"recognition_id": face_url.split("/")[2]}
    assert REVIEW_KEY not in str(row) and started <= row["at"].replace(tzinfo=UTC)

    # Behind the pod's nginx (loopback), the client is the address nginx appended.
    client.get(face_url, headers={**REVIEW, "X-Forwarded-For": "6.6.6.6, 10.9.8.7"})
    assert rows(app, who="reviewer-bob")[0][0]["address"] == "10.9.8.7"


def test_refused_keys_write_a_row_on_any_route(app, client):
    started = datetime.now(UTC)
    assert client.get("/unknowns", headers=RECOGNIZE).status_code == 403
    wrong = {"X-API-Key": "x" * 40}
    assert client.post("/face-recognition/get-results", headers=wrong).status_code == 401
    assert client.get("/model").status_code == 401
    found, total = rows(app, since=started)
    assert total == 3 and {r["kind"] for r in found} == {"refused"}
    assert [(r["who"], r["status"], r["outcome"]) for r in reversed(found)] == [
        (key_name("recognize", RECOGNIZE_KEY), 403, "forbidden"),
        ("invalid-key", 401, "invalid_api_key"),
        ("no-key", 401, "missing_api_key"),
    ]


def test_get_audit_filters_by_who_route_target_and_time_paged(app, client):
    started = datetime.now(UTC)
    for person in ("ann", "ben", "cid"):
        assert client.post(f"/dataset/{person}", headers=ADMIN).status_code == 201
    page = client.get(
        "/audit", query_string={"since": started.isoformat(), "per_page": 2}, headers=ADMIN
    ).get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["entries"]) == 2
    assert [e["targets"]["person_id"] for e in page["entries"]] == ["cid", "ben"]  # newest first
    by_target = client.get("/audit", query_string={"target": "ben"}, headers=ADMIN).get_json()
    assert {e["method"] for e in by_target["entries"]} == {"POST"} and by_target["total"] == 1
    by_route = client.get("/audit", query_string={"route": "/dataset/"}, headers=ADMIN)
    assert all(e["route"].startswith("/dataset/") for e in by_route.get_json()["entries"])
    by_who = client.get("/audit", query_string={"who": "nobody"}, headers=ADMIN).get_json()
    assert by_who["total"] == 0
    assert client.get("/audit", headers=REVIEW).status_code == 403  # admins only
    bad = client.get("/audit", query_string={"since": "yesterday"}, headers=ADMIN)
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_parameter"
    long = client.get("/audit", query_string={"target": "x" * 65}, headers=ADMIN)
    assert long.status_code == 400


def test_no_route_alters_or_deletes_a_row(app, client):
    client.post("/dataset/dan", headers=ADMIN)
    before = rows(app)[0]
    spec = client.get("/swagger.json").get_json()
    targets = [p for p in spec["paths"] if p.startswith("/audit")] + ["/audit/1", "/audit/0"]
    for path in targets:
        for method in sorted(MUTATING):
            answer = client.open(path, method=method, headers=ADMIN, json={"who": "x"})
            assert not 200 <= answer.status_code < 300, (method, path)
    after = rows(app)[0]
    assert after[-len(before) :] == before  # every earlier row as it was, none gone


def test_a_biometric_read_whose_row_cannot_be_written_sends_no_data(app, client):
    """The database refuses audit rows (a real SQLite trigger): a face read is a 503 with no
    face; a change still answers (it happened) and its row goes to the log."""
    people = people_images()
    client.post(
        "/face-recognition/store-results",
        data=upload(people["obama"][3], camera_id="side", location_id="yard"),
        headers=RECOGNIZE,
    )
    listing = client.get("/recognitions", query_string={"camera": "side"}, headers=RECOGNIZE)
    face_url = listing.get_json()["recognitions"][0]["face_url"]
    engine = service_of(app).db.engine
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            )
        )
    try:
        face = client.get(face_url, headers=REVIEW)
        assert face.status_code == 503 and face.get_json()["error"] == "audit_unavailable"
        assert client.post("/dataset/eve", headers=ADMIN).status_code == 201
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_audit"))
    assert client.get(face_url, headers=REVIEW).status_code == 200


def test_audit_retention_is_its_own_setting(app):
    db = service_of(app).db
    old = datetime.now(UTC) - timedelta(days=401)
    entry = {"who": "ops-alice", "address": "10.0.0.1", "method": "DELETE"}
    entry.update(route="/dataset/{person_id}", kind="change", status=200, outcome="ok", at=old)
    db.record_audit(entry, {"person_id": "zed"})
    assert rows(app, target="zed")[1] == 1
    assert RetentionPurger(db, retention_days=0, audit_days=0).purge_once() == 0
    assert rows(app, target="zed")[1] == 1  # 0 keeps them forever
    RetentionPurger(db, retention_days=0, audit_days=400).purge_once()
    assert rows(app, target="zed")[1] == 0 and count(app) > 0  # only the old row went


def test_keys_have_names_and_old_entries_get_a_derived_one(monkeypatch):
    named, plain = "a" * 32, "b" * 32
    monkeypatch.setenv("FACEREC_API_KEYS", f"admin:ops-alice:{named},recognize:{plain}")
    settings = Settings.from_env()
    assert settings.api_keys == (("admin", named, "ops-alice"), ("recognize", plain))
    assert (
        key_name("recognize", plain)
        == "recognize-" + __import__("hashlib").sha256(plain.encode()).hexdigest()[:8]
    )
    for bad, reason in (
        (f"admin:bad name:{named}", "name"),
        (f"admin:x:{named},review:x:{plain}", "used twice"),
    ):
        monkeypatch.setenv("FACEREC_API_KEYS", bad)
        with pytest.raises(ValueError, match=reason) as error:
            Settings.from_env()
        assert named not in str(error.value) and plain not in str(error.value)
    monkeypatch.setenv("FACEREC_AUDIT_RETENTION_DAYS", "-1")
    monkeypatch.setenv("FACEREC_API_KEYS", "")
    with pytest.raises(ValueError, match="FACEREC_AUDIT_RETENTION_DAYS"):
        Settings.from_env()


def test_stored_keys_carry_their_names(make_app, tmp_path):
    settings = settings_for(tmp_path, key_secret="s" * 32)
    app = make_app(replace(settings, api_keys=(("admin", ADMIN_KEY, "ops-alice"),)))
    with service_of(app).db.engine.connect() as connection:
        names = connection.execute(text("SELECT key_sha256, name FROM api_key_names")).all()
    assert [name for _digest, name in names] == ["ops-alice"] and ADMIN_KEY not in str(names)
