"""schemathesis against the live /swagger.json of a real gunicorn: no 500, and every answer
(status, content type, headers, body) is one the spec documents.

Two checks stay off, on purpose: `positive_data_acceptance` (a Swagger 2.0 `file` field cannot
say "a JPEG with exactly one face", so the fuzzer's random bytes are rightly refused with 400/422)
and `negative_data_rejection` (unknown extra form fields are ignored, a tolerant reader).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import requests

from tests.api.conftest import ADMIN, ADMIN_KEY, BUNDLE, RECOGNIZE, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import people_images

MAX_EXAMPLES = 50
SKIPPED_CHECKS = "positive_data_acceptance,negative_data_rejection"


def seed(url: str) -> None:
    """Some people, a trained model and recognitions, so the answers have something in them."""
    images = people_images()
    for person in ("biden", "kit_harington"):
        requests.post(f"{url}/dataset/{person}", headers=ADMIN).raise_for_status()
        with open(images[person][0], "rb") as handle:
            requests.post(
                f"{url}/dataset/{person}/image", files={"image": handle}, headers=ADMIN
            ).raise_for_status()
    job = requests.post(f"{url}/model/optimized-train?wait=true", headers=ADMIN).json()
    assert job["state"] == "succeeded", job
    with open(images["kit_harington"][-1], "rb") as handle:
        requests.post(
            f"{url}/face-recognition/store-results",
            files={"image": handle},
            data={"camera_id": "cam-1", "location_id": "gate"},
            headers=RECOGNIZE,
        ).raise_for_status()


def test_the_live_spec_holds_under_fuzzing(tmp_path):
    schemathesis = Path(sys.executable).with_name("schemathesis")
    assert schemathesis.exists() or shutil.which("schemathesis"), "pip install schemathesis"
    env = {
        "FACEREC_MODEL_BUNDLE": str(BUNDLE),
        "FACEREC_MODEL_DIR": str(tmp_path / "model-store"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path / 'facerec.db'}",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY}",
    }
    with Gunicorn(env, tmp_path / "gunicorn.log", workers=2) as server:
        seed(server.url)
        result = subprocess.run(
            [
                str(schemathesis) if schemathesis.exists() else "schemathesis",
                "run",
                f"{server.url}/swagger.json",
                "--checks=all",
                f"--exclude-checks={SKIPPED_CHECKS}",
                f"--max-examples={MAX_EXAMPLES}",
                # A Server-Sent Events stream answers for minutes by design (tests/events).
                "--exclude-path=/events",
                f"--header=X-API-Key: {ADMIN_KEY}",
                "--seed=20261122",
                "--request-timeout=30",
                "--generation-database=none",
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
        )
        log = (tmp_path / "gunicorn.log").read_text()
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "Traceback" not in log, log[-4000:]
    assert " passed" in result.stdout
