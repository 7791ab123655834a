"""Area resampling, exactly as torch's `interpolate(mode="area")` (adaptive average pooling).

MTCNN resamples the same image for every pyramid level and for every candidate box. One integral
image answers all of those: each output pixel is the mean of an integer window of the input,
i.e. four look-ups, so no level or crop ever touches the full image again.
"""

from __future__ import annotations

import numpy as np


def integral_image(image: np.ndarray) -> np.ndarray:
    """Summed-area table of an HxWxC image, with a leading zero row and column."""
    table = np.zeros((image.shape[0] + 1, image.shape[1] + 1, image.shape[2]), np.float64)
    np.cumsum(np.cumsum(image, axis=0, dtype=np.float64), axis=1, out=table[1:, 1:])
    return table


def _windows(start: np.ndarray, length: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive-pooling windows [lo, hi) splitting `length` pixels from `start` into `size` cells."""
    cells = np.arange(size)
    lo = start[:, None] + (cells * length[:, None]) // size
    hi = start[:, None] + -((-(cells + 1) * length[:, None]) // size)
    return lo, hi


def resize_windows(table: np.ndarray, boxes: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Area-resize each (top, left, bottom, right) window of the image to out_h x out_w.

    Returns float32 [N, out_h, out_w, C].
    """
    top, left, bottom, right = (boxes[:, i].astype(np.int64) for i in range(4))
    y0, y1 = _windows(top, bottom - top, out_h)
    x0, x1 = _windows(left, right - left, out_w)
    y0, y1 = y0[:, :, None], y1[:, :, None]
    x0, x1 = x0[:, None, :], x1[:, None, :]
    sums = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
    area = ((y1 - y0) * (x1 - x0))[..., None]
    return (sums / area).astype(np.float32)


def resize(table: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Area-resize the whole image behind `table` to out_h x out_w (float32 HxWxC)."""
    h, w = table.shape[0] - 1, table.shape[1] - 1
    return resize_windows(table, np.array([[0, 0, h, w]]), out_h, out_w)[0]
