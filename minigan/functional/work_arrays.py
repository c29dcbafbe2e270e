"""A pool of big work arrays for the convolution plans (NumPy only).

The plans' big arrays (im2col's columns: 48 MB for the book's 256 -> 256 layers; the
Winograd tiles and their transforms: 20-26 MB) are made once or twice per layer and step.
glibc maps every array over 32 MB fresh from the OS, and touching its pages costs about 5 ms
per 50 MB (a tenth of such a layer's forward), so on NumPy they are lent from a small pool
and given back when they die: at the end of the call for temporaries, with the Function
(its graph) for what is kept for backward. Other backends allocate as usual (CuPy has its own memory pool).
"""
from __future__ import annotations

import math
import threading

import numpy as np


# glibc's mmap threshold only grows up to 32 MiB (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit), and
# only when a chunk under that is freed: 31 MiB is the largest size that surely qualifies.
_SETTLE_BYTES = 31 << 20


def settle_malloc(xp):
    """Once per process, on NumPy with glibc: free one 31 MiB array, so that glibc's adaptive
    thresholds reach at once the values steady state would give them.

    glibc maps every request over its mmap threshold (128 KiB at the start) fresh from the
    OS, and each time such a chunk is freed it raises that threshold to the chunk's size (up
    to 32 MiB) and the heap's trim threshold to twice that. The pool below keeps the biggest
    arrays, so they are never freed, and the thresholds stayed low: the plans' 4-16 MB
    images and gradients were mapped fresh, or the heap was trimmed back to the OS between
    them, and every step faulted their pages in again. Measured on the book's conv GAN (Zen
    5, one process, iterations back to back): 5,400 page faults and 12-40 ms of kernel time
    in each 276-305 ms iteration; after this one free, 0 faults and 251-255 ms. Nothing is
    set by hand (no ``mallopt``): glibc does what it would do after the first big free.
    """
    import platform
    if xp.name != "numpy" or platform.libc_ver()[0] != "glibc":
        return
    np.empty(_SETTLE_BYTES, dtype=np.uint8)  # allocated and freed at once: glibc adapts


class WorkArrays:
    """A pool of big NumPy arrays: ``take`` lends one (uninitialised), ``give_back``
    returns it once nothing reads it any more."""

    min_size = 1 << 22  # numbers (16 MB in float32); smaller arrays come from malloc's heap
    max_free = 6  # arrays kept while nobody uses them

    def __init__(self):
        self.enabled = True
        self.malloc_settled = False  # settle_malloc() runs before the first array is lent
        self.free = {}  # (shape, dtype) -> [arrays]
        self.count = 0
        self.lock = threading.Lock()

    def pooled(self, xp, shape):
        return self.enabled and xp.name == "numpy" and math.prod(shape) >= self.min_size

    def take(self, xp, shape, dtype):
        if self.pooled(xp, shape):
            if not self.malloc_settled:
                self.malloc_settled = True
                settle_malloc(xp)
            with self.lock:  # pooled() means NumPy: np.float32 and np.dtype('float32'), one key
                arrays = self.free.get((tuple(shape), np.dtype(dtype)))
                if arrays:
                    self.count -= 1
                    return arrays.pop()
        return xp.empty(shape, dtype=dtype)

    def give_back(self, xp, a):
        """Return ``a`` (or the array it is a reshaped view of) to the pool."""
        if a is None or not self.pooled(xp, a.shape):
            return
        base = a if a.base is None else a.base  # NumPy only, as pooled() checked
        with self.lock:
            if self.count < self.max_free:
                self.free.setdefault((base.shape, base.dtype), []).append(base)
                self.count += 1

    def clear(self):
        with self.lock:
            self.free, self.count = {}, 0


work_arrays = WorkArrays()
