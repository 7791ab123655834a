"""`real-time-camera`: detect faces at the edge, ask the API who they are, draw each answer on its face.

    real-time-camera --ip-address 10.0.0.5 --min-size 50 --max-size 150 --multithreading
    real-time-camera --source clip.mp4 --api-url http://127.0.0.1:8000 --no-display --output out.mp4

Faces are followed as tracks (edge/tracker.py): the API is asked about a track's first usable crop
and then only about crops that beat its best, and every frame shows each face with its track's
latest answer. Each answer stays tied to the crop it was asked for (the original matched answers
to boxes by list index, which went wrong as soon as small faces were dropped).
"""

from __future__ import annotations

import sys
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from clients.common import (
    ApiError,
    base_parser,
    client_from_config,
    config_from_args,
    run_cli,
)
from edge.daemon import add_camera_arguments, cropper_from_config
from edge.detector import Detection
from edge.drawing import draw_face, label_color
from edge.pipeline import FaceCrop, FaceCropper
from edge.rtmp import RtmpPublisher
from edge.shots import TrackShots
from edge.sources import open_source
from edge.tracker import iou

PROG = "real-time-camera"
WINDOW = "facerec"


@dataclass(frozen=True)
class Answer:
    """The API's verdict on one crop: a label, or None with the reason there is none."""

    label: str | None
    score: float = 0.0  # similarity to the person (the API's decision score)
    reason: str = ""

    @property
    def text(self) -> str:
        return f"{self.label} {self.score:.2f}" if self.label else self.reason


def parse_args(argv: list[str] | None):
    parser = base_parser(PROG, __doc__.splitlines()[0])
    parser.add_argument(
        "--min-size", type=int, default=50, help="skip faces narrower than this (px)"
    )
    parser.add_argument(
        "--max-size", type=int, default=150, help="shrink crops so faces are at most this wide (px)"
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=0.7,
        dest="score_threshold",
        help="detector score threshold",
    )
    parser.add_argument(
        "--multithreading", action="store_true", help="send a frame's faces concurrently"
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="concurrent requests with --multithreading"
    )
    add_camera_arguments(parser)
    parser.add_argument("--no-display", action="store_true", help="do not open a window")
    parser.add_argument("--output", type=Path, help="write the annotated video here")
    return parser.parse_args(argv)


def pick_face(answer: dict, expected: tuple[float, float, float, float]) -> dict | None:
    """The face of the API's answer that is the one we cropped (a crop may show a neighbour too)."""
    faces = answer.get("faces", [])

    def overlap(face: dict) -> float:
        box = face["bounding_box"]
        return iou((box["left"], box["top"], box["right"], box["bottom"]), expected)

    best = max(faces, key=overlap, default=None)
    return best if best is not None and overlap(best) > 0 else None


def ask(client, crop: FaceCrop) -> Answer:
    try:
        answer = client.recognize(crop.jpeg)
    except ApiError as exc:
        return Answer(None, reason=f"error {exc.status or 'no answer'}")
    face = pick_face(answer, crop.face_in_crop())
    if face is None:
        return Answer(None, reason="no face")
    top = face["top_prediction"]
    return Answer(top["label"], float(top["score"]))


def recognise(
    client, crops: list[FaceCrop], pool: ThreadPoolExecutor | None
) -> list[tuple[FaceCrop, Answer]]:
    """Each crop paired with its own answer; the pairing never depends on list positions of others."""
    if pool is None:
        return [(crop, ask(client, crop)) for crop in crops]
    futures: list[tuple[FaceCrop, Future]] = [
        (crop, pool.submit(ask, client, crop)) for crop in crops
    ]
    return [(crop, future.result()) for crop, future in futures]


WAITING = Answer(None, reason="...")


class TrackedFaces:
    """Per frame: follow the faces, ask the API about the tracks' best shots, and keep each
    track's latest answer so every face is drawn with it, not only the frames that asked."""

    def __init__(self, cropper: FaceCropper, tracks: TrackShots, client, pool):
        self.cropper, self.tracks, self.client, self.pool = cropper, tracks, client, pool
        self.answers: dict[str, Answer] = {}
        self.index = 0

    def step(self, frame: np.ndarray):
        """(the answers to this frame's questions, every face with its track's answer)."""
        seen, shots, ended = self.tracks.step(self.index, frame, self.cropper.detect(frame))
        self.index += 1
        crops = [self.cropper.crop(frame, shot.detection) for shot in shots]
        asked = recognise(self.client, crops, self.pool)
        for shot, (_, answer) in zip(shots, asked, strict=True):
            self.answers[shot.track_id] = answer
        for end in ended:
            self.answers.pop(end.track_id, None)
        return asked, [(d, self.answers.get(t.id, WAITING)) for t, d in seen]


def annotate(frame: np.ndarray, faces: list[tuple[Detection, Answer]]) -> np.ndarray:
    for detection, answer in faces:
        draw_face(frame, detection.box, answer.text, label_color(answer.label))
    return frame


def display_available() -> bool:
    """False with opencv-python-headless or without a screen."""
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error:
        return False
    return True


class VideoOutput:
    """Annotated frames to a video file (mp4v), sized by the first frame.

    An image sequence may mix sizes; a video has one, so later frames are resized to it.
    """

    def __init__(self, path: Path, fps: float):
        self.path, self.fps, self.writer, self.size = path, fps, None, None

    def write(self, frame: np.ndarray) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            height, width = frame.shape[:2]
            self.size = (width, height)
            self.writer = cv2.VideoWriter(
                str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height)
            )
            if not self.writer.isOpened():
                raise OSError(f"cannot write video {self.path}")
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self.writer.write(frame)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.release()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        show = not args.no_display and display_available()
        if not show and args.output is None and args.rtmp_url is None:
            raise ValueError(
                "no display available: pass --output FILE or --rtmp-url URL for the annotated video"
            )
        config = config_from_args(args)
        cropper = cropper_from_config(
            config, tracking=True, min_size=args.min_size, max_size=args.max_size
        )
        frames = open_source(config.source, args.max_frames, args.rate)
        output = VideoOutput(args.output, args.fps) if args.output else None
        stream = RtmpPublisher(args.rtmp_url, args.fps) if args.rtmp_url else None
        labels: Counter[str] = Counter()
        count = 0
        pool = ThreadPoolExecutor(args.workers) if args.multithreading else None
        tracks = TrackShots.from_config(config)
        with client_from_config(config, pool_size=args.workers) as client:
            faces = TrackedFaces(cropper, tracks, client, pool)
            try:
                for frame in frames:
                    count += 1
                    asked, shown = faces.step(frame)
                    labels.update(answer.label or answer.reason for _, answer in asked)
                    annotate(frame, shown)
                    if output is not None:
                        output.write(frame)
                    if stream is not None:
                        stream.write(frame)
                    if show:
                        cv2.imshow(WINDOW, frame)
                        if cv2.waitKey(1) & 0xFF == ord("q"):
                            break
            finally:
                tracks.finish()
                if pool is not None:
                    pool.shutdown()
                if output is not None:
                    output.close()
                if stream is not None:
                    stream.close()
        # faces: the crops the API was asked about (each track's best shots), then the tracks.
        print(f"frames: {count}, faces: {sum(labels.values())}")
        print(tracks.summary())
        for label, seen in labels.most_common():
            print(f"  {label}: {seen}")
        if output is not None:
            print(f"annotated video: {output.path}")
        return 0

    return run_cli(PROG, args.log_level, body)


if __name__ == "__main__":
    sys.exit(main())
