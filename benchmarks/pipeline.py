"""Per-stage latency of the recognition pipeline, ONNX Runtime vs the torch reference.

Runs the real path on tests/data/people: UltraFace (the edge) finds each face in the full
photo and cuts a 25%-margin crop, as the edge would send it; the cloud stages (MTCNN re-detect,
embedding) then run on those crops: CASIA Inception-ResNet-v1 on both backends and the default
embedder with min face 20 (the reference's setting), then as the service runs an upload (min
face 40) and one marked `crop=true` (pyramid from a third of the crop's short side).

    .venv/bin/python benchmarks/pipeline.py [--threads 1] [--repeat 3]
Targets (issue 14): per crop <= 45 ms with the default embedder, MTCNN on a crop <= 8 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.config import Settings  # noqa: E402
from edge.crops import crop_face, limit_size  # noqa: E402
from edge.detector import UltraFaceDetector  # noqa: E402
from recognition import FaceAnalyzer  # noqa: E402
from recognition.networks import DEFAULT_EMBEDDER  # noqa: E402

PEOPLE = ROOT / "tests/data/people"
BUNDLE = ROOT / "models"
SERVICE = Settings()  # the service's MTCNN settings (min face, crop fraction)


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return (time.perf_counter() - start) * 1000, result


def edge_crops(threads: int, repeat: int, max_side: int) -> tuple[list[np.ndarray], list[float]]:
    detector = UltraFaceDetector(BUNDLE / "ultraface/version-RFB-320.onnx", threads=threads)
    crops, times = [], []
    for path in sorted(PEOPLE.glob("*/*")):
        bgr = cv2.imread(str(path))
        for _ in range(repeat):
            elapsed, found = timed(detector.detect, bgr)
            times.append(elapsed)
        for detection in found[:1]:
            pixels, _ = crop_face(bgr, detection.box, 0.25)
            crops.append(cv2.cvtColor(limit_size(pixels, max_side), cv2.COLOR_BGR2RGB))
    return crops, times


class TimedSession:
    """An ONNX Runtime session that adds up the milliseconds its runs take."""

    def __init__(self, session):
        self.session = session
        self.ms = 0.0

    def run(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.session.run(*args, **kwargs)
        finally:
            self.ms += (time.perf_counter() - started) * 1000


def cloud_stages(
    backend: str,
    embedder: str,
    crops: list[np.ndarray],
    threads: int,
    repeat: int,
    min_face_size: int = 20,
    crop_fraction: float = 0.0,
) -> dict:
    analyzer = FaceAnalyzer.from_bundle(
        BUNDLE, backend=backend, threads=threads, embedder=embedder, min_face_size=min_face_size
    )
    pnet = None
    if backend == "onnx":
        pnet = analyzer.backend.mtcnn.pnet = TimedSession(analyzer.backend.mtcnn.pnet)
    analyzer.embed(crops[0], analyzer.detect(crops[0], crop_fraction))  # warm-up
    detect, embed, total, pnet_ms, faces = [], [], [], [], 0
    for _ in range(repeat):
        for crop in crops:
            pnet_before = pnet.ms if pnet else 0.0
            t_detect, found = timed(analyzer.detect, crop, crop_fraction)
            t_embed, _ = timed(analyzer.embed, crop, found[:1])
            detect.append(t_detect)
            pnet_ms.append(pnet.ms - pnet_before if pnet else float("nan"))
            if found:
                embed.append(t_embed)
                faces += 1
            total.append(t_detect + t_embed)
    mode = f"min {min_face_size}" + (f", crop {crop_fraction:.2f}" if crop_fraction else "")
    return {
        "backend": f"{backend}/{embedder}",
        "mode": mode,
        "mtcnn_ms": float(np.median(detect)),
        "pnet_ms": float(np.median(pnet_ms)),
        "embed_ms": float(np.median(embed)),
        "per_crop_ms": float(np.median(total)),
        "faces_per_s": faces / (sum(total) / 1000),
    }


def serving_rss_mb(crops_file: Path, threads: int) -> float:
    """Peak RSS of a fresh process that loads the ONNX bundle and recognises every crop."""
    code = (
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from recognition import FaceAnalyzer\n"
        f"a = FaceAnalyzer.from_bundle({str(BUNDLE)!r}, threads={threads})\n"
        f"crops = np.load({str(crops_file)!r}, allow_pickle=False)\n"
        "[a.embed(c, a.detect(c)) for c in crops]\n"
        # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report this parent's torch.
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024)\n"
    )
    return float(subprocess.check_output([sys.executable, "-c", code], text=True).strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--max-side", type=int, default=300, help="edge crop size limit (0: full resolution)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    crops, ultraface_ms = edge_crops(args.threads, args.repeat, args.max_side)
    sides = sorted(min(c.shape[:2]) for c in crops)
    # The design's CASIA network on both backends (the reference runs only it), then the default.
    stages = [
        ("onnx", "casia", 20, 0.0),
        ("torch", "casia", 20, 0.0),
        ("onnx", DEFAULT_EMBEDDER, 20, 0.0),
        ("onnx", DEFAULT_EMBEDDER, SERVICE.min_face_size, 0.0),
        ("onnx", DEFAULT_EMBEDDER, SERVICE.min_face_size, SERVICE.crop_min_face_fraction),
    ]
    results = [cloud_stages(b, e, crops, args.threads, args.repeat, m, f) for b, e, m, f in stages]
    square = np.stack([cv2.resize(c, (256, 256), interpolation=cv2.INTER_AREA) for c in crops])
    crops_file = Path("/tmp/facerec-bench-crops.npy")
    np.save(crops_file, square)
    rss = serving_rss_mb(crops_file, args.threads)
    report = {
        "threads": args.threads,
        "crops": len(crops),
        "crop_short_side_px": [sides[0], sides[-1]],
        "ultraface_rfb320_ms": float(np.median(ultraface_ms)),
        "backends": results,
        "speedup_onnx_vs_torch": results[1]["per_crop_ms"] / results[0]["per_crop_ms"],
        "serving_rss_mb": rss,
        "bench_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{len(crops)} edge crops, short side {sides[0]}-{sides[-1]} px, {args.threads} thread(s)"
    )
    print(f"UltraFace RFB-320 on the full photo: {report['ultraface_rfb320_ms']:.1f} ms (median)")
    print(
        f"{'backend/embedder':18} {'MTCNN setting':20} {'MTCNN ms':>9} {'P-Net ms':>9} "
        f"{'embed ms':>9} {'per crop ms':>12} {'faces/s':>8}"
    )
    for r in results:
        print(
            f"{r['backend']:18} {r['mode']:20} {r['mtcnn_ms']:9.1f} {r['pnet_ms']:9.1f} "
            f"{r['embed_ms']:9.1f} {r['per_crop_ms']:12.1f} {r['faces_per_s']:8.1f}"
        )
    print(f"ONNX Runtime is {report['speedup_onnx_vs_torch']:.2f}x faster per crop than torch")
    print(f"serving process peak RSS (ONNX bundle loaded, 256 px crops): {rss:.0f} MB")


if __name__ == "__main__":
    main()
