"""Writing values along an axis: ``scatter``, ``scatter_add``, ``scatter_reduce`` and ``index_add``.

They are ``gather`` run backwards. ``gather`` reads ``out[i][j] = x[index[i][j]][j]`` (for
``dim=0``); the scatters write ``out[index[i][j]][j] = src[i][j]`` into a copy of ``input``:

* ``scatter``        writes (a place written twice keeps one value, which one PyTorch leaves
                     open; here the last, on every backend);
* ``scatter_add``    adds, so repeated places add up;
* ``scatter_reduce`` combines with ``reduce``: "sum", "prod", "mean", "amax" or "amin", with
                     the input's own value among them (``include_self=True``) or not;
* ``index_add``      adds whole slices: ``out.index_select(dim, index[i]) += alpha * source``'s
                     i-th slice, a ``scatter_add`` whose index is ``index`` repeated across the slice.

``index`` has the input's number of axes and is no longer than it off ``dim`` (nor longer than
``src``, whose leading part it reads); only the region it covers is written.

Gradients (each one PyTorch's)
------------------------------
* scatter: ``input`` gets ``gy`` with the written places zeroed (they were overwritten);
  ``src`` gets ``gy`` gathered at ``index``.
* scatter_add, index_add: ``input`` gets ``gy``; ``src`` gets ``gy`` gathered at ``index``
  (times ``alpha``). They are composed of :class:`~.gather_sort.ScatterAdd` and addition.
* scatter_reduce: "sum" as scatter_add; "mean" the same divided by how many values met at each
  place; "amax"/"amin" the gradient split evenly among every value equal to the result (as
  PyTorch 2.13, an input value equal to the result counts among them even with
  ``include_self=False``, where it then gets none); "prod" the product of the others, written
  as PyTorch writes it so that zeros give exact answers (see :class:`ScatterReduce`). With
  ``include_self=False`` the written places of ``input`` get no gradient.

Every backward is written with the index operations below on arrays or Tensors, as ``F``
says (autograd.py), so ``create_graph=True`` differentiates it again. The one exception is
PyTorch's too: with two zeros of ``src`` meeting at one place, the second derivative of "prod"
is refused.

The arithmetic is NumPy's ``ufunc.at`` (``np.add.at`` through gather_sort's ``_scatter_add``)
and ``put_along_axis`` on the CPU; other backends (CuPy, the strict stand-in) compare the index
with every position of the axis (a one-hot, as ``_scatter_add`` does) and reduce over it: exact
and portable, (index size x axis length) in memory.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend as B
from ..array_ops import normalize_dims
from ..autograd import Function
from ..tensor import Tensor
from .gather_sort import Gather, ScatterAdd, _leading, _scatter_add

__all__ = ["scatter", "scatter_add", "scatter_reduce", "index_add"]

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_SCATTER_REDUCE = {"add": "sum", "multiply": "prod"}   # scatter(..., reduce=), PyTorch's older form


# ----------------------------------------------------------------------------- on arrays
def _hits(xp, index, axis, n):
    """(..., k, n): whether the index's k-th entry along ``axis`` names position n."""
    return xp.moveaxis(index, axis, -1)[..., None] == xp.arange(n)


def _take_along(xp, a, index, axis):
    """``a`` read at ``index`` along ``axis``: gather on arrays."""
    return xp.take_along_axis(a[_leading(index.shape, axis)], index, axis=axis)


def _write_at(xp, x, index, axis, src):
    """A copy of ``x`` with ``src`` (index's shape) written at ``index`` along ``axis``; where
    a place is named twice the last write wins (NumPy's order, kept on the other backends)."""
    out = xp.astype(x, x.dtype, copy=True)
    region = _leading(index.shape, axis)
    if xp.name == "numpy":
        xp.put_along_axis(out[region], index, src, axis=axis)   # out[region] is a view of out
        return out
    hits = _hits(xp, index, axis, x.shape[axis])                     # (..., k, n)
    k = hits.shape[-2]
    last = xp.max(xp.where(hits, xp.reshape(xp.arange(k), (k, 1)), -1), axis=-2)   # (..., n), -1: none
    values = xp.take_along_axis(xp.moveaxis(src, axis, -1), xp.where(last < 0, 0, last), axis=-1)
    kept = xp.moveaxis(out[region], axis, -1)
    out[region] = xp.moveaxis(xp.where(last >= 0, values, kept), -1, axis)
    return out


def _identity(reduce, dtype):
    """The value that changes nothing under ``reduce`` (where no src value lands)."""
    kind = B.as_dtype(dtype).kind
    if reduce == "prod":
        return True if kind == "b" else 1
    if kind == "f":
        return -math.inf if reduce == "amax" else math.inf
    if kind == "b":
        return reduce == "amin"
    info = np.iinfo(B.as_dtype(dtype))   # a dtype's facts, not data: NumPy's on any backend
    return info.min if reduce == "amax" else info.max


def _reduce_at(xp, src, index, axis, shape, reduce):
    """An array of ``shape``: at each place the ``reduce`` of the src values landing there, the
    reduction's identity where none does ("mean" is a sum here; the division comes later)."""
    if reduce in ("sum", "mean"):
        return _scatter_add(xp, src, index, axis, shape, src.dtype)
    identity = _identity(reduce, src.dtype)
    out = xp.full(shape, identity, dtype=src.dtype)
    if xp.name == "numpy":
        positions = list(xp.indices(index.shape, sparse=True))
        positions[axis] = index
        ufunc = {"prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        ufunc.at(out, tuple(positions), src)
        return out
    hits = _hits(xp, index, axis, shape[axis])                              # (..., k, n)
    picked = xp.where(hits, xp.moveaxis(src, axis, -1)[..., None], identity)
    reduced = {"prod": xp.prod, "amax": xp.max, "amin": xp.min}[reduce](picked, axis=-2)
    out[_leading(index.shape, axis)] = xp.moveaxis(reduced, -1, axis)
    return out


def _scatter_reduce_arrays(xp, x, index, axis, src, reduce, include_self):
    """(the result, how many src values landed at each place of ``x``)."""
    landed = _reduce_at(xp, src, index, axis, x.shape, reduce)
    count = _scatter_add(xp, xp.ones(index.shape, dtype=x.dtype), index, axis, x.shape, x.dtype)
    if reduce == "mean":
        total = x + landed if include_self else landed
        n = count + 1 if include_self else count
        n = xp.where(count > 0, n, xp.ones_like(n))
        floating = B.as_dtype(x.dtype).kind == "f"
        combined = total / n if floating else xp.floor_divide(total, n)   # PyTorch floors integers
    elif not include_self:
        combined = landed
    else:
        combined = {"sum": xp.add, "prod": xp.multiply, "amax": xp.maximum,
                    "amin": xp.minimum}[reduce](x, landed)
    return xp.where(count > 0, combined, x), count


# ----------------------------------------------------------------------------- Functions
class _AlongIndex(Function):
    """The index (an array of the input's rank) and its axis, and the index operations the
    backward formulas are written with, on arrays or on Tensors as ``F`` says (autograd.py)."""

    def __init__(self, index, axis):
        self.index, self.axis = index, axis

    def _gather(self, F, a):
        """``a`` read at the index (the gradient of a scatter's src)."""
        if F.is_array_mode:
            return _take_along(self.xp, a, self.index, self.axis)
        return Gather(self.index, self.axis)(a)

    def _zeroed(self, F, a):
        """``a`` with 0 written at the index (the gradient of an overwritten input)."""
        if F.is_array_mode:
            return _write_at(self.xp, a, self.index, self.axis,
                             self.xp.zeros(self.index.shape, dtype=a.dtype))
        return ScatterValue(self.index, self.axis, 0)(a)

    def _constant(self, F, array):
        """A constant of a formula (a mask, a count): the array, or a Tensor without a graph."""
        return array if F.is_array_mode else Tensor._wrap(array, self.inputs[0].backend)


class ScatterValue(_AlongIndex):
    """``x`` with the number ``value`` written at the index; backward: zeros written there."""

    def __init__(self, index, axis, value):
        super().__init__(index, axis)
        self.value = value

    def forward(self, x):
        xp = self.xp
        return _write_at(xp, x, self.index, self.axis, xp.full(self.index.shape, self.value, dtype=x.dtype))

    def backward(self, F, gy):
        return self._zeroed(F, gy)


class Scatter(_AlongIndex):
    """``x`` with ``src`` (the index's shape) written at the index; backward: ``gy`` with the
    written places zeroed for ``x``, ``gy`` gathered at the index for ``src``."""

    def forward(self, x, src):
        return _write_at(self.xp, x, self.index, self.axis, src)

    def backward(self, F, gy):
        need_x, need_src = self.needs_input_grad
        return (self._zeroed(F, gy) if need_x else None,
                self._gather(F, gy) if need_src else None)


class _RefusesDoubleBackward(Function):
    """The identity, whose backward raises ``message``: a gradient that is right, but whose own
    derivative would not be (PyTorch's DelayedError)."""

    def __init__(self, message):
        self.message = message

    def forward(self, a):
        return a

    def backward(self, F, gy):
        raise RuntimeError(self.message)


class ScatterReduce(_AlongIndex):
    """``x`` with ``src`` combined into it at the index by ``reduce`` (module docstring).

    The "prod" gradient, PyTorch's formula: for ``x``, the product at its place with ``x``
    replaced by 1 where it is 0 (divided by that ``x``), which is exact at zeros; for a src
    value, the result divided by it, except where it is the only zero landing at its place: then
    the product of the others, computed with it replaced by 1. Where two or more zeros land at one
    place, every src value there gets 0, which is right, but its derivative is not the second
    derivative, so that one is refused (as PyTorch does).
    """

    def __init__(self, index, axis, reduce, include_self):
        super().__init__(index, axis)
        self.reduce, self.include_self = reduce, include_self

    def forward(self, x, src):
        out, self.count = _scatter_reduce_arrays(self.xp, x, self.index, self.axis, src,
                                                 self.reduce, self.include_self)
        return out

    def _again(self, F, x, src):
        """The same reduction of other operands (the prod gradient's partial products)."""
        if F.is_array_mode:
            return _scatter_reduce_arrays(self.xp, x, self.index, self.axis, src, "prod",
                                          self.include_self)[0]
        return ScatterReduce(self.index, self.axis, "prod", self.include_self)(x, src)

    def backward(self, F, gy):
        xp, reduce, const = self.xp, self.reduce, self._constant
        need_x, need_src = self.needs_input_grad
        xa, sa = self.inputs[0].data, self.inputs[1].data
        dtype = xa.dtype
        if reduce == "sum":
            gx, gsrc = gy, self._gather(F, gy)
        elif reduce == "mean":
            n = self.count + 1 if self.include_self else self.count
            g = gy / const(F, xp.where(n == 0, xp.ones_like(n), n))
            gx, gsrc = g, self._gather(F, g)
        elif reduce in ("amax", "amin"):
            out = self.output(F)
            outa = out if F.is_array_mode else out.data
            x_is_result = xa == outa
            src_is_result = sa == _take_along(xp, outa, self.index, self.axis)
            ties = xp.astype(x_is_result, dtype) + _scatter_add(
                xp, xp.astype(src_is_result, dtype), self.index, self.axis, xa.shape, dtype)
            g = gy / const(F, ties)
            gx = F.where(const(F, x_is_result), g, 0.0)
            gsrc = F.where(const(F, src_is_result), self._gather(F, g), 0.0)
        else:
            gx, gsrc = self._prod_grads(F, gy, xa, sa, need_x, need_src)
        if need_x and not self.include_self:
            gx = self._zeroed(F, gx)
        return (gx if need_x else None, gsrc if need_src else None)

    def _prod_grads(self, F, gy, xa, sa, need_x, need_src):
        xp, const = self.xp, self._constant
        x, src = self.input(F, 0), self.input(F, 1)
        gx = gsrc = None
        if need_x:
            x_or_one = F.where(const(F, xa == 0), 1.0, x)
            gx = gy * self._again(F, x_or_one, src) / x_or_one
        if need_src:
            src_zero = sa == 0
            zeros_there = _take_along(xp, _scatter_add(xp, xp.astype(src_zero, xa.dtype), self.index,
                                                       self.axis, xa.shape, xa.dtype),
                                      self.index, self.axis)
            lone_zero = src_zero & (zeros_there == 1)
            others = self._again(F, x, F.where(const(F, lone_zero), 1.0, src))
            gsrc = F.where(const(F, lone_zero), self._gather(F, gy * others),
                           self._gather(F, gy * self.output(F)) / F.where(const(F, src_zero), 1.0, src))
            if not F.is_array_mode and bool(xp.any(zeros_there > 1)):
                gsrc = _RefusesDoubleBackward(
                    "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src "
                    "are scattered to the same position in self")(gsrc)
        return gx, gsrc


# ----------------------------------------------------------------------------- checks
def _index_dtype_ok(index):
    return isinstance(index, Tensor) and index.dtype in (B.int32, B.int64)


def _dtype_name(t):
    return t.dtype.name if isinstance(t, Tensor) else type(t).__name__


def _in_range(op, index, axis, n, wording):
    """Every index within [0, n): else PyTorch's error (``wording`` after the bad value)."""
    xp = index.backend.xp
    lo, hi = int(xp.min(index.data)), int(xp.max(index.data))
    if lo < 0 or hi >= n:
        raise IndexError(f"{op}(): index {lo if lo < 0 else hi} {wording} {axis} with size {n}")


def _checked(op, input, dim, index, src):
    """PyTorch's checks of a scatter's operands; returns the axis, and the index array (None
    when the index is empty: nothing is written)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(input).__name__}")
    if not _index_dtype_ok(index):
        raise RuntimeError(f"{op}(): Expected dtype int32/int64 for index, got {_dtype_name(index)}")
    if index.device != input.device:
        raise RuntimeError(f"{op}(): index is on {index.device}, self on {input.device}")
    (axis,) = normalize_dims(dim, input.ndim)
    if index.numel() == 0:
        return axis, None
    if index.ndim != input.ndim:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as self "
                           f"tensor (index of shape {tuple(index.shape)}, self of shape {tuple(input.shape)})")
    larger = any(index.shape[d] > input.shape[d] for d in range(input.ndim) if d != axis)
    if isinstance(src, Tensor):
        if src.ndim != index.ndim:
            raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as src "
                               f"tensor (index of shape {tuple(index.shape)}, src of shape {tuple(src.shape)})")
        if src.dtype != input.dtype:
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (self is "
                               f"{input.dtype.name}, src {src.dtype.name})")
        larger = larger or any(i > s for i, s in zip(index.shape, src.shape))
    if larger:
        than_src = f" and to be no larger size than src {list(src.shape)}" if isinstance(src, Tensor) else ""
        raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {axis}{than_src}")
    _in_range(op, index, axis, input.shape[axis], "is out of bounds for dimension")
    return axis, index.data


def _leading_part(src, index):
    """``src``'s part that the index reads (its leading entries), as a differentiable slice."""
    if tuple(src.shape) == tuple(index.shape):
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


def _vectors_for_scalars(fn, input, dim, index, src, **kw):
    """A 0-d input (with a 0-d index and src, as PyTorch allows): run ``fn`` on 1-vectors."""
    normalize_dims(dim, 0)   # dim 0 or -1, else PyTorch's IndexError
    if not isinstance(index, Tensor) or index.ndim != 0:
        raise RuntimeError(f"{fn.__name__}(): Index tensor must have the same number of dimensions "
                           f"as self tensor (index of shape {tuple(getattr(index, 'shape', ()))}, self of shape ())")
    src = src.reshape(1) if isinstance(src, Tensor) and src.ndim == 0 else src
    return fn(input.reshape(1), 0, index.reshape(1), src, **kw).reshape(())


# ----------------------------------------------------------------------------- the functions
def scatter(input, dim, index, src=None, value=None, *, reduce=None):  # noqa: A002 - PyTorch's names
    """``torch.scatter``: a copy of ``input`` with ``src`` (a Tensor) or ``value`` (a number,
    also taken in ``src``'s place) written at ``index`` along ``dim``. ``reduce="add"`` or
    ``"multiply"`` (PyTorch's older form) combines instead: ``scatter_reduce`` with "sum"/"prod"."""
    if src is None and value is None:
        raise TypeError("scatter(): expected src (a Tensor) or value (a number)")
    if src is not None and not isinstance(src, Tensor):
        src, value = None, src
    if isinstance(value, Tensor):
        value = value.item()
    if input.ndim == 0:
        return _vectors_for_scalars(scatter, input, dim, index, src, value=value, reduce=reduce)
    if reduce is not None:
        if reduce not in _SCATTER_REDUCE:
            raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce}")
        if src is None:
            src = Tensor._wrap(input.backend.xp.full(tuple(index.shape), value, dtype=input.data.dtype),
                               input.backend)
        return scatter_reduce(input, dim, index, src, _SCATTER_REDUCE[reduce])
    axis, idx = _checked("scatter", input, dim, index, src)
    if idx is None:
        return input.clone()
    if src is None:
        kind = input.dtype.kind
        value = bool(value) if kind == "b" else int(value) if kind in "iu" else float(value)
        return ScatterValue(idx, axis, value)(input)
    return Scatter(idx, axis)(input, _leading_part(src, index))


def scatter_add(input, dim, index, src):  # noqa: A002 - PyTorch's name
    """``torch.scatter_add``: a copy of ``input`` with ``src`` added at ``index`` along ``dim``
    (repeated places add up): ``input + ScatterAdd(src)``, whose gradients are ``gy`` and
    ``gy`` gathered at ``index``."""
    if input.ndim == 0:
        return _vectors_for_scalars(scatter_add, input, dim, index, src)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    axis, idx = _checked("scatter_add", input, dim, index, src)
    if idx is None:
        return input.clone()
    return input + ScatterAdd(idx, axis, tuple(input.shape))(_leading_part(src, index))


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):  # noqa: A002 - PyTorch's names
    """``torch.scatter_reduce``: a copy of ``input`` with the ``src`` values at ``index`` along
    ``dim`` combined into it by ``reduce`` ("sum", "prod", "mean", "amax", "amin"), the input's
    own value included (``include_self=True``) or not (then only the values that land count;
    a place no value lands on keeps the input's). Integer "mean" rounds down, as PyTorch."""
    if reduce not in REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if input.ndim == 0:
        return _vectors_for_scalars(scatter_reduce, input, dim, index, src, reduce=reduce,
                                    include_self=include_self)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce(): src must be a Tensor, got {type(src).__name__}")
    axis, idx = _checked("scatter_reduce", input, dim, index, src)
    if idx is None:
        return input.clone()
    return ScatterReduce(idx, axis, reduce, bool(include_self))(input, _leading_part(src, index))


def index_add(input, dim, index, source, *, alpha=1):  # noqa: A002 - PyTorch's name
    """``torch.index_add``: a copy of ``input`` with ``alpha * source`` added along ``dim`` at
    the positions ``index`` (1-d; ``source``'s slice i goes to position ``index[i]``, repeats
    add up). A ``scatter_add`` with ``index`` repeated across each slice, so ``source``'s
    gradient is ``alpha * index_select(gy, dim, index)``."""
    if not isinstance(input, Tensor) or not isinstance(source, Tensor):
        raise TypeError(f"index_add(): input and source must be Tensors, got "
                        f"{type(input).__name__} and {type(source).__name__}")
    if input.ndim == 0:
        normalize_dims(dim, 0)
        return index_add(input.reshape(1), 0, index.reshape(-1) if isinstance(index, Tensor) else index,
                         source.reshape(-1), alpha=alpha).reshape(())
    if not _index_dtype_ok(index):
        got = index.dtype.name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"index_add(): Expected dtype int32/int64 for index but got: {got}")
    if index.device != input.device:
        raise RuntimeError(f"index_add(): index is on {index.device}, self on {input.device}")
    (axis,) = normalize_dims(dim, input.ndim)
    if index.ndim > 1:
        raise IndexError(f"index_add(): Index is supposed to be a vector, but got dim: {index.ndim} "
                         f"with type: {index.dtype.name} and size: {list(index.shape)}")
    k = index.numel()
    others = [n for d, n in enumerate(input.shape) if d != axis]
    if source.ndim != input.ndim or [n for d, n in enumerate(source.shape) if d != axis] != others:
        raise RuntimeError("index_add(): source tensor shape must match self tensor shape, excluding "
                           f"the specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    if source.shape[axis] != k:
        raise RuntimeError(f"index_add(): Number of indices ({k}) should be equal to source.size(dim): "
                           f"({source.shape[axis]}), for dim: {axis}")
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_add(): self ({input.dtype.name}) and source ({source.dtype.name}) "
                           "must have the same scalar type")
    if k == 0:
        return input.clone()
    _in_range("index_add", index, axis, input.shape[axis], "is out of range for dimension")
    xp = input.backend.xp
    lined_up = tuple(k if d == axis else 1 for d in range(input.ndim))
    idx = xp.broadcast_to(xp.reshape(index.data, lined_up), tuple(source.shape))   # index[i] across slice i
    if alpha != 1:
        source = source * alpha
        if source.dtype != input.dtype:   # an integer tensor times a fractional alpha: truncated back
            source = source.to(input.dtype)
    return input + ScatterAdd(idx, axis, tuple(input.shape))(source)
