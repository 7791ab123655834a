"""dlib's face recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`, CC0) in torch.

dlib serialises a network as nested layers, outermost first, each layer's own fields after its
subnetwork's, so the input layer comes first and the parameters follow bottom-up. Tag and skip
layers write no id, so the file alone cannot name its wiring: `ARCHITECTURE` spells out dlib's
`anet_type` (dlib/tools/python/src/face_recognition.cpp) and the reader checks every layer of the
file against it. No dlib is needed to read, build or run the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recognition.networks.dlib import NETWORK

from .dlib_format import Reader
from .packaged import packaged_file


def model_path() -> Path:
    """Where the installed face_recognition_models package keeps the file (without importing it)."""
    return packaged_file(NETWORK.upstream[0])


# --- the network as dlib declares it, input first ------------------------------------------


def _residual(filters: int, down: bool) -> list[tuple]:
    """dlib's `ares` (down=False) and `ares_down` blocks: two 3x3 convs with affine (folded batch
    norm), added to the input; `ares_down` halves the size and adds the 2x2-average-pooled input."""
    stride = 2 if down else 1
    block = [
        ("tag", 1),
        ("con", filters, 3, stride),
        ("affine",),
        ("relu",),
        ("con", filters, 3, 1),
        ("affine",),
    ]
    if down:
        return [*block, ("tag", 2), ("skip", 1), ("avg_pool", 2, 2), ("add_prev", 2), ("relu",)]
    return [*block, ("add_prev", 1), ("relu",)]


def _levels() -> list[tuple]:
    layers = []
    for filters, count, down in ((32, 3, False), (64, 3, True), (128, 2, True), (256, 2, True)):
        if down:
            layers += _residual(filters, down=True)
        for _ in range(count):
            layers += _residual(filters, down=False)
    return layers + _residual(256, down=True)


ARCHITECTURE: list[tuple] = [
    ("con", 32, 7, 2),
    ("affine",),
    ("relu",),
    ("max_pool", 3, 2),
    *_levels(),
    ("avg_pool", 0, 1),  # avg_pool_everything
    ("fc", 128),  # fc_no_bias; the loss (loss_metric) adds nothing at inference
]


@dataclass
class Layer:
    kind: str
    spec: tuple
    params: dict[str, np.ndarray | int] = field(default_factory=dict)


@dataclass
class DlibNetwork:
    """What the file holds: the input normalisation and every layer, input first."""

    size: int
    mean_rgb: tuple[float, float, float]
    layers: list[Layer]


def _read_details(reader: Reader, kind: str, spec: tuple) -> dict:
    if kind == "con":
        version = reader.name("con_4", "con_5")
        params = reader.tensor().ravel()
        filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(7))
        shape, _ = reader.alias_tensor(), reader.alias_tensor()
        _ = [reader.float() for _ in range(4)]  # learning-rate and weight-decay multipliers
        use_bias = reader.bool() if version == "con_5" else True
        if (filters, rows, stride_y) != spec[1:] or rows != cols or stride_x != stride_y:
            raise ValueError(f"con {filters}x{rows}x{cols}/{stride_y} where {spec} was expected")
        weight = params[: math.prod(shape)].reshape(shape)
        bias = params[weight.size :] if use_bias else np.zeros(filters, np.float32)
        return {"weight": weight, "bias": bias, "stride": stride_y, "padding": pad_y}
    if kind == "affine":
        reader.name("affine_")
        params = reader.tensor().ravel()
        gamma, beta = reader.alias_tensor(), reader.alias_tensor()
        if reader.int() != 0:
            raise ValueError("affine layer not in CONV_MODE")
        half = math.prod(gamma)
        if math.prod(beta) != half or params.size != 2 * half:
            raise ValueError("affine layer with mismatched gamma and beta")
        return {"gamma": params[:half], "beta": params[half:]}
    if kind in ("max_pool", "avg_pool"):
        reader.name(f"{kind}_2")
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(6))
        if (rows, stride_y) != spec[1:] or (rows, stride_y, pad_y) != (cols, stride_x, pad_x):
            raise ValueError(f"{kind} {rows}x{cols}/{stride_y} where {spec} was expected")
        return {"padding": pad_y}
    if kind == "fc":
        reader.name("fc_2")
        outputs, inputs = reader.int(), reader.int()
        params = reader.tensor()
        reader.alias_tensor(), reader.alias_tensor()
        if reader.int() != 1 or outputs != spec[1]:  # 1: FC_NO_BIAS
            raise ValueError(f"fc with {outputs} outputs or a bias where {spec} was expected")
        _ = [reader.float() for _ in range(4)]
        return {"weight": params.reshape(inputs, outputs)}
    reader.name(f"{kind}_")  # relu_, add_prev_: nothing but their name
    return {}


def read(data: bytes) -> DlibNetwork:
    """Parse a serialised `anet_type`, checking it layer by layer against `ARCHITECTURE`."""
    reader = Reader(data)
    reader.version(1)  # add_loss_layer
    reader.name("loss_metric_", "loss_metric_2")
    _ = [reader.float() for _ in range(2)]  # margin, distance threshold: training only
    # Every wrapper writes its version before its subnetwork: outermost first.
    versions = {}
    for index in reversed(range(len(ARCHITECTURE))):
        if ARCHITECTURE[index][0] in ("tag", "skip"):
            versions[index] = reader.version(1)
        else:  # add_layer; the one over the input layer has versions of its own
            versions[index] = reader.version(*((2, 3) if index == 0 else (1, 2)))
    reader.name("input_rgb_image_sized")
    mean_rgb = tuple(reader.float() for _ in range(3))
    rows, cols = reader.int(), reader.int()
    if rows != cols:
        raise ValueError(f"input {rows}x{cols} is not square")
    layers = []
    for index, spec in enumerate(ARCHITECTURE):
        kind = spec[0]
        layer = Layer(kind, spec)
        layers.append(layer)
        if kind in ("tag", "skip"):
            continue
        layer.params = _read_details(reader, kind, spec)
        _ = [reader.bool() for _ in range(3)]  # setup called, gradient stale, output disabled
        _ = reader.tensor(), reader.tensor()  # x_grad, cached_output: training state
        if index == 0:
            reader.tensor()  # grad_final
            if versions[0] == 3:
                reader.int()  # sample expansion factor
        elif versions[index] == 2:
            reader.tensor()  # params_grad
    if reader.pos != len(data):
        raise ValueError(f"{len(data) - reader.pos} bytes left after the last layer")
    return DlibNetwork(rows, mean_rgb, layers)


# --- the same network in torch --------------------------------------------------------------


def _conv_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """dlib's output size, 1 + (n + 2p - k) / s with C++'s truncation: a 3x3 stride-2 conv on a
    2x2 map gives 1x1, reading zeros past the edge, where torch would refuse."""
    return 1 + int((size + 2 * padding - kernel) / stride)


def build_torch(network: DlibNetwork):
    """`network` as a torch module: [N,3,S,S] float32 RGB 0..255 in, [N,128] out (dlib's
    descriptor, not normalised). dlib's input scaling, (x - mean) / 256, is the first step."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def _zero_pad(x, pads: tuple[int, ...]):
        """Zeros after the last row, column (and channel), as dlib reads past a tensor's end."""
        return F.pad(x, pads) if any(pads) else x

    class DlibResNet(nn.Module):
        def __init__(self):
            super().__init__()
            mean = torch.tensor(network.mean_rgb, dtype=torch.float32).view(1, 3, 1, 1)
            self.register_buffer("mean", mean)
            self.convs = nn.ModuleList()
            self.steps: list[tuple] = []
            shape, tagged = (3, network.size), {}
            layers = iter(network.layers)
            for layer in layers:
                kind, spec = layer.kind, layer.spec
                if kind == "con":
                    affine = next(layers)  # every conv here is followed by its folded batch norm
                    assert affine.kind == "affine"
                    shape = self._add_conv(layer.params, affine.params, shape)
                elif kind in ("max_pool", "avg_pool"):
                    kernel, stride = spec[1] or shape[1], spec[2]
                    shape = (shape[0], _conv_size(shape[1], kernel, stride, 0))
                    self.steps.append((kind, kernel, stride))
                elif kind == "tag":
                    tagged[spec[1]] = shape
                    self.steps.append(("tag", spec[1]))
                elif kind == "skip":
                    shape = tagged[spec[1]]
                    self.steps.append(("skip", spec[1]))
                elif kind == "add_prev":  # dlib sums different shapes, zero-padding the smaller
                    other = tagged[spec[1]]
                    out = (max(shape[0], other[0]), max(shape[1], other[1]))
                    pads = [
                        (0, out[1] - s[1], 0, out[1] - s[1], 0, out[0] - s[0])
                        for s in (shape, other)
                    ]
                    self.steps.append(("add_prev", spec[1], *pads))
                    shape = out
                elif kind == "relu":
                    self.steps.append(("relu",))
                elif kind == "fc":
                    weight = layer.params["weight"]
                    self.fc = nn.Linear(weight.shape[0], weight.shape[1], bias=False)
                    self.fc.weight.data = torch.from_numpy(np.ascontiguousarray(weight.T))
                    self.steps.append(("fc",))

        def _add_conv(self, con: dict, affine: dict, shape: tuple[int, int]) -> tuple[int, int]:
            weight, stride, padding = con["weight"], con["stride"], con["padding"]
            filters, _, kernel, _ = weight.shape
            gamma, beta = affine["gamma"], affine["beta"]
            conv = nn.Conv2d(weight.shape[1], filters, kernel, stride, padding)
            conv.weight.data = torch.from_numpy(weight * gamma.reshape(-1, 1, 1, 1))
            conv.bias.data = torch.from_numpy(con["bias"] * gamma + beta)
            size = _conv_size(shape[1], kernel, stride, padding)
            extra = max(0, (size - 1) * stride + kernel - (shape[1] + 2 * padding))
            self.steps.append(("conv", len(self.convs), (0, extra, 0, extra)))
            self.convs.append(conv)
            return filters, size

        def forward(self, x):
            x = (x - self.mean) / 256.0
            tagged = {}
            for step in self.steps:
                kind = step[0]
                if kind == "conv":
                    _, index, pads = step
                    x = self.convs[index](_zero_pad(x, pads))
                elif kind == "relu":
                    x = F.relu(x)
                elif kind == "max_pool":
                    x = F.max_pool2d(x, step[1], step[2])
                elif kind == "avg_pool":
                    x = F.avg_pool2d(x, step[1], step[2])
                elif kind == "tag":
                    tagged[step[1]] = x
                elif kind == "skip":
                    x = tagged[step[1]]
                elif kind == "add_prev":
                    _, tag, pad_x, pad_tag = step
                    x = _zero_pad(x, pad_x) + _zero_pad(tagged[tag], pad_tag)
                elif kind == "fc":
                    x = self.fc(x.flatten(1))
            return x

    return DlibResNet().eval()
