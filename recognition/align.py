"""Warp a face onto an embedder's canonical chip from MTCNN's five landmarks.

SFace and dlib's ResNet were trained on faces aligned by a similarity transform (rotation, uniform
scale, shift) that puts the eyes, nose and mouth corners where their template says. Only the
region of the image that lands on the chip is touched, so the cost is the same for a 200 px crop
and a 4000 px photo; a face much larger than the chip is first shrunk with area averaging, the
way the templates' authors prepared their training faces, so the warp never aliases. The
templates live with their networks (recognition/networks/sface.py, dlib.py).
"""

from __future__ import annotations

import cv2
import numpy as np


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity that maps `source` points onto `target` (Umeyama, 1991)."""
    source = np.asarray(source, np.float64)
    target = np.asarray(target, np.float64)
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centred, target_centred = source - source_mean, target - target_mean
    covariance = target_centred.T @ source_centred / len(source)
    u, singular, vt = np.linalg.svd(covariance)
    reflection = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        reflection[1, 1] = -1
    rotation = u @ reflection @ vt
    variance = (source_centred**2).sum() / len(source)
    scale = (singular * np.diag(reflection)).sum() / variance if variance > 0 else 1.0
    shift = target_mean - scale * rotation @ source_mean
    return np.hstack([scale * rotation, shift[:, None]])


def align_face(
    rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray, size: int
) -> np.ndarray:
    """The size x size chip whose landmarks match `template`; pixels off the image repeat its border."""
    matrix = similarity_transform(landmarks, template)
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    source = corners @ inverse.T
    height, width = rgb.shape[:2]
    left = int(np.clip(np.floor(source[:, 0].min()) - 1, 0, width - 1))
    top = int(np.clip(np.floor(source[:, 1].min()) - 1, 0, height - 1))
    right = int(np.clip(np.ceil(source[:, 0].max()) + 2, left + 1, width))
    bottom = int(np.clip(np.ceil(source[:, 1].max()) + 2, top + 1, height))
    region = rgb[top:bottom, left:right]
    matrix = matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([left, top], np.float64)  # region coordinates
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 0.5:  # the face is over twice the chip: average it down before warping
        shrunk = (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale)))
        factors = np.array([shrunk[0] / region.shape[1], shrunk[1] / region.shape[0]])
        region = cv2.resize(region, shrunk, interpolation=cv2.INTER_AREA)
        matrix[:, :2] /= factors  # undo the shrink the pixels just went through
    return cv2.warpAffine(
        region, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
