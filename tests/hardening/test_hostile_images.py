"""Hostile images against a real gunicorn worker (issue 11, item 8): a 39.7 Mpx PNG of a few
hundred KB and a crowd of 196 faces are answered in bounded time, only the largest faces are
processed, and the worker's memory comes back to within 20% of its baseline.

The time bound is loose on purpose: it is the CPU's, not the code's. The crowd costs MTCNN
0.8 s (P-Net) + 1.7 s (R-Net, 3,838 candidates) + 1.9 s (O-Net, 941) and the 20 embeddings 1.5 s
on this CI machine's AMD EPYC (6.5 s in all; 3.2 s on an earlier one). Embedding all 196 faces,
as before the cap, would add ~13 s, which the bound still catches."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

from tests.api.conftest import ADMIN_KEY, RECOGNIZE_KEY
from tests.api.servers import Gunicorn
from tests.conftest import FACES, ROOT

KEYS = {"X-API-Key": RECOGNIZE_KEY}
GET_RESULTS = "/face-recognition/get-results"


def _png(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _crowd() -> bytes:
    face = Image.open(FACES / "people" / "obama" / "obama2.jpg").convert("RGB").resize((120, 150))
    tile = np.asarray(face)
    return _png(np.tile(tile, (14, 14, 1)))  # 196 faces, 1680x2100


def _worker_rss_mb(master_pid: int) -> float:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    return (
        next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        / 1024
    )


def _post(url: str, data: bytes) -> tuple[float, dict]:
    started = time.perf_counter()
    response = requests.post(
        url + GET_RESULTS, files={"image": ("x.png", data)}, headers=KEYS, timeout=60
    )
    assert response.status_code == 200, response.text
    return time.perf_counter() - started, response.json()


def test_huge_canvases_and_crowds_are_bounded_in_time_and_memory(tmp_path):
    env = {
        "FACEREC_MODEL_BUNDLE": str(ROOT / "models"),
        "FACEREC_MODEL_DIR": str(tmp_path / "models"),
        "FACEREC_DATABASE_URL": f"sqlite:///{tmp_path}/facerec.db",
        "FACEREC_API_KEYS": f"admin:{ADMIN_KEY},recognize:{RECOGNIZE_KEY}",
    }
    huge = _png(np.full((5670, 7000, 3), 90, np.uint8))  # 39.7 Mpx, under the 40 Mpx cap
    crowd = _crowd()
    portrait = (FACES / "people" / "obama" / "obama2.jpg").read_bytes()
    with Gunicorn(env, tmp_path / "gunicorn.log", workers=1) as server:
        for _ in range(3):
            _post(server.url, portrait)
        baseline = _worker_rss_mb(server.process.pid)
        slowest = 0.0
        for round_ in range(10):
            seconds, body = _post(server.url, huge)
            slowest = max(slowest, seconds)
            assert body["faces"] == []
            seconds, body = _post(server.url, crowd)
            slowest = max(slowest, seconds)
            assert len(body["faces"]) == 20 and body["faces_not_processed"] >= 150, round_
        after = _worker_rss_mb(server.process.pid)
    print(f"\nworker RSS {baseline:.0f} -> {after:.0f} MB, slowest request {slowest:.2f} s")
    assert slowest < 10.0
    assert after < baseline * 1.2
