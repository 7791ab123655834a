"""The few API calls the cluster scenarios and the benchmark make, and the model pointer watch."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import requests
from PIL import Image

GET_RESULTS = "/face-recognition/get-results"
STORE_RESULTS = "/face-recognition/store-results"


class ApiError(RuntimeError):
    """The API answered something other than what the scenario needs."""


def _expect(response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        raise ApiError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text}"
        )
    return response


def upload(path_or_bytes, name: str = "face.jpg") -> dict:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return {"image": (name, data, "image/jpeg")}


def enrol(url: str, person: str, images: list[Path], http=requests) -> int:
    """Create `person` (if new) and add `images` through the API; how many were accepted.

    A photo in which the API sees several faces is refused (422 several_faces) by design; the
    scenario goes on with the others, and fails only if none of them was accepted. `http`: a
    `requests.Session` carrying an API key, where the API wants one.
    """
    _expect(http.post(f"{url}/dataset/{person}", timeout=30), 200, 201, 409)
    accepted = 0
    for path in images:
        response = http.post(f"{url}/dataset/{person}/image", files=upload(path), timeout=60)
        if response.status_code == 422 and response.json().get("error") == "several_faces":
            continue
        _expect(response, 200, 201)
        accepted += 1
    if images and not accepted:
        raise ApiError(f"no image of {person} was accepted")
    return accepted


def train(url: str, kind: str = "train", http=requests) -> dict:
    """Run a training job (`train` or `optimized-train`) to the end; the finished job."""
    response = http.post(f"{url}/model/{kind}", params={"wait": "true"}, timeout=300)
    job = _expect(response, 200).json()
    if job.get("state") != "succeeded":
        raise ApiError(f"training job did not succeed: {job}")
    return job


def face_crop(analyzer, path: Path, margin: float = 0.4) -> bytes:
    """The JPEG crop an edge node would send: the face's box grown by `margin` on each side."""
    from recognition import load_image

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
