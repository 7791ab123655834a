"""Alert rules through the HTTP API on real faces, with alerts POSTed to a real receiver on
127.0.0.1 (allowed by FACEREC_ALERT_ALLOWED_HOSTS): a watchlisted person's track raises one
signed alert however many crops it has, shows on /events as `event: alert` and in GET /alerts
until acknowledged; bad rules and dangerous destinations are refused with clear 4xx."""

from __future__ import annotations

import json

import pytest

from tests.api.alert_receiver import AlertReceiver
from tests.api.conftest import ADMIN, FACES, RECOGNIZE, settings_for, upload
from tests.conftest import people_images

SECRET = "an-alert-secret-of-some-length"
REVIEW = ADMIN  # the admin key holds review's scope too


@pytest.fixture(scope="module")
def hooks():
    with AlertReceiver(SECRET) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def client(make_app, tmp_path_factory, hooks):
    settings = settings_for(
        tmp_path_factory.mktemp("alerts"),
        webhook_secret=SECRET,
        alert_allowed_hosts=("127.0.0.1",),
        site_timezone="Europe/Berlin",
    )
    client = make_app(settings).test_client()
    images = people_images()
    assert client.post("/dataset/obama", headers=ADMIN).status_code == 201
    for path in images["obama"][:1]:
        assert (
            client.post("/dataset/obama/image", data=upload(path), headers=ADMIN).status_code == 201
        )
    assert client.post("/dataset/biden", headers=ADMIN).status_code == 201
    assert (
        client.post(
            "/dataset/biden/image", data=upload(images["biden"][0]), headers=ADMIN
        ).status_code
        == 201
    )
    job = client.post("/model/train", query_string={"wait": "true"}, headers=ADMIN).get_json()
    assert job["state"] == "succeeded", job
    return client


def store(client, path, track_id, camera="dock") -> dict:
    data = upload(path, camera_id=camera, location_id="loading-dock", track_id=track_id)
    response = client.post("/face-recognition/store-results", data=data, headers=RECOGNIZE)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["faces"][0]["track"]


def add_rule(client, **rule):
    return client.post("/alerts/rules", json=rule, headers=ADMIN)


def test_a_watchlisted_person_raises_one_signed_alert_per_track(client, hooks):
    tagged = client.put("/dataset/obama/tags", json={"tags": ["watchlist"]}, headers=ADMIN)
    assert tagged.get_json() == {"id_name": "obama", "tags": ["watchlist"]}
    made = add_rule(
        client, name="watchlist at the dock", tags=["watchlist"], cameras=["dock"],
        destination=hooks.url, cooldown_seconds=0,
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    obama = people_images()["obama"]
    tracks = [store(client, obama[i % len(obama)], "walk-1") for i in range(6)]
    assert tracks[-1]["label"] == "obama" and tracks[-1]["faces"] == 6
    store(client, people_images()["biden"][1], "walk-2")  # not on the list
    store(client, obama[0], "walk-3", camera="lobby")  # not at the dock
    (arrived,) = [body for _at, body in hooks.wait_for(1)]
    assert hooks.wait_for(2, seconds=1.5) == hooks.alerts[:1] and hooks.forged == 0
    assert arrived["event"] == "alert" and arrived["kind"] == "alert"
    assert arrived["alert"]["rule_name"] == "watchlist at the dock"
    assert arrived["alert"]["subject"] == "obama" and arrived["track"]["id"] == "walk-1"
    assert "destination" not in arrived["alert"]
    listed = client.get("/alerts", headers=REVIEW).get_json()
    assert listed["total"] == 1 and listed["alerts"][0]["track"]["crops"] == 6
    acked = client.post(f"/alerts/{listed['alerts'][0]['id']}/ack", headers=REVIEW).get_json()
    assert acked["acked_at"] is not None
    assert client.get("/alerts?unacked=true", headers=REVIEW).get_json()["total"] == 0


def test_a_stranger_rule_alert_is_an_alert_event_on_the_stream(client):
    rule = add_rule(client, name="strangers", unknown=True, cooldown_seconds=0).get_json()
    stranger = sorted((FACES / "lfw" / "enrolled" / "Ahmed_Chalabi").iterdir())[0]
    store(client, stranger, "stranger-1")
    stream = client.get("/events?after=0", headers=REVIEW)
    text = ""
    for chunk in stream.response:
        text += chunk.decode()
        if "event: alert" in text and '"strangers"' in text:
            break
    stream.close()
    blocks = [b for b in text.split("\n\n") if "event: alert" in b]
    bodies = [json.loads(b.split("data: ", 1)[1]) for b in blocks]
    assert [b["alert"]["rule_name"] for b in bodies][-1] == "strangers"
    assert bodies[-1]["track"]["id"] == "stranger-1" and bodies[-1]["label"] == "unknown"
    assert client.delete(f"/alerts/rules/{rule['id']}", headers=ADMIN).status_code == 204
    assert client.delete(f"/alerts/rules/{rule['id']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("destination", "why"),
    [
        ("http://hooks.example.com/a", "https"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.1.2.3/hook", "private"),
        ("https://[::1]/hook", "loopback"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://localhost/hook", "resolves to"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
        ("ftp://hooks.example.com/", "http"),
    ],
)
def test_dangerous_destinations_are_refused(client, destination, why):
    refused = add_rule(client, name="x", destination=destination)
    assert refused.status_code == 422, refused.get_json()
    assert refused.get_json()["error"] == "destination_refused"
    assert why in refused.get_json()["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "invalid_json"),
        ({"name": ""}, "invalid_rule"),
        ({"name": "x", "person": ["obama"]}, "invalid_rule"),
        ({"name": "x", "start": "22:00"}, "invalid_rule"),
        ({"name": "x", "weekdays": ["funday"]}, "invalid_rule"),
        ({"name": "x", "cooldown_seconds": -1}, "invalid_rule"),
        ({"name": "x", "cooldown_seconds": True}, "invalid_rule"),
    ],
)
def test_bad_rules_are_400_with_a_reason(client, body, code):
    sent = (
        client.post(
            "/alerts/rules", data=body, headers={**ADMIN, "Content-Type": "application/json"}
        )
        if isinstance(body, str)
        else add_rule(client, **body)
    )
    assert sent.status_code == 400 and sent.get_json()["error"] == code, sent.get_json()


def test_rules_and_tags_need_their_scopes_and_real_people(client):
    assert client.get("/alerts/rules", headers=RECOGNIZE).status_code == 403
    assert client.post("/alerts/rules", json={"name": "x"}, headers=RECOGNIZE).status_code == 403
    assert client.get("/alerts", headers=RECOGNIZE).status_code == 403
    assert (
        client.put("/dataset/obama/tags", json={"tags": ["a"]}, headers=RECOGNIZE).status_code
        == 403
    )
    assert (
        client.put("/dataset/nobody/tags", json={"tags": ["a"]}, headers=ADMIN).status_code == 404
    )
    assert (
        client.put("/dataset/obama/tags", json={"tags": ["a b"]}, headers=ADMIN).status_code == 400
    )
    assert client.put("/dataset/obama/tags", json=["a"], headers=ADMIN).status_code == 400
    assert client.post("/alerts/999/ack", headers=REVIEW).status_code == 404
    public = add_rule(client, name="public", destination="https://93.184.216.34/hook")
    assert public.status_code == 201 and public.get_json()["destination"].startswith("https://")
    assert client.get("/dataset/obama/tags", headers=RECOGNIZE).get_json()["tags"] == ["watchlist"]
