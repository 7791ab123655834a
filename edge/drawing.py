"""Draw each face's answer on its own box."""

from __future__ import annotations

import cv2
import numpy as np

KNOWN = (0, 200, 0)
UNKNOWN = (0, 0, 220)
NO_ANSWER = (160, 160, 160)


def label_color(label: str | None) -> tuple[int, int, int]:
    if label is None:
        return NO_ANSWER
    return UNKNOWN if label == "unknown" else KNOWN


def draw_face(frame: np.ndarray, box: tuple[int, int, int, int], text: str, color) -> None:
    """A box and, above it (or inside it at the top edge of the frame), a filled caption."""
    left, top, right, bottom = box
    cv2.rectangle(frame, (left, top), (right, bottom), color, 2)
    (width, height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    caption_top = top - height - baseline - 4 if top - height - baseline - 4 >= 0 else top
    cv2.rectangle(
        frame,
        (left, caption_top),
        (left + width + 4, caption_top + height + baseline + 4),
        color,
        -1,
    )
    cv2.putText(
        frame,
        text,
        (left + 2, caption_top + height + 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
