"""Uploads that are not good images get a clear InvalidImage, never a crash."""

import io

import numpy as np
import pytest
from PIL import Image

from recognition import InvalidImage, load_image
from tests.conftest import FACES


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"just some text, not a picture\n", "not an image"),
        (b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "not an image|corrupt"),
        ((FACES / "people/biden/biden1.jpg").read_bytes()[:3000], "corrupt"),
    ],
    ids=["empty", "text", "garbage-jpeg-header", "truncated-jpeg"],
)
def test_unreadable_uploads_are_refused_with_a_reason(data, message):
    with pytest.raises(InvalidImage, match=message):
        load_image(data)


def test_a_huge_canvas_is_refused_before_decoding():
    with pytest.raises(InvalidImage, match="at most"):
        load_image(_png(9000, 9000), max_pixels=40_000_000)


def test_a_32_bit_png_becomes_rgb():
    rgb = load_image((FACES / "hard/32bit.png").read_bytes())
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_a_one_pixel_image_loads():
    assert load_image(_png(1, 1)).shape == (1, 1, 3)


def test_grayscale_becomes_three_channels():
    assert load_image(_png(20, 10, "L")).shape == (10, 20, 3)
