"""Edge benchmark: UltraFace frames/s on one core, and the bandwidth crops save on the real clip.

    python benchmarks/edge.py [--frames 300] [--threads 1] [--bundle models]

Frame bytes are counted two ways: the frames JPEG-encoded at the crops' quality (what shipping
frames would really cost) and raw decoded frames. The clip is measured sending every face on
every frame, with `--resend-every 5` and `15` (every N-th frame of each track), and with the
default: each track's best shots (issue #22).

Targets (2-core machine): RFB-320 >= 60 frames/s on 640x480 frames with one thread; frame bytes /
crop bytes on the Hamilton clip >= 10x, and >= 100x with best shots.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would hide the package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from edge.bandwidth import BandwidthMeter  # noqa: E402
from edge.config import MODEL_FILES, EdgeConfig  # noqa: E402
from edge.detector import UltraFaceDetector  # noqa: E402
from edge.pipeline import FaceCropper  # noqa: E402
from edge.shots import TrackShots  # noqa: E402
from edge.sources import open_source  # noqa: E402

# The vendored faces and UltraFace files (tests/data, third_party/ultraface): no ../shared.
FACES = ROOT / "tests" / "data"
CLIP = FACES / "video" / "short_hamilton_clip.mp4"


def ultraface_dir(bundle: Path) -> Path:
    if (bundle / "manifest.json").is_file():
        return bundle / "ultraface"
    return ROOT / "third_party" / "ultraface"


def test_frames() -> list[np.ndarray]:
    """Real 640x480 frames: the clip's frames and the scenes, resized."""
    frames = [cv2.resize(f, (640, 480)) for f in open_source(str(CLIP), max_frames=40)]
    frames += [
        cv2.resize(cv2.imread(str(p)), (640, 480)) for p in sorted((FACES / "scenes").iterdir())
    ]
    return frames


def detector_speed(model: Path, threads: int, frames: list[np.ndarray], count: int) -> dict:
    detector = UltraFaceDetector(model, threads=threads)
    for frame in frames[:10]:
        detector.detect(frame)
    times = []
    for i in range(count):
        started = time.perf_counter()
        detector.detect(frames[i % len(frames)])
        times.append(time.perf_counter() - started)
    total = sum(times)
    return {
        "frames_per_s": round(count / total, 1),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(sorted(times)[int(0.95 * len(times))] * 1000, 2),
    }


def bandwidth(model: Path, threads: int, margin: float, quality: int, resend_every: int) -> dict:
    """What facerec-edge's loop sends for the clip (crops) against what its frames would cost.

    `resend_every` 0 is the default: each track's best shots (benchmarks/edge_tracks.py has more).
    """
    config = replace(
        EdgeConfig(),
        margin=margin,
        jpeg_quality=quality,
        resend_every=resend_every,
        source=str(CLIP),
    )
    detector = UltraFaceDetector(model, threads=threads, score_threshold=config.track_low_score)
    cropper = FaceCropper(detector, margin, quality, max_size=config.max_face or None)
    tracks = TrackShots.from_config(config)
    meter = BandwidthMeter(quality)
    sent = 0
    for index, frame in enumerate(open_source(str(CLIP))):
        seen, shots, _ = tracks.step(index, frame, cropper.detect(frame))
        meter.add_frame(frame, len(seen))
        sent += len(shots)
        for shot in shots:
            meter.add_crop(len(cropper.crop(frame, shot.detection).jpeg))
    report = meter.report()
    return {
        "frames": report.frames,
        "faces": report.faces,
        "crops_sent": sent,
        "crop_bytes": report.crop_bytes,
        "frame_jpeg_bytes": report.frame_jpeg_bytes,
        "frame_raw_bytes": report.frame_raw_bytes,
        "ratio_vs_jpeg_frames": round(report.jpeg_ratio, 2),
        "ratio_vs_raw_frames": round(report.raw_ratio, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="timed detections per model")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bundle", type=Path, default=ROOT / "models")
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--jpeg-quality", type=int, default=90)
    args = parser.parse_args()
    models = ultraface_dir(args.bundle)
    frames = test_frames()
    results = {
        "models_from": str(models),
        "threads": args.threads,
        "detector_640x480": {
            name: detector_speed(models / file, args.threads, frames, args.frames)
            for name, file in MODEL_FILES.items()
        },
        "bandwidth_clip_RFB-320": {
            (f"resend_every_{every}" if every else "best_shots"): bandwidth(
                models / MODEL_FILES["RFB-320"], args.threads, args.margin, args.jpeg_quality, every
            )
            for every in (0, 1, 5, 15)
        },
    }
    speed = results["detector_640x480"]["RFB-320"]["frames_per_s"]
    every_frame = results["bandwidth_clip_RFB-320"]["resend_every_1"]
    throttled = results["bandwidth_clip_RFB-320"]["resend_every_15"]
    default = results["bandwidth_clip_RFB-320"]["best_shots"]
    results["targets"] = {
        "RFB-320 >= 60 frames/s": speed >= 60,
        "frame/crop bytes >= 10x, every face every frame, vs JPEG frames": every_frame[
            "ratio_vs_jpeg_frames"
        ]
        >= 10,
        "frame/crop bytes >= 10x, every face every frame, vs raw frames": every_frame[
            "ratio_vs_raw_frames"
        ]
        >= 10,
        "frame/crop bytes >= 100x, default best shots per track, vs JPEG frames": (
            default["ratio_vs_jpeg_frames"] >= 100
        ),
        "frame/crop bytes >= 10x, --resend-every 15, vs JPEG frames": throttled[
            "ratio_vs_jpeg_frames"
        ]
        >= 10,
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
