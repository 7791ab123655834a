"""`facerec-events`: the replica's /events server (api/events_server.py), settings from the
environment (api/config.py)."""

from __future__ import annotations

import logging
import os
import resource


def _own_metrics_files() -> None:
    """In the pod, facerec-events and gunicorn share PROMETHEUS_MULTIPROC_DIR but not a PID
    namespace: name this process's files `events<pid>` so they never collide with a worker's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import values

        values.ValueClass = values.MultiProcessValue(lambda: f"events{os.getpid()}")


def _raise_open_files_limit() -> None:
    """Every open stream is a socket: use the hard limit of open files, not the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    _own_metrics_files()
    _raise_open_files_limit()
    from api.config import Settings
    from api.events_server import serve

    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger(__name__).info(
        "facerec-events on %s: at most %d streams, %d per key",
        settings.events.bind,
        settings.events.max_streams,
        settings.events.max_streams_per_key,
    )
    serve(settings)


if __name__ == "__main__":
    main()
