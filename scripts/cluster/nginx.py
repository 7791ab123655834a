"""nginx as the cluster's load balancer: installed if missing, configured from a template."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

from .processes import ManagedProcess, free_port, wait_until

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def ensure_nginx() -> str:
    """The nginx binary; installs Debian's nginx-light first when there is none."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found:
        return found
    print("nginx is missing: apt-get install -y nginx-light", flush=True)
    install = ["apt-get", "install", "-y", "--no-install-recommends", "nginx-light"]
    if subprocess.run(install).returncode != 0:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update"], check=True)
        subprocess.run(install, check=True)
    return shutil.which("nginx", path="/usr/sbin:/usr/bin")


def render_config(
    prefix: Path,
    port: int,
    replica_ports: list[int],
    max_body: str = "11m",
    max_fails: int = 2,
    fail_timeout: str = "2s",
) -> str:
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails={max_fails} fail_timeout={fail_timeout};"
        for p in replica_ports
    )
    user = pwd.getpwuid(os.geteuid())
    values = {
        # Only root may switch users; a started-as-root nginx would otherwise drop to `nobody`.
        "USER": f"user {user.pw_name} {grp.getgrgid(user.pw_gid).gr_name};"
        if os.geteuid() == 0
        else "",
        "PREFIX": str(prefix),
        "PORT": str(port),
        "SERVERS": servers,
        "MAX_BODY": max_body,
        "MAX_FAILS": str(max_fails),
        "FAIL_TIMEOUT": fail_timeout,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


class NginxBalancer:
    """One nginx master in the foreground (`daemon off`), with its prefix under `root`."""

    def __init__(self, root: Path, replica_ports: list[int], port: int | None = None):
        self.root = Path(root)
        self.port = port or free_port()
        self.replica_ports = list(replica_ports)
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> NginxBalancer:
        binary = ensure_nginx()
        for temp in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.root / "tmp" / temp).mkdir(parents=True, exist_ok=True)
        config = self.root / "nginx.conf"
        config.write_text(render_config(self.root, self.port, self.replica_ports))
        argv = [binary, "-p", str(self.root), "-c", str(config)]
        subprocess.run([*argv, "-t", "-q"], check=True, capture_output=True)
        self.process = ManagedProcess("nginx", argv, self.root / "nginx.log").start()
        wait_until(self._listening, timeout, f"nginx listening on {self.port}")
        return self

    def _listening(self) -> bool:
        if not self.process.running():
            raise RuntimeError(f"nginx exited; see {self.root / 'error.log'}")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
