"""Turn uploaded bytes into an RGB array, or say clearly why they are not a usable image."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000
# No camera frame or face crop is a strip: 5000x1 or 12000x2 only ever arrive to break the
# detector's resizing (a side scaled to 0 px). Panoramic cameras stay far below 20:1.
MAX_ASPECT_RATIO = 20


class InvalidImage(ValueError):
    """The upload is not an image we can read; the message says why, for the client."""


def load_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/... bytes into an HxWx3 uint8 RGB array, upright per its EXIF orientation.

    The pixel count is checked from the header before anything is decoded, so a small file that
    claims a huge canvas (a decompression bomb) is refused without allocating it.
    """
    return decode_image(data, max_pixels)[0]


def decode_image(
    data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, max_side: int | None = None
) -> tuple[np.ndarray, float]:
    """`load_image`, shrunk while decoding so its long side is at most `max_side`: (rgb, scale
    from the upload's pixels to these). A 40 Mpx upload then never becomes a 120 MB array and
    a pyramid of copies; JPEGs are even decoded at 1/2, 1/4 or 1/8 directly (Pillow's draft)."""
    if not data:
        raise InvalidImage("the uploaded file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise InvalidImage(
                    f"the image is {width}x{height}; at most {max_pixels} pixels are accepted"
                )
            if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
                raise InvalidImage(
                    f"the image is {width}x{height}; its long side may be at most "
                    f"{MAX_ASPECT_RATIO} times its short side"
                )
            scale = 1.0
            if max_side is not None and max(width, height) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.BOX)
                scale = image.size[0] / width
            image = ImageOps.exif_transpose(image)
            rgb = np.asarray(image.convert("RGB"))
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("the file is not an image in a format we can read") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"the image is truncated or corrupt ({error})") from None
    if rgb.ndim != 3 or min(rgb.shape[:2]) < 1:
        raise InvalidImage("the image has no pixels")
    return rgb, scale
