"""`add-user-from-dataset`: upload every image of a folder as one person's training images.

add-user-from-dataset --input-folder photos/obama --person-id obama --ip-address 10.0.0.5 --create-id --train
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from tqdm import tqdm

from clients.common import (
    EnrolmentTally,
    config_from_args,
    enrol,
    enrolment_parser,
    run_cli,
)

PROG = "add-user-from-dataset"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def parse_args(argv: list[str] | None):
    parser = enrolment_parser(PROG, __doc__.splitlines()[0], camera=False)
    folder = parser.add_mutually_exclusive_group(required=True)
    folder.add_argument("--input-folder", type=Path, help="folder of the person's images")
    folder.add_argument("--source", dest="input_folder", type=Path, help="same as --input-folder")
    return parser.parse_args(argv)


def image_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ValueError(f"not a folder: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file())


def upload_folder(client, person_id: str, files: list[Path]) -> EnrolmentTally:
    tally = EnrolmentTally()
    for path in tqdm(files, desc=f"uploading {person_id}", unit="image"):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            tally.reject(f"not an image file ({path.suffix or 'no suffix'})")
            continue
        if not tally.upload(client, person_id, path.read_bytes(), path.name):
            tqdm.write(f"rejected {path.name}")
    return tally


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def body() -> int:
        files = image_files(args.input_folder)
        upload = partial(upload_folder, person_id=args.person_id, files=files)
        return enrol(args, config_from_args(args), upload)

    return run_cli(PROG, args.log_level, body)


if __name__ == "__main__":
    sys.exit(main())
