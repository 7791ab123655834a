"""Every network the core runs, one module each, and the one registry that chooses by name.

| module | network | bundle files |
|---|---|---|
| `mtcnn.py` | MTCNN's P-, R- and O-Net and the cascade that runs them | `mtcnn/*.onnx` |
| `casia.py` | Inception-ResNet-v1, CASIA-WebFace (the design's FaceNet), 512-d | `facenet/*` |
| `sface.py` | OpenCV Zoo's SFace, 128-d | `sface/sface_2021dec.onnx` |
| `dlib.py` | dlib's ResNet v1, 128-d | `dlib/dlib_resnet_v1.onnx` |
| `fusion.py` | `sface+dlib` (the default): both, side by side, 256-d | |

Each network's module holds its bundle files, the upstream file (and sha256) the bundle is made
from, its input geometry and its calibration table; they share embedder.py's ONNX Runtime
session wrapper (casia's module extends it for box crops). Serving (`FaceAnalyzer.from_bundle`)
and the bundle builder (bundler/build.py) both read this registry; `choose` is checked at
start-up, so a combination that could not run or train fails there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import casia, dlib, mtcnn, sface
from .embedder import Embedder, ImpostorTail, Network, OnnxEmbedder
from .fusion import FUSIONS, FusedEmbedder

# What `facerec-models build` puts in the bundle, in this order.
BUNDLED: tuple[Network, ...] = (mtcnn.NETWORK, casia.NETWORK, sface.NETWORK, dlib.NETWORK)
NETWORKS = {network.name: network for network in BUNDLED}
# The embedding networks' session wrappers, by network name: chips aligned to the network's
# template (OnnxEmbedder), or casia's box crops.
WRAPPERS: dict[str, type[OnnxEmbedder]] = {
    casia.NETWORK.name: casia.Casia,
    sface.NETWORK.name: OnnxEmbedder,
    dlib.NETWORK.name: OnnxEmbedder,
}
DEFAULT_EMBEDDER = "sface+dlib"


@dataclass(frozen=True)
class Choice:
    """An embedder FACEREC_EMBEDDER can name: the networks it runs and its calibration."""

    name: str
    networks: tuple[Network, ...]
    impostor_tail: ImpostorTail | None


EMBEDDERS: dict[str, Choice] = {
    **{name: Choice(name, (NETWORKS[name],), NETWORKS[name].impostor_tail) for name in WRAPPERS},
    **{
        fusion.name: Choice(
            fusion.name, tuple(NETWORKS[part] for part in fusion.parts), fusion.impostor_tail
        )
        for fusion in FUSIONS.values()
    },
}


@dataclass(frozen=True)
class Backend:
    """What runs the networks (FACEREC_BACKEND); its class is imported only when it is chosen,
    so serving never imports the torch reference's module."""

    name: str
    load: Callable[[], type]  # imports and answers the backend's class
    embedders: tuple[str, ...] = ()  # the embedders it can run; (): every one
    default: str = DEFAULT_EMBEDDER  # what it runs when FACEREC_EMBEDDER is not set


def _onnx_backend() -> type:
    from ..onnx_backend import OnnxBackend

    return OnnxBackend


def _torch_backend() -> type:
    from ..torch_backend import TorchBackend

    return TorchBackend


BACKENDS = {
    backend.name: backend
    for backend in (
        Backend("onnx", _onnx_backend),
        Backend("torch", _torch_backend, (casia.NETWORK.name,), casia.NETWORK.name),
    )
}


def _named(table: dict, name: str, what: str, variable: str):
    try:
        return table[name]
    except KeyError:
        raise ValueError(
            f"unknown {what} {name!r} ({variable}): use one of {sorted(table)}"
        ) from None


def embedder(name: str) -> Choice:
    return _named(EMBEDDERS, name, "embedder", "FACEREC_EMBEDDER")


def choose(embedder_name: str, backend_name: str = "onnx") -> tuple[Choice, Backend]:
    """The embedder and the backend, checked together: both known, the backend able to run the
    embedder, and the embedder calibrated (else no model could ever be trained with it)."""
    chosen = embedder(embedder_name)
    backend = _named(BACKENDS, backend_name, "backend", "FACEREC_BACKEND")
    if backend.embedders and chosen.name not in backend.embedders:
        raise ValueError(
            f"FACEREC_BACKEND={backend.name} runs only the embedders {list(backend.embedders)}, "
            f"not FACEREC_EMBEDDER={chosen.name}"
        )
    if chosen.impostor_tail is None:
        raise ValueError(
            f"FACEREC_EMBEDDER={chosen.name} has no calibration table (recognition/networks/), "
            "so no model could be trained with it"
        )
    return chosen, backend


def default_embedder(backend_name: str) -> str:
    """The embedder a backend runs when FACEREC_EMBEDDER is not set."""
    backend = BACKENDS.get(backend_name)
    return backend.default if backend else DEFAULT_EMBEDDER


def impostor_tail(name: str) -> ImpostorTail:
    tail = embedder(name).impostor_tail
    if tail is None:
        raise ValueError(f"no calibration for embedder {name!r}")
    return tail


def embedding_space(name: str, manifest: dict) -> str:
    """`name@<sha16>[+<sha16>]`: which networks, with which weights, made an embedding."""
    files = manifest["files"]
    return f"{name}@" + "+".join(files[n.graph]["sha256"][:16] for n in embedder(name).networks)


def load_embedder(
    name: str, session_for: Callable[[str], object], margin: float = 32.0
) -> Embedder:
    """`session_for(bundle_file)` opens a verified ONNX Runtime session on a bundle file."""
    parts = [WRAPPERS[n.name](n, session_for(n.graph), margin) for n in embedder(name).networks]
    return parts[0] if name not in FUSIONS else FusedEmbedder(name, parts)
