"""Resizing: ``interpolate`` (``nn.Upsample``), modes nearest, nearest-exact and (bi/tri)linear.

Beyond the book: generators that upsample then convolve (instead of a transposed
convolution) and U-Net-like decoders use ``Upsample(scale_factor=2)``. PyTorch's index and
weight formulas are reproduced exactly, in the input's precision as PyTorch computes them.

One idea: resizing is separable and linear
------------------------------------------
Along each spatial axis, every output sample is a fixed combination of input samples: one
of them (nearest) or two neighbours with weights ``1 - t`` and ``t`` (linear). So resizing is
a matrix ``A`` (out x in) applied along each axis in turn; for a 4-D image::

    y = A_h @ x @ A_w^T        (over every (n, c) plane)
    gx = A_h^T @ gy @ A_w      (the backward: the same with the matrices transposed)

The matrices depend on the sizes only; they are built once on the host (geometry, not data)
and moved to the device. Backward is the same operation with transposed maps, so it is
linear in the upstream gradient and differentiable again (``create_graph=True``). No
scatter and no ``np.add.at``: the same code on NumPy, CuPy and array-api-strict.

The common case gets a cheaper map: nearest upsampling by an integer factor ``s`` repeats
each sample ``s`` times (a broadcast and a reshape) and its adjoint sums blocks of ``s``.

Source positions, as PyTorch computes them (``scale`` = in/out, or 1/scale_factor when a
scale factor is given and not recomputed)::

    nearest        src = min(floor(dst * scale), in - 1)
    nearest-exact  src = min(floor((dst + 0.5) * scale), in - 1)
    linear         src = (dst + 0.5) * scale - 0.5, at least 0      (align_corners=False)
                   src = dst * (in - 1) / (out - 1)                  (align_corners=True)
                   i0 = floor(src), i1 = min(i0 + 1, in - 1), t = src - i0
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd import Function
from ..tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_LINEAR_MODES = {3: "linear", 4: "bilinear", 5: "trilinear"}


# ----------------------------------------------------------------------------- maps along one axis
class Dense:
    """Multiply along an axis by an (out, in) matrix ``A`` (a device array; ``AT`` its
    transpose, a view)."""

    def __init__(self, A, AT):
        self.A, self.AT = A, AT

    def apply(self, xp, x, axis):
        A = self.A
        n_out, n_in = A.shape
        shape = tuple(x.shape)
        lead, rest = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
        if rest == 1:  # the last axis: one GEMM, (lead, in) @ (in, out)
            y = xp.matmul2d(xp.reshape(x, (lead, n_in)), self.AT)
        else:  # (out, in) @ (lead, in, rest), broadcast over lead
            y = xp.matmul(A, xp.reshape(x, (lead, n_in, rest)))
        return xp.reshape(y, shape[:axis] + (n_out,) + shape[axis + 1:])

    @property
    def T(self):
        return Dense(self.AT, self.A)


class Repeat:
    """Nearest upsampling by an integer factor: each sample ``s`` times (``A`` = blocks of ones)."""

    def __init__(self, s):
        self.s = s

    def apply(self, xp, x, axis):
        shape = tuple(x.shape)
        wide = shape[:axis + 1] + (self.s,) + shape[axis + 1:]
        y = xp.broadcast_to(xp.reshape(x, shape[:axis + 1] + (1,) + shape[axis + 1:]), wide)
        return xp.reshape(y, shape[:axis] + (shape[axis] * self.s,) + shape[axis + 1:])

    @property
    def T(self):
        return BlockSum(self.s)


class BlockSum:
    """The adjoint of :class:`Repeat`: sum each block of ``s`` consecutive samples."""

    def __init__(self, s):
        self.s = s

    def apply(self, xp, x, axis):
        shape = tuple(x.shape)
        blocks = shape[:axis] + (shape[axis] // self.s, self.s) + shape[axis + 1:]
        return xp.sum(xp.reshape(x, blocks), axis=axis + 1)

    @property
    def T(self):
        return Repeat(self.s)


class Resample(Function):
    """Apply one map per spatial axis (axes 2, 3, ...). Linear; backward applies the
    transposed maps, as arrays or (create_graph) as another Resample."""

    def __init__(self, maps):
        self.maps = maps

    def forward(self, x):
        xp = self.xp
        for d, m in enumerate(self.maps):
            if m is not None:
                x = m.apply(xp, x, 2 + d)
        return x

    def backward(self, F, gy):
        adjoint = [None if m is None else m.T for m in self.maps]
        if not F.is_array_mode:
            return Resample(adjoint)(gy)
        xp = self.xp
        for d, m in enumerate(adjoint):
            if m is not None:
                gy = m.apply(xp, gy, 2 + d)
        return gy


# ----------------------------------------------------------------------------- PyTorch's formulas
def _scale(n_in, n_out, scale_factor, align_corners, real):
    """PyTorch's ``area_pixel_compute_scale`` in the precision ``real`` (float32 or float64)."""
    if align_corners:
        return real(n_in - 1) / real(n_out - 1) if n_out > 1 else real(0)
    if scale_factor is not None and scale_factor > 0:
        return real(1.0 / scale_factor)
    return real(n_in) / real(n_out)


@functools.lru_cache(maxsize=256)
def _axis_map(mode, n_in, n_out, scale_factor, align_corners, dtype_name):
    """How one axis is resized: ("same", None), ("repeat", s) or ("dense", host matrix (out, in)).

    Positions are computed in the input's precision, as PyTorch's kernels do (float32 maths
    for float32 tensors), so that the same source pixels and weights come out.
    """
    if n_in == n_out and mode != "nearest-exact":  # PyTorch's kernels copy then
        return ("same", None)
    real = np.float32 if dtype_name == "float32" else np.float64
    rows = np.arange(n_out)
    dst = rows.astype(real)
    A = np.zeros((n_out, n_in), dtype=real)
    if mode.startswith("nearest"):
        if n_out == 2 * n_in and mode == "nearest":  # PyTorch's shortcut: dst >> 1
            src = rows // 2
        else:
            scale = _scale(n_in, n_out, scale_factor, False, real)
            offset = real(0.5) if mode == "nearest-exact" else real(0)
            src = np.minimum(np.floor((dst + offset) * scale).astype(np.int64), n_in - 1)
        s = n_out // n_in
        if s >= 1 and n_out == s * n_in and np.array_equal(src, rows // s):
            return ("repeat", s)
        A[rows, src] = 1
        return ("dense", A)
    scale = _scale(n_in, n_out, scale_factor, align_corners, real)
    if align_corners:
        src = scale * dst
    else:
        src = np.maximum(scale * (dst + real(0.5)) - real(0.5), real(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = i0 + (i0 < n_in - 1)
    t = np.clip(src - i0.astype(real), real(0), real(1))
    A[rows, i0] = real(1) - t  # one entry per row in each assignment: no scatter needed
    A[rows, i1] += t           # (i1 == i0 at the last input sample: the weights add to 1)
    return ("dense", A)


def _device_map(xp, kind, value, dtype):
    if kind == "same":
        return None
    if kind == "repeat":
        return Repeat(value)
    A = xp.astype(xp.from_numpy(value), dtype)
    return Dense(A, xp.permute_dims(A, (1, 0)))


# ----------------------------------------------------------------------------- the public function
def _per_axis(value, dim, name, input):
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            raise ValueError(f"interpolate: input and {name} must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(input.shape[2:])} and {name} {value}")
        return list(value)
    return [value] * dim


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """``F.interpolate``: resize the spatial axes of (N, C, L), (N, C, H, W) or (N, C, D, H, W).

    Exactly one of ``size`` (the output's spatial size) and ``scale_factor`` (output =
    floor(input * factor)). Modes: ``'nearest'`` (PyTorch's default, legacy rounding),
    ``'nearest-exact'``, ``'linear'`` (3-D), ``'bilinear'`` (4-D), ``'trilinear'`` (5-D),
    with ``align_corners`` (default False) for the linear ones.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: input must be a Tensor, got {type(input).__name__}")
    if mode in ("nearest", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif mode in ("linear", "bilinear", "trilinear"):
        align_corners = bool(align_corners)
    elif mode in ("bicubic", "area"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported; minigan has "
                                  "'nearest', 'nearest-exact', 'linear', 'bilinear' and 'trilinear'")
    else:
        raise NotImplementedError(f"interpolate: unknown mode {mode!r}")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: input must be 3-D, 4-D or 5-D (N, C, spatial...), "
                                  f"got shape {input.shape}")
    if mode in _LINEAR_MODES.values() and _LINEAR_MODES[input.ndim] != mode:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs "
                                  f"{[n for n, m in _LINEAR_MODES.items() if m == mode][0]}D input")
    if not input.is_floating_point():
        raise RuntimeError(f"interpolate: expected a floating point input, got {input.dtype.name}")
    dim = input.ndim - 2
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if size is not None:
        out = [int(s) for s in _per_axis(size, dim, "output size", input)]
        factors = [None] * dim
    else:
        factors = [float(f) for f in _per_axis(scale_factor, dim, "scale_factor", input)]
        out = [int(math.floor(n * f)) for n, f in zip(spatial, factors)]
        if recompute_scale_factor:
            factors = [None] * dim
    if min(out) <= 0 or min(spatial) <= 0:
        raise RuntimeError(f"interpolate: input and output sizes should be greater than 0, but "
                           f"got input {spatial} and output {tuple(out)}")
    xp = input.backend.xp
    maps = [_device_map(xp, *_axis_map(mode, n, o, f, bool(align_corners), input.dtype.name), input.dtype)
            for n, o, f in zip(spatial, out, factors)]
    if all(m is None for m in maps):
        from .shape import clone
        return clone(input)
    return Resample(maps)(input)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """``F.upsample`` (deprecated in PyTorch): :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """``F.upsample_bilinear``: bilinear with ``align_corners=True`` (as PyTorch's)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)

