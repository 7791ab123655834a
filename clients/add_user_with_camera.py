"""`add-user-with-camera`: enrol a person from N frames of a camera that show exactly one face.

add-user-with-camera --person-id ana --ip-address 10.0.0.5 --img-number 10 --create-id --train
"""

from __future__ import annotations

import sys
from functools import partial

from tqdm import tqdm

from clients.common import (
    EnrolmentTally,
    config_from_args,
    enrol,
    enrolment_parser,
    run_cli,
)
from edge.daemon import cropper_from_config
from edge.sources import open_source

PROG = "add-user-with-camera"


def parse_args(argv: list[str] | None):
    parser = enrolment_parser(PROG, __doc__.splitlines()[0])
    parser.add_argument("--img-number", type=int, default=10, help="images to upload (default 10)")
    parser.add_argument(
        "--frame-interval",
        type=int,
        default=5,
        help="use at most one frame in this many, so the images differ (default 5)",
    )
    args = parser.parse_args(argv)
    if args.img_number < 1 or args.frame_interval < 1:
        parser.error("--img-number and --frame-interval must be at least 1")
    return args


def capture(cropper, frames, client, person_id: str, wanted: int, interval: int) -> EnrolmentTally:
    """Upload crops of frames with exactly one face until `wanted` are accepted or frames run out."""
    tally = EnrolmentTally()
    next_frame = 0
    with tqdm(total=wanted, desc=f"capturing {person_id}", unit="image") as progress:
        for index, frame in enumerate(frames):
            if index < next_frame:
                continue
            detections = cropper.detect(frame)
            if len(detections) != 1:
                continue
            next_frame = index + interval
            crop = cropper.crop(frame, detections[0])
            if tally.upload(client, person_id, crop.jpeg, f"{person_id}-{index:06d}.jpg"):
                progress.update(1)
                if tally.accepted >= wanted:
                    break
    return tally


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        config = config_from_args(args)
        cropper = cropper_from_config(config)
        frames = open_source(config.source, args.max_frames, args.rate)
        upload = partial(
            capture,
            cropper,
            frames,
            person_id=args.person_id,
            wanted=args.img_number,
            interval=args.frame_interval,
        )
        return enrol(args, config, upload, wanted=args.img_number)

    return run_cli(PROG, args.log_level, body)


if __name__ == "__main__":
    sys.exit(main())
