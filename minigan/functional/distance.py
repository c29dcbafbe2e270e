"""Pairwise distances: ``cdist``.

``cdist(x1, x2, p)`` is the p-norm distance between every row of ``x1`` (B..., P, M) and every
row of ``x2`` (B..., R, M): a (B..., P, R) tensor, batch axes broadcast. It is the vector norm
of the (B..., P, R, M) differences, so it is composed of the ops that compute those
(``vector_norm`` carries PyTorch's gradients, 0 at zero distance, never NaN) and is
differentiable twice. The one exception is p = inf: PyTorch's cdist gives the *whole* gradient
to every coordinate whose |difference| ties for the largest (``amax`` would split it among
them), so that case is :class:`ChebyshevDistance`.

PyTorch computes p = 2 for more than 25 rows as |a|^2 + |b|^2 - 2 a.b with a matrix product
(``compute_mode``): faster, but it loses digits when rows are close. minigan always takes the
differences (accepting ``compute_mode`` and ignoring it), which is exact, at (B..., P, R, M)
in memory.
"""
from __future__ import annotations

import math

from ..autograd import Function
from ..tensor import Tensor
from .vector_norm import vector_norm

__all__ = ["cdist"]

COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist")


class ChebyshevDistance(Function):
    """max |d| over the last axis; the gradient goes in full to every entry at the maximum,
    with d's sign (PyTorch's cdist, p = inf), 0 where d is 0."""

    def forward(self, d):
        xp = self.xp
        size = xp.abs(d)
        largest = xp.max(size, axis=-1)
        at_max = size == largest[..., None]
        self.slope = xp.where(at_max, xp.sign(d), xp.zeros_like(d))   # a constant: piecewise linear
        return largest

    def backward(self, F, gy):
        slope = self.slope if F.is_array_mode else Tensor._wrap(self.slope, gy.backend)
        return F.unsqueeze(gy, -1) * slope


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """``torch.cdist``: the p-norm distances between the rows of ``x1`` (B..., P, M) and of
    ``x2`` (B..., R, M), a (B..., P, R) tensor. p >= 0: 0 counts the differing coordinates,
    1 is the city-block distance, 2 the Euclidean (the default), inf the largest difference."""
    for name, x in (("X1", x1), ("X2", x2)):
        if not isinstance(x, Tensor):
            raise TypeError(f"cdist: {name} must be a Tensor, got {type(x).__name__}")
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if not x.is_floating_point():
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype.name}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: X1 and X2 must have the same number of columns. "
                           f"X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"cdist: X1 and X2 must have the same dtype, got {x1.dtype.name} and "
                           f"{x2.dtype.name}")
    p = float(p)
    if not p >= 0:   # (NaN too)
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if compute_mode not in COMPUTE_MODES:
        raise ValueError(f"cdist: {compute_mode!r} is not a valid value for compute_mode")
    for a, b in zip(reversed(x1.shape[:-2]), reversed(x2.shape[:-2])):
        if a != b and 1 not in (a, b):
            raise RuntimeError(f"cdist: the batch shapes of X1 {tuple(x1.shape)} and X2 "
                               f"{tuple(x2.shape)} do not broadcast")
    differences = x1.unsqueeze(-2) - x2.unsqueeze(-3)          # (B..., P, R, M)
    if math.isinf(p) and x1.shape[-1] > 0:
        return ChebyshevDistance()(differences)
    return vector_norm(differences, p if not math.isinf(p) else 2.0, dim=-1)
