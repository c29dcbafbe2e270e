"""More elementwise maths under PyTorch's names: trigonometry, logarithms and exponentials near
0, reciprocals, rounding, the finiteness tests, and ``logsumexp``.

The book needs none of these (its networks use exp, log, sqrt, sigmoid, tanh and erf, which
live in arithmetic.py and activation.py); they are here because a user who writes their own
function - and checks it with :func:`minigan.gradcheck` - reaches for them. Each is one node
with its derivative written beside it (``y`` is the output)::

    sin    cos x            log1p   1 / (1 + x)        reciprocal   -y^2
    cos    -sin x           expm1   y + 1              rsqrt        -y^3 / 2
    tan    1 + y^2          log2    1 / (x ln 2)       floor, ceil, round, trunc   0
                            log10   1 / (x ln 10)

The rounding functions are flat wherever they are differentiable, so their gradient is 0
everywhere, as PyTorch defines it (a graph through them still reaches its leaves, with zeros).
``isnan``, ``isinf`` and ``isfinite`` answer bool tensors and record nothing. ``logsumexp``
is built from the ops above it, so its gradient (the softmax) and second derivative follow.
"""
from __future__ import annotations

import math

import numpy as np  # errstate only: NumPy's (and array-api-strict's) warnings

from .. import backend as B
from ..array_ops import normalize_dims
from ..autograd import Function
from .arithmetic import as_floating, exp, log, where
from .reduction import amax, sum  # noqa: A004 - PyTorch's name


class Sin(Function):
    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, F, gy):
        return gy * F.cos(self.input(F, 0))


class Cos(Function):
    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, F, gy):
        return -(gy * F.sin(self.input(F, 0)))


class Tan(Function):
    def forward(self, x):
        return self.xp.tan(x)

    def backward(self, F, gy):
        y = self.output(F)
        return gy * (1.0 + y * y)


class Log1p(Function):
    """log(1 + x), exact for tiny x where ``log(1 + x)`` rounds 1 + x first."""

    def forward(self, x):
        return self.xp.log1p(x)

    def backward(self, F, gy):
        return gy / (1.0 + self.input(F, 0))


class Expm1(Function):
    """e^x - 1, exact for tiny x where ``exp(x) - 1`` cancels."""

    def forward(self, x):
        return self.xp.expm1(x)

    def backward(self, F, gy):
        return gy * (self.output(F) + 1.0)


class LogBase(Function):
    """log2 or log10: the NumPy/CuPy function itself (exact at powers of the base), and the
    derivative 1 / (x ln base)."""

    def __init__(self, name, base):
        self.name, self.ln_base = name, math.log(base)

    def forward(self, x):
        return getattr(self.xp, self.name)(x)

    def backward(self, F, gy):
        return gy / (self.input(F, 0) * self.ln_base)


class Reciprocal(Function):
    def forward(self, x):
        return 1.0 / x

    def backward(self, F, gy):
        y = self.output(F)
        return -(gy * (y * y))


class Rsqrt(Function):
    """1 / sqrt(x), as ``1 / sqrt`` (two correctly rounded steps; PyTorch's CPU kernel is
    the same)."""

    def forward(self, x):
        return 1.0 / self.xp.sqrt(x)

    def backward(self, F, gy):
        y = self.output(F)
        return gy * (y * y * y) * -0.5


class Rounding(Function):
    """floor, ceil, round (halves to even, as PyTorch and NumPy) or trunc: gradient 0."""

    def __init__(self, name):
        self.name = name

    def forward(self, x):
        return getattr(self.xp, self.name)(x)

    def backward(self, F, gy):
        return F.zeros_like(gy)


class Finiteness(Function):
    """isnan, isinf or isfinite: a bool tensor, no gradient."""

    differentiable = False

    def __init__(self, name):
        self.name = name

    def forward(self, x):
        return getattr(self.xp, self.name)(x)


def sin(input):
    return Sin()(as_floating(input))


def cos(input):
    return Cos()(as_floating(input))


def tan(input):
    return Tan()(as_floating(input))


def log1p(input):
    return Log1p()(as_floating(input))


def expm1(input):
    return Expm1()(as_floating(input))


def log2(input):
    return LogBase("log2", 2)(as_floating(input))


def log10(input):
    return LogBase("log10", 10)(as_floating(input))


def reciprocal(input):
    return Reciprocal()(as_floating(input))


def rsqrt(input):
    return Rsqrt()(as_floating(input))


def _rounded(input, name):
    if input.dtype not in B.FLOAT_DTYPES:  # integers and bools are already whole: PyTorch returns them
        return input
    return Rounding(name)(input)


def floor(input):
    return _rounded(input, "floor")


def ceil(input):
    return _rounded(input, "ceil")


def trunc(input):
    return _rounded(input, "trunc")


def round(input, decimals=0):  # noqa: A001 - PyTorch's name
    """Halves to even; with ``decimals`` d, PyTorch's ``round(x * 10**d) / 10**d`` (or, for a
    negative d, ``round(x / 10**-d) * 10**-d``)."""
    if decimals == 0:
        return _rounded(input, "round")
    if input.dtype not in B.FLOAT_DTYPES:
        raise RuntimeError(f"round: decimals={decimals} needs a floating tensor, got {input.dtype.name}")
    scale = 10.0 ** abs(decimals)
    if decimals > 0:
        return _rounded(input * scale, "round") / scale
    return _rounded(input / scale, "round") * scale


def isnan(input):
    return Finiteness("isnan")(input)


def isinf(input):
    return Finiteness("isinf")(input)


def isfinite(input):
    return Finiteness("isfinite")(input)


def logsumexp(input, dim, keepdim=False):
    """log(sum(exp(x))) over ``dim`` without overflow: the largest value m of each slice is
    taken out first, ``m + log(sum(exp(x - m)))`` (an all -inf or +inf slice: m = 0 instead,
    which gives -inf or inf as PyTorch). m is a constant of the graph: its two appearances
    cancel in the derivative, which is the softmax of x."""
    input = as_floating(input)
    dims = normalize_dims(dim, input.ndim)
    m = amax(input, dim=dims, keepdim=True).detach()
    m = where(isfinite(m), m, 0.0)
    total = sum(exp(input - m), dim=dims, keepdim=keepdim)
    with np.errstate(divide="ignore"):  # an all -inf slice: log(0) = -inf, meant (no warning)
        logged = log(total)
    return logged + (m if keepdim else m.reshape(total.shape))
