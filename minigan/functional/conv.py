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
  array-api-strict (DESIGN.md, "Engine decisions"). (For small images, the gather plan
  below does the same copies with one array-API ``take``.)
* **one GEMM**: ``Y = W @ col`` with ``W`` as an (OC, C*KH*KW) matrix (a view of the
  weight) and ``col`` as (C*KH*KW, N*OH*OW), ``col[(c, i, j), (n, oh, ow)]``, so for the
  book's batch of one the product *is* the (OC, OH, OW) output. Every product here is a
  plain 2-D GEMM (``xp.matmul2d``, NumPy's ``dot``), never a batched one, and transposed
  operands are views that BLAS reads in place.
* **col2im** is the adjoint of im2col: the same loop, with ``+=`` into a zero image.

Three products give everything, forward and backward::

    conv2d            forward     Y  = W @ im2col(x)              (im2col(x) kept for grad W)
                      grad x      gx = col2im(W^T @ gY)           (a conv_transpose2d forward)
                      grad W      gW = gY @ im2col(x)^T
    conv_transpose2d  forward     Y  = col2im(W^T @ x)
                      grad x      gx = W @ im2col(gY)             (a conv2d forward)
                      grad W      gW = x @ im2col(gY)^T           (the same weight-gradient routine)

Both are described by one :class:`ConvGeometry`: a conv2d maps the "big" image (H, W) to
the "small" one (OH, OW); a transposed convolution maps the small one back to the big one.
A *plan* holds the three products; conv2d runs it forwards, conv_transpose2d backwards.

The second plan: the offset loop on the small side
--------------------------------------------------
im2col copies C*KH*KW numbers per output pixel, whatever OC is. When the small side has
few channels (the book's 256 -> 3 Conv2d and 3 -> 256 ConvTranspose2d), the ``taps`` plan
does the loop there instead: one GEMM turns the big image's C channels into OC*KH*KW
planes, ``T = W' @ x``, and output (oh, ow) sums plane (i, j) at the pixel that offset
reads, with the same slices as im2col (its adjoint assigns into zero planes). That copies
OC*KH*KW numbers per big-image pixel, for SH*SW times the multiply-adds; for those two
layers it is 3-4x faster than im2col.

Two more plans: the sub-pixel split (issue #11)
-----------------------------------------------
A stride-S layer whose kernel is S*R wide is a stride-1 layer with an R x R kernel over the
S*S phases of the image (``x[:, :, p::S, q::S]`` as extra channels). ``subpixel-taps`` runs
the taps plan on that phase image (S*S times fewer planes and products: the book's 256 -> 3
and 3 -> 256 layers), and ``winograd`` (:mod:`minigan.functional.conv_winograd`) runs
Winograd's F(m x m, R x R) on it, with the block m chosen per layer (F(3x3, 4x4) for the
256 -> 256 layers, whose time is all GEMM: 4x fewer multiplications). :func:`choose_plan`
picks a plan per call, from measurements at the book's shapes; the columns plan stays the
readable reference the others are tested against (tests/test_conv_fast_path.py).
:func:`plan_costs` says what each one computes and moves.

The fifth plan: small images (issue #11)
----------------------------------------
At batch 1 on MNIST's 28 x 28 (the CNN of section 3.1), im2col's KH*KW slice copies move a
few hundred numbers each, and the loop's Python costs more than the copying. ``gather`` is
the columns plan with im2col as one ``take`` through an index made once per shape, and
col2im as one ``take`` of each image number's column entries and a sum
(:class:`GatherPlan`): the same numbers, bit for bit, in a few calls instead of KH*KW.
``take`` is an array-API function, so it runs on every backend, as the slices do.
"""
from __future__ import annotations

import copy
import functools
import weakref

import numpy as np  # host-side only: the gather plan's indices are made on the host

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from . import conv_winograd as winograd
from .work_arrays import work_arrays  # the pool of big arrays


# ----------------------------------------------------------------------------- geometry
def _pair(value, name, op):
    """``3`` -> ``(3, 3)``; ``(3, 2)`` stays; anything else is refused by name."""
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        return value  # the common case (layers store pairs), checked first
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
                 "H", "W", "OH", "OW", "HP", "WP", "padded", "rows", "cols")

    def __init__(self, kernel, stride, dilation, pads, big, small):
        self.KH, self.KW = kernel
        self.SH, self.SW = stride
        self.DH, self.DW = dilation
        self.PT, self.PB, self.PL, self.PR = pads
        self.H, self.W = big
        self.OH, self.OW = small
        self.HP, self.WP = self.H + self.PT + self.PB, self.W + self.PL + self.PR
        self.padded = any(pads)
        # rows[i]: the padded rows that kernel row i sees, one per output row; cols[j] likewise
        self.rows = tuple(slice(i * self.DH, i * self.DH + self.SH * (self.OH - 1) + 1, self.SH)
                          for i in range(self.KH))
        self.cols = tuple(slice(j * self.DW, j * self.DW + self.SW * (self.OW - 1) + 1, self.SW)
                          for j in range(self.KW))


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


# ----------------------------------------------------------------------------- layouts
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


def pad_image(xp, x, g):
    """Zero-pad (N, C, H, W) to (N, C, HP, WP), once, before the offset loop."""
    if not g.padded:
        return x
    N, C = x.shape[:2]
    out = xp.zeros((N, C, g.HP, g.WP), dtype=x.dtype)
    out[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W] = x
    return out


def crop_image(xp, x, g):
    """The inverse of :func:`pad_image` (a view)."""
    return x[:, :, g.PT:g.PT + g.H, g.PL:g.PL + g.W] if g.padded else x


# ----------------------------------------------------------------------------- im2col / col2im
def im2col(xp, x, g):
    """(N, C, H, W) image -> (C*KH*KW, N*OH*OW) columns, ``col[(c, i, j), (n, oh, ow)]``:
    one strided slice copy per kernel offset. The columns are lent by :data:`work_arrays`."""
    N, C = x.shape[:2]
    x = xp.permute_dims(pad_image(xp, x, g), (1, 0, 2, 3))  # (C, N, HP, WP), a view
    col = work_arrays.take(xp, (C, g.KH, g.KW, N, g.OH, g.OW), x.dtype)
    for i in range(g.KH):
        rows = g.rows[i]
        for j in range(g.KW):
            col[:, i, j, :, :, :] = x[:, :, rows, g.cols[j]]
    return xp.reshape(col, (C * g.KH * g.KW, N * g.OH * g.OW))


def col2im(xp, col, g, N, C):
    """(C*KH*KW, N*OH*OW) columns -> (N, C, H, W) image: the adjoint of :func:`im2col`, the
    same loop with ``+=`` into a zero image (overlapping receptive fields add up)."""
    col = xp.reshape(col, (C, g.KH, g.KW, N, g.OH, g.OW))
    img = xp.zeros((C, N, g.HP, g.WP), dtype=col.dtype)
    for i in range(g.KH):
        rows = g.rows[i]
        for j in range(g.KW):
            img[:, :, rows, g.cols[j]] += col[:, i, j, :, :, :]
    return crop_image(xp, xp.permute_dims(img, (1, 0, 2, 3)), g)  # (N, C, H, W), a view


def _phased(g):
    """Whether the tap loops can go by stride phase: kernel offsets i = SH*a + p (a < KH/SH)
    read row SH*(oh + a) + p, so the SH*SW offsets of one phase (p, q) share their rows."""
    return (g.DH == 1 and g.DW == 1 and g.SH * g.SW > 1
            and g.KH % g.SH == 0 and g.KW % g.SW == 0)


def _phase_slices(g, p, q):
    """Rows p, p+SH, ... and columns q, q+SW, ... of the planes that phase (p, q) reads:
    OH + KH/SH - 1 rows and OW + KW/SW - 1 columns."""
    R, Q = g.KH // g.SH, g.KW // g.SW
    rows = slice(p, p + g.SH * (g.OH + R - 2) + 1, g.SH)
    cols = slice(q, q + g.SW * (g.OW + Q - 2) + 1, g.SW)
    return rows, cols


def gather_taps(xp, T, g, N):
    """(OC*KH*KW, N*HP*WP) tap planes -> (OC, N*OH*OW): output (oh, ow) sums, over the
    offsets (i, j), plane (i, j) at pixel (oh*SH + i*DH, ow*SW + j*DW). The same slices as
    im2col, read from the planes of the few small-side channels.

    For a strided kernel that is a whole number of strides (the book's 8x8 / stride 2) the
    loop goes by phase instead: offset (SH*a + p, SW*b + q) reads pixel (SH*(oh + a) + p,
    SW*(ow + b) + q), so the planes of one phase (p, q) are first read at that phase's pixels
    and summed over the SH*SW phases, and then KH/SH * KW/SW shifted windows are added: 20
    slice operations for the book's layers instead of 64 (the loop's Python was most of
    these small layers' time)."""
    OC = T.shape[0] // (g.KH * g.KW)
    if _phased(g):
        R, Q, S, U = g.KH // g.SH, g.KW // g.SW, g.SH, g.SW
        T = xp.reshape(T, (OC, R, S, Q, U, N, g.HP, g.WP))
        D = None
        for p in range(S):
            for q in range(U):
                rows, cols = _phase_slices(g, p, q)
                part = T[:, :, p, :, q, :, rows, cols]  # (OC, R, Q, N, OH + R - 1, OW + Q - 1)
                D = part if D is None else D + part
        y = xp.zeros((OC, N, g.OH, g.OW), dtype=T.dtype)
        for a in range(R):
            for b in range(Q):
                y += D[:, a, b, :, a:a + g.OH, b:b + g.OW]
        return xp.reshape(y, (OC, N * g.OH * g.OW))
    T = xp.reshape(T, (OC, g.KH, g.KW, N, g.HP, g.WP))
    y = xp.zeros((OC, N, g.OH, g.OW), dtype=T.dtype)
    for i in range(g.KH):
        rows = g.rows[i]
        for j in range(g.KW):
            y += T[:, i, j, :, rows, g.cols[j]]
    return xp.reshape(y, (OC, N * g.OH * g.OW))


def spread_taps(xp, rows, g, N):
    """(OC, N*OH*OW) -> (OC*KH*KW, N*HP*WP): the adjoint of :func:`gather_taps`, each
    offset's plane is zero but at the pixels that offset reads (slice assignment)."""
    OC = rows.shape[0]
    small = xp.reshape(rows, (OC, N, g.OH, g.OW))
    if _phased(g):  # the adjoint of gather_taps' phase loop: windows placed, then phases
        R, Q, S, U = g.KH // g.SH, g.KW // g.SW, g.SH, g.SW
        D = xp.zeros((OC, R, Q, N, g.OH + R - 1, g.OW + Q - 1), dtype=rows.dtype)
        for a in range(R):
            for b in range(Q):
                D[:, a, b, :, a:a + g.OH, b:b + g.OW] = small
        T = xp.zeros((OC, R, S, Q, U, N, g.HP, g.WP), dtype=rows.dtype)
        for p in range(S):
            for q in range(U):
                r, c = _phase_slices(g, p, q)
                T[:, :, p, :, q, :, r, c] = D
        return xp.reshape(T, (OC * g.KH * g.KW, N * g.HP * g.WP))
    T = xp.zeros((OC, g.KH, g.KW, N, g.HP, g.WP), dtype=rows.dtype)
    for i in range(g.KH):
        r = g.rows[i]
        for j in range(g.KW):
            T[:, i, j, :, r, g.cols[j]] = small
    return xp.reshape(T, (OC * g.KH * g.KW, N * g.HP * g.WP))


# ----------------------------------------------------------------------------- the two plans
# A convolution's three products, in conv2d terms (big image -> small image, weight
# (OC, C, KH, KW)); conv_transpose2d runs the same plan the other way round:
#
#   conv(big)              the convolution: big image -> small image
#   conv_transpose(small)  its adjoint: small image -> big image
#   weight_grad(small, big)
#
# ``prepare_big`` / ``prepare_small`` turn an image into what those products read, so that a
# Function can compute it once and share it (or keep it from forward for backward), and
# ``release`` gives it back (to the pool of work arrays) when nothing reads it any more.
class ColumnsPlan:
    """im2col on the big image: the offset loop copies C*KH*KW*N*OH*OW numbers. The plan
    for most layers."""

    name = "columns"

    def __init__(self, xp, g, W):
        self.xp, self.g, self.shape = xp, g, tuple(W.shape)
        self.Wk = xp.reshape(W, (W.shape[0], -1))  # (OC, C*KH*KW), a view

    def prepare_big(self, big):
        return im2col(self.xp, big, self.g)

    def prepare_small(self, small):
        return to_rows(self.xp, small)

    def release(self, col):
        work_arrays.give_back(self.xp, col)

    def conv(self, col, N):
        """Y = W @ col."""
        xp, g = self.xp, self.g
        return from_rows(xp, xp.matmul2d(self.Wk, col), N, g.OH, g.OW)

    def conv_transpose(self, rows, N):
        """col2im(W^T @ rows); the (big) product lives only until col2im has added it up."""
        xp = self.xp
        WkT = xp.permute_dims(self.Wk, (1, 0))  # a view: BLAS reads it transposed in place
        shape = (WkT.shape[0], rows.shape[1])
        if work_arrays.pooled(xp, shape):  # NumPy: the product straight into a lent array
            col = xp.dot(WkT, rows, out=work_arrays.take(xp, shape, rows.dtype))
        else:
            col = xp.matmul2d(WkT, rows)
        big = col2im(xp, col, self.g, N, self.shape[1])
        work_arrays.give_back(xp, col)
        return big

    def weight_grad(self, rows, col):
        """gW = rows @ col^T: the one weight-gradient routine of both Functions."""
        xp = self.xp
        return xp.reshape(xp.matmul2d(rows, xp.permute_dims(col, (1, 0))), self.shape)

    def costs(self, N, itemsize):
        """Work of one forward + backward (all three products): :func:`plan_costs`."""
        g, (OC, C, KH, KW) = self.g, self.shape
        col = C * KH * KW * N * g.OH * g.OW  # numbers in the column matrix
        image = C * N * g.HP * g.WP
        return {"gemm_flop": 3 * 2 * OC * col, "transform_flop": 0,
                # im2col copies (read + write), col2im adds (read both, write) into zeros
                "loop_bytes": itemsize * (2 * col + 3 * col + image)}


class GatherPlan(ColumnsPlan):
    """The columns plan for small images: im2col as one gather, col2im as one gather and a
    sum, instead of the offset loop's KH*KW slice copies.

    At batch 1 on the book's MNIST CNN the loop's Python is the cost, not its copying:
    im2col of ``Conv2d(1, 10, 5, stride=2)`` on 28 x 28 is 25 slice copies of 144 numbers,
    29 us, where one ``take`` of the same 3,600 numbers is 5 us; the input gradient of
    ``Conv2d(10, 10, 3, stride=2)`` (its product and col2im) 40 us against 16 (Zen 3). Both
    gathers read a flat index made once per shape (:func:`gather_index`). ``take`` is an
    array-API function, so this runs on every backend; a scatter (``np.add.at``) would not,
    hence the adjoint's own index.
    """

    name = "gather"

    def prepare_big(self, big):
        xp, g = self.xp, self.g
        N, C = big.shape[:2]
        index = gather_index(xp, g, C, N)
        flat = xp.reshape(big, (-1,))
        if g.padded:  # padding reads the one zero appended to the image
            flat = xp.concat([flat, xp.zeros((1,), dtype=flat.dtype)])
        col = xp.take(flat, index.columns, axis=0)
        return xp.reshape(col, (C * g.KH * g.KW, N * g.OH * g.OW))

    def release(self, col):
        pass  # nothing lent: the columns are small

    def conv_transpose(self, rows, N):
        """col2im(W^T @ rows): every image number sums the column entries that read it."""
        xp, g, C = self.xp, self.g, self.shape[1]
        index = gather_index(xp, g, C, N)
        col = xp.matmul2d(xp.permute_dims(self.Wk, (1, 0)), rows)
        flat = xp.concat([xp.reshape(col, (-1,)), xp.zeros((1,), dtype=col.dtype)])
        # (reads, pixels): summed over the first axis, one vectorised add per read (a sum
        # over a short last axis would pay per pixel) in the offset loop's order
        reads = xp.reshape(xp.take(flat, index.image, axis=0), (index.reads, N * C * g.H * g.W))
        return xp.reshape(xp.sum(reads, axis=0), (N, C, g.H, g.W))

    def costs(self, N, itemsize):
        """Work of one forward + backward (all three products): :func:`plan_costs`."""
        g, (OC, C, KH, KW) = self.g, self.shape
        col = C * KH * KW * N * g.OH * g.OW
        image = C * N * g.H * g.W
        index = gather_index(self.xp, g, C, N)
        # the gather copies (read + write) and reads its index; the adjoint gathers `reads`
        # numbers per image number (and their index), then sums them
        return {"gemm_flop": 3 * 2 * OC * col, "transform_flop": 0,
                "loop_bytes": itemsize * 2 * col + 8 * col
                + (itemsize * 2 + 8) * image * index.reads + itemsize * image}


class GatherIndex:
    """Where :class:`GatherPlan`'s gathers read, for one geometry, channel count and batch.

    ``columns``: column entry k (im2col's order, ``col[(c, i, j), (n, oh, ow)]`` flattened)
    is number ``columns[k]`` of the flat (N, C, H, W) image, or the zero appended after it
    where the kernel reads padding. ``image``, (reads, N*C*H*W) flattened: row r holds, for
    every image number, the r-th column entry that reads it, in the offset loop's order (so
    the sums add in its order), or the position of a zero appended after the columns where
    fewer than ``reads`` entries read it.
    """

    def __init__(self, g, C, N):
        c, i, j, n, oh, ow = np.ogrid[:C, :g.KH, :g.KW, :N, :g.OH, :g.OW]
        r = oh * g.SH + i * g.DH - g.PT  # the image row and column that entry reads
        s = ow * g.SW + j * g.DW - g.PL
        inside = (r >= 0) & (r < g.H) & (s >= 0) & (s < g.W)
        pixels = N * C * g.H * g.W
        columns = np.where(inside, ((n * C + c) * g.H + r) * g.W + s, pixels).reshape(-1)
        # the adjoint: column entries grouped by the pixel they read (a stable sort keeps
        # each pixel's entries in the loop's (i, j) order), padded to the most-read pixel's count
        order = np.argsort(columns, kind="stable")
        counts = np.bincount(columns, minlength=pixels + 1)[:pixels]
        self.reads = max(1, int(counts.max(initial=0)))  # (an empty batch has no pixels)
        image = np.full((pixels, self.reads), columns.size)  # the appended zero
        first = np.cumsum(counts) - counts
        read = order[:counts.sum()]  # the entries that read a pixel (padding reads sort last)
        pixel = columns[read]
        image[pixel, np.arange(read.size) - first[pixel]] = read
        self.columns, self.image = columns, image.T.reshape(-1)  # NumPy arrays: see on()

    def on(self, xp):
        """The same index with its arrays on ``xp``'s device."""
        index = copy.copy(self)
        index.columns, index.image = xp.from_numpy(self.columns), xp.from_numpy(self.image)
        return index


# A few shapes at a time (a model's layers, a last smaller batch); an index is at most a few
# MB (4,096 numbers per offset, times the offsets, in int64), so 16 of them stay small.
@functools.lru_cache(maxsize=16)
def _gather_index_host(g, C, N):
    return GatherIndex(g, C, N)


@functools.lru_cache(maxsize=16)
def gather_index(xp, g, C, N):
    """The :class:`GatherIndex` of one shape, its arrays on ``xp``'s device (made once)."""
    return _gather_index_host(g, C, N).on(xp)


class TapsPlan:
    """The offset loop on the small image instead, for layers whose small side has few
    channels (the book's 256 -> 3 Conv2d and 3 -> 256 ConvTranspose2d): one product maps the
    big image's C channels to OC*KH*KW planes, ``T = Wt @ big``, and the loop gathers them
    (:func:`gather_taps`) or spreads into them (:func:`spread_taps`). It copies
    OC*KH*KW*N*HP*WP numbers instead of C*KH*KW*N*OH*OW, for SH*SW times the products."""

    name = "taps"

    def __init__(self, xp, g, W):
        OC, C, KH, KW = self.shape = tuple(W.shape)
        self.xp, self.g = xp, g
        self.Wt = xp.reshape(xp.permute_dims(W, (0, 2, 3, 1)), (OC * KH * KW, C))  # a (small) copy

    @classmethod
    def from_rows(cls, xp, g, Wt, shape):
        """The plan for a weight of ``shape`` (OC, C, KH, KW) given already as its
        (OC*KH*KW, C) rows ``Wt`` (the sub-pixel plan makes them in one copy of its own)."""
        plan = cls.__new__(cls)
        plan.xp, plan.g, plan.shape, plan.Wt = xp, g, tuple(shape), Wt
        return plan

    def prepare_big(self, big):
        return to_rows(self.xp, pad_image(self.xp, big, self.g))  # (C, N*HP*WP)

    def prepare_small(self, small):
        return spread_taps(self.xp, to_rows(self.xp, small), self.g, small.shape[0])

    def release(self, prepared):
        pass  # nothing lent: the tap planes are small

    def conv(self, big_rows, N):
        xp, g = self.xp, self.g
        return from_rows(xp, gather_taps(xp, xp.matmul2d(self.Wt, big_rows), g, N), N, g.OH, g.OW)

    def conv_transpose(self, T, N):
        xp, g = self.xp, self.g
        big = xp.matmul2d(xp.permute_dims(self.Wt, (1, 0)), T)  # (C, N*HP*WP)
        return crop_image(xp, from_rows(xp, big, N, g.HP, g.WP), g)

    def weight_grad(self, T, big_rows):
        xp = self.xp
        OC, C, KH, KW = self.shape
        gWt = xp.matmul2d(T, xp.permute_dims(big_rows, (1, 0)))  # (OC*KH*KW, C)
        return contiguous(xp, xp.permute_dims(xp.reshape(gWt, (OC, KH, KW, C)), (0, 3, 1, 2)))

    def costs(self, N, itemsize):
        """Work of one forward + backward (all three products): :func:`plan_costs`."""
        g, (OC, C, KH, KW) = self.g, self.shape
        planes = OC * KH * KW * N * g.HP * g.WP  # numbers in the tap planes
        taps = OC * KH * KW * N * g.OH * g.OW  # numbers the loops move
        return {"gemm_flop": 3 * 2 * C * planes, "transform_flop": 0,
                # gather adds (read both, write); spread zero-fills the planes and copies
                "loop_bytes": itemsize * (3 * taps + planes + 2 * taps)}


class SubPixelTapsPlan:
    """The taps plan after a sub-pixel split, for strided layers whose kernel is a whole
    number of strides (the book's 256 -> 3 Conv2d and 3 -> 256 ConvTranspose2d, k8 s2).

    A stride-S convolution with a K = S*R kernel is a stride-1 convolution with an R x R
    kernel over the S*T phases of the image, ``x[:, :, p::S, q::T]`` stacked as channels
    (``functional/conv_winograd.py`` explains the split). Taps then makes OC*R*R planes of
    the phase image instead of OC*K*K planes of the whole image: S*T times fewer planes and
    S*T times fewer multiply-adds (for the book's layers 4x), the same loop on a smaller grid.

    The split and its inverse are S*T strided slice copies, one per phase: a phase's pixels
    are every S-th row and T-th column of the image, so each copy is one slice assignment.
    (Written as one reshape-and-transpose of a 6-D array instead, the inverse copied with a
    stride on its innermost axis and took four times as long: 0.25 vs 0.07 ms for D3.)
    """

    name = "subpixel-taps"

    def __init__(self, xp, g, W):
        OC, C, KH, KW = self.shape = tuple(W.shape)
        S, T = g.SH, g.SW
        RH, RW = KH // S, KW // T
        self.xp, self.g = xp, g
        self.PH, self.PW = -(-g.HP // S), -(-g.WP // T)  # the phase images' size
        self.inner_g = conv2d_geometry(self.PH, self.PW, (RH, RW), (1, 1), (1, 1), (0, 0, 0, 0))
        # the inner taps plan's rows Wt[(oc, a, b), (p, q, c)] = W[oc, c, S*a + p, T*b + q]:
        # one (small) copy, straight from PyTorch's (OC, C, KH, KW) order
        Wt = xp.permute_dims(xp.reshape(W, (OC, C, RH, S, RW, T)), (0, 2, 4, 3, 5, 1))
        Wt = xp.reshape(Wt, (OC * RH * RW, S * T * C))
        self.inner = TapsPlan.from_rows(xp, self.inner_g, Wt, (OC, S * T * C, RH, RW))
        self.split = [(p, q, *self._phase_in_image(p, g.PT, g.H, S), *self._phase_in_image(q, g.PL, g.W, T))
                      for p in range(S) for q in range(T)]

    @staticmethod
    def _phase_in_image(p, pad, size, stride):
        """Phase p's row i is padded row stride*i + p, image row stride*i + p - pad: the
        slice of the phase's rows that lie in the image, and the image rows they are."""
        first = max(0, -(-(pad - p) // stride))  # the first phase row inside the image
        start = stride * first + p - pad
        count = max(0, -(-(size - start) // stride))
        return slice(first, first + count), slice(start, size, stride)

    def phases(self, big):
        """(N, C, H, W) -> (N, S*T*C, PH, PW): the padded image's phases, one slice copy each
        (the phase pixels that fall in the padding stay zero)."""
        xp, g = self.xp, self.g
        N, C = big.shape[:2]
        ph = xp.zeros((N, g.SH, g.SW, C, self.PH, self.PW), dtype=big.dtype)
        for p, q, ph_rows, rows, ph_cols, cols in self.split:
            ph[:, p, q, :, ph_rows, ph_cols] = big[:, :, rows, cols]
        return xp.reshape(ph, (N, g.SH * g.SW * C, self.PH, self.PW))

    def unphases(self, ph):
        """The adjoint of :meth:`phases`: (N, S*T*C, PH, PW) -> (N, C, H, W). Every image
        pixel lies in exactly one phase, so each is copied once into an empty image."""
        xp, g = self.xp, self.g
        N, C = ph.shape[0], self.shape[1]
        ph = xp.reshape(ph, (N, g.SH, g.SW, C, self.PH, self.PW))
        img = xp.empty((N, C, g.H, g.W), dtype=ph.dtype)
        for p, q, ph_rows, rows, ph_cols, cols in self.split:
            img[:, :, rows, cols] = ph[:, p, q, :, ph_rows, ph_cols]
        return img

    def prepare_big(self, big):
        return self.inner.prepare_big(self.phases(big))

    def prepare_small(self, small):
        """The inner convolution's output may be a row or column longer than ours (the phase
        images are rounded up): that part is zero on the way back."""
        xp, g, ig = self.xp, self.g, self.inner_g
        if (ig.OH, ig.OW) != (g.OH, g.OW):
            N, OC = small.shape[:2]
            padded = xp.zeros((N, OC, ig.OH, ig.OW), dtype=small.dtype)
            padded[:, :, :g.OH, :g.OW] = small
            small = padded
        return self.inner.prepare_small(small)

    def release(self, prepared):
        pass

    def conv(self, big_rows, N):
        return self.inner.conv(big_rows, N)[:, :, :self.g.OH, :self.g.OW]

    def conv_transpose(self, T, N):
        return self.unphases(self.inner.conv_transpose(T, N))

    def weight_grad(self, T, big_rows):
        """gW[oc, c, S*a + p, T*b + q] from the product of the phase image's rows and the
        inner tap planes, (p, q, c) x (oc, a, b): one strided slice copy per phase. (The
        product this way round, and these copies instead of one 6-D transposed copy, were
        0.09 ms for D3 where the other way took 0.15.)"""
        xp, g = self.xp, self.g
        OC, C, KH, KW = self.shape
        S, U = g.SH, g.SW
        rows = xp.matmul2d(big_rows, xp.permute_dims(T, (1, 0)))  # (S*U*C, OC*(KH/S)*(KW/U))
        rows = xp.reshape(rows, (S, U, C, OC, KH // S, KW // U))
        gW = xp.empty(self.shape, dtype=rows.dtype)
        for p in range(S):
            for q in range(U):
                gW[:, :, p::S, q::U] = xp.permute_dims(rows[p, q, ...], (1, 0, 2, 3))
        return gW

    def costs(self, N, itemsize):
        """Work of one forward + backward (all three products): :func:`plan_costs`."""
        c = self.inner.costs(N, itemsize)
        image = self.shape[1] * N * self.PH * self.PW * self.g.SH * self.g.SW
        c["loop_bytes"] += itemsize * 5 * image  # split (zero fill, copy), join (copy)
        return c


def plan_costs(plan, N, itemsize):
    """What one forward + backward of a layer costs under ``plan`` (the same for conv2d and
    conv_transpose2d, which run the same three products and loops): ``gemm_flop``, the FLOPs
    of its three products (2 per multiply-add); ``transform_flop``, those of its other small
    products (Winograd's transforms); ``loop_bytes``, the bytes its offset loops (im2col and
    col2im, or their counterparts) read and write: 2 x the numbers of a copy, 3 x those of
    an in-place add, 1 x those of a zero fill. For ``benchmarks/bench_conv.py``."""
    return plan.costs(N, itemsize)


PLAN = None  # None: choose per call; "columns", "gather", "taps", "subpixel-taps" or "winograd" forces one
GATHER_MAX = 4096  # numbers per kernel offset up to which GatherPlan beats the offset loop (choose_plan)


def choose_plan(g, OC, C, N=1):
    """The plan for a convolution (in conv2d terms: C big-side, OC small-side channels),
    chosen by measurement at the book's shapes (``benchmarks/bench_conv.py --plans``):

    * ``winograd`` when both sides have at least 16 channels and the kernel is a whole
      number of strides: the products are then most of the work, and Winograd does 2.56x
      (2 x 2 output blocks) to 4x (the 3 x 3 blocks ``conv_winograd.output_block`` picks)
      fewer multiplications for the book's 8x8 / stride-2 layers (256 -> 256). Measured
      with 2 x 2 blocks, fwd+bwd against columns (Zen 5): 256 -> 256 k8 s2 52 vs 74 ms; at batch 64,
      32 -> 64 k5 (dcgan-mnist's D) 7.6 vs 15.3, 16 -> 16 k5 2.8 vs 6.3, 32 -> 32 k4 s2
      4.9 vs 9.5; 16 -> 32 k5 pad 2 at batch 100 (small-cnn) 17.5 vs 17.7; but 8 -> 16 k5
      5.3 vs 4.9, hence the 16 - unless the small image is a single pixel (a generator's
      first ConvTranspose2d from a 1 x 1 latent, DCGAN's and SAGAN's; a Conv2d whose kernel
      covers its input): the columns plan is then one plain GEMM, and Winograd's 2 x 2 output
      tiles would be three-quarters padding. fwd+bwd at batch 64 (Zen 4, one thread):
      ConvT(128, 256, 7) on 1 x 1 12.6 vs 29.5 ms, Conv2d(128, 256, 7) on 7 x 7 23 vs 55;
      DCGAN's ConvT(100, 512, 4) at batch 128 32 vs 53;
    * ``subpixel-taps`` when the big side has many more channels than the small side needs
      planes, C >= 8 * OC * SH * SW (the taps product is SH*SW times bigger), and the kernel is
      a whole number of strides: 256 -> 3 and 3 -> 256. It does SH*SW times fewer
      multiplications than plain taps for the cost of splitting the image into phases (four
      slice copies): fwd+bwd 0.56 vs 0.70 ms for D3, 0.63 vs 0.82 for G1 (Zen 5, AVX-512
      kernels; ``bench_conv.py --plans``);
    * ``taps`` for such layers when they have stride 1 (DCGAN's last 4x4 Conv2d to one
      channel) or a kernel that is not a whole number of strides;
    * ``gather`` when the column matrix is small, at most :data:`GATHER_MAX` numbers for
      each of the KH*KW offsets (``N`` is the batch): the offset loop's Python then costs
      more than its copying (:class:`GatherPlan`). fwd+bwd against columns (Zen 3, float32):
      the MNIST CNN's Conv2d(1, 10, 5, 2) at batch 1 (144 numbers per offset) 54 vs 81 us,
      its Conv2d(10, 10, 3, 2) (250) 78 vs 116, Conv2d(8, 8, 3, padding=1) on 16 x 16 at
      batch 4 (8,192) 0.55 vs 0.80 ms; from about 10,000 numbers per offset the loop wins
      (16 x Conv2d(1, 8, 5) on 28 x 28: 0.92 vs 0.87 ms; 32,768: 1.2-1.5x);
    * ``columns`` (im2col, the reference) otherwise.
    """
    if min(OC, C) >= 16 and winograd.eligible(g) and g.OH * g.OW > 1:
        return "winograd"
    if C >= 8 * OC * g.SH * g.SW:
        strided = g.SH * g.SW > 1  # at stride 1 there is nothing to split
        return "subpixel-taps" if strided and winograd.eligible(g) else "taps"
    if C * N * g.OH * g.OW <= GATHER_MAX:  # numbers per offset
        return "gather"
    return "columns"


def make_plan(xp, g, W, N=1):
    """The plan :data:`PLAN` forces (tests, benchmarks), else :func:`choose_plan`'s for a
    batch of ``N``. A forced ``winograd`` or ``subpixel-taps`` runs columns where the
    geometry does not allow the sub-pixel split (dilation, kernel not a multiple of the
    stride)."""
    OC, C = W.shape[0], W.shape[1]
    name = PLAN or choose_plan(g, OC, C, N)
    if name in ("winograd", "subpixel-taps") and not winograd.eligible(g):
        name = "columns"
    if name == "winograd":
        return winograd.WinogradPlan(xp, g, W)
    if name == "subpixel-taps":
        return SubPixelTapsPlan(xp, g, W)
    if name == "gather":
        return GatherPlan(xp, g, W)
    return TapsPlan(xp, g, W) if name == "taps" else ColumnsPlan(xp, g, W)


def _batched(xp, a):
    """(C, H, W) -> (1, C, H, W); the unbatched form PyTorch also accepts."""
    return xp.reshape(a, (1,) + tuple(a.shape)) if a.ndim == 3 else a


def _unbatched(xp, a, like_ndim):
    return xp.reshape(a, tuple(a.shape[1:])) if like_ndim == 3 else a


class _PlannedConv(Function):
    """What both convolutions share: a geometry, a plan chosen per call, the bias, and
    keeping what the weight gradient reads only when it will be asked for."""

    def __init__(self, geometry):
        self.g = geometry

    def __call__(self, x, W, b=None):
        self.keep = W.requires_grad and is_grad_enabled()
        return super().__call__(x, W) if b is None else super().__call__(x, W, b)

    def _prepare(self, x, W):
        """``x`` with its batch axis, and the plan for this call (kept for backward)."""
        x4 = _batched(self.xp, x)
        self.plan = make_plan(self.xp, self.g, W, x4.shape[0])
        return x4, self.plan

    def _add_bias(self, y, b):
        if b is not None:
            y += self.xp.reshape(b, (-1, 1, 1))
        return y

    def _bias_grad(self, gy4):
        need = self.needs_input_grad
        return self.xp.sum(gy4, axis=(0, 2, 3)) if len(need) > 2 and need[2] else None


# ----------------------------------------------------------------------------- conv2d
class Conv2d(_PlannedConv):
    """Fused conv2d: x (N, C, H, W), W (OC, C, KH, KW), b (OC,) -> y (N, OC, OH, OW)."""

    big = None  # im2col(x) (or x's rows), kept for the weight gradient

    def forward(self, x, W, b=None):
        xp = self.xp
        x4, plan = self._prepare(x, W)
        big = plan.prepare_big(x4)
        y = self._add_bias(plan.conv(big, x4.shape[0]), b)
        if not self.keep:
            plan.release(big)
        else:
            self.big = big
            if work_arrays.pooled(xp, big.shape):  # given back when the graph is freed
                weakref.finalize(self, plan.release, big)
        return _unbatched(xp, y, x.ndim)

    def backward_arrays(self, gy):
        xp, plan = self.xp, self.plan
        x = self.inputs[0].data
        need = self.needs_input_grad
        x4, gy4 = _batched(xp, x), _batched(xp, gy)
        small = plan.prepare_small(gy4)
        gx = gW = None
        if need[0]:  # a conv_transpose2d forward of gy
            gx = _unbatched(xp, plan.conv_transpose(small, x4.shape[0]), x.ndim)
        if need[1]:
            big = self.big if self.big is not None else plan.prepare_big(x4)
            gW = plan.weight_grad(small, big)
            if big is not self.big:
                plan.release(big)
        return gx, gW, self._bias_grad(gy4)

    def composite(self, F, x, W, b=None):
        """The same convolution in primitives (pad, slices, stack, matmul) for double backward."""
        g = self.g
        x4 = F.reshape(x, (1,) + x.shape) if x.ndim == 3 else x
        N, C = x4.shape[:2]
        OC = W.shape[0]
        if g.padded:
            x4 = F.pad(x4, (g.PL, g.PR, g.PT, g.PB))
        taps = [x4[:, :, g.rows[i], g.cols[j]] for i in range(g.KH) for j in range(g.KW)]
        col = F.reshape(F.stack(taps, dim=2), (N, C * g.KH * g.KW, g.OH * g.OW))
        y = F.matmul(F.reshape(W, (OC, C * g.KH * g.KW)), col)  # (N, OC, L)
        y = F.reshape(y, (N, OC, g.OH, g.OW))
        if b is not None:
            y = y + F.reshape(b, (OC, 1, 1))
        return F.reshape(y, y.shape[1:]) if x.ndim == 3 else y


# ----------------------------------------------------------------------------- conv_transpose2d
class ConvTranspose2d(_PlannedConv):
    """Fused conv_transpose2d: x (N, C, H, W), W (C, OC, KH, KW), b (OC,) -> y (N, OC, OH, OW).

    The adjoint of conv2d with the same weight: in :class:`ConvGeometry` terms x is the small
    side and y the big one, and the plan runs the other way round.
    """

    small = None  # x's rows (or tap planes), kept for the weight gradient

    def forward(self, x, W, b=None):
        xp = self.xp
        x4, plan = self._prepare(x, W)
        small = plan.prepare_small(x4)
        y = self._add_bias(plan.conv_transpose(small, x4.shape[0]), b)
        if self.keep:
            self.small = small
        return _unbatched(xp, y, x.ndim)

    def backward_arrays(self, gy):
        xp, plan = self.xp, self.plan
        x = self.inputs[0].data
        need = self.needs_input_grad
        x4, gy4 = _batched(xp, x), _batched(xp, gy)
        big = plan.prepare_big(gy4)  # shared by both products
        gx = gW = None
        if need[0]:  # a conv2d forward of gy
            gx = _unbatched(xp, plan.conv(big, x4.shape[0]), x.ndim)
        if need[1]:
            small = self.small if self.small is not None else plan.prepare_small(x4)
            gW = plan.weight_grad(small, big)
        plan.release(big)
        return gx, gW, self._bias_grad(gy4)

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
class _Who:
    """Who speaks in an error message: the layer (its repr) or the function. Formatted only
    when an error is raised, so the common path pays nothing for it."""

    __slots__ = ("layer", "op")

    def __init__(self, layer, op):
        self.layer, self.op = layer, op

    def __str__(self):
        return repr(self.layer) if self.layer is not None else self.op


def _check_operands(input, weight, bias, who, in_channels_dim):
    """Dims, channels, dtypes; errors name the layer (or the function) and the shapes."""
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
    who = _Who(_layer, "conv2d")
    _check_groups(groups, who)
    _check_operands(input, weight, bias, who, 1)
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
    who = _Who(_layer, "conv_transpose2d")
    _check_groups(groups, who)
    _check_operands(input, weight, bias, who, 0)
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
