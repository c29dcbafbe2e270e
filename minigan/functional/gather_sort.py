"""Taking values along an axis: ``gather``, and ``sort`` / ``topk``, which gather by a permutation.

``gather(x, dim, index)`` reads ``x`` at ``index`` along ``dim`` (``out[i][j] = x[index[i][j]][j]``
for ``dim=0``); its gradient adds each output's gradient back where it was read - a
scatter-add, since an index may repeat. The two are each other's backward (:class:`Gather`,
:class:`ScatterAdd`), so double backward is exact. ``sort`` and ``topk`` compute a
permutation (``argsort``, stable) and gather the values by it: their values have gradients,
their indices are integers.

The scatter-add is NumPy's ``np.add.at`` on the CPU; other backends (CuPy, the strict
stand-in) form it as a product with a one-hot matrix of the indices, as ``Take`` in shape.py
does - exact, and portable, but (index size x axis length) in memory.
"""
from __future__ import annotations

from collections import namedtuple

from .. import backend as B
from ..array_ops import normalize_dims
from ..autograd import Function
from ..tensor import Tensor

__all__ = ["gather", "sort", "argsort", "topk"]

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _leading(index_shape, axis):
    """The part of an input that an index of ``index_shape`` reads along ``axis``: all of
    ``axis``, the first ``index_shape[d]`` entries of every other axis."""
    return tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index_shape))


def _scatter_add(xp, g, index, axis, shape, dtype):
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``axis`` (repeats add up)."""
    out = xp.zeros(shape, dtype=dtype)
    region = _leading(index.shape, axis)
    if xp.name == "numpy":
        positions = list(xp.indices(index.shape, sparse=True))
        positions[axis] = index
        xp.add.at(out, tuple(positions), g)
        return out
    n = shape[axis]
    idx = xp.moveaxis(index, axis, -1)                                  # (..., k)
    one_hot = xp.astype(idx[..., None] == xp.arange(n), dtype)          # (..., k, n)
    summed = xp.matmul(xp.moveaxis(g, axis, -1)[..., None, :], one_hot)[..., 0, :]   # (..., n)
    out[region] = xp.moveaxis(summed, -1, axis)
    return out


class Gather(Function):
    """``x`` read at ``index`` along ``axis``; backward: :class:`ScatterAdd`."""

    def __init__(self, index, axis):
        self.index, self.axis = index, axis

    def forward(self, x):
        self.shape = x.shape
        return self.xp.take_along_axis(x[_leading(self.index.shape, self.axis)], self.index,
                                       axis=self.axis)

    def backward(self, F, gy):
        if F.is_array_mode:
            return _scatter_add(self.xp, gy, self.index, self.axis, self.shape, gy.dtype)
        return ScatterAdd(self.index, self.axis, self.shape)(gy)


class ScatterAdd(Function):
    """Zeros of ``shape`` with the input added at ``index`` along ``axis``; backward: Gather."""

    def __init__(self, index, axis, shape):
        self.index, self.axis, self.shape = index, axis, shape

    def forward(self, g):
        return _scatter_add(self.xp, g, self.index, self.axis, self.shape, g.dtype)

    def backward(self, F, gy):
        if F.is_array_mode:
            return self.xp.take_along_axis(gy[_leading(self.index.shape, self.axis)],
                                           self.index, axis=self.axis)
        return Gather(self.index, self.axis)(gy)


def _index_array(index, who):
    if not isinstance(index, Tensor) or index.dtype not in (B.int64, B.int32):
        got = index.dtype.name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"{who}: index must be an int64 tensor, got {got}")
    return index.data


def gather(input, dim, index):
    """``torch.gather``: ``input`` read at ``index`` along ``dim``; ``index`` has ``input``'s
    number of axes and is no longer than it on the others."""
    (axis,) = normalize_dims(dim, input.ndim)
    idx = _index_array(index, "gather")
    too_long = any(index.shape[d] > input.shape[d] for d in range(input.ndim) if d != axis)
    if index.ndim != input.ndim or too_long:
        raise RuntimeError(f"gather: index of shape {tuple(index.shape)} does not fit input of shape "
                           f"{tuple(input.shape)} along dim {dim} (same number of axes, no longer "
                           "than the input on the other axes)")
    n = input.shape[axis]
    if index.numel():
        xp = input.backend.xp
        lo, hi = int(xp.min(idx)), int(xp.max(idx))
        if lo < 0 or hi >= n:
            raise RuntimeError(f"gather: index {lo if lo < 0 else hi} is out of bounds for dim {dim} "
                               f"with size {n}")
    return Gather(idx, axis)(input)


def _permutation(input, axis, descending):
    """The stable argsort of ``input`` along ``axis`` (descending: largest first, ties in
    index order, as NumPy has no descending sort: reverse, sort, reverse back)."""
    xp = input.backend.xp
    x = input.data
    if not descending:
        return xp.argsort(x, axis=axis, stable=True)
    n = x.shape[axis]
    return (n - 1) - xp.flip(xp.argsort(xp.flip(x, axis=axis), axis=axis, stable=True), axis=axis)


def argsort(input, dim=-1, descending=False, stable=False):
    """``torch.argsort``: the indices that sort ``input`` along ``dim`` (always stable here)."""
    if input.ndim == 0:
        return Tensor._wrap(input.backend.xp.zeros((), dtype=B.int64), input.backend)
    (axis,) = normalize_dims(dim, input.ndim)
    perm = _permutation(input, axis, descending)
    return Tensor._wrap(input.backend.xp.astype(perm, B.int64), input.backend)


def sort(input, dim=-1, descending=False, stable=False):
    """``torch.sort``: (values, indices) along ``dim``; the values carry the gradient."""
    if input.ndim == 0:
        return SortResult(input * 1, argsort(input))
    (axis,) = normalize_dims(dim, input.ndim)
    perm = input.backend.xp.astype(_permutation(input, axis, descending), B.int64)
    return SortResult(Gather(perm, axis)(input), Tensor._wrap(perm, input.backend))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """``torch.topk``: the ``k`` largest (or smallest) values along ``dim`` and their indices,
    largest first (``sorted`` is always honoured)."""
    axis = normalize_dims(dim, input.ndim)[0] if input.ndim else 0
    n = input.shape[axis] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) out of range for dim {dim} of size {n}")
    if input.ndim == 0:
        return TopkResult(input * 1, argsort(input))
    perm = _permutation(input, axis, largest)
    first_k = tuple(slice(0, k) if d == axis else slice(None) for d in range(input.ndim))
    perm = input.backend.xp.astype(perm[first_k], B.int64)
    return TopkResult(Gather(perm, axis)(input), Tensor._wrap(perm, input.backend))
