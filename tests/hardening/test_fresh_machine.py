"""Issue 11, item 1: one script installs the system packages the tests need, and both
`make test` and `.ci/run` call it, so the README's commands set up a fresh machine."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "install-system-deps.sh"


def run_script(*args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600
    )


def path_without(tmp: Path, *hidden: str) -> str:
    """A PATH that has every command of this machine except `hidden`: a machine that lacks them."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            link = bin_dir / tool.name
            if tool.name not in hidden and not link.exists() and os.access(tool, os.X_OK):
                link.symlink_to(tool)
    return str(bin_dir)


def test_the_script_installs_what_is_missing_then_does_nothing():
    first = run_script()  # installs whatever this machine lacks (as root or through sudo)
    assert first.returncode == 0, first.stdout + first.stderr
    again = run_script("--check")
    assert again.returncode == 0 and "all present" in again.stdout, again.stdout
    for command in ("ffmpeg", "nginx", "java", "mariadbd", "make"):
        assert (
            subprocess.run(
                ["bash", "-c", f"command -v {command} || test -x /usr/sbin/{command}"]
            ).returncode
            == 0
        )
    modules = [
        Path(d, "ngx_rtmp_module.so")
        for d in ("/usr/lib/nginx/modules", "/usr/share/nginx/modules")
    ]
    assert any(module.is_file() for module in modules)


def test_a_machine_without_ffmpeg_or_java_is_told_which_packages_it_lacks(tmp_path):
    done = run_script("--check", path=path_without(tmp_path, "ffmpeg", "java"))
    assert done.returncode == 1
    assert "missing: ffmpeg" in done.stdout
    assert "missing: openjdk-17-jre-headless" in done.stdout
    assert "nginx" not in done.stdout  # what is there is not reinstalled


def test_make_test_and_ci_both_run_the_script():
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "test"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert planned.returncode == 0, planned.stderr
    commands = planned.stdout.splitlines()
    assert "scripts/install-system-deps.sh" in commands
    # Before the venv and the bundle, whose set-up may need the packages (python3-venv).
    assert commands.index("scripts/install-system-deps.sh") == 0
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nscripts/install-system-deps.sh\n" in ci
    assert "apt-get" not in ci  # one place installs packages
