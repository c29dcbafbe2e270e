"""Convolution: ``conv2d`` and ``conv_transpose2d``, each one fused Function.

Book sections 4.13 (MNIST CNN: ``Conv2d(1, 10, 5, stride=2)``) and 4.14 (the convolutional
CelebA GAN: three ``Conv2d(., ., 8, stride=2)`` in D, three ``ConvTranspose2d`` in G).

Notation (DeZero's)::

    N        batch size                      C, OC    input / output channels
    H, W     height, width of the input      OH, OW   height, width of the output
    KH, KW   kernel height, width            SH, SW   stride
    PH, PW   zero padding (top/left; "same" may pad one more at the bottom/right)
    DH, DW   dilation (gap between kernel taps)
    L        OH * OW, the number of places the kernel visits

How it is computed: im2col, one GEMM, col2im
--------------------------------------------
A convolution is a matrix product once every receptive field is laid out as a column:

* **im2col** pads the input once, then copies, for each of the KH x KW kernel offsets
  ``(i, j)``, one strided slice of the image: the pixels that offset sees at every output
  position, ``x[:, :, i*DH : ... : SH, j*DW : ... : SW]``. That is a Python loop of KH*KW
  slice copies (64 for the book's 8x8 kernels), never a loop over pixels, and it needs no
  scatter, no fancy indexing and no ``np.add.at``, so the same code runs on NumPy, CuPy and
  array-api-strict (DESIGN.md, "Engine decisions").
* **one GEMM**: ``Y = W @ col`` with ``W`` as an (OC, C*KH*KW) matrix and ``col`` as a
  (C*KH*KW, N*OH*OW) matrix, so BLAS does almost all the work. Every product here is a
  plain 2-D GEMM (``xp.matmul2d``, NumPy's ``dot``), never a batched one, and its
  transposed operands are views that BLAS reads in place.
* **col2im** is the adjoint of im2col: the same loop, with ``+=`` into a zero image.

The columns come in two layouts (see :func:`prefers_channels_last`): channels-first,
``col[(c, i, j), (n, oh, ow)]``, where for the book's batch of one the product *is* the
(OC, OH, OW) output; and channels-last, ``col[(n, oh, ow), (i, j, c)]``, whose slice copies
move runs of C channels instead of runs of OW pixels, which is 2-4x faster for the book's
256-channel maps with rows of 10 to 62 pixels.

Three products and two layout moves give everything, forward and backward::

    conv2d            forward     Y  = W @ im2col(x)              (im2col(x) saved for grad W)
                      grad x      gx = col2im(W^T @ gY)           (a conv_transpose2d forward)
                      grad W      gW = gY @ im2col(x)^T
    conv_transpose2d  forward     Y  = col2im(W^T @ x)
                      grad x      gx = W @ im2col(gY)             (a conv2d forward)
                      grad W      gW = x @ im2col(gY)^T           (the same weight-gradient routine)

Both are described by one :class:`ConvGeometry`: a conv2d maps the "big" image (H, W) to
the "small" one (OH, OW); a transposed convolution maps the small one back to the big one.
"""
from __future__ import annotations

import functools

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor


# ----------------------------------------------------------------------------- geometry
def _pair(value, name, op):
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is refused by name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return (int(value[0]), int(value[1]))
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")


class ConvGeometry:
    """Where the kernel goes: from the big image (H, W) to the small one (OH, OW).

    ``pads`` are (top, bottom, left, right). The padded big image is ``HP x WP``; the kernel
    at output position (oh, ow) and offset (i, j) reads padded pixel
    ``(oh*SH + i*DH, ow*SW + j*DW)``.
    """

    __slots__ = ("KH", "KW", "SH", "SW", "DH", "DW", "PT", "PB", "PL", "PR",
                 "H", "W", "OH", "OW", "HP", "WP")

    def __init__(self, kernel, stride, dilation, pads, big, small):
        self.KH, self.KW = kernel
        self.SH, self.SW = stride
        self.DH, self.DW = dilation
        self.PT, self.PB, self.PL, self.PR = pads
        self.H, self.W = big
        self.OH, self.OW = small
        self.HP, self.WP = self.H + self.PT + self.PB, self.W + self.PL + self.PR

    @property
    def padded(self):
        return self.PT or self.PB or self.PL or self.PR

    def rows(self, i):
        """The slice of padded rows that kernel row ``i`` sees, one per output row."""
        start = i * self.DH
        return slice(start, start + self.SH * (self.OH - 1) + 1, self.SH)

    def cols(self, j):
        start = j * self.DW
        return slice(start, start + self.SW * (self.OW - 1) + 1, self.SW)


@functools.lru_cache(maxsize=256)
def conv2d_geometry(H, W, kernel, stride, dilation, pads):
    """Geometry of a conv2d on an H x W input; None if the input is smaller than the kernel."""
    (KH, KW), (SH, SW), (DH, DW), (PT, PB, PL, PR) = kernel, stride, dilation, pads
    span_h, span_w = DH * (KH - 1) + 1, DW * (KW - 1) + 1
    HP, WP = H + PT + PB, W + PL + PR
    if HP < span_h or WP < span_w:
        return None
    small = ((HP - span_h) // SH + 1, (WP - span_w) // SW + 1)
    return ConvGeometry(kernel, stride, dilation, pads, (H, W), small)


@functools.lru_cache(maxsize=256)
def conv_transpose2d_geometry(H, W, kernel, stride, dilation, padding, output_padding):
    """Geometry of a conv_transpose2d on an H x W input (the *small* side); None if the
    output would be empty. The output is ``(H-1)*SH - 2*PH + DH*(KH-1) + OPH + 1`` high."""
    (KH, KW), (SH, SW), (DH, DW), (PH, PW), (OPH, OPW) = kernel, stride, dilation, padding, output_padding
    OH = (H - 1) * SH - 2 * PH + DH * (KH - 1) + OPH + 1
    OW = (W - 1) * SW - 2 * PW + DW * (KW - 1) + OPW + 1
    if OH <= 0 or OW <= 0:
        return None
    return ConvGeometry(kernel, stride, dilation, (PH, PH, PW, PW), (OH, OW), (H, W))


# ----------------------------------------------------------------------------- the array routines
def to_rows(xp, a):
    """(N, C, H, W) -> (C, N*H*W): channels as rows, the layout of every GEMM here."""
    N, C, H, W = a.shape
    if N == 1:
        return xp.reshape(a, (C, H * W))
    return xp.reshape(xp.permute_dims(a, (1, 0, 2, 3)), (C, N * H * W))


def from_rows(xp, a, N, H, W):
    """(C, N*H*W) -> (N, C, H, W), a view."""
    C = a.shape[0]
    if N == 1:
        return xp.reshape(a, (1, C, H, W))
    return xp.permute_dims(xp.reshape(a, (C, N, H, W)), (1, 0, 2, 3))


def contiguous(xp, a):
    """A C-ordered copy of a strided view (flattening copies it); a C-ordered array is
    returned as it is. Array-API only, unlike ``np.ascontiguousarray``."""
    return xp.reshape(xp.reshape(a, (-1,)), tuple(a.shape))


# Two layouts of the columns:
#
# * channels-first, ``col[(c, i, j), (n, oh, ow)]``: each kernel offset copies runs of OW
#   pixels, channel by channel. Best for images with few channels (the book's RGB images),
#   and the weight matrix is a free view of the weight.
# * channels-last, ``col[(n, oh, ow), (i, j, c)]``: each offset copies runs of C channels,
#   pixel by pixel, from a channels-last copy of the image. When the channels far outnumber
#   the pixels of a row, im2col and col2im get 2-4x faster (the book's 256 channels on rows
#   of 10 or 11 pixels), but the weight matrix's columns must follow the same (i, j, c)
#   order: two transposed copies of the weight per step, which cost more than they save
#   when the weight is big next to the columns (the book's 256 -> 256 layers).
CHANNELS_LAST = None  # None: choose per call; True / False force a layout (tests, benchmarks)


def prefers_channels_last(C, OC, N, g):
    """Channels-last for many channels (C big-side, OC small-side) on short rows, when the
    weight (OC*C*KH*KW numbers) is small next to the columns (N*OH*OW*C*KH*KW)."""
    if CHANNELS_LAST is not None:
        return CHANNELS_LAST
    return C >= 4 * g.OW and 4 * OC <= N * g.OH * g.OW


def weight_matrix(xp, W, cl):
    """(OC, C, KH, KW) -> the GEMM's (OC, C*KH*KW) matrix (a view), or (OC, KH*KW*C) for
    channels-last (a copy)."""
    if cl:
        W = xp.permute_dims(W, (0, 2, 3, 1))
    return xp.reshape(W, (W.shape[0], -1))


def weight_from_matrix(xp, Wk, shape, cl):
    """The inverse of :func:`weight_matrix`, as a C-ordered (OC, C, KH, KW) array."""
    if not cl:
        return xp.reshape(Wk, shape)
    OC, C, KH, KW = shape
    return contiguous(xp, xp.permute_dims(xp.reshape(Wk, (OC, KH, KW, C)), (0, 3, 1, 2)))


def _padded(xp, x, g, cl):
    """The image zero-padded, once: a (C, N, HP, WP) view for channels-first, an
    (N, HP, WP, C) copy for channels-last."""
    N, C = x.shape[:2]
    if cl:
        x = xp.permute_dims(x, (0, 2, 3, 1))
        if not g.padded:
            return contiguous(xp, x)
        out = xp.zeros((N, g.HP, g.WP, C), dtype=x.dtype)
        out[:, g.PT:g.PT + g.H, g.PL:g.PL + g.W, :] = x
        return out
    if g.padded:
        out = xp.zeros((N, C, g.HP, g.WP), dtype=x.dtype)
        out[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W] = x
        x = out
    return xp.permute_dims(x, (1, 0, 2, 3))


def im2col(xp, x, g, cl=False):
    """(N, C, H, W) image -> columns, one strided slice copy per kernel offset:
    (C*KH*KW, N*OH*OW) channels-first, or (N*OH*OW, KH*KW*C) channels-last."""
    N, C = x.shape[:2]
    x = _padded(xp, x, g, cl)
    if cl:
        col = xp.empty((N, g.OH, g.OW, g.KH, g.KW, C), dtype=x.dtype)

        for i in range(g.KH):
            rows = g.rows(i)
            for j in range(g.KW):
                col[:, :, :, i, j, :] = x[:, rows, g.cols(j), :]
    else:
        col = xp.empty((C, g.KH, g.KW, N, g.OH, g.OW), dtype=x.dtype)
        for i in range(g.KH):
            rows = g.rows(i)
            for j in range(g.KW):
                col[:, i, j, :, :, :] = x[:, :, rows, g.cols(j)]
    return xp.reshape(col, (N * g.OH * g.OW, g.KH * g.KW * C) if cl else (C * g.KH * g.KW, N * g.OH * g.OW))


def col2im(xp, col, g, N, C, cl=False):
    """Columns -> (N, C, H, W) image: the adjoint of :func:`im2col`, the same loop with
    ``+=`` into a zero image (overlapping receptive fields add up), then the padding cut."""
    if cl:
        col = xp.reshape(col, (N, g.OH, g.OW, g.KH, g.KW, C))
        img = xp.zeros((N, g.HP, g.WP, C), dtype=col.dtype)
        for i in range(g.KH):
            rows = g.rows(i)
            for j in range(g.KW):
                img[:, rows, g.cols(j), :] += col[:, :, :, i, j, :]
        if g.padded:
            img = img[:, g.PT:g.PT + g.H, g.PL:g.PL + g.W, :]
        return contiguous(xp, xp.permute_dims(img, (0, 3, 1, 2)))
    col = xp.reshape(col, (C, g.KH, g.KW, N, g.OH, g.OW))
    img = xp.zeros((C, N, g.HP, g.WP), dtype=col.dtype)
    for i in range(g.KH):
        rows = g.rows(i)
        for j in range(g.KW):
            img[:, :, rows, g.cols(j)] += col[:, i, j, :, :, :]
    if g.padded:
        img = img[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W]
    return xp.permute_dims(img, (1, 0, 2, 3))  # (N, C, H, W), a view


# The three products. ``rows`` is the small image as (OC, N*OH*OW), ``Wk`` the weight matrix.
# Transposed operands are views: BLAS reads them in place.
def gemm_conv(xp, Wk, col, cl):
    """The convolution itself: (OC, K) @ (K, N*L) -> (OC, N*L)."""
    return xp.matmul2d(Wk, xp.permute_dims(col, (1, 0)) if cl else col)


def gemm_columns(xp, Wk, rows, cl):
    """Columns from the small image, Wk^T @ rows, in the layout col2im wants."""
    if cl:
        return xp.matmul2d(xp.permute_dims(rows, (1, 0)), Wk)  # (N*L, K)
    return xp.matmul2d(xp.permute_dims(Wk, (1, 0)), rows)  # (K, N*L)


def gemm_weight_grad(xp, rows, col, cl):
    """The one weight-gradient routine: rows @ col^T -> (OC, K)."""
    return xp.matmul2d(rows, col if cl else xp.permute_dims(col, (1, 0)))


def _batched(xp, a):
    """(C, H, W) -> (1, C, H, W); the unbatched form PyTorch also accepts."""
    return xp.reshape(a, (1,) + tuple(a.shape)) if a.ndim == 3 else a


def _unbatched(xp, a, like_ndim):
    return xp.reshape(a, tuple(a.shape[1:])) if like_ndim == 3 else a


# ----------------------------------------------------------------------------- conv2d
class Conv2d(Function):
    """Fused conv2d: x (N, C, H, W), W (OC, C, KH, KW), b (OC,) -> y (N, OC, OH, OW)."""

    col = Wk = None

    def __init__(self, geometry):
        self.g = geometry

    def __call__(self, x, W, b=None):
        # Keep im2col(x) for the weight gradient, and the weight matrix for the input
        # gradient, only when those gradients will be asked for.
        recording = is_grad_enabled()
        self.keep_col = recording and W.requires_grad
        self.keep_Wk = recording and x.requires_grad
        return super().__call__(x, W) if b is None else super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        xp, g = self.xp, self.g
        x4 = _batched(xp, x)
        self.cl = cl = prefers_channels_last(x4.shape[1], W.shape[0], x4.shape[0], g)
        Wk = weight_matrix(xp, W, cl)
        col = im2col(xp, x4, g, cl)
        y = gemm_conv(xp, Wk, col, cl)  # (OC, N*OH*OW)
        if b is not None:
            y += xp.reshape(b, (-1, 1))
        if self.keep_col:
            self.col = col
        if self.keep_Wk:
            self.Wk = Wk
        return _unbatched(xp, from_rows(xp, y, x4.shape[0], g.OH, g.OW), x.ndim)

    def backward_arrays(self, gy):
        xp, g, cl = self.xp, self.g, self.cl
        x, W = self.inputs[0].data, self.inputs[1].data
        need = self.needs_input_grad
        x4 = _batched(xp, x)
        N, C = x4.shape[:2]
        rows = to_rows(xp, _batched(xp, gy))  # (OC, N*OH*OW)
        gx = gW = gb = None
        if need[0]:  # a conv_transpose2d forward of gy
            Wk = self.Wk if self.Wk is not None else weight_matrix(xp, W, cl)
            gx = _unbatched(xp, col2im(xp, gemm_columns(xp, Wk, rows, cl), g, N, C, cl), x.ndim)
        if need[1]:
            col = self.col if self.col is not None else im2col(xp, x4, g, cl)
            gW = weight_from_matrix(xp, gemm_weight_grad(xp, rows, col, cl), W.shape, cl)
        if len(need) > 2 and need[2]:
            gb = xp.sum(rows, axis=1)
        return gx, gW, gb

    def composite(self, F, x, W, b=None):
        """The same convolution in primitives (pad, slices, stack, matmul) for double backward."""
        g = self.g
        x4 = F.reshape(x, (1,) + x.shape) if x.ndim == 3 else x
        N, C = x4.shape[:2]
        OC = W.shape[0]
        if g.padded:
            x4 = F.pad(x4, (g.PL, g.PR, g.PT, g.PB))
        taps = [x4[:, :, g.rows(i), g.cols(j)] for i in range(g.KH) for j in range(g.KW)]
        col = F.reshape(F.stack(taps, dim=2), (N, C * g.KH * g.KW, g.OH * g.OW))
        y = F.matmul(F.reshape(W, (OC, C * g.KH * g.KW)), col)  # (N, OC, L)
        y = F.reshape(y, (N, OC, g.OH, g.OW))
        if b is not None:
            y = y + F.reshape(b, (OC, 1, 1))
        return F.reshape(y, y.shape[1:]) if x.ndim == 3 else y


# ----------------------------------------------------------------------------- conv_transpose2d
class ConvTranspose2d(Function):
    """Fused conv_transpose2d: x (N, C, H, W), W (C, OC, KH, KW), b (OC,) -> y (N, OC, OH, OW).

    The adjoint of conv2d with the same weight: in :class:`ConvGeometry` terms x is the small
    side and y the big one.
    """

    Wk = None

    def __init__(self, geometry):
        self.g = geometry

    def __call__(self, x, W, b=None):
        self.keep_Wk = is_grad_enabled() and x.requires_grad
        return super().__call__(x, W) if b is None else super().__call__(x, W, b)

    def forward(self, x, W, b=None):
        xp, g = self.xp, self.g
        x4 = _batched(xp, x)
        OC = W.shape[1]
        self.cl = cl = prefers_channels_last(OC, W.shape[0], x4.shape[0], g)
        Wk = weight_matrix(xp, W, cl)  # (C, OC*KH*KW) or (C, KH*KW*OC)
        y = col2im(xp, gemm_columns(xp, Wk, to_rows(xp, x4), cl), g, x4.shape[0], OC, cl)
        if b is not None:
            y += xp.reshape(b, (OC, 1, 1))
        if self.keep_Wk:
            self.Wk = Wk
        return _unbatched(xp, y, x.ndim)

    def backward_arrays(self, gy):
        xp, g, cl = self.xp, self.g, self.cl
        x, W = self.inputs[0].data, self.inputs[1].data
        need = self.needs_input_grad
        x4 = _batched(xp, x)
        gy4 = _batched(xp, gy)
        col = im2col(xp, gy4, g, cl)  # shared by both products
        gx = gW = gb = None
        if need[0]:  # a conv2d forward of gy
            Wk = self.Wk if self.Wk is not None else weight_matrix(xp, W, cl)
            gx = _unbatched(xp, from_rows(xp, gemm_conv(xp, Wk, col, cl), x4.shape[0], g.OH, g.OW), x.ndim)
        if need[1]:
            gW = weight_from_matrix(xp, gemm_weight_grad(xp, to_rows(xp, x4), col, cl), W.shape, cl)
        if len(need) > 2 and need[2]:
            gb = xp.sum(gy4, axis=(0, 2, 3))
        return gx, gW, gb

    def composite(self, F, x, W, b=None):
        """Primitives for double backward: columns ``W^T @ x``, spread by the stride (zeros
        interleaved by pad + reshape), each kernel offset padded into place, summed (col2im)."""
        g = self.g
        x4 = F.reshape(x, (1,) + x.shape) if x.ndim == 3 else x
        N, C, H, Wd = x4.shape
        OC, KK = W.shape[1], g.KH * g.KW
        col = F.matmul(F.transpose(F.reshape(W, (C, OC * KK)), 0, 1), F.reshape(x4, (N, C, H * Wd)))
        col = F.reshape(col, (N, OC * KK, H, Wd))
        HS, WS = g.SH * (H - 1) + 1, g.SW * (Wd - 1) + 1  # rows and columns one tap covers
        if g.SH > 1 or g.SW > 1:
            col = F.reshape(col, (N, OC * KK, H, 1, Wd, 1))
            col = F.pad(col, (0, g.SW - 1, 0, 0, 0, g.SH - 1))
            col = F.reshape(col, (N, OC * KK, H * g.SH, Wd * g.SW))[:, :, :HS, :WS]
        col = F.reshape(col, (N, OC, g.KH, g.KW, HS, WS))
        y = None
        for i in range(g.KH):
            for j in range(g.KW):
                top, left = i * g.DH, j * g.DW
                tap = F.pad(col[:, :, i, j], (left, g.WP - left - WS, top, g.HP - top - HS))
                y = tap if y is None else y + tap
        y = y[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W]
        if b is not None:
            y = y + F.reshape(b, (OC, 1, 1))
        return F.reshape(y, y.shape[1:]) if x.ndim == 3 else y


# ----------------------------------------------------------------------------- the public functions
def _layer_name(layer, op):
    return repr(layer) if layer is not None else op


def _check_operands(input, weight, bias, op, layer, in_channels_dim):
    """Dims, channels, dtypes; errors name the layer (or the function) and the shapes."""
    who = _layer_name(layer, op)
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{who}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, "
                           f"got input of shape {input.shape}")
    if weight.ndim != 4:
        raise RuntimeError(f"{who}: expected a 4-D weight, got weight of shape {weight.shape}")
    channels = weight.shape[in_channels_dim]
    if input.shape[-3] != channels:
        raise RuntimeError(
            f"{who}: expected input with {channels} channels, (N, {channels}, H, W) or "
            f"({channels}, H, W), to match the weight of shape {weight.shape}, but got input "
            f"of shape {input.shape}")
    out_channels = weight.shape[1 - in_channels_dim]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise RuntimeError(f"{who}: expected a bias of shape ({out_channels},) for the weight of "
                           f"shape {weight.shape}, got {bias.shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise RuntimeError(f"{who}: input is {input.dtype.name} but the {name} is {t.dtype.name}")


def _check_groups(groups, who):
    if groups != 1:
        raise NotImplementedError(
            f"{who}: groups={groups} is not supported; minigan implements groups=1 only "
            "(the book's convolutions are all ungrouped)")


def _conv_padding(padding, kernel, stride, dilation, who):
    """PyTorch's padding forms -> (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{who}: padding='same' is not supported for strided convolutions")
            th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"{who}: invalid padding string {padding!r}, should be one of "
                         "{'valid', 'same'}")
    ph, pw = _pair(padding, "padding", who)
    if ph < 0 or pw < 0:
        raise ValueError(f"{who}: padding must be non-negative, got {padding!r}")
    return (ph, ph, pw, pw)


def _positive_pair(value, name, who):
    pair = _pair(value, name, who)
    if pair[0] <= 0 or pair[1] <= 0:
        raise ValueError(f"{who}: {name} must be positive, got {value!r}")
    return pair


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, _layer=None):
    """``F.conv2d``: 2-D cross-correlation, as PyTorch's.

    input (N, C, H, W) or (C, H, W); weight (OC, C, KH, KW); bias (OC,) or None.
    ``padding`` is an int, a pair, ``"valid"`` (0) or ``"same"`` (stride 1 only).
    Output (N, OC, OH, OW) with ``OH = (H + 2*PH - DH*(KH-1) - 1) // SH + 1``.
    """
    who = _layer_name(_layer, "conv2d")
    _check_groups(groups, who)
    _check_operands(input, weight, bias, "conv2d", _layer, 1)
    kernel = tuple(weight.shape[2:])
    stride = _positive_pair(stride, "stride", who)
    dilation = _positive_pair(dilation, "dilation", who)
    pads = _conv_padding(padding, kernel, stride, dilation, who)
    H, W = input.shape[-2:]
    g = conv2d_geometry(H, W, kernel, stride, dilation, pads)
    if g is None:
        span = f"{kernel[0]} x {kernel[1]}"
        if dilation != (1, 1):
            span += f" (dilated to {dilation[0] * (kernel[0] - 1) + 1} x {dilation[1] * (kernel[1] - 1) + 1})"
        raise RuntimeError(
            f"{who}: input of shape {input.shape} is too small: padded to "
            f"{H + pads[0] + pads[1]} x {W + pads[2] + pads[3]}, it is smaller than the kernel {span}")
    fn = Conv2d(g)
    return fn(input, weight) if bias is None else fn(input, weight, bias)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, _layer=None):
    """``F.conv_transpose2d``: the adjoint (gradient) of conv2d, as PyTorch's.

    input (N, C, H, W) or (C, H, W); weight (C, OC, KH, KW); bias (OC,) or None.
    Output (N, OC, OH, OW) with ``OH = (H-1)*SH - 2*PH + DH*(KH-1) + OPH + 1``, where
    ``output_padding`` OPH (< SH or < DH) adds rows at the bottom/right that stride cut off.
    """
    who = _layer_name(_layer, "conv_transpose2d")
    _check_groups(groups, who)
    _check_operands(input, weight, bias, "conv_transpose2d", _layer, 0)
    if isinstance(padding, str):
        raise ValueError(f"{who}: padding must be an int or a pair of ints, got {padding!r}")
    kernel = tuple(weight.shape[2:])
    stride = _positive_pair(stride, "stride", who)
    dilation = _positive_pair(dilation, "dilation", who)
    padding = _pair(padding, "padding", who)
    output_padding = _pair(output_padding, "output_padding", who)
    if min(padding) < 0 or min(output_padding) < 0:
        raise ValueError(f"{who}: padding and output_padding must be non-negative, got "
                         f"{padding} and {output_padding}")
    for k in (0, 1):
        if output_padding[k] >= stride[k] and output_padding[k] >= dilation[k]:
            raise ValueError(f"{who}: output padding must be smaller than either stride or "
                             f"dilation, got output_padding={output_padding}, stride={stride}, "
                             f"dilation={dilation}")
    H, W = input.shape[-2:]
    g = conv_transpose2d_geometry(H, W, kernel, stride, dilation, padding, output_padding)
    if g is None:
        raise RuntimeError(f"{who}: input of shape {input.shape} gives an empty output with "
                           f"kernel {kernel}, stride {stride}, padding {padding}, dilation "
                           f"{dilation}, output_padding {output_padding}")
    fn = ConvTranspose2d(g)
    return fn(input, weight) if bias is None else fn(input, weight, bias)
