"""Read the model bundle that `facerec-models build` wrote, trusting nothing that fails its checksum."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"  # each network's files are named in its module, recognition/networks/


class BundleError(RuntimeError):
    """The bundle is missing, incomplete or altered: run `facerec-models build`."""


def load_manifest(bundle_dir: Path) -> dict:
    try:
        return json.loads((Path(bundle_dir) / MANIFEST).read_text())
    except FileNotFoundError:
        raise BundleError(
            f"no model bundle in {bundle_dir}: run `facerec-models build --out {bundle_dir}`"
        ) from None
    except ValueError as error:
        raise BundleError(f"{bundle_dir}/{MANIFEST} is not valid JSON: {error}") from None


def read_file(bundle_dir: Path, name: str, manifest: dict) -> bytes:
    """A bundle file's bytes, after checking them against the manifest."""
    entry = manifest["files"].get(name)
    if entry is None:
        raise BundleError(f"{name} is not in the bundle's manifest")
    try:
        data = (Path(bundle_dir) / name).read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{bundle_dir}/{name} is missing") from None
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise BundleError(f"{bundle_dir}/{name} does not match its sha256 in the manifest")
    return data


@dataclass(eq=False, repr=False)
class BundleBackend:
    """What every backend (recognition/networks/ BACKENDS) is made from: the bundle, its manifest
    and `FaceAnalyzer.from_bundle`'s settings. A subclass loads its networks in `__post_init__`."""

    bundle_dir: Path
    manifest: dict
    threads: int = 1
    margin: float = 0.0
    min_face_size: int = 20

    def __post_init__(self) -> None:
        """A subclass loads its networks here (the dataclass's `__init__` calls it)."""

    def read(self, name: str) -> bytes:
        """A bundle file's bytes, checked against the manifest."""
        return read_file(self.bundle_dir, name, self.manifest)


def verify_bundle(bundle_dir: Path) -> dict:
    """Check every file; return the manifest."""
    manifest = load_manifest(bundle_dir)
    for name in manifest["files"]:
        read_file(bundle_dir, name, manifest)
    return manifest
