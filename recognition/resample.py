"""Area resampling, exactly as torch's `interpolate(mode="area")` (adaptive average pooling).

MTCNN resamples the same image for every pyramid level and for every candidate box. Each output
pixel is the mean of an integer window of the input, so running sums answer all of them: a
pyramid level is two gathers on row-summed data (separable), a crop four look-ups in a
summed-area table. Sums are exact integers, so the result matches torch to float rounding.
"""

from __future__ import annotations

import numpy as np


def _windows(start: np.ndarray, length: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive-pooling windows [lo, hi) splitting `length` pixels from `start` into `size` cells."""
    cells = np.arange(size)
    lo = start[:, None] + (cells * length[:, None]) // size
    hi = start[:, None] + -((-(cells + 1) * length[:, None]) // size)
    return lo, hi


def _running_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """Cumulative sum along `axis` with a leading zero, so sum[a:b] = out[b] - out[a]."""
    shape = list(values.shape)
    shape[axis] += 1
    out = np.zeros(shape, values.dtype)
    index = [slice(None)] * values.ndim
    index[axis] = slice(1, None)
    np.cumsum(values, axis=axis, out=out[tuple(index)])
    return out


class AreaResampler:
    """Area-resizes one HxWxC uint8 image to many sizes and windows."""

    def __init__(self, image: np.ndarray):
        self.height, self.width = image.shape[:2]
        # 255 * H * W must fit: int32 up to ~8.4 M pixels, int64 beyond.
        dtype = np.int32 if self.height * self.width < 2**31 // 255 else np.int64
        self._rows = _running_sum(image.astype(dtype), axis=0)  # [H+1, W, C]
        self._table: np.ndarray | None = None

    def resize(self, out_h: int, out_w: int) -> np.ndarray:
        """The whole image at out_h x out_w, float32 HxWxC."""
        y0, y1 = _windows(np.zeros(1, np.int64), np.array([self.height]), out_h)
        x0, x1 = _windows(np.zeros(1, np.int64), np.array([self.width]), out_w)
        band = _running_sum(self._rows[y1[0]] - self._rows[y0[0]], axis=1)  # [out_h, W+1, C]
        sums = band[:, x1[0]] - band[:, x0[0]]
        area = np.outer(y1[0] - y0[0], x1[0] - x0[0])[..., None]
        return (sums / area).astype(np.float32)

    def crops(self, windows: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
        """Each (top, left, bottom, right) window at out_h x out_w: float32 [N, out_h, out_w, C]."""
        if self._table is None:
            self._table = _running_sum(self._rows, axis=1)  # [H+1, W+1, C]
        table = self._table
        top, left, bottom, right = (windows[:, i].astype(np.int64) for i in range(4))
        y0, y1 = _windows(top, bottom - top, out_h)
        x0, x1 = _windows(left, right - left, out_w)
        y0, y1 = y0[:, :, None], y1[:, :, None]
        x0, x1 = x0[:, None, :], x1[:, None, :]
        sums = table[y1, x1] - table[y0, x1] - table[y1, x0] + table[y0, x0]
        area = ((y1 - y0) * (x1 - x0))[..., None]
        return (sums / area).astype(np.float32)
