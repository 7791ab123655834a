"""Two real gunicorn replicas share one model directory and one database: a model trained
through one is served by every worker of the other within 2 s."""

from __future__ import annotations

import time

import pytest
import requests

from tests.api.conftest import ADMIN, ADMIN_KEY, BUNDLE, RECOGNIZE, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import people_images

PROPAGATION_SECONDS = 2.0
PEOPLE = ("biden", "kit_harington", "rose_leslie")


def replica_env(tmp_path, database_url: str) -> dict[str, str]:
    return {
        "FACEREC_MODEL_BUNDLE": str(BUNDLE),
        "FACEREC_MODEL_DIR": str(tmp_path / "shared-model-store"),
        "FACEREC_DATABASE_URL": database_url,
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY}",
        "FACEREC_MODEL_POLL_SECONDS": "1.0",
    }


def train_through_one_and_watch_the_other(first: Gunicorn, second: Gunicorn) -> None:
    images = people_images()
    for person in PEOPLE:
        assert requests.post(f"{first.url}/dataset/{person}", headers=ADMIN).status_code == 201
        with open(images[person][0], "rb") as handle:
            response = requests.post(
                f"{first.url}/dataset/{person}/image", files={"image": handle}, headers=ADMIN
            )
        assert response.status_code == 201, response.text
    # The second replica sees the dataset at once (one database) but has no model yet.
    listed = requests.get(f"{second.url}/dataset", headers=RECOGNIZE).json()["face_ids"]
    assert sorted(p["id_name"] for p in listed) == sorted(PEOPLE)
    assert requests.get(f"{second.url}/model", headers=ADMIN).json()["model_version"] is None

    job = requests.post(f"{first.url}/model/optimized-train?wait=true", headers=ADMIN).json()
    published = time.monotonic()
    assert job["state"] == "succeeded", job
    version = job["model_version"]

    first_seen = None
    while time.monotonic() - published < PROPAGATION_SECONDS:
        if requests.get(f"{second.url}/model", headers=ADMIN).json()["model_version"] == version:
            first_seen = first_seen or time.monotonic() - published
        time.sleep(0.05)
    assert first_seen is not None, "the second replica never served the new model"
    # By now every worker of the second replica serves it (requests land on any worker).
    answers = [requests.get(f"{second.url}/model", headers=ADMIN).json() for _ in range(8)]
    assert {a["model_version"] for a in answers} == {version}
    assert answers[0]["people"] == sorted(PEOPLE)
    with open(images["kit_harington"][-1], "rb") as handle:
        body = requests.post(
            f"{second.url}/face-recognition/get-results", files={"image": handle}, headers=RECOGNIZE
        ).json()
    assert body["model_version"] == version
    assert body["faces"][0]["top_prediction"]["label"] == "kit_harington"
    print(f"new model first served by the other replica after {first_seen:.2f} s")

    # Multiprocess metrics: one scrape answers for every worker of the replica.
    metrics = requests.get(f"{second.url}/metrics").text
    assert f'facerec_model_info{{version="{version}"}} 1.0' in metrics
    assert "facerec_request_duration_seconds_count" in metrics


def run_two_replicas(tmp_path, database_url: str) -> None:
    env = replica_env(tmp_path, database_url)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    second_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with (
        Gunicorn(env, tmp_path / "first.log", workers=1) as first,
        Gunicorn(second_env, tmp_path / "second.log", workers=2) as second,
    ):
        train_through_one_and_watch_the_other(first, second)


def test_two_replicas_on_sqlite(tmp_path):
    run_two_replicas(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.mariadb
def test_two_replicas_on_mariadb(tmp_path, mariadb_url):
    run_two_replicas(tmp_path, mariadb_url("replicas"))
