"""Alert rules on SQLite and MariaDB: a matching track raises one alert (an 'alert' track event
plus an `alerts` row) however many crops it gets; who (people, tags, strangers, unknown groups),
where (cameras, locations), when (weekdays, a window that may cross midnight, in the site's
time zone) and the cooldown per (rule, person or stranger, camera), also under two replicas."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storage import NotFound
from storage.alert_rules import parse_spec
from tests.storage.conftest import empty
from tests.storage.test_tracks import judge, noisy, people, record_with_events  # noqa: F401

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-01-05 is a Monday; 23:30 in Berlin (winter) is 22:30 UTC.
MONDAY_NIGHT = datetime(2026, 1, 5, 22, 30, tzinfo=UTC)


def alert_kinds(events: list[dict]) -> list[str]:
    return [event["alert"]["rule_name"] for event in events if event["kind"] == "alert"]


def crops(db, judge, vector, key, n, at, camera="dock", seed=0):  # noqa: F811
    """Record `n` crops of one track a second apart; the rules' names of the alerts raised."""
    raised = []
    for i in range(n):
        at_i = at + timedelta(seconds=i)
        _ids, _track, events = record_with_events(
            db, judge, noisy(vector, seed + i), key, camera, 0.5, at_i
        )
        raised += alert_kinds(events)
    return raised


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-01-05 23:30", True),  # Monday night, in the window
        ("2026-01-06 05:59", True),  # Tuesday early: Monday's window still
        ("2026-01-06 06:00", False),  # the window's end is exclusive
        ("2026-01-05 21:59", False),
        ("2026-01-05 02:00", False),  # Monday early belongs to Sunday's window: not on the list
        ("2026-01-10 23:00", False),  # Saturday
        ("2026-07-06 22:10", True),  # summer time: still read on the site's clock
    ],
)
def test_a_window_crossing_midnight_belongs_to_the_day_it_starts(local, expected):
    spec = parse_spec({"weekdays": ["mon", "tue"], "start": "22:00", "end": "06:00"})
    at = datetime.fromisoformat(local).replace(tzinfo=BERLIN)
    assert spec.when(at.astimezone(UTC), BERLIN) is expected


@pytest.mark.parametrize(
    "body",
    [
        {"start": "22:00"},
        {"start": "24:00", "end": "06:00"},
        {"start": "7:00", "end": "08:00"},
        {"weekdays": ["monday"]},
        {"people": "obama"},
        {"people": [""]},
        {"unknown": "yes"},
        {"unknown_groups": [0]},
        {"unknown_groups": ["3"]},
        {"cameras": ["x" * 65]},
    ],
)
def test_a_bad_rule_is_a_value_error_that_says_what(body):
    with pytest.raises(ValueError, match=r"\w"):
        parse_spec(body)


def test_a_watchlist_rule_fires_once_per_track_in_its_window_and_place(db, judge, people):  # noqa: F811
    for name in people:
        db.add_person(name)
    assert db.set_person_tags("ann", ["watchlist", "staff", "watchlist"]) == ["staff", "watchlist"]
    db.site_timezone = BERLIN
    spec = parse_spec(
        {"tags": ["watchlist"], "cameras": ["dock"], "start": "22:00", "end": "06:00"}
    )
    db.add_alert_rule("dock at night", spec, None, 0)
    assert crops(db, judge, people["ann"], "a1", 12, MONDAY_NIGHT) == ["dock at night"]
    assert crops(db, judge, people["bob"], "b1", 3, MONDAY_NIGHT) == []  # not tagged
    assert crops(db, judge, people["ann"], "a2", 3, MONDAY_NIGHT, camera="door") == []
    assert crops(db, judge, people["ann"], "a3", 3, MONDAY_NIGHT - timedelta(hours=6)) == []
    alerts, total = db.alerts()
    assert total == 1 and alerts[0]["subject"] == "ann" and alerts[0]["track"]["id"] == "a1"
    streamed = [e for e in db.track_events_after(0, 100) if e["kind"] == "alert"]
    assert [e["alert"]["id"] for e in streamed] == [alerts[0]["id"]]
    assert streamed[0]["track"]["crops"] == 12


def test_a_stranger_rule_fires_at_start_and_a_person_rule_when_the_label_arrives(db, judge, people):  # noqa: F811
    db.add_person("ann")
    db.add_alert_rule("strangers", parse_spec({"unknown": True}), None, 0)
    db.add_alert_rule("ann", parse_spec({"people": ["ann"]}), None, 0)
    assert crops(db, judge, people["bob"], "s1", 4, MONDAY_NIGHT) == ["strangers"]
    assert crops(db, judge, people["ann"], "a1", 4, MONDAY_NIGHT) == ["ann"]


def test_the_cooldown_counts_per_rule_subject_and_camera(db, judge, people):  # noqa: F811
    db.add_person("ann")
    db.add_alert_rule("ann", parse_spec({"people": ["ann"]}), None, 300)
    assert crops(db, judge, people["ann"], "a1", 2, MONDAY_NIGHT) == ["ann"]
    later = MONDAY_NIGHT + timedelta(minutes=2)
    assert crops(db, judge, people["ann"], "a2", 2, later) == []  # same camera, in cooldown
    assert crops(db, judge, people["ann"], "a3", 2, later, camera="gate") == ["ann"]
    after = MONDAY_NIGHT + timedelta(minutes=6)
    assert crops(db, judge, people["ann"], "a4", 2, after) == ["ann"]


def test_an_unknown_group_rule_fires_once_the_grouper_names_the_group(db, judge, people):  # noqa: F811
    ids, _track, _events = record_with_events(
        db, judge, people["cid"], "g1", "dock", 0.5, MONDAY_NIGHT
    )
    (stranger,) = db.unknown_tracks("sface+dlib@test", 0, 10)
    (group,) = db.assign_unknown_tracks("sface+dlib@test", [(stranger.track_id, None)])
    db.add_alert_rule("that stranger", parse_spec({"unknown_groups": [group]}), None, 0)
    assert crops(db, judge, people["cid"], "g1", 3, MONDAY_NIGHT + timedelta(seconds=5)) == [
        "that stranger"
    ]


def test_ack_and_deleting_a_rule_keep_the_alert(db, judge, people):  # noqa: F811
    db.add_alert_rule("anyone", parse_spec({}), "https://hooks.example.com/a", 0)
    crops(db, judge, people["bob"], "t1", 1, MONDAY_NIGHT)
    (alert,), _ = db.alerts(unacked=True)
    first = db.ack_alert(alert["id"])["acked_at"]
    assert db.ack_alert(alert["id"])["acked_at"] == first
    assert db.alerts(unacked=True) == ([], 0)
    db.delete_alert_rule(db.alert_rules()[0]["id"])
    (kept,), _ = db.alerts()
    assert kept["rule_id"] is None and kept["rule_name"] == "anyone"
    with pytest.raises(NotFound):
        db.ack_alert(alert["id"] + 1000)
    with pytest.raises(NotFound):
        db.delete_alert_rule(12345)
    with pytest.raises(NotFound):
        db.set_person_tags("nobody", ["x"])


@pytest.mark.mariadb
def test_two_replicas_raise_one_alert_for_one_person_within_the_cooldown(
    mariadb_database,
    judge,  # noqa: F811
    people,  # noqa: F811
):
    db = mariadb_database
    empty(db)
    db.add_person("cid")
    db.add_alert_rule("cid", parse_spec({"people": ["cid"]}), None, 600)
    barrier = threading.Barrier(2)
    raised, errors = [], []

    def replica(key: str, seed: int) -> None:
        try:
            barrier.wait()
            raised.extend(crops(db, judge, people["cid"], key, 6, MONDAY_NIGHT, seed=seed))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=replica, args=(k, s)) for k, s in (("x", 10), ("y", 50))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and raised == ["cid"]
    assert db.alerts()[1] == 1
