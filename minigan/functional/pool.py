"""Pooling: ``max_pool2d`` and ``avg_pool2d``.

Beyond the book: the DCGAN-MNIST discriminator (``MaxPool2d(2, 2)`` after each conv), the
convolutional autoencoder and the small CNN classifier pool; PyTorch's semantics are kept
exactly, including which element of a tied window gets the gradient.

Notation as in conv.py: ``N, C, H, W`` input, ``OH, OW`` output, ``KH, KW`` kernel, ``SH, SW``
stride, ``PH, PW`` padding, ``DH, DW`` dilation. The window at output (oh, ow) and kernel
offset (i, j) reads padded pixel ``(oh*SH + i*DH, ow*SW + j*DW)``; :class:`ConvGeometry`
(shared with the convolutions) holds those slices.

How it is computed: one strided slice per kernel offset
-------------------------------------------------------
As im2col does, pooling loops over the KH x KW kernel offsets, never over pixels: offset
(i, j) sees ``x[:, :, i*DH : ... : SH, j*DW : ... : SW]`` at every output position at once
(a "tap"). Then

* **max**: ``y = maximum(tap_0, tap_1, ...)``, KH*KW - 1 elementwise maxima;
* **avg**: ``y = (tap_0 + tap_1 + ...) / divisor``;
* **the gradient** goes back through the same slices with ``+=`` into a zero image (the
  adjoint, as col2im): all of it for avg, and for max only where a tap holds its window's
  maximum. No scatter, no fancy indexing, no ``np.add.at``: the same code runs on NumPy,
  CuPy and array-api-strict.

Which element gets a max's gradient: PyTorch scans a window row by row and keeps the
*first* maximum (an all-zero window after ReLU sends its whole gradient to its top-left
element); a NaN always wins and the *last* NaN is kept. The backward rebuilds exactly that
choice from the taps: offset k gets the gradient where it equals the maximum and no earlier
offset did. Padding never wins, even when the real values are all -inf. (With dilation a
window can lie wholly in the padding: its maximum is -inf and it passes no gradient on;
PyTorch returns an index outside the image there and its backward writes out of bounds.)

Both pools are linear in what flows backward: max-pool's backward routes the upstream
gradient through fixed masks. :class:`WindowSum` (gather) and :class:`WindowSpread` (its
adjoint) are each other's backward, so second derivatives (``create_graph=True``, a gradient
penalty through a pooled critic) are exact.
"""
from __future__ import annotations

import math

from .. import backend as B
from ..autograd import Function
from ..tensor import Tensor
from .conv import _batched, _pair, _unbatched, conv2d_geometry

__all__ = ["max_pool2d", "avg_pool2d", "max_pool2d_with_indices"]


# ----------------------------------------------------------------------------- the offset loop
def _offsets(g):
    """(row slice, column slice) of each kernel offset, row-major (PyTorch's scan order)."""
    return [(g.rows[i], g.cols[j]) for i in range(g.KH) for j in range(g.KW)]


def _pad(xp, x, g, value):
    """(N, C, H, W) -> (N, C, HP, WP), the border filled with ``value``."""
    if not g.padded:
        return x
    out = xp.full((x.shape[0], x.shape[1], g.HP, g.WP), value, dtype=x.dtype)
    out[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W] = x
    return out


def _overlapping(g):
    """Do two windows share a pixel? If not, the adjoint can assign instead of add."""
    return g.SH < g.DH * (g.KH - 1) + 1 or g.SW < g.DW * (g.KW - 1) + 1


def gather_windows(xp, x4, g, masks=None, scale=None):
    """``y = scale * sum_k [mask_k] tap_k(x)``: sum (or, with masks, select) over each window."""
    xpad = _pad(xp, x4, g, 0.0)
    y = xp.zeros((x4.shape[0], x4.shape[1], g.OH, g.OW), dtype=x4.dtype)
    select = _selector(xp, x4, masks)
    for k, (r, c) in enumerate(_offsets(g)):
        tap = xpad[:, :, r, c]
        y += tap if masks is None else select(masks[k], tap)
    if scale is not None:
        y *= scale
    return y


def spread_windows(xp, gy4, g, N, C, masks=None, scale=None, like=None):
    """The adjoint of :func:`gather_windows`: each window's (masked) value added back at the
    pixels it read, into a zero image, then the padding cropped off.

    ``like`` (optional): the pooled input. Without padding the image is made in its memory
    layout (``zeros_like``), so the gradient meets the input's other users - the activation
    before the pool, in its backward - in their own layout: a convolution's output at batch
    64 is (C, N, H, W) in memory, and LeakyReLU's backward between that and a (N, C, H, W)
    gradient took 1.05 ms instead of ~0.3 at dcgan-mnist's (64, 32, 24, 24)."""
    if scale is not None:
        gy4 = gy4 * scale
    if like is not None and not g.padded and like.dtype == gy4.dtype:
        img = xp.zeros_like(like)
    else:
        img = xp.zeros((N, C, g.HP, g.WP), dtype=gy4.dtype)
    assign = not _overlapping(g)  # disjoint windows: nothing to add up
    select = _selector(xp, gy4, masks)
    for k, (r, c) in enumerate(_offsets(g)):
        part = gy4 if masks is None else select(masks[k], gy4)
        if assign:
            img[:, :, r, c] = part
        else:
            img[:, :, r, c] += part
    return img[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W] if g.padded else img


def _selector(xp, values, masks):
    """How to keep ``values`` where a 0/1 mask is 1: a multiply (a select with a random mask
    is branch-bound, ~30x slower on NumPy), or ``where`` if a value is not finite (inf * 0
    is NaN, and PyTorch keeps the unselected gradient at 0)."""
    if masks is None or xp.all(xp.isfinite(values)):
        return lambda mask, v: v * mask
    return lambda mask, v: xp.where(mask != 0, v, 0.0)


def _valid(xp, g):
    """(HP, WP) booleans: True on the real image, False on the padding."""
    rows = xp.arange(g.HP)
    cols = xp.arange(g.WP)
    r = (rows >= g.PT) & (rows < g.PT + g.H)
    c = (cols >= g.PL) & (cols < g.PL + g.W)
    return xp.reshape(r, (g.HP, 1)) & xp.reshape(c, (1, g.WP))


def first_max_masks(xp, x4, y4, g):
    """For each kernel offset, where it holds its window's maximum as PyTorch picks it: the
    first (row-major) element equal to the maximum, never the padding; for a NaN maximum the
    last NaN. Returns KH*KW arrays of the output's shape, 1 where picked, else 0."""
    xpad = _pad(xp, x4, g, -math.inf)
    valid = _valid(xp, g) if g.padded else None
    offsets = _offsets(g)
    masks, open_ = [], None  # open_: windows whose maximum no earlier offset has claimed
    for k, (r, c) in enumerate(offsets):
        m = xpad[:, :, r, c] == y4
        if valid is not None:
            m = m & valid[r, c]
        if open_ is not None:
            m = m & open_
        if k + 1 < len(offsets):
            open_ = ~m if open_ is None else open_ ^ m  # m lies inside open_: xor removes it
        masks.append(m)
    nan_out = xp.isnan(y4)
    if xp.any(nan_out):  # NaN == NaN is False: the masks above are empty there
        taken = None
        for k in range(len(offsets) - 1, -1, -1):
            r, c = offsets[k]
            m = xp.isnan(xpad[:, :, r, c]) & nan_out
            if taken is not None:
                m = m & ~taken
            taken = m if taken is None else taken | m
            masks[k] = masks[k] | m
    return [xp.astype(m, x4.dtype) for m in masks]  # 0/1 in x's dtype: multiplied, not selected


# ----------------------------------------------------------------------------- Functions
class WindowSum(Function):
    """``y = scale * sum_k [mask_k] tap_k(x)``: avg-pooling (no masks), or the gather that
    is the backward of :class:`WindowSpread` (max-pool's masks). Linear in x."""

    def __init__(self, g, masks=None, scale=None):
        self.g, self.masks, self.scale = g, masks, scale

    def forward(self, x):
        xp = self.xp
        return _unbatched(xp, gather_windows(xp, _batched(xp, x), self.g, self.masks, self.scale), x.ndim)

    def backward(self, F, gy):
        shape = tuple(self.inputs[0].shape)
        if F.is_array_mode:
            return _spread(self.xp, gy, self.g, shape, self.masks, self.scale, like=self.inputs[0].data)
        return WindowSpread(self.g, shape, self.masks, self.scale)(gy)


class WindowSpread(Function):
    """The adjoint of :class:`WindowSum`: a pooled-shape gradient back to the input's shape."""

    def __init__(self, g, in_shape, masks=None, scale=None):
        self.g, self.in_shape, self.masks, self.scale = g, in_shape, masks, scale

    def forward(self, gy):
        return _spread(self.xp, gy, self.g, self.in_shape, self.masks, self.scale)

    def backward(self, F, ggx):
        return WindowSum(self.g, self.masks, self.scale)(ggx) if not F.is_array_mode else \
            _unbatched(self.xp, gather_windows(self.xp, _batched(self.xp, ggx), self.g,
                                               self.masks, self.scale), ggx.ndim)


def _spread(xp, gy, g, in_shape, masks, scale, like=None):
    gy4 = _batched(xp, gy)
    N, C = (1, in_shape[0]) if len(in_shape) == 3 else in_shape[:2]
    like = None if like is None else _batched(xp, like)
    return _unbatched(xp, spread_windows(xp, gy4, g, N, C, masks, scale, like), len(in_shape))


class MaxPool2d(Function):
    """Max over each window: KH*KW - 1 elementwise maxima forward; backward routes the
    gradient to each window's first maximum (masks rebuilt from x and y, see the module doc).
    With ``return_indices`` the masks are made in forward and give PyTorch's indices (flat
    positions in the unpadded H x W plane)."""

    masks = None
    indices = None

    def __init__(self, g, return_indices=False):
        self.g, self.return_indices = g, return_indices

    def forward(self, x):
        xp, g = self.xp, self.g
        x4 = _batched(xp, x)
        xpad = _pad(xp, x4, g, -math.inf)
        taps = [xpad[:, :, r, c] for r, c in _offsets(g)]
        y = xp.maximum(taps[0], taps[1]) if len(taps) > 1 else xp.astype(taps[0], x.dtype, copy=True)
        for tap in taps[2:]:
            y = xp.maximum(y, tap)
        if self.return_indices:
            self.masks = first_max_masks(xp, x4, y, g)
            self.indices = _unbatched(xp, self._flat_indices(xp), x.ndim)
        return _unbatched(xp, y, x.ndim)

    def _flat_indices(self, xp):
        """Index into H*W of the element each mask picks: (oh*SH + i*DH - PT)*W + (ow*SW + j*DW - PL)."""
        g = self.g
        oh = xp.reshape(xp.arange(g.OH, dtype=B.int64), (g.OH, 1))
        ow = xp.reshape(xp.arange(g.OW, dtype=B.int64), (1, g.OW))
        out = None
        k = 0
        for i in range(g.KH):
            for j in range(g.KW):
                flat = (oh * g.SH + (i * g.DH - g.PT)) * g.W + (ow * g.SW + (j * g.DW - g.PL))
                pick = xp.where(self.masks[k] != 0, flat, 0)
                out = pick if out is None else out + pick
                k += 1
        return out

    def backward(self, F, gy):
        xp = self.xp
        x = self.inputs[0]
        masks = self.masks
        if masks is None:
            y = self.output_ref()
            y = y.data if y is not None else self.forward(x.data)
            masks = first_max_masks(xp, _batched(xp, x.data), _batched(xp, y), self.g)
        shape = tuple(x.shape)
        if F.is_array_mode:
            return _spread(xp, gy, self.g, shape, masks, None, like=x.data)
        return WindowSpread(self.g, shape, masks)(gy)  # linear in gy: exact double backward



# ----------------------------------------------------------------------------- arguments
def _check_input(input, who):
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{who}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                           f"input of shape {input.shape}")
    if not input.is_floating_point():
        raise RuntimeError(f"{who}: expected a floating point input, got {input.dtype.name}")


def _geometry(input, kernel_size, stride, padding, dilation, ceil_mode, who):
    """The pooling's :class:`ConvGeometry`, with PyTorch's checks and messages."""
    kernel = _pair(kernel_size, "kernel_size", who)
    stride = kernel if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair(stride, "stride", who)
    padding = _pair(padding, "padding", who)
    dilation = _pair(dilation, "dilation", who)
    if min(kernel) <= 0:
        raise RuntimeError(f"{who}: kernel size should be greater than zero, but got "
                           f"kH: {kernel[0]} kW: {kernel[1]}")
    if min(stride) <= 0:
        raise RuntimeError(f"{who}: stride should be greater than zero, but got "
                           f"dH: {stride[0]} dW: {stride[1]}")
    if min(dilation) <= 0:
        raise RuntimeError(f"{who}: dilation should be greater than zero, but got "
                           f"dilationH: {dilation[0]} dilationW: {dilation[1]}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise RuntimeError(f"{who}: pad should be at most half of effective kernel size, but "
                           f"got pad={padding}, kernel_size={kernel}")
    if ceil_mode:
        raise NotImplementedError(f"{who}: ceil_mode=True is not supported; minigan pools with "
                                  "PyTorch's default floor rounding of the output size")
    _check_input(input, who)
    H, W = input.shape[-2:]
    g = conv2d_geometry(H, W, kernel, stride, dilation, (padding[0], padding[0], padding[1], padding[1]))
    if g is None or g.OH <= 0 or g.OW <= 0:
        raise RuntimeError(f"{who}: input of shape {input.shape} is too small for kernel_size "
                           f"{kernel}, stride {stride}, padding {padding}, dilation {dilation}: "
                           "the output would be empty")
    return g


# ----------------------------------------------------------------------------- the public functions
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """``F.max_pool2d``: the largest value of each window, as PyTorch's.

    input (N, C, H, W) or (C, H, W); ``stride`` defaults to ``kernel_size``; ``padding`` (at
    most half the kernel) never wins the max. Output (N, C, OH, OW) with
    ``OH = (H + 2*PH - DH*(KH-1) - 1) // SH + 1``. The gradient of a window goes to its first
    maximum in row-major order (PyTorch's choice for ties). With ``return_indices=True``
    also returns, per output, the flat index into H*W of the element chosen (int64).
    """
    g = _geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    fn = MaxPool2d(g, return_indices)
    out = fn(input)
    if return_indices:
        return out, Tensor._wrap(fn.indices, input.backend)
    return out


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    """``F.max_pool2d_with_indices``: ``max_pool2d(..., return_indices=True)``."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """``F.avg_pool2d``: the mean of each window, as PyTorch's.

    The divisor is KH*KW (``count_include_pad=True``, the default: zero padding counts),
    the number of real pixels in the window (``count_include_pad=False``), or
    ``divisor_override``.
    """
    g = _geometry(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("avg_pool2d: divisor must be not zero")
        scale = 1.0 / divisor_override
    elif count_include_pad or not g.padded:
        scale = 1.0 / (g.KH * g.KW)
    else:
        scale = _inverse_counts(input.backend.xp, g, input.dtype)
    return WindowSum(g, None, scale)(input)


def _inverse_counts(xp, g, dtype):
    """(OH, OW): 1 / (real pixels in each window), for ``count_include_pad=False``."""
    def counts(n_out, stride, pad, size, kernel):
        start = xp.arange(n_out) * stride - pad
        end = xp.minimum(start + kernel, size)
        return xp.astype(end - xp.maximum(start, 0), dtype)
    rows = counts(g.OH, g.SH, g.PT, g.H, g.KH)
    cols = counts(g.OW, g.SW, g.PL, g.W, g.KW)
    return 1.0 / (xp.reshape(rows, (g.OH, 1)) * xp.reshape(cols, (1, g.OW)))
