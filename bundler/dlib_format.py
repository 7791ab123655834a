"""Read dlib's serialisation format (dlib/serialize.h, dlib/dnn/tensor.h) without dlib."""

from __future__ import annotations

import math

import numpy as np


class Reader:
    """dlib's stream format: integers as a size|sign byte then little-endian bytes, floating point
    as an integer mantissa and exponent, strings length-prefixed, bools as '0'/'1', tensors as
    four dimensions then raw little-endian float32."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def _take(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ValueError("dlib model file ends early")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def int(self) -> int:
        head = self._take(1)[0]
        size = head & 0x0F
        if size > 8 or head & 0x70:
            raise ValueError(f"bad integer header {head:#x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        specials = {32000: math.inf, 32001: -math.inf, 32002: math.nan, 32003: math.nan}
        return specials[exponent] if exponent in specials else math.ldexp(mantissa, exponent)

    def string(self) -> str:
        return self._take(self.int()).decode("ascii")

    def bool(self) -> bool:
        value = self._take(1)
        if value not in (b"0", b"1"):
            raise ValueError(f"bad bool {value!r} at byte {self.pos - 1}")
        return value == b"1"

    def version(self, *allowed: int) -> int:
        version = self.int()
        if version not in allowed:
            raise ValueError(f"version {version} at byte {self.pos} (expected one of {allowed})")
        return version

    def tensor(self) -> np.ndarray:
        self.version(2)
        shape = [self.int() for _ in range(4)]
        count = math.prod(shape)
        return np.frombuffer(self._take(4 * count), "<f4").reshape(shape).astype(np.float32)

    def alias_tensor(self) -> tuple[int, ...]:
        self.version(1)
        return tuple(self.int() for _ in range(4))

    def name(self, *expected: str) -> str:
        name = self.string()
        if name not in expected:
            raise ValueError(f"layer {name!r} where {expected} was expected")
        return name
