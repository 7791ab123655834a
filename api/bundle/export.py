"""Export the torch networks to ONNX and prove the exports compute what torch computes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

OPSET = 17
MAX_ABS_DIFF = 1e-4


def _export(model, example, input_names, output_names, dynamic_axes) -> bytes:
    import torch

    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example,),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
        )
    return buffer.getvalue()


def export_pnet(model) -> bytes:
    import torch

    axes = {"input": {0: "batch", 2: "height", 3: "width"}}
    axes |= {name: {0: "batch", 2: "h", 3: "w"} for name in ("regression", "probability")}
    return _export(model, torch.zeros(1, 3, 48, 64), ["input"], ["regression", "probability"], axes)


def export_rnet(model) -> bytes:
    import torch

    names = ["regression", "probability"]
    axes = {n: {0: "batch"} for n in ["input", *names]}
    return _export(model, torch.zeros(2, 3, 24, 24), ["input"], names, axes)


def export_onet(model) -> bytes:
    import torch

    names = ["regression", "landmarks", "probability"]
    axes = {n: {0: "batch"} for n in ["input", *names]}
    return _export(model, torch.zeros(2, 3, 48, 48), ["input"], names, axes)


def export_facenet(model) -> bytes:
    import torch

    axes = {"input": {0: "batch"}, "embedding": {0: "batch"}}
    return _export(model, torch.zeros(2, 3, 160, 160), ["input"], ["embedding"], axes)


def max_abs_diff(model, onnx_bytes: bytes, inputs: np.ndarray) -> float:
    """Largest difference between torch and ONNX Runtime over every output, for `inputs`."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs))
    expected = expected if isinstance(expected, tuple) else (expected,)
    actual = session.run(None, {"input": inputs})
    return max(float(np.abs(e.numpy() - a).max()) for e, a in zip(expected, actual, strict=True))


def face_images(faces_dir: Path | None, size: int, count: int = 8) -> np.ndarray:
    """NCHW float32 RGB 0..255 images of real faces, resized to `size`, when a folder is given;
    else noise.

    Real faces exercise the networks the way serving does; noise keeps a build possible where
    no sample images exist (a container build), and the manifest records which one was used.
    """
    from PIL import Image

    rng = np.random.default_rng(0)
    images = (
        sorted(p for p in faces_dir.rglob("*") if p.suffix.lower() in {".jpg", ".png"})
        if faces_dir
        else []
    )
    if not images:
        return rng.uniform(0, 255, (count, 3, size, size)).astype(np.float32)
    rgb = [
        np.asarray(Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR))
        for path in images[:count]
    ]
    return np.stack(rgb).astype(np.float32).transpose(0, 3, 1, 2).copy()


def face_patches(faces_dir: Path | None, size: int, count: int = 8) -> np.ndarray:
    """`face_images` standardised as MTCNN and FaceNet expect them: (x - 127.5) / 128."""
    return (face_images(faces_dir, size, count) - 127.5) / 128.0
