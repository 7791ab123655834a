"""`facerec-models`: build or verify the offline model bundle."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

# The vendored copies in this repository (a build from elsewhere, as in the Dockerfile, names its own).
REPO = Path(__file__).resolve().parents[1]
DEFAULT_ULTRAFACE = REPO / "third_party" / "ultraface"
DEFAULT_FACES = REPO / "tests" / "data" / "people"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="facerec-models", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the bundle (does nothing when it is up to date)")
    build.add_argument("--out", type=Path, default=Path("models"))
    build.add_argument("--ultraface-dir", type=Path, default=DEFAULT_ULTRAFACE)
    build.add_argument(
        "--faces", type=Path, default=DEFAULT_FACES, help="real faces for parity checks"
    )
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    verify = sub.add_parser("verify", help="check every file of a bundle against its manifest")
    verify.add_argument("bundle", type=Path, nargs="?", default=Path("models"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    if args.command == "build":
        from .build import build as build_bundle

        manifest = build_bundle(args.out, args.ultraface_dir, args.faces, force=args.force)
        print(json.dumps({"version": manifest["version"], "files": len(manifest["files"])}))
        return 0

    from recognition.bundle import BundleError, verify_bundle

    try:
        manifest = verify_bundle(args.bundle)
    except BundleError as error:
        print(f"facerec-models: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"version": manifest["version"], "ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
