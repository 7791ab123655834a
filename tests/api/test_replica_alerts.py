"""Two real gunicorn replicas behind nginx, one MariaDB: a stranger's track whose many crops go
to both replicas at once raises exactly one signed alert at a real receiver on 127.0.0.1, and
each of several tracks one (benchmarks/alerts.py measures how fast, on the same set-up)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from benchmarks.alerts import SECRET, latencies, send_tracks
from scripts.cluster.nginx import NginxBalancer
from tests.api.alert_receiver import AlertReceiver
from tests.api.conftest import ADMIN
from tests.api.servers import Gunicorn
from tests.api.test_replicas import replica_env


@pytest.mark.mariadb
def test_many_crops_of_one_track_on_two_replicas_raise_one_alert(tmp_path, mariadb_url):
    env = replica_env(tmp_path, mariadb_url("alerts_pair")) | {
        "FACEREC_WEBHOOK_SECRET": SECRET,
        "FACEREC_ALERT_ALLOWED_HOSTS": "127.0.0.1",
    }
    with (
        AlertReceiver(SECRET) as hooks,
        Gunicorn(env, tmp_path / "first.log") as first,
        Gunicorn(env, tmp_path / "second.log") as second,
    ):
        balancer = NginxBalancer(tmp_path / "nginx", [first.port, second.port]).start()
        try:
            url = balancer.url
            rule = {"name": "dock", "unknown": True, "cameras": ["dock"], "destination": hooks.url}
            assert requests.post(f"{url}/alerts/rules", json=rule, headers=ADMIN).status_code == 201
            # 4 senders at once, 5 crops each, all of track "busy-0": 20 crops, 2 replicas.
            with ThreadPoolExecutor(4) as pool:
                starts = list(pool.map(lambda _: send_tracks(url, "busy", 1, 5), range(4)))
            seconds = latencies(hooks, {"busy-0": min(s["busy-0"] for s in starts)})
            assert len(seconds) == 1 and seconds[0] < 5
            hooks.alerts.clear()
            # cooldown 60 s per (rule, unknown, camera): a second stranger track right after is quiet
            send_tracks(url, "later", 1, 2)
            assert hooks.wait_for(1, seconds=2.0) == []
        finally:
            balancer.stop()
