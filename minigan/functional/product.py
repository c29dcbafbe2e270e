"""Products along an axis, prod and cumprod, with gradients that stay right where entries are 0.

prod: y = prod_j x_j, so dy/dx_i = prod_{j != i} x_j, "the product of the others". Where no
entry is zero that is y / x_i, one division. A zero makes y / x_i a 0 / 0, yet the product of
the others is well defined: with one zero, at k, it is prod_{j != k} x_j at k and 0 elsewhere
(every other position's product holds x_k); with two zeros or more it is 0 everywhere. All of
these come, without a division, from the products of what lies before i and of what lies
after it, two running products shifted by one place (the prefix-and-suffix trick)::

    dy/dx_i = (prod_{j < i} x_j) * (prod_{j > i} x_j)

cumprod: y_k = prod_{j <= k} x_j, so dL/dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j.
Without zeros that is the running sum of g * y taken from the far end, divided by x_i. With
zeros (PyTorch's cumprod_backward does the same): before the first zero z the division still
holds, since every y_k with k >= z is 0; at z the sum is prod_{j < z} x_j times
sum_{k >= z} g_k prod_{z < j <= k} x_j, a cumprod with the entries up to z set to 1; after z
every term holds x_z = 0. That O(n) formula is exact for the first derivative only (its masks
are constants, so its own derivative misses the terms that x_z = 0 switched off); for
``create_graph=True`` the n x n products prod_{j <= k, j != i} x_j are built instead (PyTorch's
choice too), which are differentiable to any order.
"""
from __future__ import annotations

from .. import backend as B
from ..array_ops import cumulative_prod, normalize_dims
from ..autograd import Function
from ..tensor import Tensor


def _has_zero(xp, a):
    return bool(xp.any(a == 0))   # (a device sync on CUDA, as PyTorch's own check)


def _reversed_cumsum(F, a, axis):
    """sum_{k >= i} a_k: the running sum taken from the far end."""
    return F.flip(F.cumsum(F.flip(a, (axis,)), axis), (axis,))


def _exclusive_cumprod(F, x, axis):
    """prod_{j < i} x_j: the running product shifted one place, starting from 1."""
    head, n = (slice(None),) * axis, x.shape[axis]
    ones = F.zeros_like(x[head + (slice(0, 1), ...)]) + 1
    return F.cat([ones, F.cumprod(x, axis)[head + (slice(0, n - 1), ...)]], axis)


class Prod(Function):
    """The product along ``axis``; the gradient, the product of the others (module docstring)."""

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        return self.xp.prod(x, axis=self.axis, keepdims=self.keepdim)

    def backward(self, F, gy):
        x, y, axis = self.input(F, 0), self.output(F), self.axis
        if not self.keepdim:
            kept = tuple(1 if i == axis else n for i, n in enumerate(x.shape))
            gy, y = F.reshape(gy, kept), F.reshape(y, kept)
        if not _has_zero(self.xp, self.inputs[0].data):
            return gy * y / x
        after = F.flip(_exclusive_cumprod(F, F.flip(x, (axis,)), axis), (axis,))
        return gy * (_exclusive_cumprod(F, x, axis) * after)


class CumProd(Function):
    """Running products along ``axis``; the gradient as in the module docstring."""

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return cumulative_prod(self.xp, x, self.axis)

    def backward(self, F, gy):
        x, y, axis = self.input(F, 0), self.output(F), self.axis
        if not _has_zero(self.xp, self.inputs[0].data):
            return _reversed_cumsum(F, gy * y, axis) / x
        if F.is_array_mode:
            return _cumprod_grad_at_zeros(F, x, y, gy, axis)
        return _cumprod_grad_exact(F, x, gy, axis)


def _cumprod_grad_at_zeros(F, x, y, gy, axis):
    """The O(n) first derivative where x has zeros (arrays only: see the module docstring)."""
    z = x == 0
    zeros = F.to_dtype(z, x.dtype)
    upto = F.cumsum(zeros, axis)                  # how many zeros at or before i
    before = upto == 0                            # i lies before the first zero
    first = z & (upto == 1)                       # i is the first zero
    safe = F.where(z, 1.0, x)
    grad_before = _reversed_cumsum(F, gy * y, axis) / safe
    past_first = F.cumprod(F.where(upto - zeros == 0, 1.0, x), axis)   # prod_{z < j <= k} x_j
    grad_first = F.cumprod(safe, axis) * _reversed_cumsum(F, gy * past_first, axis)
    return F.where(before, grad_before, F.where(first, grad_first, 0.0))


def _cumprod_grad_exact(F, x, gy, axis):
    """sum_{k >= i} g_k prod_{j <= k, j != i} x_j through the n x n products (Tensors: the
    create_graph path, differentiable again)."""
    xt, gt = F.transpose(x, axis, -1), F.transpose(gy, axis, -1)
    xp, n = x.backend.xp, xt.shape[-1]
    i, k = xp.reshape(xp.arange(n), (n, 1)), xp.reshape(xp.arange(n), (1, n))
    eye, upper = Tensor._wrap(i == k, x.backend), Tensor._wrap(i <= k, x.backend)
    partial = F.cumprod(F.where(eye, 1.0, F.unsqueeze(xt, -2)), -1)   # [..., i, k]
    g = F.sum(F.where(upper, F.unsqueeze(gt, -2) * partial, 0.0), -1)
    return F.transpose(g, axis, -1)


def _product_dtype(input, dtype):
    """PyTorch's dtype for products: ``dtype`` if given (a cast first), else floats stay and
    integers and bools multiply as int64."""
    if dtype is not None:
        return input.to(dtype) if input.dtype != B.as_dtype(dtype) else input
    return input if input.dtype in B.FLOAT_DTYPES or input.dtype == B.int64 else input.to(B.int64)


def prod(input, dim=None, keepdim=False, dtype=None):
    """``torch.prod``: the product of all entries, or along the one axis ``dim`` (PyTorch's
    prod reduces one dimension at a time); gradients right at zeros (module docstring)."""
    from .shape import clone
    input = _product_dtype(input, dtype)
    if dim is None:
        total = Prod(0, False)(input.reshape(-1))
        return total.reshape((1,) * input.ndim) if keepdim else total
    if not isinstance(dim, int):
        raise TypeError(f"prod(): dim must be an int (one dimension, as PyTorch), got {dim!r}")
    axes = normalize_dims(dim, input.ndim)
    return Prod(axes[0], keepdim)(input) if input.ndim else clone(input)


def cumprod(input, dim, *, dtype=None):
    """``torch.cumprod``: the running products along ``dim``."""
    from .shape import clone
    input = _product_dtype(input, dtype)
    axes = normalize_dims(dim, input.ndim)
    return CumProd(axes[0])(input) if input.ndim else clone(input)
