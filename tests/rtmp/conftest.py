"""A real nginx with Debian's RTMP module on a free 127.0.0.1 port, stopped by PID."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

MODULE_PATHS = [
    Path("/usr/lib/nginx/modules/ngx_rtmp_module.so"),
    Path("/usr/share/nginx/modules/ngx_rtmp_module.so"),
]
CONFIG = """\
load_module {module};
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{port};
        chunk_size 4096;
        application live {{
            live on;
            record off;
            allow publish 127.0.0.1;
            deny publish all;
            allow play all;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nginx-rtmp did not listen on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def rtmp_server(tmp_path_factory):
    """The base URL (rtmp://127.0.0.1:PORT/live) of a fresh nginx-rtmp."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    module = next((path for path in MODULE_PATHS if path.is_file()), None)
    if not Path(nginx).exists() or module is None:
        pytest.fail(
            "needs nginx and libnginx-mod-rtmp: apt-get install nginx-light libnginx-mod-rtmp"
        )
    if shutil.which("ffmpeg") is None:
        pytest.fail("needs ffmpeg: apt-get install ffmpeg")
    prefix = tmp_path_factory.mktemp("nginx-rtmp")
    port = free_port()
    config = prefix / "nginx.conf"
    config.write_text(CONFIG.format(module=module, prefix=prefix, port=port))
    with open(prefix / "stderr.log", "wb") as log:
        process = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, process)
        yield f"rtmp://127.0.0.1:{port}/live"
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: the master stops its worker
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
