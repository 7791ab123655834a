"""Two real gunicorn replicas behind nginx, one MariaDB: a stranger's track whose many crops go
to both replicas at once raises exactly one signed alert at a real receiver on 127.0.0.1, and
each of several tracks one (benchmarks/alerts.py measures how fast, on the same set-up)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from benchmarks.alerts import alert_cluster, latencies, send_tracks
from tests.api.conftest import ADMIN


@pytest.mark.mariadb
def test_many_crops_of_one_track_on_two_replicas_raise_one_alert(tmp_path, mariadb_url):
    with alert_cluster(mariadb_url("alerts_pair"), tmp_path) as (url, hooks):
        rule = {"name": "dock", "unknown": True, "cameras": ["dock"], "destination": hooks.url}
        assert requests.post(f"{url}/alerts/rules", json=rule, headers=ADMIN).status_code == 201
        # 4 senders at once, 5 crops each, all of track "busy-0": 20 crops, 2 replicas.
        with ThreadPoolExecutor(4) as pool:
            starts = list(pool.map(lambda _: send_tracks(url, "busy", 1, 5), range(4)))
        seconds = latencies(hooks, {"busy-0": min(s["busy-0"] for s in starts)})
        assert len(seconds) == 1 and seconds[0] < 5
        hooks.alerts.clear()
        # cooldown 60 s per (rule, unknown, camera): another stranger's track right after is quiet
        send_tracks(url, "later", 1, 2)
        assert hooks.wait_for(1, seconds=2.0) == []
