"""The distinct values of a tensor: ``unique`` and ``unique_consecutive``.

Both work on rows: with ``dim=None`` every element is a row of one value; with ``dim`` the rows
are the slices along ``dim``. ``unique`` sorts the rows (lexicographically, stably, NaN last) and
keeps the first of each run of equal rows; ``unique_consecutive`` keeps the first of each run
in the order given. Around that:

* ``return_inverse``: for each input row, the number of its group (int64), so that
  ``output[inverse]`` (``index_select`` along ``dim``) rebuilds the input;
* ``return_counts``: how many rows each group has (int64).

NaN equals nothing, itself included, so each NaN is a group of its own (as PyTorch). The
results are integers and data-dependent choices, so nothing here has a gradient (PyTorch marks
``unique``'s values as requiring grad, but its backward raises; minigan gives constants).
``sorted=False`` is accepted and sorts anyway, as PyTorch does on the CPU.

Everything is array-API calls (stable ``argsort``, ``take``, ``nonzero``), so it runs on every
backend: the rows are sorted one column at a time from the last (a stable sort per column
leaves equal columns in the order the later ones put them: least-significant-digit radix).
"""
from __future__ import annotations

import math

from .. import backend as B
from ..array_ops import cumulative_sum, normalize_dims
from ..tensor import Tensor

__all__ = ["unique", "unique_consecutive"]


def _rows(input, dim, op):
    """The input as an (n, m) array of rows, and the axis they run along (None: elements)."""
    xp = input.backend.xp
    x = input.data
    if dim is None:
        return xp.reshape(x, (-1, 1)), None
    if input.ndim == 0:
        raise IndexError(f"{op}: Dimension specified as {dim} but tensor has no dimensions")
    (axis,) = normalize_dims(dim, input.ndim)
    n = input.shape[axis]
    if n and any(s == 0 for d, s in enumerate(input.shape) if d != axis):
        raise RuntimeError(f"{op}: There are 0 sized dimensions, and they aren't selected, so unique "
                           f"cannot be applied (input of shape {tuple(input.shape)}, dim {dim})")
    m = math.prod(s for d, s in enumerate(input.shape) if d != axis)
    return xp.reshape(xp.moveaxis(x, axis, 0), (n, m)), axis


def _lexicographic_order(xp, rows):
    """The stable permutation that sorts the rows of ``rows`` (n, m) lexicographically."""
    n, m = rows.shape
    if B.as_dtype(rows.dtype) == B.bool_:           # argsort takes numbers
        rows = xp.astype(rows, B.int64)
    order = xp.arange(n, dtype=B.int64)
    for j in reversed(range(m)):
        column = xp.take(rows[:, j], order, axis=0)
        order = xp.take(order, xp.argsort(column, stable=True), axis=0)
    return order


def _runs(input, dim, return_inverse, return_counts, sort, op):
    xp = input.backend.xp
    rows, axis = _rows(input, dim, op)
    n = rows.shape[0]
    order = _lexicographic_order(xp, rows) if sort else xp.arange(n, dtype=B.int64)
    ordered = xp.take(rows, order, axis=0)
    if n:   # a new group starts at the first row and wherever a row differs from the one before
        changed = xp.any(ordered[1:, ...] != ordered[:-1, ...], axis=1)
        starts_here = xp.concat([xp.ones((1,), dtype=B.bool_), changed])
    else:
        starts_here = xp.zeros((0,), dtype=B.bool_)
    starts = xp.astype(xp.nonzero(starts_here)[0], B.int64)
    kept = xp.take(ordered, starts, axis=0)                   # (groups, m)
    if axis is None:
        values = xp.reshape(kept, (-1,))
    else:
        moved = tuple(s for d, s in enumerate(input.shape) if d != axis)
        values = xp.moveaxis(xp.reshape(kept, (kept.shape[0],) + moved), 0, axis)
    results = [Tensor._wrap(values, input.backend)]
    if return_inverse:
        group = cumulative_sum(xp, xp.astype(starts_here, B.int64), 0) - 1   # in sorted order
        inverse = xp.take(group, xp.argsort(order), axis=0) if n else group   # back in input order
        shape = tuple(input.shape) if axis is None else (n,)
        results.append(Tensor._wrap(xp.reshape(inverse, shape), input.backend))
    if return_counts:
        ends = xp.concat([starts[1:], xp.asarray([n], dtype=B.int64)]) if n else starts
        results.append(Tensor._wrap(ends - starts, input.backend))
    return results[0] if len(results) == 1 else tuple(results)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """``torch.unique``: the distinct elements (``dim=None``, flattened) or distinct slices along
    ``dim``, in ascending (lexicographic) order; with ``return_inverse`` / ``return_counts`` a
    tuple that adds each input row's group and each group's size (int64). No gradient."""
    return _runs(input, dim, return_inverse, return_counts, True, "unique")


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """``torch.unique_consecutive``: the first of each run of equal consecutive elements (or
    slices along ``dim``), in the order given; the same extras as :func:`unique`."""
    return _runs(input, dim, return_inverse, return_counts, False, "unique_consecutive")
