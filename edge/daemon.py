"""`facerec-edge`: read a camera, send face crops to the cloud, log who was recognised.

facerec-edge --source 0 --api-url http://facerec.example:8000 --camera-id door-1 --location-id hall
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import replace
from functools import partial

from edge.bandwidth import BandwidthMeter, BandwidthReport
from edge.client import ApiClient, base_url
from edge.config import MODEL_FILES, EdgeConfig
from edge.detector import UltraFaceDetector
from edge.overlay import AnswerBoard
from edge.pipeline import FaceCropper
from edge.rtmp import RtmpError, RtmpPublisher
from edge.shots import TrackEnd, TrackShots
from edge.sources import SourceError, open_source
from edge.uploader import Uploader, UploadStats

log = logging.getLogger("facerec.edge")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every program that runs UltraFace (the daemon and the CLIs)."""
    parser.add_argument(
        "--source", help="camera index, video file, image pattern (%%04d or *) or stream URL"
    )
    parser.add_argument(
        "--model", dest="model_path", help="UltraFace .onnx file (default: the bundle's)"
    )
    parser.add_argument(
        "--model-name", choices=sorted(MODEL_FILES), help="UltraFace variant in the bundle"
    )
    parser.add_argument(
        "--threads", type=int, help="ONNX Runtime threads for the detector (default 1)"
    )
    parser.add_argument(
        "--margin", type=float, help="crop margin, fraction of the face box (default 0.25)"
    )
    parser.add_argument("--jpeg-quality", type=int, help="JPEG quality of the crops (default 90)")
    parser.add_argument("--max-frames", type=int, help="stop after this many frames")
    parser.add_argument(
        "--rate", type=float, help="read a file at this many frames/s, like a live camera"
    )


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-url", help="base URL of the API (overrides --ip-address)")
    parser.add_argument("--api-key", help="sent as X-API-Key")
    parser.add_argument("--timeout", type=float, help="seconds per request (default 10)")
    parser.add_argument(
        "--retries", type=int, help="retries on 5xx / connection errors (default 3)"
    )


def add_camera_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by the programs that follow a camera's faces and may publish the annotated
    video (the daemon, real-time-camera)."""
    parser.add_argument(
        "--resend-every",
        type=int,
        help="send every N-th frame of each track instead of its best shots (1: every face)",
    )
    parser.add_argument(
        "--rtmp-url", help="also publish the annotated video here (rtmp://HOST/live/stream-N)"
    )
    parser.add_argument("--fps", type=float, default=25.0, help="frame rate of the annotated video")


def config_from_args(args: argparse.Namespace) -> EdgeConfig:
    """Environment first, flags on top; `--ip-address` builds the URL when `--api-url` is absent."""
    values = dict(vars(args))
    ip_address = values.pop("ip_address", None)
    if values.get("api_url") or ip_address:
        values["api_url"] = base_url(values.get("api_url"), ip_address)
    return EdgeConfig.from_env().with_overrides(**values)


def client_from_config(config: EdgeConfig, pool_size: int = 4) -> ApiClient:
    return ApiClient(
        config.api_url,
        config.api_key,
        config.timeout,
        config.retries,
        config.backoff,
        pool_size=pool_size,
    )


def cropper_from_config(config: EdgeConfig, tracking: bool = False, **sizes) -> FaceCropper:
    """With `tracking`, the detector also reports faces down to `track_low_score`: the tracker
    uses them only to continue tracks (ByteTrack's second association)."""
    if tracking:
        low = min(config.score_threshold, config.track_low_score)
        config = replace(config, score_threshold=low)
    detector = UltraFaceDetector.from_config(config)
    return FaceCropper(detector, config.margin, config.jpeg_quality, **sizes)


def describe_faces(answer: dict) -> str:
    faces = answer.get("faces", [])
    if not faces:
        return "no face found by the cloud"
    return ", ".join(
        f"{f['top_prediction']['label']} ({f['top_prediction']['score']:.2f})" for f in faces
    )


def _log_result(context: tuple, answer: dict) -> None:
    log.info("frame %d: %s (track %s)", context[0], describe_faces(answer), context[2])


def log_track_end(end: TrackEnd) -> None:
    log.info(
        "track %s ended: frames %d-%d (%d with the face), %d crops sent",
        end.track_id,
        end.first_frame,
        end.last_frame,
        end.hits,
        end.sent,
    )


def track_ended(uploader: Uploader, end: TrackEnd) -> None:
    """Logged, and told to the cloud behind the track's crops when any was sent."""
    log_track_end(end)
    if end.sent:
        uploader.submit_end(track_id=end.track_id)


def _uploader(config, client, board: AnswerBoard) -> Uploader:
    """Crops go to store-results with the camera's ids; each answer is logged and drawn on the
    board; a track's end goes to the track's end route."""
    send = partial(client.store_results, camera_id=config.camera_id, location_id=config.location_id)

    def on_result(context: tuple, answer: dict) -> None:
        _log_result(context, answer)
        board.record(context[2], answer)

    end = partial(client.end_track, config.camera_id)
    return Uploader(send, config.queue_size, on_result=on_result, end=end)


def format_summary(
    seconds: float, bandwidth: BandwidthReport, uploads: UploadStats, tracks: str = ""
) -> str:
    fps = bandwidth.frames / seconds if seconds > 0 else 0.0
    return "\n".join(
        [
            f"frames: {bandwidth.frames} in {seconds:.1f} s ({fps:.1f} frames/s), faces: {bandwidth.faces}",
            f"crops: {uploads.queued} queued, {uploads.sent} sent ({uploads.sent_bytes} bytes), "
            f"{uploads.dropped} dropped, {uploads.failed} failed, {uploads.rejected} rejected, "
            f"{uploads.ends} track ends told",
            f"bandwidth: {bandwidth.crop_bytes} crop bytes vs {bandwidth.frame_jpeg_bytes} bytes of "
            f"JPEG frames ({bandwidth.jpeg_ratio:.1f}x) and {bandwidth.frame_raw_bytes} raw frame "
            f"bytes ({bandwidth.raw_ratio:.1f}x)",
        ]
        + ([tracks] if tracks else [])
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facerec-edge", description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    add_api_arguments(parser)
    parser.add_argument("--camera-id", help="sent with every crop")
    parser.add_argument("--location-id", help="sent with every crop")
    add_camera_arguments(parser)
    parser.add_argument(
        "--best-k", type=int, help="send a crop that beats the track's k-th best sent (default 1)"
    )
    parser.add_argument(
        "--track-gap", type=int, help="frames without its face after which a track ends (30)"
    )
    parser.add_argument(
        "--queue-size", type=int, help="crops waiting for the cloud before the oldest are dropped"
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=5.0, help="seconds to finish sending at exit"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


class _Stop:
    """Set by SIGTERM (Kubernetes stopping the pod) so the loop ends and the summary is printed."""

    def __init__(self):
        self.event = threading.Event()

    def __call__(self, signum, frame) -> None:
        self.event.set()


def run(
    config: EdgeConfig,
    max_frames: int | None = None,
    drain_timeout: float = 5.0,
    stop=None,
    rate: float | None = None,
    publisher=None,
):
    """The daemon's loop; returns (seconds, bandwidth report, upload stats, tracks line).

    Faces are followed as tracks; each crop sent carries its track's id. With a `publisher` (an
    RtmpPublisher), every frame is also published with each face's latest answer drawn on it.
    """
    cropper = cropper_from_config(config, tracking=True, max_size=config.max_face or None)
    frames = open_source(config.source, max_frames, rate)
    meter = BandwidthMeter(config.jpeg_quality)
    tracks = TrackShots.from_config(config)
    client = client_from_config(config, pool_size=1)
    board = AnswerBoard()
    uploader = _uploader(config, client, board)
    started = time.monotonic()
    try:
        for index, frame in enumerate(frames):
            if stop is not None and stop.is_set():
                break
            seen, shots, ended = tracks.step(index, frame, cropper.detect(frame))
            meter.add_frame(frame, len(seen))
            for shot in shots:
                crop = cropper.crop(frame, shot.detection)
                meter.add_crop(len(crop.jpeg))
                context = (index, crop.detection.box, shot.track_id)
                uploader.submit(crop.jpeg, context, track_id=shot.track_id)
            for end in ended:
                track_ended(uploader, end)
            if publisher is not None:
                publisher.write(board.annotate(frame, [(t.id, d) for t, d in seen]))
    except KeyboardInterrupt:
        log.info("interrupted")
    finally:
        for end in tracks.finish():
            track_ended(uploader, end)
        seconds = time.monotonic() - started
        uploads = uploader.close(drain_timeout)
        client.close()
        if publisher is not None:
            publisher.close()
    return seconds, meter.report(), uploads, tracks.summary()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    max_frames, drain_timeout, rate = args.max_frames, args.drain_timeout, args.rate
    config = config_from_args(args)
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    try:
        publisher = RtmpPublisher(args.rtmp_url, args.fps) if args.rtmp_url else None
        seconds, bandwidth, uploads, tracks = run(
            config, max_frames, drain_timeout, stop.event, rate, publisher
        )
    except (SourceError, FileNotFoundError, ValueError, RtmpError) as exc:
        print(f"facerec-edge: {exc}", file=sys.stderr)
        return 2
    print(format_summary(seconds, bandwidth, uploads, tracks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
