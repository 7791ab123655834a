"""How fast an alert arrives: a matching track's first crop POSTed -> its signed webhook received.

Two real gunicorn replicas (one worker each) on one MariaDB behind nginx, as
tests/api/test_replica_tracks.py runs them (`make cluster` runs the same processes; this starts
its own so it can set the alert settings), or, with `--url`, a `make cluster` already running with
the alert settings in its environment. A rule for strangers at camera `dock` posts to a
receiver on 127.0.0.1 (allowed by FACEREC_ALERT_ALLOWED_HOSTS). Each of `--tracks` tracks
gets `--crops` crops of a real stranger's face, one after the other through nginx; the clock
runs from the first crop's POST to the alert's arrival. Every track must raise exactly one
alert (never one per crop).

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.alerts --tracks 60 --crops 4

    FACEREC_WEBHOOK_SECRET=a-benchmark-alert-secret FACEREC_ALERT_ALLOWED_HOSTS=127.0.0.1 make cluster
    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.alerts --url http://127.0.0.1:<nginx port>
    make cluster-down
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import requests

from scripts.cluster.nginx import NginxBalancer
from tests.api.alert_receiver import AlertReceiver
from tests.api.conftest import ADMIN, RECOGNIZE
from tests.api.servers import Gunicorn
from tests.api.test_replicas import replica_env
from tests.conftest import FACES, mariadb_url

SECRET = "a-benchmark-alert-secret"
STRANGER = FACES / "lfw" / "enrolled" / "Ahmed_Chalabi"


def send_tracks(url: str, prefix: str, tracks: int, crops: int) -> dict[str, float]:
    """Send every track's crops in turn; track id -> monotonic time its first crop was POSTed."""
    photos = [path.read_bytes() for path in sorted(STRANGER.iterdir())]
    started = {}
    session = requests.Session()
    for t in range(tracks):
        key = f"{prefix}-{t}"
        for c in range(crops):
            if c == 0:
                started[key] = time.monotonic()
            response = session.post(
                f"{url}/face-recognition/store-results",
                files={"image": ("crop.jpg", photos[(t + c) % len(photos)])},
                data={"camera_id": "dock", "location_id": "loading-dock", "track_id": key},
                headers=RECOGNIZE,
                timeout=60,
            )
            response.raise_for_status()
    return started


def latencies(hooks: AlertReceiver, started: dict[str, float]) -> list[float]:
    """Seconds from first crop to alert, per track; fails unless each track alerted once."""
    arrived = hooks.wait_for(len(started), seconds=15)
    time.sleep(1.5)  # a second alert for a track would arrive within this
    per_track: dict[str, list[float]] = {}
    for at, body in hooks.alerts:
        per_track.setdefault(body["track"]["id"], []).append(at)
    assert hooks.forged == 0, f"{hooks.forged} alerts with a bad signature"
    extra = {key: len(times) for key, times in per_track.items() if len(times) != 1}
    assert not extra and len(per_track) == len(started), (len(arrived), extra)
    return [per_track[key][0] - started[key] for key in started]


def measure(url: str, hooks: AlertReceiver, tracks: int, crops: int) -> list[float]:
    rule = {"name": "strangers at the dock", "unknown": True, "cameras": ["dock"]}
    rule |= {"cooldown_seconds": 0, "destination": hooks.url}
    made = requests.post(f"{url}/alerts/rules", json=rule, headers=ADMIN, timeout=10)
    assert made.status_code == 201, made.text
    send_tracks(url, "warm", 2, 1)  # the first requests of each worker load what they need
    hooks.wait_for(2)
    hooks.alerts.clear()
    return latencies(hooks, send_tracks(url, "walk", tracks, crops))


@contextlib.contextmanager
def alert_cluster(database_url: str, work: Path):
    """Two gunicorn replicas behind nginx with alerts allowed to a local receiver: (url, receiver)."""
    env = replica_env(work, database_url) | {
        "FACEREC_WEBHOOK_SECRET": SECRET,
        "FACEREC_ALERT_ALLOWED_HOSTS": "127.0.0.1",
    }
    with (
        AlertReceiver(SECRET) as hooks,
        Gunicorn(env, work / "first.log") as first,
        Gunicorn(env, work / "second.log") as second,
    ):
        balancer = NginxBalancer(work / "nginx", [first.port, second.port]).start()
        try:
            yield balancer.url, hooks
        finally:
            balancer.stop()


def run(database_url: str, work: Path, tracks: int, crops: int) -> list[float]:
    with alert_cluster(database_url, work) as (url, hooks):
        return measure(url, hooks, tracks, crops)


def report(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return {"tracks": len(ordered), "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * p95, 1), "max_ms": round(1000 * ordered[-1], 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=60)
    parser.add_argument("--crops", type=int, default=4)
    parser.add_argument("--database", default="facerec_bench_alerts")
    parser.add_argument("--url", help="a running `make cluster` (its nginx) instead of our own")
    args = parser.parse_args()
    if args.url:
        with AlertReceiver(SECRET) as hooks:
            seconds = measure(args.url.rstrip("/"), hooks, args.tracks, args.crops)
        print(report(seconds), f"on {args.url} (first crop POST -> signed alert received)")
        return
    import pymysql

    from tests.conftest import MARIADB

    admin = pymysql.connect(**MARIADB, autocommit=True)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{args.database}`")
        cursor.execute(
            f"CREATE DATABASE `{args.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )
    try:
        with tempfile.TemporaryDirectory() as work:
            seconds = run(mariadb_url(args.database), Path(work), args.tracks, args.crops)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{args.database}`")
    print(report(seconds), "(first crop POST -> signed alert received; one alert per track)")


if __name__ == "__main__":
    main()
