"""SIGKILL a replica mid-load: nginx retries recognitions on the others; it restarts and rejoins."""

from __future__ import annotations

import time

from scripts.cluster.loadgen import Load, post_image
from scripts.cluster.processes import pid_alive, wait_until
from scripts.cluster.steps import GET_RESULTS


def test_a_killed_replica_fails_no_recognition_and_rejoins(cluster, trained, obama_crop):
    victim = cluster.replicas[1]
    old_pid, old_workers, restarts = victim.pid, victim.worker_pids(), victim.restarts
    recognitions = post_image(cluster.url + GET_RESULTS, obama_crop)

    with Load(recognitions, concurrency=3, duration=50) as load:
        time.sleep(2.0)
        victim.kill()  # the master and its workers at once, as when a pod's node dies
        killed_at = time.monotonic()
        # SIGKILL is delivered at once but a process takes a moment to be torn down.
        wait_until(
            lambda: not pid_alive(old_pid) and not any(pid_alive(p) for p in old_workers),
            2,
            "the killed replica's processes to be gone",
        )
        wait_until(lambda: victim.pid != old_pid and victim.ready(), 60, "the replica restart")

        def served_again() -> bool:
            return any(
                o.started > killed_at and o.ok and o.upstream.split(", ")[-1] == victim.address
                for o in list(load.outcomes)
            )

        wait_until(served_again, 30, "nginx sending requests to the restarted replica")
        time.sleep(1.0)

    failures = load.failures()
    assert not failures, failures[:5]
    after_kill = [o for o in load.outcomes if o.started > killed_at]
    assert len(after_kill) >= 10, "too little load after the kill to show anything"
    assert victim.restarts == restarts + 1
