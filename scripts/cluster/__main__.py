"""`python -m scripts.cluster up|down|status` (what `make cluster` / `make cluster-down` run).

`up` starts a supervisor in the background that owns every process of the cluster and writes
their PIDs to `<root>/state.json`; `down` asks it to stop (SIGTERM) and then ends, by PID, any
process of that file that is still there and still runs the command it was started with.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from storage.atomic import write_atomic

from .cluster import Cluster, ClusterConfig
from .processes import command_line, kill_group, pid_alive, wait_until
from .replica import ROOT

DEFAULT_ROOT = ROOT / "var" / "cluster"


def _state_path(root: Path) -> Path:
    return Path(root) / "state.json"


def _read_state(root: Path) -> dict | None:
    try:
        return json.loads(_state_path(root).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _write_state(root: Path, state: dict) -> None:
    write_atomic(_state_path(root), json.dumps(state, indent=1).encode())


def _process_record(pid: int) -> dict:
    return {"pid": pid, "cmdline": command_line(pid)}


def _still_ours(record: dict) -> bool:
    """The PID runs the very command we started (not a later process that reused the PID)."""
    return pid_alive(record["pid"]) and command_line(record["pid"]) == record["cmdline"]


def serve(args: argparse.Namespace) -> int:
    """Run the cluster in the foreground until SIGTERM/SIGINT, keeping state.json current."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    root = Path(args.root)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    config = ClusterConfig(
        root=root,
        replicas=args.replicas,
        workers=args.workers,
        database_url=args.database_url,
        nginx_port=args.port,
    )
    with Cluster(config) as cluster:
        while not stop.is_set():
            _write_state(
                root,
                {
                    "url": cluster.url,
                    "replicas": [r.url for r in cluster.replicas],
                    "database_url": cluster.database_url,
                    "model_dir": str(cluster.model_dir),
                    "supervisor": _process_record(os.getpid()),
                    "processes": {n: _process_record(p) for n, p in cluster.pids().items()},
                },
            )
            stop.wait(1.0)
    _state_path(root).unlink(missing_ok=True)
    return 0


def up(args: argparse.Namespace) -> int:
    root = Path(args.root)
    state = _read_state(root)
    if state and _still_ours(state["supervisor"]):
        print(f"the cluster already runs: {state['url']}")
        return 0
    root.mkdir(parents=True, exist_ok=True)
    _state_path(root).unlink(missing_ok=True)
    argv = [sys.executable, "-m", "scripts.cluster", "serve", "--root", str(root)]
    argv += ["--replicas", str(args.replicas), "--workers", str(args.workers)]
    if args.database_url:
        argv += ["--database-url", args.database_url]
    if args.port:
        argv += ["--port", str(args.port)]
    log_path = root / "cluster.log"
    with open(log_path, "ab") as log:
        supervisor = subprocess.Popen(
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    # Written now so that `down` finds the supervisor even while it is still starting.
    _write_state(root, {"supervisor": _process_record(supervisor.pid), "processes": {}})

    def started() -> bool:
        if supervisor.poll() is not None:
            raise RuntimeError(f"the cluster did not start; see {log_path}")
        return "url" in (_read_state(root) or {})

    try:
        wait_until(started, args.timeout, "the cluster start", interval=0.5)
    except TimeoutError:
        supervisor.terminate()  # it stops what it started
        supervisor.wait()
        raise
    state = _read_state(root)
    print(f"facerec cluster: {state['url']} (nginx) -> {', '.join(state['replicas'])}")
    print(f"database {state['database_url']}, models in {state['model_dir']}, logs in {root}")
    print("stop it with `make cluster-down`")
    return 0


def down(args: argparse.Namespace) -> int:
    root = Path(args.root)
    state = _read_state(root)
    if state is None:
        print("no cluster state file: nothing to stop")
        return 0
    supervisor = state["supervisor"]
    if _still_ours(supervisor):
        os.kill(supervisor["pid"], signal.SIGTERM)
        try:
            wait_until(lambda: not pid_alive(supervisor["pid"]), 60, "the supervisor exit")
        except TimeoutError:
            os.kill(supervisor["pid"], signal.SIGKILL)
    leftovers = {n: r for n, r in state["processes"].items() if _still_ours(r)}
    for name, record in leftovers.items():  # the supervisor died before it could stop these
        print(f"stopping {name} (pid {record['pid']})")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record["pid"], signal.SIGTERM)
    for record in leftovers.values():
        with contextlib.suppress(TimeoutError):
            wait_until(lambda r=record: not pid_alive(r["pid"]), 15, "a clean exit")
        kill_group(record["pid"])
    _state_path(root).unlink(missing_ok=True)
    print("cluster stopped")
    return 0


def status(args: argparse.Namespace) -> int:
    state = _read_state(Path(args.root))
    if state is None or not _still_ours(state["supervisor"]):
        print("the cluster is not running")
        return 1
    print(json.dumps(state, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.cluster", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "serve"])
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="state, logs, data")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per replica")
    parser.add_argument(
        "--database-url", help="use this database (default: a private mariadbd on a free port)"
    )
    parser.add_argument("--port", type=int, help="nginx port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds `up` waits")
    args = parser.parse_args(argv)
    try:
        return {"up": up, "down": down, "status": status, "serve": serve}[args.command](args)
    except (RuntimeError, TimeoutError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
