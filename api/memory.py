"""Give the memory of a big request back to the system: glibc keeps freed arenas for reuse, so a
worker that decoded a 40 Mpx image would otherwise stay gigabytes large until it is recycled."""

from __future__ import annotations

import ctypes
import ctypes.util

_libc = None


def release_memory() -> None:
    """malloc_trim(0) where the C library has it (glibc); a no-op elsewhere."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)
