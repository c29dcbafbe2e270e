"""Questions asked of tensors, as tests ask them: ``isclose``, ``allclose``, ``equal``, ``any``,
``all``. No gradients (their answers are bools).

``isclose(a, b)`` is PyTorch's: ``|a - b| <= atol + rtol * |b|`` elementwise (not symmetric:
``b`` is the reference), equal infinities are close, NaN is close to NaN only with
``equal_nan=True``; the two tensors must have one dtype and one device, and broadcast.
``allclose`` and ``equal`` answer one Python bool; ``equal`` needs the same shape and the same
values, of any dtypes (NaN is never equal, as in PyTorch).
"""
from __future__ import annotations

import numpy as np  # errstate only

from .. import backend as B
from ..array_ops import normalize_dims
from ..autograd import Function
from .arithmetic import as_tensor_operand, broadcast_error, eq, to_dtype


class IsClose(Function):
    differentiable = False

    def __init__(self, rtol, atol, equal_nan, exact):
        self.rtol, self.atol, self.equal_nan, self.exact = rtol, atol, equal_nan, exact

    def forward(self, a, b):
        xp = self.xp
        close = a == b  # exact equality, which is also how equal infinities are close
        if self.exact:
            return close
        with np.errstate(invalid="ignore"):  # inf - inf: NaN, not close (equal ones are above)
            error = xp.abs(a - b)
            # a finite error only: -inf and inf are not within inf * rtol of each other
            within = xp.logical_and(xp.isfinite(error), error <= self.atol + self.rtol * xp.abs(b))
        close = xp.logical_or(close, within)
        if self.equal_nan:
            close = xp.logical_or(close, xp.logical_and(xp.isnan(a), xp.isnan(b)))
        return close


class Reduce(Function):
    """any or all over ``axes`` (None: every axis)."""

    differentiable = False

    def __init__(self, name, axes, keepdim):
        self.name, self.axes, self.keepdim = name, axes, keepdim

    def forward(self, x):
        return getattr(self.xp, self.name)(x, axis=self.axes, keepdims=self.keepdim)


def _pair(input, other, name):
    other = as_tensor_operand(other, input, name)
    if input.device != other.device:
        raise RuntimeError(f"{name}: expected both tensors on the same device, got {input.device} "
                           f"and {other.device}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"{name}: both tensors must have the same dtype, got {input.dtype.name} "
                           f"and {other.dtype.name}")
    return input, other


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    input, other = _pair(input, other, "isclose")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol}, atol={atol}")
    error = broadcast_error(input, other, "isclose")
    if error is not None:
        raise error
    floating = input.dtype in B.FLOAT_DTYPES
    exact = input.dtype == B.bool_ or (not floating and not rtol and not atol)
    if not floating and not exact:  # integers with tolerances: |a - b| and rtol |b| as floats
        input, other = to_dtype(input, B.float64), to_dtype(other, B.float64)
    return IsClose(rtol, atol, equal_nan and floating, exact)(input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(all(isclose(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)).item())


def equal(input, other):
    """Same shape and the same values (compared after promotion: ``equal`` of an int64 and a
    float32 tensor asks about the numbers, as in PyTorch)."""
    other = as_tensor_operand(other, input, "equal")
    if input.device != other.device:
        raise RuntimeError(f"equal: expected both tensors on the same device, got {input.device} "
                           f"and {other.device}")
    if input.shape != other.shape:
        return False
    return bool(all(eq(input, other)).item())


def _reduce(name, input, dim, keepdim):
    if input.dtype != B.bool_:
        input = input != 0  # nonzero is true, as in PyTorch (NaN too)
    axes = None if dim is None else normalize_dims(dim, input.ndim)
    return Reduce(name, axes, keepdim)(input)


def any(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _reduce("any", input, dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _reduce("all", input, dim, keepdim)
