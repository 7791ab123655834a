"""Export the torch networks to ONNX and prove the exports compute what torch computes."""

from __future__ import annotations

import io
import warnings
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


def export_dlib(model) -> bytes:
    import torch

    axes = {"input": {0: "batch"}, "embedding": {0: "batch"}}
    with warnings.catch_warnings():  # the exporter leaves each Pad's amounts unfolded; we fold them
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        data = _export(model, torch.zeros(2, 3, 150, 150), ["input"], ["embedding"], axes)
    return fold_constants(data)


def fold_constants(data: bytes) -> bytes:
    """Evaluate every node whose inputs are all constants (onnx's reference runtime) and keep
    the results as initializers: what the exporter could not fold, such as F.pad's amounts."""
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    model = onnx.load_from_string(data)
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes = []
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if not all(name in constants for name in inputs):
            nodes.append(node)
            continue
        single = helper.make_graph(
            [node],
            node.name or node.op_type,
            [
                helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None)
                for name in inputs
            ],
            [
                helper.make_tensor_value_info(name, onnx.TensorProto.UNDEFINED, None)
                for name in node.output
            ],
        )
        evaluator = ReferenceEvaluator(helper.make_model(single, opset_imports=model.opset_import))
        outputs = evaluator.run(None, {name: constants[name] for name in inputs})
        constants.update(zip(node.output, outputs, strict=True))
    used = {name for node in nodes for name in node.input}
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(
        numpy_helper.from_array(np.asarray(value), name)
        for name, value in constants.items()
        if name in used
    )
    onnx.checker.check_model(model)
    return model.SerializeToString()


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
