"""A private MariaDB server: its own datadir, port and socket, so it can be stopped at will."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pymysql

from .processes import ManagedProcess, free_port, wait_until

DATABASE = "facerec"


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if found:
            return found
    raise FileNotFoundError(f"none of {names} is installed (apt-get install mariadb-server)")


class PrivateMariaDB:
    """`mariadbd` on 127.0.0.1:<free port> with a datadir under `root`.

    It is the cluster's database when no URL is given, and the one a test may stop: the
    shared server on :3306 serves other tests and must never be disturbed.
    """

    def __init__(self, root: Path, port: int | None = None):
        self.root = Path(root)
        self.datadir = self.root / "data"
        self.port = port or free_port()
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/{DATABASE}"

    def _initialise(self) -> None:
        if (self.datadir / "mysql").is_dir():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                _binary("mariadb-install-db", "mysql_install_db"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 30.0) -> PrivateMariaDB:
        """Start (or restart, on the same datadir and port) and wait until it answers."""
        self._initialise()
        self.process = ManagedProcess(
            "mariadb",
            [
                _binary("mariadbd", "mysqld"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--socket={self.root / 'mariadb.sock'}",
                f"--pid-file={self.root / 'mariadb.pid'}",
                "--user=root",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--max-connections=500",
                "--max-allowed-packet=64M",
            ],
            self.root / "mariadb.log",
        ).start()
        wait_until(self._answers, timeout, f"MariaDB on port {self.port} answering")
        with self._connect() as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        return self

    def _connect(self, database: str | None = None):
        return pymysql.connect(
            host="127.0.0.1", port=self.port, user="root", database=database, connect_timeout=2
        )

    def _answers(self) -> bool:
        if self.process is not None and not self.process.running():
            raise RuntimeError(f"mariadbd exited; see {self.root / 'mariadb.log'}")
        try:
            self._connect().close()
            return True
        except pymysql.MySQLError:
            return False

    def query(self, sql: str, args=None) -> list[tuple]:
        """Run one statement on the facerec database (for checks in tests)."""
        with self._connect(DATABASE) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def stop(self) -> None:
        """A clean shutdown (SIGTERM) by PID; `start()` brings it back on the same data."""
        if self.process is not None:
            self.process.stop(timeout=30)
