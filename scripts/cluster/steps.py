"""The steps the cluster scenarios, `make k8s-e2e` and the cluster benchmark take (through the one
HTTP client, edge.client.ApiClient), an edge crop, and the model pointer watch."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import requests
from PIL import Image

from edge.client import GET_RESULTS, STORE_RESULTS, ApiClient, ApiError, image_field

__all__ = ["GET_RESULTS", "STORE_RESULTS", "ApiError", "enrol", "face_crop", "train", "upload"]


def upload(path_or_bytes, name: str = "face.jpg") -> dict:
    """The multipart `image` field of a photo file or JPEG bytes."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return image_field(data, name)


def enrol(url: str, person: str, images: list[Path], http: requests.Session | None = None) -> int:
    """Create `person` (if new) and add `images` through the API; how many were accepted.

    A photo in which the API sees several faces is refused (422 several_faces) by design; the
    scenario goes on with the others, and fails only if none of them was accepted. `http`: a
    `requests.Session` carrying an API key, where the API wants one.
    """
    client = ApiClient(url, timeout=60, retries=0, session=http)
    try:
        client.create_person(person)
    except ApiError as error:
        if error.status != 409:  # already there: enrol more photos
            raise
    accepted = 0
    for path in images:
        try:
            client.add_image(person, Path(path).read_bytes(), Path(path).name)
        except ApiError as error:
            if (error.status, error.error) != (422, "several_faces"):
                raise
            continue
        accepted += 1
    if images and not accepted:
        raise ApiError(None, "not_enrolled", f"no image of {person} was accepted")
    return accepted


def train(url: str, kind: str = "train", http: requests.Session | None = None) -> dict:
    """Run a training job (`train` or `optimized-train`) to the end; the finished job."""
    job = ApiClient(url, timeout=300, retries=0, session=http).train(wait=True, kind=kind)
    if job.get("state") != "succeeded":
        raise ApiError(None, "training_failed", f"training job did not succeed: {job}")
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
