"""`facerec-batch` refuses bad inputs and a missing model in seconds, before starting Spark."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.batch.conftest import CLIP
from tests.conftest import ROOT


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "batch", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_input_naming_nothing_exits_2_with_the_reason(model_dir):
    done = _run("/nonexistent/*.mp4", env={"FACEREC_MODEL_DIR": str(model_dir)})
    assert done.returncode == 2
    assert "no video or image matches '/nonexistent/*.mp4'" in done.stderr


def test_no_trained_model_exits_2_with_the_reason(tmp_path):
    done = _run(str(CLIP), env={"FACEREC_MODEL_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "no trained classifier" in done.stderr


def test_bad_flags_are_refused():
    done = _run(str(CLIP), "--fps", "0")
    assert done.returncode == 2 and "must be above 0" in done.stderr
