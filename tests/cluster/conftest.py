"""One real cluster (a private mariadbd, 3 gunicorn replicas, nginx) for every scenario here.

The database is a private server on a free port, never the shared one on :3306, so the outage
scenario can stop it. Each replica runs one gunicorn worker (the machine has 2 cores).
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from scripts.cluster import Cluster, ClusterConfig
from tests.conftest import ROOT, people_images

GET_RESULTS = "/face-recognition/get-results"
STORE_RESULTS = "/face-recognition/store-results"
# Enrolled before any scenario, all but one image each; alex_lacamoire joins in the hot swap.
INITIAL_PEOPLE = ("biden", "kit_harington", "obama", "rose_leslie")


def upload(path_or_bytes, name: str = "face.jpg") -> dict:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return {"image": (name, data, "image/jpeg")}


def enrol(url: str, person: str, images: list[Path]) -> None:
    """Create `person` (if new) and add `images` through the API."""
    response = requests.post(f"{url}/dataset/{person}", timeout=30)
    assert response.status_code in (200, 201, 409), response.text
    for path in images:
        response = requests.post(f"{url}/dataset/{person}/image", files=upload(path), timeout=60)
        assert response.status_code in (200, 201), (path, response.text)


def train(url: str) -> dict:
    """Run a training job to the end; the finished job (with its model_version)."""
    response = requests.post(f"{url}/model/train", params={"wait": "true"}, timeout=300)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["state"] == "succeeded", job
    return job


def face_crop(analyzer, path: Path, margin: float = 0.4) -> bytes:
    """The JPEG crop an edge node would send: the face's box grown by `margin` on each side."""
    from api.recognition import load_image

    data = Path(path).read_bytes()
    rgb = load_image(data)
    left, top, right, bottom = max(analyzer.detect(rgb), key=lambda f: f.probability).box
    grow_x, grow_y = (right - left) * margin, (bottom - top) * margin
    box = (
        max(0, int(left - grow_x)),
        max(0, int(top - grow_y)),
        min(rgb.shape[1], int(right + grow_x)),
        min(rgb.shape[0], int(bottom + grow_y)),
    )
    buffer = io.BytesIO()
    Image.fromarray(rgb).crop(box).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


class PointerWatch:
    """Notes when the model store's CURRENT file changes (polled every 10 ms, in a thread)."""

    def __init__(self, pointer: Path):
        self.pointer = pointer
        self.initial = self._read()
        self.changes: list[tuple[float, str]] = []  # (time.monotonic(), new content)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> str | None:
        try:
            return self.pointer.read_text().strip()
        except FileNotFoundError:
            return None

    def _run(self) -> None:
        last = self.initial
        while not self._stop.wait(0.01):
            current = self._read()
            if current != last:
                self.changes.append((time.monotonic(), current))
                last = current

    def switched_to(self, version: str) -> float | None:
        return next((at for at, content in self.changes if content == version), None)

    def __enter__(self) -> PointerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory, bundle_dir):
    if not (ROOT / "api" / "app.py").is_file() or not (ROOT / "gunicorn.conf.py").is_file():
        pytest.fail("the API (api/app.py, gunicorn.conf.py) is missing: nothing to cluster")
    config = ClusterConfig(root=tmp_path_factory.mktemp("cluster"), replicas=3, workers=1)
    with Cluster(config) as running:
        yield running


@pytest.fixture(scope="session")
def trained(cluster) -> str:
    """The cluster with INITIAL_PEOPLE enrolled and a model trained; its version."""
    images = people_images()
    for person in INITIAL_PEOPLE:
        enrol(cluster.url, person, images[person][:-1])
    return train(cluster.url)["model_version"]


@pytest.fixture(scope="session")
def obama_crop(analyzer) -> bytes:
    """A held-out face (never enrolled) that the first model knows."""
    return face_crop(analyzer, people_images()["obama"][-1])
