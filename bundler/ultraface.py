"""Bring the UltraFace edge detectors into the bundle, verified against MODELS.md's checksums."""

from __future__ import annotations

import hashlib
from pathlib import Path

# sha256 of the upstream files as listed in shared/MODELS.md (and third_party/ultraface/SHA256SUMS).
UPSTREAM_SHA256 = {
    "version-RFB-320.onnx": "34cd7e60aeff28744c657de7a3dc64e872d506741de66987f3426f2b79f88017",
    "version-RFB-640.onnx": "8f4c659275977e7a3bfbfa339a9c769ad793df50f9c0baa8c14b11baa1646430",
    "version-slim-320.onnx": "e9adbd0f920ddcce9368434c4d34d72520dc0c19b526fd44b4ef49bde2c3b1a8",
}
INPUT_SHAPES = {
    "version-RFB-320.onnx": [1, 3, 240, 320],
    "version-RFB-640.onnx": [1, 3, 480, 640],
    "version-slim-320.onnx": [1, 3, 240, 320],
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def without_initializer_inputs(data: bytes) -> bytes:
    """Drop weights listed as graph inputs (an old exporter's habit).

    ONNX Runtime warns once per such weight and will not constant-fold them; removing them from
    the inputs silences that and lets the graph optimiser work. The computation is unchanged.
    """
    import onnx

    model = onnx.load_from_string(data)
    weights = {init.name for init in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    return model.SerializeToString()


def read_verified(source_dir: Path, name: str) -> bytes:
    data = (source_dir / name).read_bytes()
    actual = sha256_bytes(data)
    if actual != UPSTREAM_SHA256[name]:
        raise ValueError(
            f"{source_dir / name}: sha256 {actual} is not the published {UPSTREAM_SHA256[name]}"
        )
    return data
