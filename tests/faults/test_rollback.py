"""Rollback names the version it leaves (idempotent), and a store it cannot write is 503/507.

Before: 4 concurrent rollbacks moved the model back 4 versions (here: to the oldest, then 409),
and a read-only or full model store answered 500.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from storage.model_store import ModelStore
from tests.conftest import people_images

from .conftest import ADMIN, serve

STORE_MOUNT = 'mkdir -p "$FACEREC_MODEL_DIR" && mount -t tmpfs -o size=4m tmpfs "$FACEREC_MODEL_DIR" && exec "$@"'


def publish_versions(url: str, count: int) -> list[str]:
    """Enrol two people and train `count` times through the API; the versions, oldest first."""
    images = people_images()
    for person in ("obama", "biden"):
        requests.post(f"{url}/dataset/{person}", headers=ADMIN, timeout=10).raise_for_status()
        for path in images[person][:2]:
            with open(path, "rb") as image:
                answer = requests.post(
                    f"{url}/dataset/{person}/image",
                    files={"image": image},
                    headers=ADMIN,
                    timeout=30,
                )
            answer.raise_for_status()
    versions = []
    for _ in range(count):
        job = requests.post(
            f"{url}/model/optimized-train?wait=true", headers=ADMIN, timeout=60
        ).json()
        assert job["state"] == "succeeded", job
        versions.append(job["model_version"])
    return versions


def rollback(url: str, leaving: str | None = None) -> requests.Response:
    params = {"from": leaving} if leaving else {}
    return requests.post(f"{url}/model/rollback", params=params, headers=ADMIN, timeout=30)


def current(store: Path) -> str:
    """What CURRENT names (each worker's GET /model follows within its poll period)."""
    return ModelStore(store).current_version()


def answer_model(url: str) -> str:
    return requests.get(f"{url}/model", headers=ADMIN, timeout=10).json()["model_version"]


def test_concurrent_rollbacks_from_one_version_go_back_once(tmp_path):
    store = tmp_path / "model-store"
    with serve(tmp_path, {}, workers=2) as api:
        oldest, previous, newest = publish_versions(api.url, 3)
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: rollback(api.url, newest), range(4)))
        assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
        assert current(store) == previous  # not `oldest`: one step back, whoever came first
        stale = rollback(api.url, newest)  # a retry after the fact: still the same answer
        assert stale.status_code == 200 and current(store) == previous
        moved = rollback(api.url, oldest)  # names a version that is not current: refused
        assert moved.status_code == 409 and moved.json()["error"] == "model_changed"
        assert rollback(api.url).status_code == 200  # naming none: one step back, as before
        assert current(store) == oldest


def test_a_read_only_or_full_model_store_is_503_or_507(tmp_path):
    with serve(tmp_path, {}, prefix=("unshare", "-m", "sh", "-c", STORE_MOUNT, "sh")) as api:
        store = tmp_path / "model-store"
        _oldest, newest = publish_versions(api.url, 2)

        def in_namespace(*command: str) -> None:
            nsenter = ["nsenter", "-t", str(api.pid), "-m", *command]
            subprocess.run(nsenter, check=False, capture_output=True)

        in_namespace("mount", "-o", "remount,ro", str(store))
        answer = rollback(api.url, newest)
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "model_store_read_only"

        in_namespace("mount", "-o", "remount,rw", str(store))
        in_namespace("dd", "if=/dev/zero", f"of={store}/filler", "bs=64k")  # until ENOSPC
        answer = rollback(api.url, newest)
        assert answer.status_code == 507, answer.text
        assert answer.json()["error"] == "model_store_full"
        assert answer_model(api.url) == newest  # nothing half-switched

        in_namespace("rm", f"{store}/filler")
        assert rollback(api.url, newest).status_code == 200
