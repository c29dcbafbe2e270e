"""The third convolution plan: sub-pixel split + Winograd tiles, for the big 256 -> 256 layers.

Why a third plan
----------------
At the book's conv-GAN shapes (BOOK_SPEC 4.14: 8x8 kernels, stride 2) the 256 -> 256 layers
are pure GEMM work: forward + backward of D's second Conv2d is 3 x 6.1 GFLOP. NumPy's BLAS
runs those products at about its square-matrix peak already (``benchmarks/bench_conv.py
--profile``), and on an AVX-512 machine PyTorch's oneDNN still finishes first, because its
peak is higher. The only way left to be faster is to do fewer multiplications, which is what
this plan does, in two steps that are both exact (in exact arithmetic):

1. **Sub-pixel (polyphase) split.** A stride-S convolution with a K x K kernel, K = S*R, is
   a stride-1 convolution with an R x R kernel over the S*S phases of the image: output
   (oh, ow) reads padded pixel (S*oh + S*a + p, S*ow + S*b + q), which is pixel
   (oh + a, ow + b) of phase (p, q) = ``x[:, :, p::S, q::S]``. So the book's k8 s2 layers
   are 4x4 stride-1 convolutions with 4C input channels (C = 256 -> 1024).

2. **Winograd's minimal filtering F(m x m, R x R)** (Lavin & Gray, "Fast Algorithms for
   Convolutional Neural Networks", 2016). An m x m block of outputs of an R x R stride-1
   correlation reads an n x n input tile, n = m + R - 1. With three small matrices,
   ``Y = A^T [ (G g G^T) * (B^T d B) ] A`` computes that block with n*n multiplications
   instead of m*m*R*R, and across channels the multiplications become n*n independent
   matrix products (one per tile position):

       V[e] = (B^T d B)[e]      for every input channel and tile   (the "tiles")
       U[e] = (G g G^T)[e]      for every (output, input) channel   (the weight)
       M[e] = U[e] @ V[e]       n*n products (OC x S*S*C) @ (S*S*C x tiles)
       Y    = A^T M A            per output channel and tile

   For the book's layers F(3x3, 4x4) does 36 products where direct convolution does
   9 * 16 = 144: 4x fewer FLOPs, in each of the three products (forward, input grad, weight
   grad); F(2x2, 4x4) would do 25 for 64 (2.56x).

The matrices come from Toom-Cook interpolation at the points listed in :data:`POINTS`
(0, 1, -1, 1/2, -2, ... and infinity): ``A^T`` and ``G`` are written down from the points, and
``B^T`` is the one matrix that makes the identity sum_e A^T[i,e] G[e,k] B^T[e,t] = [t == i+k]
hold, found by a linear solve and verified at import (float64).

**How big a tile.** A bigger output block m saves more multiplications (m*m*R*R of them
become n*n), but the transforms' entries grow with the points, and with them the rounding.
In float32, relative to the output's largest number (64 -> 64 channels, kernels of R and
2R at strides 1 and 2; one thread, Zen 3), direct convolution is off by about 5e-7 and
PyTorch by 0.6-3e-6; Winograd with tiles of n = 5 or 6 (m + R - 1) by 2-7e-6 for every R
from 2 to 5, with n = 7 by 5e-6 to 2e-5, with n = 8 by up to 3e-4. So the tile stops at
:data:`MAX_TILE` = 6, and within that :func:`output_block` picks the m that covers the
output with the least padded work (``tests/test_conv_fast_path.py`` holds the chosen blocks
to 1e-5). 1/2 comes before 2 in :data:`POINTS`: F(4x4, 3x3) is then off by 3e-6 instead
of 7e-6 to 1e-5 (strides 1 and 2), F(3x3, 4x4) and F(2x2, 5x5) by 2-3e-6 instead of 4-8e-6
(F(4x4, 2x2) goes from 3-5e-6 to 3-7e-6).

How it maps onto a plan (see :mod:`minigan.functional.conv` for the plan interface): in
conv2d terms, big image -> small image, weight (OC, C, KH, KW),

    prepare_big(x)       V  = KB @ tiles(x)            tiles: n*n*S*S strided slice copies
    prepare_small(y)     Z  = KA^T @ blocks(y)         blocks: y cut into m x m blocks
    conv(V)              y  = blocks^-1(KA @ M),       M[e]  = V[e] @ U[e]^T
    conv_transpose(Z)    x  = tiles^T(KB^T @ dV),      dV[e] = Z[e] @ U[e]
                                                       (tiles^T adds the tiles back: they overlap)
    weight_grad(Z, V)    gW[oc] = dU[oc]^T @ KW,       dU[e] = Z[e]^T @ V[e]
    (the weight)         U[oc]  = KW @ W[oc]^T

The E = n*n products ``[e]`` (one per tile position) are the GEMMs; the transforms are small
matrices applied to whole arrays: KB = B^T (x) B^T, KA = A^T (x) A^T, KG = G (x) G
(Kronecker products: a 2-D transform of every tile is one GEMM with an (n*n x n*n) matrix),
and KW = KG with the sub-pixel split folded in: it maps a weight's KH*KW taps straight to the n*n*S*S (tile position, phase)
rows, so the weight is transformed, and its gradient transformed back, by one product each
that reads W[oc] (and writes gW[oc]) in PyTorch's own (C, KH*KW) order - no permuted copy of
a 16 MB weight (they cost 3 and 7 ms a layer at 256 -> 256). Each line is the adjoint of
another, as in the columns plan, so conv_transpose2d runs the same plan the other way round.

Only plain 2-D and stacked matrix products, reshapes, transposes and strided slices: the same
code runs on NumPy, CuPy and array-api-strict. The columns plan stays the reference that this
one is tested against (tests/test_conv_fast_path.py).
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from .work_arrays import work_arrays

# Interpolation points (besides infinity), in the order they are used: n - 1 of them for
# F(m, R) with n = m + R - 1. Powers of two are exact in binary and keep the transforms'
# rounding close to that of the direct sum; 1/2 before 2 halves the error of n = 6 (module
# docstring).
POINTS = (0.0, 1.0, -1.0, 0.5, -2.0, 2.0, -0.5, 3.0, -3.0)
MAX_TILE = 6  # the largest tile n = m + R - 1 that output_block chooses (module docstring)


@functools.lru_cache(maxsize=None)
def winograd_matrices(m, R):
    """(A^T (m x n), G (n x R), B^T (n x n)) of F(m, R) in float64, n = m + R - 1."""
    n = m + R - 1
    points = POINTS[:n - 1]
    if len(points) < n - 1:
        raise ValueError(f"F({m}, {R}) needs {n - 1} interpolation points; POINTS has {len(POINTS)}")
    AT, G = np.zeros((m, n)), np.zeros((n, R))
    for e, p in enumerate(points):
        scale = np.prod([p - q for f, q in enumerate(points) if f != e])
        AT[:, e] = [p ** i for i in range(m)]
        G[e, :] = [p ** k / scale for k in range(R)]
    AT[m - 1, n - 1] = G[n - 1, R - 1] = 1.0  # the point at infinity: the leading coefficients
    # B^T from the identity y_i = sum_k g_k d_(i+k): for every (i, k) and t,
    # sum_e AT[i, e] G[e, k] BT[e, t] = [t == i + k], a full-rank linear system per column t.
    system = (AT[:, None, :] * G.T[None, :, :]).reshape(m * R, n)
    target = np.zeros((m * R, n))
    for i in range(m):
        for k in range(R):
            target[i * R + k, i + k] = 1.0
    BT = np.linalg.lstsq(system, target, rcond=None)[0]
    check = np.einsum("ie,ek,et->ikt", AT, G, BT).reshape(m * R, n)
    if np.abs(check - target).max() > 1e-12:  # never: the points are distinct
        raise ArithmeticError(f"F({m}, {R}): the Winograd identity does not hold")
    return AT, G, BT


@functools.lru_cache(maxsize=64)
def _kron_host(m, R):
    AT, G, BT = winograd_matrices(m, R)
    return np.kron(AT, AT), np.kron(G, G), np.kron(BT, BT)


def _kron(xp, m, R, dtype):
    """KA (m^2 x n^2) and KB (n^2 x n^2) on the backend, in ``dtype`` (KG goes in via KW)."""
    KA, _, KB = _kron_host(m, R)
    return xp.astype(xp.from_numpy(KA), dtype), xp.astype(xp.from_numpy(KB), dtype)


@functools.lru_cache(maxsize=64)
def _weight_map_host(m, R, S, T):
    """KG with the sub-pixel split folded in, (n*n*S*T x KH*KW): row (e, p, q), column
    (kh, kw) = (S*a + p, T*b + q) holds KG[e, (a, b)]; every other entry is zero."""
    n = m + R - 1
    KG = _kron_host(m, R)[1].reshape(n * n, R, R)
    K = np.zeros((n * n, S, T, R, S, R, T))
    for p in range(S):
        for q in range(T):
            K[:, p, q, :, p, :, q] = KG
    return K.reshape(n * n * S * T, R * S * R * T)


def _weight_map(xp, m, R, S, T, dtype):
    return xp.astype(xp.from_numpy(_weight_map_host(m, R, S, T)), dtype)


def _product(xp, a, b):
    """``a @ b`` (2-D); on NumPy into an array lent by the work-array pool when it is big."""
    shape = (a.shape[0], b.shape[1])
    if work_arrays.pooled(xp, shape):
        return xp.dot(a, b, out=work_arrays.take(xp, shape, b.dtype))
    return xp.matmul2d(a, b)


def output_block(R, OH, OW):
    """m of F(m x m, R x R) for an OH x OW output: among the blocks whose tile stays within
    :data:`MAX_TILE` (and 2, the smallest, for R >= 6), the one with the least padded work,
    tiles * n * n; ties go to the smaller block (its transforms are cheaper).

    Measured forward + backward, float32, two BLAS threads, Zen 3, F(2) / F(3) / F(4):
    ACGAN's Conv2d(128, 64, 3, padding=1) on 28 x 28 at batch 64 256 / 234 / 178 ms
    (PyTorch 172); its Conv2d(128, 128, 3, padding=1) on 14 x 14 90 / 78 / 80 (84); DCGAN's
    Conv2d(64, 128, 4, 2, 1) to 8 x 8 at batch 128 71 / 86 / 60 (52); the book's D2
    (256 -> 256, k8 s2, to 27 x 27) 118 / 103 (152). A block that leaves much of the last
    tile empty loses: F(3) and F(5) to 8 x 8 (F(5): 101)."""
    largest = max(2, MAX_TILE + 1 - R)
    # tiles (ceil(OH / m) * ceil(OW / m)) times the n * n positions of each; min() keeps the
    # first, smallest, of equal blocks
    return min(range(2, largest + 1), key=lambda m: -(-OH // m) * -(-OW // m) * (m + R - 1) ** 2)


def eligible(g):
    """The plan's geometry: no dilation, kernel = stride x R with the same R >= 2 both ways."""
    return (g.DH == 1 and g.DW == 1 and g.KH % g.SH == 0 and g.KW % g.SW == 0
            and g.KH // g.SH == g.KW // g.SW >= 2)


def matmul_into(xp, a, b, out):
    """``out[...] = a @ b`` (stacked). NumPy and CuPy write the product straight into ``out``,
    a strided view here, at full BLAS speed; array-api-strict has no ``out=``."""
    if xp.name == "array_api_strict":
        out[...] = xp.matmul(a, b)
    else:
        xp.matmul(a, b, out=out)
    return out


_TRANSPOSE_BLOCK_BYTES = 256 * 1024  # a block of the copy below stays in L2


def channels_first(xp, img):
    """(N, H, W, C) -> a C-ordered (N, C, H, W) copy, in blocks of rows on NumPy.

    One strided copy of a big image (``ascontiguousarray``) reads each source cache line
    C / 16 times, far apart in time: 2.1 ms for (1, 61, 61, 256). Copied a few rows at a
    time, each block's lines are still in cache when the next channels read them: 0.9 ms
    (Zen 4). On a GPU one copy is best."""
    N, H, W, C = img.shape
    out = xp.empty((N, C, H, W), dtype=img.dtype)
    step = H if xp.name != "numpy" else max(1, _TRANSPOSE_BLOCK_BYTES // (N * W * C * img.itemsize))
    for r0 in range(0, H, step):
        out[:, :, r0:r0 + step, :] = xp.permute_dims(img[:, r0:r0 + step, :, :], (0, 3, 1, 2))
    return out


class WinogradPlan:
    """Sub-pixel split + Winograd F(m x m, R x R) (module docstring). ``m`` is the output
    block, by default the one :func:`output_block` picks for the layer.

    Layouts: channels last. With E = n*n tile positions, SC = S*T*C phase channels (phase
    (p, q) outside, channel c inside) and P = N*TH*TW tiles, the tiles are V (E, P, SC), the
    small image's blocks Z (E, P, OC) and the weight U (OC, E, SC). Every slice the tile
    loops copy or add is then a run of C (or S*T*C) contiguous numbers - with the channels
    first, the runs were TW (14) numbers long and the adding-back loop took twice as long -
    and the transforms are single 2-D products (E x E) @ (E, P*SC), as fast on an AVX-512
    BLAS as the stacked per-channel ones and without their many small calls. The E products
    ``V[e] @ U[:, e]^T`` read strided 2-D views in place. The big temporaries (tile arrays,
    their gradients, dU) are lent by :data:`minigan.functional.work_arrays.work_arrays`.
    What leaves the plan is channels first, as everywhere else: the added-back image is
    copied so (:meth:`untiles`), in blocks of rows.
    """

    name = "winograd"

    def __init__(self, xp, g, W, m=None):
        OC, C, KH, KW = self.shape = tuple(W.shape)
        S, T = g.SH, g.SW
        R = self.R = KH // S
        if m is None:
            m = output_block(R, g.OH, g.OW)
        self.xp, self.g, self.m = xp, g, m
        n = self.n = m + R - 1
        self.KA, self.KB = _kron(xp, m, R, W.dtype)
        # tiles per image: enough m x m blocks to cover the output, and the padded image
        # size the tiles read (rows past HP are zeros no output uses)
        self.TH, self.TW = -(-g.OH // m), -(-g.OW // m)
        self.HB = max(g.HP, S * (m * (self.TH - 1) + n))
        self.WB = max(g.WP, T * (m * (self.TW - 1) + n))
        # U[oc, e, (p, q, c)] = sum over (a, b) of KG[e, (a, b)] W[oc, c, S*a + p, T*b + q]: the
        # phase split and KG in one (n*n*S*T x KH*KW) matrix, applied to each W[oc]^T as it
        # lies (a transposed view), so no permuted copy of the weight is made
        self.KW = _weight_map(xp, m, R, S, T, W.dtype)
        U = matmul_into(xp, self.KW, xp.permute_dims(xp.reshape(W, (OC, C, KH * KW)), (0, 2, 1)),
                        work_arrays.take(xp, (OC, n * n * S * T, C), W.dtype))
        self.U = xp.reshape(U, (OC, n * n, S * T * C))
        if work_arrays.pooled(xp, U.shape):  # lent for the plan's life (its Function's graph)
            weakref.finalize(self, work_arrays.give_back, xp, U)

    # ------------------------------------------------------------------ the big side
    def offsets(self):
        """(u, v, p, q, rows, cols) of every tile element (u, v) of every phase (p, q): it is
        padded pixel (S*m*th + S*u + p, T*m*tw + T*v + q) of tile (th, tw)."""
        g, m, n, TH, TW = self.g, self.m, self.n, self.TH, self.TW
        S, T = g.SH, g.SW
        for p in range(S):
            for u in range(n):
                r0 = S * u + p
                rows = slice(r0, r0 + S * m * (TH - 1) + 1, S * m)
                for q in range(T):
                    for v in range(n):
                        c0 = T * v + q
                        yield u, v, p, q, rows, slice(c0, c0 + T * m * (TW - 1) + 1, T * m)

    def tiles(self, big):
        """(N, C, H, W) -> (n, n, N, TH, TW, S, T, C), lent: n*n*S*T slice copies from the
        zero-padded image, channels last."""
        xp, g, n = self.xp, self.g, self.n
        N, C = big.shape[:2]
        img = xp.zeros((N, self.HB, self.WB, C), dtype=big.dtype)
        img[:, g.PT:g.PT + g.H, g.PL:g.PL + g.W, :] = xp.permute_dims(big, (0, 2, 3, 1))
        out = work_arrays.take(xp, (n, n, N, self.TH, self.TW, g.SH, g.SW, C), big.dtype)
        for u, v, p, q, rows, cols in self.offsets():
            out[u, v, :, :, :, p, q, :] = img[:, rows, cols, :]
        return out

    def untiles(self, tiles, N):
        """The adjoint of :meth:`tiles`: every tile added back where it was read (tiles
        overlap by n - m pixels), the padding cropped off -> (N, C, H, W), C-ordered.

        The adding-back runs channels last (runs of C numbers); the result is then copied
        channels first, because whatever meets it next - the forward activation in
        LeakyReLU's backward, BatchNorm's statistics - is laid out (N, C, H, W), and NumPy
        runs an elementwise op between two layouts 10-20x slower than within one (a
        (1, 256, 61, 61) multiply: 1.8 ms against 0.1). See :func:`channels_first`."""
        xp, g, n = self.xp, self.g, self.n
        C = self.shape[1]
        tiles = xp.reshape(tiles, (n, n, N, self.TH, self.TW, g.SH, g.SW, C))
        img = xp.zeros((N, self.HB, self.WB, C), dtype=tiles.dtype)
        for u, v, p, q, rows, cols in self.offsets():
            img[:, rows, cols, :] += tiles[u, v, :, :, :, p, q, :]
        return channels_first(xp, img[:, g.PT:g.PT + g.H, g.PL:g.PL + g.W, :])

    def prepare_big(self, big):
        """V = KB @ tiles(big): (E, P, SC), lent (:meth:`release` gives it back)."""
        xp, n = self.xp, self.n
        tiles = self.tiles(big)
        E, SC = n * n, self.g.SH * self.g.SW * self.shape[1]
        V = _product(xp, self.KB, xp.reshape(tiles, (E, -1)))
        work_arrays.give_back(xp, tiles)
        return xp.reshape(V, (E, -1, SC))

    def release(self, V):
        work_arrays.give_back(self.xp, V)

    # ------------------------------------------------------------------ the small side
    def prepare_small(self, small):
        """Z = KA^T @ blocks(small): (E, P, OC). The small image cut into m x m blocks
        (zero-padded to whole blocks), block element (i, j) first, channels last."""
        xp, g, m, n = self.xp, self.g, self.m, self.n
        N, OC = small.shape[:2]
        TH, TW = self.TH, self.TW
        if (TH * m, TW * m) != (g.OH, g.OW):
            padded = xp.zeros((N, OC, TH * m, TW * m), dtype=small.dtype)
            padded[:, :, :g.OH, :g.OW] = small
            small = padded
        blocks = xp.permute_dims(xp.reshape(small, (N, OC, TH, m, TW, m)), (3, 5, 0, 2, 4, 1))
        blocks = xp.reshape(blocks, (m * m, N * TH * TW * OC))  # (one copy)
        Z = xp.matmul2d(xp.permute_dims(self.KA, (1, 0)), blocks)
        return xp.reshape(Z, (n * n, N * TH * TW, OC))

    # ------------------------------------------------------------------ the three products
    def conv(self, V, N):
        """(N, OC, OH, OW) = blocks^-1(KA @ (V @ U^T))."""
        xp, g, m, n = self.xp, self.g, self.m, self.n
        OC, TH, TW = self.shape[0], self.TH, self.TW
        M = xp.matmul(V, xp.permute_dims(self.U, (1, 2, 0)))  # (E, P, OC)
        Y = xp.matmul2d(self.KA, xp.reshape(M, (n * n, -1)))  # (m*m, P*OC)
        Y = xp.permute_dims(xp.reshape(Y, (m, m, N, TH, TW, OC)), (2, 5, 3, 0, 4, 1))
        Y = xp.reshape(Y, (N, OC, TH * m, TW * m))  # (one copy)
        return Y[:, :, :g.OH, :g.OW]

    def conv_transpose(self, Z, N):
        """(N, C, H, W) = tiles^T(KB^T @ (Z @ U))."""
        xp, n = self.xp, self.n
        E, P = Z.shape[:2]
        SC = self.U.shape[2]
        dV = matmul_into(xp, Z, xp.permute_dims(self.U, (1, 0, 2)),
                         work_arrays.take(xp, (E, P, SC), Z.dtype))
        dtiles = _product(xp, xp.permute_dims(self.KB, (1, 0)), xp.reshape(dV, (E, P * SC)))
        work_arrays.give_back(xp, dV)
        x = self.untiles(dtiles, N)
        work_arrays.give_back(xp, dtiles)
        return x

    def weight_grad(self, Z, V):
        """gW = (Z^T @ V) mapped back through KW (the adjoint of U's transform):
        (OC, C, KH, KW). dU[oc] is read as a transposed (C x n*n*S*T) view, so the product
        writes the weight gradient straight in PyTorch's (OC, C, KH, KW) order."""
        xp, g, n = self.xp, self.g, self.n
        OC, C, KH, KW = self.shape
        S, T = g.SH, g.SW
        dU = work_arrays.take(xp, (OC, n * n, S * T * C), Z.dtype)
        matmul_into(xp, xp.permute_dims(Z, (0, 2, 1)), V, xp.permute_dims(dU, (1, 0, 2)))
        dW = xp.matmul(xp.permute_dims(xp.reshape(dU, (OC, n * n * S * T, C)), (0, 2, 1)), self.KW)
        work_arrays.give_back(xp, dU)
        return xp.reshape(dW, (OC, C, KH, KW))

    def costs(self, N, itemsize):
        """Work of one forward + backward: see :func:`minigan.functional.conv.plan_costs`."""
        g, m, n, R = self.g, self.m, self.n, self.R
        OC, C = self.shape[:2]
        ST = g.SH * g.SW
        P = N * self.TH * self.TW  # tiles
        tiles = n * n * ST * C * P  # numbers the tile loops move
        image = C * N * self.HB * self.WB
        cropped = C * N * g.H * g.W  # untiles' channels-first copy of the result
        blocks = m * m * OC * P
        transform = 2 * (2 * n * n * n * n * ST * C * P  # KB and KB^T
                         + 2 * m * m * n * n * OC * P  # KA and KA^T
                         + 2 * n * n * ST * self.shape[2] * self.shape[3] * OC * C)  # KW, KW^T
        return {"gemm_flop": 3 * 2 * n * n * OC * ST * C * P, "transform_flop": transform,
                # tiles: padded copy of the image, then copies; untiles: adds into zeros,
                # then the channels-first copy; the small side cut into blocks (zero fill,
                # copy, permuted copy) and the output's blocks put back (permuted copy)
                "loop_bytes": itemsize * (3 * image + 2 * tiles + 3 * tiles + image + 2 * cropped
                                          + 7 * blocks)}
