"""What the three CLIs share: flags, the API client, enrolment steps and a clear exit on errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Callable

from edge.client import ApiClient, ApiError
from edge.config import EdgeConfig
from edge.daemon import add_api_arguments, add_model_arguments, client_from_config, config_from_args

__all__ = [
    "ApiClient",
    "ApiError",
    "EnrolmentTally",
    "base_parser",
    "client_from_config",
    "config_from_args",
    "enrol",
    "enrolment_parser",
    "ensure_person",
    "run_cli",
    "train",
]


def base_parser(prog: str, description: str, camera: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--ip-address", help="API host[:port] (port 8000 when none is given)")
    add_api_arguments(parser)
    if camera:
        add_model_arguments(parser)
    parser.add_argument("--log-level", default="WARNING")
    return parser


def enrolment_parser(prog: str, description: str, camera: bool = True) -> argparse.ArgumentParser:
    """`base_parser` plus what both enrolment CLIs take: --person-id, --create-id and --train."""
    parser = base_parser(prog, description, camera)
    parser.add_argument("--person-id", required=True)
    parser.add_argument("--create-id", action="store_true", help="create the person first")
    parser.add_argument("--train", action="store_true", help="train the classifier afterwards")
    return parser


def run_cli(prog: str, log_level: str, main: Callable[[], int]) -> int:
    """Log at `log_level` (--log-level), then run a CLI body; an API refusal or a bad source
    becomes one clear line and exit status 2."""
    setup_logging(log_level)
    try:
        return main()
    except ApiError as exc:
        print(f"{prog}: the API refused: {exc}", file=sys.stderr)
    except (OSError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 2


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(levelname)s %(name)s: %(message)s")


def ensure_person(client: ApiClient, person_id: str, create: bool) -> None:
    """Create the person with --create-id (an existing one is fine); without it they must exist."""
    if create:
        try:
            client.create_person(person_id)
            print(f"created {person_id}")
        except ApiError as exc:
            if exc.status != 409:
                raise
            print(f"{person_id} already exists, adding images to it")
        return
    if person_id not in client.list_people():
        raise ValueError(f"no person {person_id!r} in the dataset: pass --create-id to create it")


def enrol(
    args: argparse.Namespace,
    config: EdgeConfig,
    upload: Callable[[ApiClient], EnrolmentTally],
    wanted: int | None = None,
) -> int:
    """Both enrolment CLIs' body: the person made sure of (--create-id), their images sent by
    `upload`, the tally printed, then training (--train) if any was accepted. The exit status is
    0 once `wanted` images (None: any) were accepted, else 1."""
    with client_from_config(config) as client:
        ensure_person(client, args.person_id, args.create_id)
        tally = upload(client)
        print(tally.summary())
        short = wanted is not None and tally.accepted < wanted
        if short:
            print(f"the source ended after {tally.accepted} of {wanted} images")
        if args.train and tally.accepted:
            train(client)
    return 0 if tally.accepted and not short else 1


def train(client: ApiClient) -> None:
    job = client.train(wait=True)
    state = job.get("state", "unknown")
    print(f"training: {state}, model version {job.get('model_version')}")
    if state == "failed":
        raise ValueError(f"training failed: {job.get('error')}")


class EnrolmentTally:
    """Accepted and rejected images, and why they were rejected."""

    def __init__(self):
        self.accepted = 0
        # Accepted, but the API already had the very same image (uploads are idempotent).
        self.duplicates = 0
        self.reasons: Counter[str] = Counter()

    def upload(self, client: ApiClient, person_id: str, image: bytes, name: str) -> bool:
        try:
            answer = client.add_image(person_id, image, name)
        except ApiError as exc:
            if exc.retryable:
                raise
            self.reject(f"{exc.error}: {exc.message}" if exc.message else exc.error)
            return False
        self.accepted += 1
        self.duplicates += answer.get("created") is False
        return True

    def reject(self, reason: str) -> None:
        self.reasons[reason] += 1

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    def summary(self) -> str:
        lines = [f"accepted: {self.accepted}, rejected: {self.rejected}"]
        if self.duplicates:
            lines.append(f"  {self.duplicates} of the accepted were already stored")
        lines += [f"  {count} x {reason}" for reason, count in self.reasons.most_common()]
        return "\n".join(lines)
