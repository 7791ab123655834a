"""The edge node: detect faces next to the camera and send only the crops to the cloud.

No torch and no Flask here: an edge box has ONNX Runtime, OpenCV and requests.
"""

from edge.bandwidth import BandwidthMeter
from edge.client import ApiClient, ApiError
from edge.config import EdgeConfig
from edge.crops import crop_face, encode_jpeg, grow_box
from edge.detector import Detection, UltraFaceDetector
from edge.sources import open_source
from edge.uploader import Uploader

__all__ = [
    "ApiClient",
    "ApiError",
    "BandwidthMeter",
    "Detection",
    "EdgeConfig",
    "UltraFaceDetector",
    "Uploader",
    "crop_face",
    "encode_jpeg",
    "grow_box",
    "open_source",
]
