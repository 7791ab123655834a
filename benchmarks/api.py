"""get-results through a real gunicorn: latency at concurrency 1, faces/s at concurrency 4.

The requests are what an edge node sends: UltraFace finds the face in each portrait of
shared/faces/people and the crop (25% margin, longer side <= 300 px as in benchmarks/pipeline.py,
JPEG q90, edge/crops.py) is posted. The service
first gets a trained model (one image per person, through the API), so every request runs the
whole path: decode, MTCNN re-detect, FaceNet embedding, SVM + open-set rejection.

    .venv/bin/python benchmarks/api.py [--workers 2] [--requests 200] [--seconds 20]
Targets: p50 <= 60 ms and p99 <= 150 ms at concurrency 1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.crops import crop_face, encode_jpeg, limit_size  # noqa: E402
from edge.detector import UltraFaceDetector  # noqa: E402
from tests.api.servers import Gunicorn  # noqa: E402

PEOPLE = ROOT.parent / "shared/faces/people"
BUNDLE = ROOT / "models"
ADMIN = {"X-API-Key": "benchmark-admin-key-not-for-production"}
ENROLMENT = {"biden": "biden2.jpg", "kit_harington": "kit1.jpg", "rose_leslie": "rose1.jpg"}


def server_env(tmp: str) -> dict[str, str]:
    """FACEREC_* for a server whose model store and SQLite database live in `tmp`."""
    return {
        "FACEREC_MODEL_BUNDLE": str(BUNDLE),
        "FACEREC_MODEL_DIR": f"{tmp}/model-store",
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp}/facerec.db",
        "FACEREC_API_KEYS": f"admin:{ADMIN['X-API-Key']}",
    }


def edge_crops(max_side: int) -> list[bytes]:
    detector = UltraFaceDetector(BUNDLE / "ultraface/version-RFB-320.onnx", threads=1)
    crops = []
    for path in sorted(PEOPLE.glob("*/*")):
        bgr = cv2.imread(str(path))
        for detection in detector.detect(bgr)[:1]:
            pixels = limit_size(crop_face(bgr, detection.box, 0.25)[0], max_side)
            crops.append(encode_jpeg(pixels, 90))
    return crops


def train(url: str) -> None:
    for person, name in ENROLMENT.items():
        requests.post(f"{url}/dataset/{person}", headers=ADMIN).raise_for_status()
        with open(PEOPLE / person / name, "rb") as handle:
            requests.post(
                f"{url}/dataset/{person}/image", files={"image": handle}, headers=ADMIN
            ).raise_for_status()
    job = requests.post(f"{url}/model/optimized-train?wait=true", headers=ADMIN).json()
    assert job["state"] == "succeeded", job


def get_results(session: requests.Session, url: str, crop: bytes) -> dict:
    response = session.post(
        f"{url}/face-recognition/get-results", files={"image": ("face.jpg", crop)}, headers=ADMIN
    )
    response.raise_for_status()
    return response.json()


def recognize(session: requests.Session, url: str, crop: bytes) -> int:
    return len(get_results(session, url, crop)["faces"])


def sequential(
    url: str, crops: list[bytes], count: int, model_version: str | None = None
) -> np.ndarray:
    """Latencies (ms) of `count` requests, one at a time; with `model_version`, every answer
    must come from that model (a benchmark of one gallery must not time another)."""
    with requests.Session() as session:
        for crop in crops:  # warm-up: every worker's first requests
            get_results(session, url, crop)
        latencies = []
        for index in range(count):
            started = time.perf_counter()
            answer = get_results(session, url, crops[index % len(crops)])
            latencies.append((time.perf_counter() - started) * 1000)
            if model_version is not None and answer["model_version"] != model_version:
                raise RuntimeError(f"answered by model {answer['model_version']}")
    return np.array(latencies)


def concurrent(url: str, crops: list[bytes], clients: int, seconds: float) -> tuple[float, float]:
    """(faces/s, requests/s) with `clients` threads posting back to back."""
    faces, answered = [0] * clients, [0] * clients
    deadline = time.perf_counter() + seconds

    def client(slot: int) -> None:
        with requests.Session() as session:
            index = slot
            while time.perf_counter() < deadline:
                faces[slot] += recognize(session, url, crops[index % len(crops)])
                answered[slot] += 1
                index += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(faces) / elapsed, sum(answered) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--max-side", type=int, default=300, help="edge crop size limit (0: full resolution)"
    )
    args = parser.parse_args()

    crops = edge_crops(args.max_side)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Gunicorn(server_env(tmp), Path(tmp) / "gunicorn.log", workers=args.workers) as server,
    ):
        train(server.url)
        latencies = sequential(server.url, crops, args.requests)
        faces_per_s, requests_per_s = concurrent(server.url, crops, args.concurrency, args.seconds)
    sizes = [len(crop) for crop in crops]
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    print(
        f"gunicorn workers={args.workers}, {len(crops)} edge crops of <= {args.max_side} px "
        f"({min(sizes)}-{max(sizes)} B), {args.requests} sequential requests"
    )
    print("| measure | value | target |")
    print("|---|---|---|")
    print(f"| get-results p50, concurrency 1 | {p50:.1f} ms | <= 60 ms |")
    print(f"| get-results p90, concurrency 1 | {p90:.1f} ms | |")
    print(f"| get-results p99, concurrency 1 | {p99:.1f} ms | <= 150 ms |")
    print(
        f"| throughput, concurrency {args.concurrency} | {faces_per_s:.1f} faces/s "
        f"({requests_per_s:.1f} requests/s) | |"
    )


if __name__ == "__main__":
    main()
