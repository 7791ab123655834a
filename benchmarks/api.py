"""get-results through a real gunicorn: latency at concurrency 1, faces/s under load.

The requests are what an edge node sends: UltraFace finds the face in each portrait of
tests/data/people and the crop (25% margin, longer side <= 300 px as in benchmarks/pipeline.py,
JPEG q90, edge/crops.py) is posted, marked `crop=true` as the edge client marks it. The service
first gets a trained model (one image per person, through the API), so every request runs the
whole path: decode, MTCNN re-detect, embedding, classifier + open-set rejection.

    .venv/bin/python benchmarks/api.py [--workers 2] [--requests 200] [--seconds 20]
    .venv/bin/python benchmarks/api.py --settings 2x4x1 1x4x2 --concurrency 1 2 4 8 --seconds 10
Each setting is WORKERSxTHREADSxORT_THREADS (gunicorn workers, gthread threads per worker, ONNX
Runtime threads per session); each gets a fresh server. Targets (issue 14): >= 20 faces/s per
core at concurrency 4, p99 <= 2x p50 there; p50 <= 60 ms and p99 <= 150 ms at concurrency 1.
"""

from __future__ import annotations

import argparse
import os
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

PEOPLE = ROOT / "tests/data/people"
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


def get_results(session: requests.Session, url: str, crop: bytes, as_crop: bool = True) -> dict:
    response = session.post(
        f"{url}/face-recognition/get-results",
        files={"image": ("face.jpg", crop)},
        data={"crop": str(as_crop).lower()},
        headers=ADMIN,
    )
    response.raise_for_status()
    return response.json()


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


def concurrent(url: str, crops: list[bytes], clients: int, seconds: float) -> dict:
    """`clients` threads posting back to back for `seconds`: faces/s and request latencies."""
    faces, latencies = [0] * clients, [[] for _ in range(clients)]
    deadline = time.perf_counter() + seconds

    def client(slot: int) -> None:
        with requests.Session() as session:
            index = slot
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                faces[slot] += len(get_results(session, url, crops[index % len(crops)])["faces"])
                latencies[slot].append((time.perf_counter() - started) * 1000)
                index += clients

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = np.concatenate([np.array(slot) for slot in latencies])
    p50, p99 = np.percentile(every, [50, 99])
    return {
        "clients": clients,
        "faces_per_s": sum(faces) / elapsed,
        "requests_per_s": len(every) / elapsed,
        "p50_ms": float(p50),
        "p99_ms": float(p99),
    }


def parse_setting(text: str) -> tuple[int, int, int]:
    """`2x4x1` -> (workers, threads, ORT threads)."""
    try:
        workers, threads, ort_threads = (int(part) for part in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WORKERSxTHREADSxORT_THREADS") from None
    return workers, threads, ort_threads


def serve(setting: tuple[int, int, int], crops: list[bytes], args) -> tuple[np.ndarray, list]:
    """A fresh trained server with this setting: sequential latencies, then each load level."""
    workers, threads, ort_threads = setting
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **server_env(tmp),
            "FACEREC_THREADS": str(threads),
            "FACEREC_ORT_THREADS": str(ort_threads),
        }
        with Gunicorn(env, Path(tmp) / "gunicorn.log", workers=workers) as server:
            train(server.url)
            latencies = sequential(server.url, crops, args.requests)
            levels = [concurrent(server.url, crops, c, args.seconds) for c in args.concurrency]
    return latencies, levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gthread threads per worker")
    parser.add_argument("--ort-threads", type=int, default=1, help="ONNX Runtime threads")
    parser.add_argument(
        "--settings",
        nargs="+",
        type=parse_setting,
        help="WORKERSxTHREADSxORT_THREADS each (instead of the three options above)",
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[4])
    parser.add_argument(
        "--cores", type=float, default=os.cpu_count(), help="cores the server may use (per core)"
    )
    parser.add_argument(
        "--max-side", type=int, default=300, help="edge crop size limit (0: full resolution)"
    )
    args = parser.parse_args()

    crops = edge_crops(args.max_side)
    sizes = [len(crop) for crop in crops]
    print(
        f"{len(crops)} edge crops of <= {args.max_side} px ({min(sizes)}-{max(sizes)} B), "
        f"{args.requests} sequential requests, {args.seconds:.0f} s per load level, "
        f"per core = / {args.cores:g}"
    )
    print(
        "| workers x threads x ORT | clients | faces/s | faces/s per core | p50 ms | p99 ms "
        "| p99/p50 |"
    )
    print("|---|---|---|---|---|---|---|")
    for setting in args.settings or [(args.workers, args.threads, args.ort_threads)]:
        latencies, levels = serve(setting, crops, args)
        p50, p99 = np.percentile(latencies, [50, 99])
        name = "x".join(str(part) for part in setting)
        print(
            f"| {name} | 1 (sequential) | {1000 / latencies.mean():.1f} | | {p50:.1f} | {p99:.1f} | |"
        )
        for level in levels:
            print(
                f"| {name} | {level['clients']} | {level['faces_per_s']:.1f} | "
                f"{level['faces_per_s'] / args.cores:.1f} | {level['p50_ms']:.1f} | "
                f"{level['p99_ms']:.1f} | {level['p99_ms'] / level['p50_ms']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
