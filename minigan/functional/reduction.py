"""Reductions: sum, mean, var, max, min, argmax, and ``sum_to`` (undoing broadcasting).

The backward of a reduction spreads the upstream gradient back over the reduced axes:
reshape it to the "keepdim" shape, then broadcast (``expand``) it to the input's shape.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import backend as B
from ..array_ops import normalize_dims, sum_to_axes
from ..autograd import Function
from ..tensor import Tensor


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _reduced_shape(shape, axes, keepdim):
    if keepdim:
        return _kept_shape(shape, axes)
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class Sum(Function):
    """Sum over ``axes`` (None: all of them, the common ``loss.sum()``)."""

    def __init__(self, axes, keepdim, floats):
        self.axes, self.keepdim, self.floats = axes, keepdim, floats

    def forward(self, x):
        xp = self.xp
        return (xp.sum_floats if self.floats else xp.sum)(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, F, gy):
        shape = self.inputs[0].data.shape
        if self.axes is not None and not self.keepdim:
            gy = F.reshape(gy, _kept_shape(shape, self.axes))
        return F.expand(gy, shape)  # a 0-d gy broadcasts to any shape


class SumAll(Sum):
    """``loss.sum()`` of a float tensor: Sum over every axis, its settings fixed on the class
    (no ``__init__`` to call: this is every batch-1 step's loss)."""

    axes, keepdim, floats = None, False, True
    __init__ = object.__init__


class Mean(Function):
    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        return self.xp.mean(x, axis=self.axes, keepdims=self.keepdim)

    def backward(self, F, gy):
        shape = self.inputs[0].shape
        n = 1
        for a in self.axes:
            n *= shape[a]
        if not self.keepdim:
            gy = F.reshape(gy, _kept_shape(shape, self.axes))
        return F.expand(gy / n, shape)


class SumTo(Function):
    """Sum a broadcast gradient back to ``shape``; its backward broadcasts again."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        axes, keep = sum_to_axes(x.shape, self.shape)
        if keep:
            x = self.xp.sum(x, axis=keep, keepdims=True)
        if axes:
            x = self.xp.sum(x, axis=axes)
        return self.xp.reshape(x, self.shape)

    def backward(self, F, gy):
        return F.expand(gy, self.inputs[0].shape)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return self.xp.broadcast_to(x, self.shape)

    def backward(self, F, gy):
        return F.sum_to(gy, self.inputs[0].shape)


def sum_to(input, shape):
    """Reduce ``input`` by summation to ``shape`` (the inverse of broadcasting)."""
    shape = tuple(shape)
    if input.shape == shape:
        return input
    return SumTo(shape)(input)


def expand(input, *sizes):
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension (PyTorch's ``expand``)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    lead = len(sizes) - input.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes {len(sizes)} is smaller than the "
                           f"number of dimensions {input.ndim} of shape {input.shape}")
    shape = tuple(input.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
    for i, s in enumerate(input.shape):
        if s != 1 and s != shape[lead + i]:
            raise RuntimeError(f"expand: shape {input.shape} can't be expanded to {shape}")
    if shape == input.shape:
        return input
    return BroadcastTo(shape)(input)


broadcast_to = expand


def expand_as(input, other):
    return expand(input, other.shape)


def sum(input, dim=None, keepdim=False, dtype=None):  # noqa: A001 - PyTorch's name
    d = input.data.dtype
    if dim is None and dtype is None and isinstance(d, np.dtype) and d.kind == "f":  # ``loss.sum()``
        return SumAll()(input) if not keepdim else Sum(None, True, True)(input)
    if dtype is not None:
        from .arithmetic import to_dtype
        input = to_dtype(input, dtype)
    floats = input.dtype in B.FLOAT_DTYPES
    if input.dtype == B.bool_:
        from .arithmetic import to_dtype
        input = to_dtype(input, B.int64)
    return Sum(None if dim is None else normalize_dims(dim, input.ndim), keepdim, floats)(input)


def mean(input, dim=None, keepdim=False):
    if input.dtype not in B.FLOAT_DTYPES:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.name}")
    return Mean(normalize_dims(dim, input.ndim), keepdim)(input)


def var(input, dim=None, unbiased=None, keepdim=False, correction=None):
    """Variance; ``correction=1`` (default, Bessel) or ``unbiased=False`` for the biased one."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = normalize_dims(dim, input.ndim)
    n = 1
    for a in axes:
        n *= input.shape[a]
    centred = input - mean(input, axes, keepdim=True)
    return sum(centred * centred, axes, keepdim=keepdim) / builtins.max(n - correction, 0)


def std(input, dim=None, unbiased=None, keepdim=False, correction=None):
    from .arithmetic import sqrt
    return sqrt(var(input, dim, unbiased=unbiased, keepdim=keepdim, correction=correction))


# ----------------------------------------------------------------------------- max / min
class MaxMin(Function):
    """max or min over ``axes``. Over all elements ties share the gradient evenly (PyTorch's
    ``amax`` rule); with ``dim`` the gradient goes to the index returned (first occurrence)."""

    def __init__(self, is_max, axes, keepdim, by_index):
        self.is_max, self.axes, self.keepdim, self.by_index = is_max, axes, keepdim, by_index

    def forward(self, x):
        xp = self.xp
        reduce = xp.max if self.is_max else xp.min
        y = reduce(x, axis=self.axes, keepdims=True)
        if self.by_index:
            (axis,) = self.axes
            idx = (xp.argmax if self.is_max else xp.argmin)(x, axis=axis, keepdims=True)
            positions = xp.reshape(xp.arange(x.shape[axis]), _kept_line(x.ndim, axis, x.shape[axis]))
            self.mask = xp.astype(positions == idx, x.dtype)
            self.indices = idx if self.keepdim else xp.squeeze(idx, axis=axis)
        else:
            hits = xp.astype(x == y, x.dtype)
            self.mask = hits / xp.sum(hits, axis=self.axes, keepdims=True)
        return y if self.keepdim else xp.reshape(y, _reduced_shape(x.shape, self.axes, False))

    def backward(self, F, gy):
        shape = self.inputs[0].shape
        if not self.keepdim:
            gy = F.reshape(gy, _kept_shape(shape, self.axes))
        return gy * self.mask  # the mask is piecewise constant in x: exact for 2nd order too


def _kept_line(ndim, axis, n):
    return tuple(n if i == axis else 1 for i in range(ndim))


MaxResult = namedtuple("max", ["values", "indices"])


def _max_min(input, dim, keepdim, is_max):
    name = "max" if is_max else "min"
    if input.numel() == 0:
        raise RuntimeError(f"{name}(): expected a non-empty tensor")
    if dim is None:
        return MaxMin(is_max, normalize_dims(None, input.ndim), False, False)(input)
    if isinstance(dim, Tensor):  # max(a, b): elementwise
        from .arithmetic import maximum, minimum
        return (maximum if is_max else minimum)(input, dim)
    axes = normalize_dims(dim, input.ndim)
    if not axes:  # a 0-d tensor (dim 0 or -1): its one value, at index 0, as PyTorch
        values = MaxMin(is_max, axes, keepdim, False)(input)
        return MaxResult(values, Tensor._wrap(input.backend.xp.zeros((), dtype=B.int64), input.backend))
    fn = MaxMin(is_max, axes, keepdim, True)
    values = fn(input)
    return MaxResult(values, Tensor._wrap(fn.indices, input.backend))


def max(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    """``max(x)`` -> value; ``max(x, dim)`` -> (values, indices); ``max(a, b)`` elementwise."""
    return _max_min(input, dim, keepdim, True)


def min(input, dim=None, keepdim=False):  # noqa: A001
    return _max_min(input, dim, keepdim, False)


def amax(input, dim=None, keepdim=False):
    return MaxMin(True, normalize_dims(dim, input.ndim), keepdim, False)(input)


def amin(input, dim=None, keepdim=False):
    return MaxMin(False, normalize_dims(dim, input.ndim), keepdim, False)(input)


def _arg_extreme(input, dim, keepdim, find):
    """Indices from ``find`` (xp.argmax or xp.argmin) as an int64 tensor; no gradient."""
    xp = input.backend.xp
    if dim is None:
        out = find(xp.reshape(input.data, (-1,)))
    else:
        (axis,) = normalize_dims(dim, input.ndim)
        out = find(input.data, axis=axis, keepdims=keepdim)
    return Tensor._wrap(xp.astype(out, B.int64), input.backend)


def argmax(input, dim=None, keepdim=False):
    """Index of the largest value (flattened if ``dim`` is None); no gradient."""
    return _arg_extreme(input, dim, keepdim, input.backend.xp.argmax)


def argmin(input, dim=None, keepdim=False):
    """Index of the smallest value (flattened if ``dim`` is None); no gradient."""
    return _arg_extreme(input, dim, keepdim, input.backend.xp.argmin)
