"""`add-user-with-camera`: enrol a person from N frames of a camera that show exactly one face.

add-user-with-camera --person-id ana --ip-address 10.0.0.5 --img-number 10 --create-id --train
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from clients.common import (
    EnrolmentTally,
    base_parser,
    client_from_config,
    config_from_args,
    ensure_person,
    run_cli,
    setup_logging,
    train,
)
from edge.daemon import cropper_from_config
from edge.sources import open_source

PROG = "add-user-with-camera"


def parse_args(argv: list[str] | None):
    parser = base_parser(PROG, __doc__.splitlines()[0])
    parser.add_argument("--person-id", required=True)
    parser.add_argument("--img-number", type=int, default=10, help="images to upload (default 10)")
    parser.add_argument(
        "--frame-interval",
        type=int,
        default=5,
        help="use at most one frame in this many, so the images differ (default 5)",
    )
    parser.add_argument("--create-id", action="store_true", help="create the person first")
    parser.add_argument("--train", action="store_true", help="train the classifier afterwards")
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
    setup_logging(args.log_level)

    def body() -> int:
        config = config_from_args(args)
        cropper = cropper_from_config(config)
        frames = open_source(config.source, args.max_frames, args.rate)
        with client_from_config(config) as client:
            ensure_person(client, args.person_id, args.create_id)
            tally = capture(
                cropper, frames, client, args.person_id, args.img_number, args.frame_interval
            )
            print(tally.summary())
            if tally.accepted < args.img_number:
                print(f"the source ended after {tally.accepted} of {args.img_number} images")
            if args.train and tally.accepted:
                train(client)
        return 0 if tally.accepted >= args.img_number else 1

    return run_cli(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
