"""gunicorn settings for the API, from the same Settings the app reads (api/config.py).

Each worker builds its own app (no preload): ONNX Runtime sessions and database pools must not
be shared across a fork.
"""

from api.config import Settings

_settings = Settings.from_env()

bind = _settings.bind
workers = _settings.workers
threads = 1
worker_class = "sync"
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
