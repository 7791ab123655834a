"""gunicorn settings for the API, from the same Settings the app reads (api/config.py).

Each worker builds its own app (no preload): ONNX Runtime sessions and database pools must not
be shared across a fork. Workers are threaded (gthread): a client that sends its request a byte
at a time, or a request waiting on a hung database, holds one thread, not the worker.
"""

import signal

from api.config import Settings

_settings = Settings.from_env()

bind = _settings.bind
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = _settings.worker_timeout
graceful_timeout = 30
keepalive = 5
preload_app = False
# /dev/shm-like heartbeat files: a slow or read-only disk must not make workers look hung.
worker_tmp_dir = "/tmp"
accesslog = "-" if _settings.access_log else None
errorlog = "-"
loglevel = _settings.log_level.lower()


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess metrics folder."""
    if _settings.metrics_dir is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(_settings.metrics_dir))


def _service(worker):
    """The worker's api.web.service.Service, once its app is built."""
    return getattr(getattr(worker, "wsgi", None), "extensions", {}).get("facerec")


def post_worker_init(worker):
    """On SIGTERM, stop training jobs at once; gunicorn then stops accepting and drains."""
    drain = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):
        if (service := _service(worker)) is not None:
            service.stop_jobs()
        drain(signum, frame)

    signal.signal(signal.SIGTERM, stop)


def worker_exit(server, worker):
    """A stopped job is failed and its training lease released before the worker is gone."""
    if (service := _service(worker)) is not None:
        service.close()

