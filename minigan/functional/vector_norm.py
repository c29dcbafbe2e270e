"""Vector norms: ``linalg.vector_norm`` and ``Tensor.norm`` / ``minigan.norm``.

Beyond the book: WGAN-GP's gradient penalty, ``((grad.norm(2, dim=1) - 1) ** 2).mean()``,
is a norm of a gradient that is itself differentiated (``create_graph=True``), so the
2-norm's backward is written in primitives (the ``F`` namespace) and is differentiable again.

The one subtle point is the zero vector. ``sqrt(sum(x * x))`` composed from primitives has
gradient ``x / |x|`` = 0/0 = NaN there; PyTorch defines the (sub)gradient at 0 to be 0, and
so does minigan: the backward divides by the norm where it is nonzero and multiplies by a
0/1 mask, so no NaN is ever formed and the second derivative at 0 is 0 as well (PyTorch's).

ord: 2 (the default), 1, inf, -inf, 0 (the number of nonzeros, no gradient) or any other
real p, ``(sum |x|^p)^(1/p)``, each with PyTorch's gradient. As in PyTorch, nothing is
rescaled: the 2-norm underflows to 0 when every |x| < 1e-154 (the norm of one element is
|x| itself).
"""
from __future__ import annotations

import math

from ..array_ops import normalize_dims
from ..autograd import Function
from ..tensor import Tensor

__all__ = ["vector_norm", "norm"]


def _kept(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class _Norm(Function):
    """Common: the reduced axes, keepdim, and the upstream gradient and norm in kept shape."""

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def _kept_operands(self, F, gy):
        x = self.input(F, 0)
        n = self.output(F)
        if not self.keepdim:
            kept = _kept(x.shape, self.axes)
            gy, n = F.reshape(gy, kept), F.reshape(n, kept)
        nonzero = F.to_dtype(n != 0, x.dtype)  # 0/1: the gradient is 0 where the norm is 0
        safe = n + (1.0 - nonzero)              # the norm, with 1 in place of 0 (never 0/0)
        return x, gy, nonzero, safe

    def _single(self, x):
        """A norm over one element is |x| exactly, as PyTorch gives it (no x*x underflow)."""
        if math.prod(x.shape[a] for a in self.axes) == 1:
            return self.xp.sum(self.xp.abs(x), axis=self.axes, keepdims=self.keepdim)
        return None


class Norm2(_Norm):
    """sqrt(sum x^2); gradient x / |x|, and 0 at the zero vector."""

    def forward(self, x):
        xp = self.xp
        single = self._single(x)
        if single is not None:
            return single
        return xp.sqrt(xp.sum(x * x, axis=self.axes, keepdims=self.keepdim))

    def backward(self, F, gy):
        x, gy, nonzero, safe = self._kept_operands(F, gy)
        return x / safe * (gy * nonzero)  # PyTorch's order: grad * (x / norm), 0 where norm is 0


class NormP(_Norm):
    """(sum |x|^p)^(1/p) for real p other than 0, 1, 2, +-inf; gradient
    sign(x) |x|^(p-1) / |x|_p^(p-1), 0 where x is 0 or the whole vector is 0 (PyTorch's)."""

    def __init__(self, p, axes, keepdim):
        super().__init__(axes, keepdim)
        self.p = p

    def forward(self, x):
        xp = self.xp
        single = self._single(x)
        if single is not None:
            return single
        ax = xp.abs(x)
        if self.p > 0:
            terms = ax ** self.p
        else:  # 0 ** negative is inf (the norm is then 0), without a divide-by-zero warning
            zero = ax == 0
            terms = xp.where(zero, math.inf, (ax + xp.astype(zero, x.dtype)) ** self.p)
        s = xp.sum(terms, axis=self.axes, keepdims=self.keepdim)
        return s ** (1.0 / self.p)

    def backward(self, F, gy):
        x, gy, nonzero, safe = self._kept_operands(F, gy)
        p = self.p
        ax = F.abs(x)
        ax_safe = ax + F.to_dtype(x == 0, x.dtype)  # |x| with 1 at zeros: no 0 ** negative
        return F.sign(x) * ax_safe ** (p - 1) * (gy * nonzero / safe ** (p - 1))


class CountNonzero(_Norm):
    """ord=0: how many entries are nonzero. Piecewise constant: the gradient is 0."""

    def forward(self, x):
        xp = self.xp
        return xp.sum(xp.astype(x != 0, x.dtype), axis=self.axes, keepdims=self.keepdim)

    def backward(self, F, gy):
        x = self.inputs[0]
        if not self.keepdim:
            gy = F.reshape(gy, _kept(x.shape, self.axes))
        return F.expand(gy * 0.0, x.shape)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):  # noqa: A002 - PyTorch's name
    """``torch.linalg.vector_norm``: the ``ord``-norm of ``x`` over ``dim`` (all axes if None)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.vector_norm: x must be a Tensor, got {type(x).__name__}")
    if dtype is not None:
        from .arithmetic import to_dtype
        x = to_dtype(x, dtype)
    if not x.is_floating_point():
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x.dtype.name}")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = normalize_dims(dim, x.ndim) if dim is not None else tuple(range(x.ndim))
    if dim is not None and isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = tuple(range(x.ndim))
    ord = float(ord)
    if x.numel() == 0 and ord < 0:
        raise RuntimeError("linalg.vector_norm cannot compute the {} norm on an empty tensor "
                           "because the operation does not have an identity".format(ord))
    if ord == 2.0:
        return Norm2(axes, keepdim)(x)
    if ord == 1.0:
        from .arithmetic import abs as abs_
        from .reduction import sum as sum_
        return sum_(abs_(x), dim=axes, keepdim=keepdim)
    if math.isinf(ord):
        from .arithmetic import abs as abs_
        from .reduction import amax, amin
        return (amax if ord > 0 else amin)(abs_(x), dim=axes, keepdim=keepdim)
    if ord == 0.0:
        return CountNonzero(axes, keepdim)(x)
    return NormP(ord, axes, keepdim)(x)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm`` / ``Tensor.norm``: the vector ``p``-norm over ``dim`` (all if None).

    ``p='fro'`` (the default) and ``p=None`` are the 2-norm over the given axes (the
    Frobenius norm of a matrix); ``p='nuc'`` (nuclear norm) is not supported.
    """
    if p is None or p == "fro":
        if dim is not None and isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(f"norm: 'fro' norm takes at most 2 dims, got dim={dim}")
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm: p={p!r} is not supported; minigan has vector norms "
                                  "(a number, 'fro' or None)")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)



def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):  # noqa: A002 - PyTorch's names
    """``torch.nn.functional.normalize``: ``input / max(||input||_p, eps)`` along ``dim``, so
    every slice along ``dim`` has ``p``-norm 1 (a zero slice stays zero instead of NaN).
    Differentiable through the norm; ``out`` is not supported (minigan makes new tensors)."""
    if out is not None:
        raise TypeError("normalize: out= is not supported; assign the result")
    from .arithmetic import clamp, div
    denominator = clamp(vector_norm(input, p, dim, keepdim=True), min=eps)
    return div(input, denominator)
