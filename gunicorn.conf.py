"""gunicorn settings for the API, from the same Settings the app reads (api/config.py).

Each worker builds its own app (no preload): ONNX Runtime sessions and database pools must not
be shared across a fork. Workers are threaded (gthread): a client that sends its request a byte
at a time, or a request waiting on a hung database, holds one thread, not the worker.
"""

import json
import signal

from gunicorn import util

from api.config import Settings

_settings = Settings.from_env()

# The public API, and (FACEREC_OPS_BIND) a port for Prometheus and the kubelet only.
bind = [_settings.bind] + ([_settings.ops_bind] if _settings.ops_bind else [])
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
    """The worker's api.service.Service, once its app is built."""
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


# gunicorn answers some requests itself, before the app sees them: a request line over
# limit_request_line (414), too many or too large headers (431), a malformed request (400).
_GUNICORN_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "header_fields_too_large",
    501: "not_implemented",
}


def _write_json_error(sock, status_int, reason, mesg):
    """gunicorn's error page in the API's `{"error", "message"}` shape instead of HTML."""
    code = _GUNICORN_CODES.get(status_int, "internal_error" if status_int >= 500 else "bad_request")
    message = mesg or ("the server failed to handle the request" if status_int >= 500 else reason)
    body = json.dumps({"error": code, "message": message}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


# Every worker class answers its errors through this one function (Worker.handle_error).
util.write_error = _write_json_error
