"""Activations: sigmoid, tanh, relu, leaky_relu, gelu, softmax, log_softmax; beyond the book
softplus (the GAN losses of logits), silu and elu.

The book's networks use Sigmoid (every output layer), LeakyReLU (slope 0.02 for MNIST, 0.2
for the conv GANs, PyTorch's default 0.01 for the FC CelebA GAN) and GELU (section 3.1,
notebook 15). Every one is a single node with its derivative written next to it, and each
stays finite for any |x|: sigmoid never overflows, softmax subtracts the row maximum.
"""
from __future__ import annotations

import math

from ..array_ops import normalize_dims
from ..autograd import Function
from .arithmetic import as_floating


class Sigmoid(Function):
    """sigma(x) = 1 / (1 + e^-x), computed without overflow (SciPy's ``expit`` where
    installed, else (1 + tanh(x/2)) / 2; see backend.py)."""

    def forward(self, x):
        return self.xp.sigmoid(x)

    def backward(self, F, gy):
        y = self.output(F)
        return gy * y * (1.0 - y)  # sigma' = sigma (1 - sigma)


class Tanh(Function):
    def forward(self, x):
        return self.xp.tanh(x)

    def backward(self, F, gy):
        y = self.output(F)
        return gy * (1.0 - y * y)


# Above this many elements a select with a random mask (``where``) is branch-bound, about
# 4 ns per element on NumPy; multiplying by the mask as a 0/1 float array streams at ~0.5 ns.
# Below it, fewer calls win (the book's batch-1 layers have 200 or 784 elements).
_MASK_ARITHMETIC_FROM = 4096


def _positive_mask(xp, x):
    return xp.astype(x > 0, x.dtype)


class ReLU(Function):
    def forward(self, x):
        if x.dtype == bool:
            return x
        xp = self.xp
        if x.size >= _MASK_ARITHMETIC_FROM and xp.name == "numpy" and x.dtype.kind == "f":
            # NumPy 2.4's maximum against a scalar runs a scalar loop: 0.30 ms for (64, 64, 14,
            # 14) numbers, 0.12 against an array of zeros (Zen 4). The same numbers, bit for
            # bit: -0 and negatives -> +0, NaN kept.
            y = xp.zeros_like(x)
            return xp.maximum(x, y, out=y)
        return xp.maximum(x, 0.0)

    def backward(self, F, gy):
        x = self.input(F, 0)
        if F.is_array_mode and x.size >= _MASK_ARITHMETIC_FROM:
            factor = _positive_mask(self.xp, x)
            factor *= gy  # into the fresh mask: no second array of x's size
            return factor
        return F.where(x > 0, gy, 0.0)


class LeakyReLU(Function):
    """x for x > 0, slope * x otherwise (the gradient at 0 is the slope, as in PyTorch)."""

    def __init__(self, negative_slope):
        self.slope = negative_slope

    def forward(self, x):
        xp = self.xp
        if 0.0 <= self.slope <= 1.0:  # the same values as the select below, without it
            y = x * self.slope
            if x.size >= _MASK_ARITHMETIC_FROM and xp.name != "array_api_strict":
                return xp.maximum(x, y, out=y)  # into y: 0.33 -> 0.25 ms at (1, 256, 61, 61)
            return xp.maximum(x, y)
        return xp.where(x > 0, x, x * self.slope)

    def backward(self, F, gy):
        x, slope = self.input(F, 0), self.slope
        if F.is_array_mode and x.size >= _MASK_ARITHMETIC_FROM:
            factor = _positive_mask(self.xp, x)  # 1 where x > 0, else slope
            factor *= 1.0 - slope
            factor += slope
            factor *= gy  # into the fresh mask: 0.43 -> 0.33 ms for a (1, 256, 61, 61) layer
            return factor
        return F.where(x > 0, gy, gy * slope)


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Function):
    """x Phi(x), the exact erf form (PyTorch's default, notebook 15)."""

    def forward(self, x):
        return x * (0.5 + 0.5 * self.xp.erf(x * _SQRT_HALF))

    def backward(self, F, gy):
        x = self.input(F, 0)
        cdf = 0.5 + 0.5 * F.erf(x * _SQRT_HALF)
        pdf = F.exp(x * x * -0.5) * _INV_SQRT_2PI
        return gy * (cdf + x * pdf)


class GELUTanh(Function):
    """The tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def forward(self, x):
        inner = (x + 0.044715 * x * x * x) * _SQRT_2_OVER_PI
        return 0.5 * x * (1.0 + self.xp.tanh(inner))

    def backward(self, F, gy):
        x = self.input(F, 0)
        x2 = x * x
        th = F.tanh((x + x2 * x * 0.044715) * _SQRT_2_OVER_PI)
        d_inner = (1.0 + x2 * (3 * 0.044715)) * _SQRT_2_OVER_PI
        return gy * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * d_inner)


class Softplus(Function):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (PyTorch's switch back
    to the identity). The GAN losses written with it - ``softplus(-D(real))`` for BCE with
    logits, StyleGAN's form - need it finite for any score, so it is computed as
    ``max(bx, 0) + log1p(e^-|bx|)``, which never overflows; its derivative is sigma(beta x)."""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp = self.xp
        bx = x * self.beta if self.beta != 1 else x
        soft = xp.log1p(xp.exp(-xp.abs(bx))) + xp.where(bx > 0, bx, xp.zeros_like(bx))
        if self.beta != 1:
            soft = soft / self.beta
        return xp.where(bx > self.threshold, x, soft)

    def backward(self, F, gy):
        bx = self.input(F, 0) * self.beta
        return F.where(bx > self.threshold, gy, gy * F.sigmoid(bx))


class SiLU(Function):
    """x sigma(x) (also called swish): derivative sigma(x) (1 + x (1 - sigma(x)))."""

    def forward(self, x):
        return x * self.xp.sigmoid(x)

    def backward(self, F, gy):
        x = self.input(F, 0)
        s = F.sigmoid(x)
        return gy * (s * (1.0 + x * (1.0 - s)))


class ELU(Function):
    """x for x > 0, alpha (e^x - 1) otherwise. The derivative below 0 is taken from the output,
    y + alpha (= alpha e^x), as PyTorch does: no exponential of a large x is ever formed."""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, x):
        xp = self.xp
        negative = xp.where(x > 0, xp.zeros_like(x), x)
        return xp.where(x > 0, x, self.alpha * xp.expm1(negative))

    def backward(self, F, gy):
        y = self.output(F)
        return F.where(y > 0, gy, gy * (y + self.alpha))


class Softmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = self.xp
        e = xp.exp(x - xp.max(x, axis=self.axis, keepdims=True))
        return e / xp.sum(e, axis=self.axis, keepdims=True)

    def backward(self, F, gy):
        y = self.output(F)
        gyy = gy * y
        return gyy - y * F.sum(gyy, dim=self.axis, keepdim=True)


class LogSoftmax(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = self.xp
        shifted = x - xp.max(x, axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=self.axis, keepdims=True))

    def backward(self, F, gy):
        y = self.output(F)
        return gy - F.exp(y) * F.sum(gy, dim=self.axis, keepdim=True)


def sigmoid(input):
    return Sigmoid()(as_floating(input))


def tanh(input):
    return Tanh()(as_floating(input))


def relu(input, inplace=False):
    return ReLU()(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU(float(negative_slope))(input)


def gelu(input, approximate="none"):
    if approximate == "none":
        return GELU()(input)
    if approximate == "tanh":
        return GELUTanh()(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def softplus(input, beta=1.0, threshold=20.0):
    """``F.softplus``: a smooth ReLU, log(1 + e^(beta x)) / beta (identity above ``threshold``)."""
    return Softplus(float(beta), float(threshold))(as_floating(input))


def silu(input, inplace=False):
    """``F.silu``: x sigma(x)."""
    return SiLU()(as_floating(input))


def elu(input, alpha=1.0, inplace=False):
    """``F.elu``: x above 0, alpha (e^x - 1) below."""
    return ELU(float(alpha))(as_floating(input))


def _softmax_axis(input, dim, op):
    if dim is None:
        raise TypeError(f"{op}: pass dim= explicitly (PyTorch's implicit choice is deprecated)")
    (axis,) = normalize_dims(dim, input.ndim) if input.ndim else (0,)
    return axis


def softmax(input, dim=None):
    if input.ndim == 0:
        from .arithmetic import exp, div
        return div(exp(input), exp(input))
    return Softmax(_softmax_axis(input, dim, "softmax"))(input)


def log_softmax(input, dim=None):
    return LogSoftmax(_softmax_axis(input, dim, "log_softmax"))(input)
