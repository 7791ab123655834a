"""`facerec-proxy`: the pod's nginx (api/nginx.conf.template), configured from api/config.py.

    facerec-proxy [PREFIX]     (default /tmp/nginx: the root filesystem is read-only in the pod)

renders nginx.conf under PREFIX and runs nginx in the foreground. nginx listens on
FACEREC_PROXY_BIND, sends /events to facerec-events (FACEREC_EVENTS_BIND) and everything else to
gunicorn (FACEREC_BIND), with FACEREC_PROXY_* timeouts and limits and FACEREC_MAX_UPLOAD_MB as
its body limit. SIGTERM is passed on as nginx's graceful stop (SIGQUIT): requests in flight are
answered, open event streams get worker_shutdown_timeout; nginx's own SIGTERM would cut both.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from api.config import Settings, bind_port

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
TEMP_FOLDERS = ("body", "proxy", "fastcgi", "uwsgi", "scgi")


def _upstream(bind: str) -> str:
    """Where to reach a local listener: a wildcard host is reached on 127.0.0.1."""
    host = bind.rpartition(":")[0]
    host = "127.0.0.1" if host in ("", "0.0.0.0", "[::]") else host
    return f"{host}:{bind_port(bind)}"


def render(settings: Settings, prefix: Path) -> str:
    """nginx.conf for `settings`, its pid and temp folders under `prefix`."""
    values = {
        "PREFIX": str(prefix),
        "LISTEN": settings.proxy.bind,
        "API": _upstream(settings.bind),
        "EVENTS": _upstream(settings.events.bind),
        "MAX_BODY": str(settings.max_upload_bytes),
        "HEADER_TIMEOUT": str(settings.proxy.header_timeout_seconds),
        "BODY_TIMEOUT": str(settings.proxy.body_timeout_seconds),
        "CONNECTIONS_PER_CLIENT": str(settings.proxy.connections_per_client),
        # gunicorn kills a request after worker_timeout; nginx waits a little longer.
        "API_READ_TIMEOUT": str(settings.worker_timeout + 10),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def write_config(settings: Settings, prefix: Path) -> Path:
    """Render into `prefix` (created, with nginx's temp folders); the config's path."""
    for folder in TEMP_FOLDERS:
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(render(settings, prefix))
    return config


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found is None:
        raise SystemExit("facerec-proxy: nginx is not installed (Debian: nginx-light)")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    prefix = Path(args[0] if args else "/tmp/nginx")
    config = write_config(Settings.from_env(), prefix)
    # `-e stderr`: the default error log under /var/log is not writable on a read-only root.
    command = [nginx_binary(), "-e", "stderr", "-p", str(prefix), "-c", str(config)]
    subprocess.run([*command, "-t", "-q"], check=True)
    nginx = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: nginx.send_signal(signal.SIGQUIT))
    signal.signal(signal.SIGINT, lambda *_: nginx.send_signal(signal.SIGTERM))
    return nginx.wait()


if __name__ == "__main__":
    sys.exit(main())
