"""Normalisation and dropout: layer_norm, batch_norm, dropout.

``LayerNorm`` is the refinement of book section 1.3 (notebook 04): after the hidden layer's
LeakyReLU, each 200-value sample is shifted to mean 0 and scaled to variance 1, then
stretched by learnt gamma and shifted by learnt beta. ``BatchNorm2d`` arrives with the
convolutional networks of section 3.1 (notebooks 13-15), where it always runs in training
mode on a single image (BOOK_SPEC section 1.5), i.e. per channel over H x W.

Both are one fused :class:`~minigan.autograd.Function`. With x_hat = (x - mean) / sqrt(var +
eps) over the normalised axes (n values each) and g = dL/dx_hat = dL/dy * gamma::

    dL/dx     = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)
    dL/dgamma = sum of dL/dy * x_hat      over the other axes
    dL/dbeta  = sum of dL/dy              over the other axes

(the mean and variance depend on x too, which is where the two mean terms come from).
Sums over the normalised axes of contiguous rows are matrix-vector products with a vector of
ones: one BLAS call instead of a generic reduction, the fast path for the book's 1-d samples.
"""
from __future__ import annotations

import math

import numpy as np  # host-side only: the dropout mask is drawn on the host

from .. import backend as B
from ..autograd import Function
from ..tensor import Tensor, _from_host

_ones_cache = {}


def _ones(xp, n, dtype):
    """A cached vector of n ones (never written to) for row sums by matmul."""
    key = (id(xp), n, dtype)
    v = _ones_cache.get(key)
    if v is None:
        v = _ones_cache[key] = xp.ones((n,), dtype=dtype)
    return v


# ============================================================================== layer_norm
class LayerNorm(Function):
    """Normalise over the last ``k`` axes (``normalized_shape``), then ``* weight + bias``.

    Inputs: x, then weight and bias if given (each of ``normalized_shape``). The statistics
    are computed on x viewed as (rows, n): row sums are ``rows @ ones``.
    """

    def __init__(self, n, eps, has_weight, has_bias):
        self.n, self.eps = n, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def _row_sums(self, a):
        """Sum over the normalised (trailing) axes, kept as a broadcastable shape."""
        xp = self.xp
        ones = _ones(xp, self.n, a.dtype)
        if a.ndim == 1:
            return xp.matmul2d(a, ones)  # the book's (200,) sample: one dot product
        rows = xp.matmul2d(xp.reshape(a, (-1, self.n)), ones)
        return xp.reshape(rows, self.stat_shape)

    def forward(self, x, *params):
        xp = self.xp
        k = self.k = x.ndim - len(self.normalized_shape)
        self.stat_shape = x.shape[:k] + (1,) * (x.ndim - k)
        inv_n = 1.0 / self.n
        # Shifted data: subtract each row's first value before taking the mean. The maths is
        # the same, but a constant row is then exactly 0 (a plain float32 mean of 200 copies
        # of 1234.567 is a few ulps off, which x_hat scales by 1/sqrt(eps) = 316 into 0.1),
        # and rows far from 0 lose less to cancellation.
        if x.ndim == 1:
            xc = x - x[:1]
        else:
            rows = xp.reshape(x, (-1, self.n))
            xc = xp.reshape(rows - rows[:, :1], x.shape)
        xc -= self._row_sums(xc) * inv_n
        var = self._row_sums(xc * xc) * inv_n
        rstd = 1.0 / xp.sqrt(var + self.eps)
        xc *= rstd  # xc is fresh: it becomes x_hat in place
        self.x_hat, self.rstd = xc, rstd
        if not params:
            return xc
        y = xc * params[0] if self.has_weight else xc + params[0]
        if self.has_weight and self.has_bias:
            y += params[1]
        return y

    def backward_arrays(self, gy):
        xp = self.xp
        x_hat, rstd, inv_n = self.x_hat, self.rstd, 1.0 / self.n
        needs = self.needs_input_grad
        grads = [None] * len(needs)
        if needs[0]:
            g = gy * self.inputs[1].data if self.has_weight else gy
            mean_g = self._row_sums(g) * inv_n
            mean_gx = self._row_sums(g * x_hat) * inv_n
            gx = x_hat * mean_gx
            gx += mean_g
            gx = g - gx
            gx *= rstd
            grads[0] = gx
        i = 1
        if self.has_weight:
            if needs[i]:
                grads[i] = gy * x_hat  # summed over the leading axes by the graph walk
            i += 1
        if self.has_bias and needs[i]:
            grads[i] = gy
        return tuple(grads)

    def composite(self, F, x, *params):
        axes = tuple(range(self.k, x.ndim))
        xc = x - F.mean(x, dim=axes, keepdim=True)
        var = F.mean(xc * xc, dim=axes, keepdim=True)
        y = xc / F.sqrt(var + self.eps)
        i = 0
        if self.has_weight:
            y = y * params[0]
            i = 1
        if self.has_bias:
            y = y + params[i]
        return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """``F.layer_norm``: normalise over the trailing ``normalized_shape`` axes with the
    biased variance (book section 1.3, notebook 04: ``nn.LayerNorm(200)``)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.shape[input.ndim - k:] != normalized_shape or input.ndim < k:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(normalized_shape)}, expected "
                           f"input with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size {list(input.shape)}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != normalized_shape:
            raise RuntimeError(f"layer_norm: {name} of shape {p.shape} for normalized_shape "
                               f"{normalized_shape}")
    fn = LayerNorm(math.prod(normalized_shape), float(eps), weight is not None, bias is not None)
    fn.normalized_shape = normalized_shape
    params = [p for p in (weight, bias) if p is not None]
    return fn(input, *params)


# ============================================================================== batch_norm
class BatchNorm(Function):
    """Per-channel normalisation of (N, C, *) input: the statistics run over every axis but
    the channel axis 1. Inputs: x, then weight and bias (C,) if given.

    ``training``: normalise with the batch's own mean and biased variance (and leave them on
    ``self.batch_mean`` / ``self.batch_var`` for the running statistics); otherwise with
    the given ``running`` (mean, var) arrays, which makes the op affine in x.
    """

    def __init__(self, training, eps, has_weight, has_bias, running=None):
        self.training, self.eps = training, eps
        self.has_weight, self.has_bias = has_weight, has_bias
        self.running = running

    def _channel_sums(self, a):
        """Sum over N and the spatial axes, as a (1, C, 1, ...) array."""
        xp = self.xp
        if self.spatial == 1:  # (N, C) or (N, C, 1, ...)
            return xp.sum(a, axis=0, keepdims=True)
        # rows of S spatial values, summed by one matrix-vector product (BLAS gemv)
        rows = xp.reshape(a, (self.batch * self.channels, self.spatial))
        sums = xp.matmul2d(rows, _ones(xp, self.spatial, a.dtype))
        if self.batch > 1:
            sums = xp.sum(xp.reshape(sums, (self.batch, self.channels)), axis=0)
        return xp.reshape(sums, self.param_shape)

    def forward(self, x, *params):
        xp = self.xp
        self.batch, self.channels = x.shape[0], x.shape[1]
        self.spatial = math.prod(x.shape[2:])
        self.param_shape = (1, self.channels) + (1,) * (x.ndim - 2)
        if self.training:
            inv_m = 1.0 / (self.batch * self.spatial)
            if B.as_dtype(x.dtype) == B.float32:
                # float32 statistics accumulate in float64, as PyTorch's CPU kernel does: a
                # float32 sum of 196 copies of 1234.567 is a few ulps off, and x_hat scales
                # that by 1/sqrt(eps) = 316 into 0.1 for a channel that should be exactly 0
                mean = xp.astype(self._channel_sums(xp.astype(x, B.float64)) * inv_m, x.dtype)
            else:
                mean = self._channel_sums(x) * inv_m
            xc = x - mean
            var = self._channel_sums(xc * xc) * inv_m
            self.batch_mean, self.batch_var = mean, var
        else:
            mean, var = (xp.reshape(a, self.param_shape) for a in self.running)
            xc = x - mean
        rstd = 1.0 / xp.sqrt(var + self.eps)
        xc *= rstd
        self.x_hat, self.rstd = xc, rstd
        if not params:
            return xc
        i = 0
        if self.has_weight:
            y = xc * xp.reshape(params[0], self.param_shape)
            i = 1
        else:
            y = xc + 0.0
        if self.has_bias:
            y += xp.reshape(params[i], self.param_shape)
        return y

    def backward_arrays(self, gy):
        xp = self.xp
        x_hat, needs = self.x_hat, self.needs_input_grad
        grads = [None] * len(needs)
        need_w = self.has_weight and needs[1]
        need_b = self.has_bias and needs[-1]
        batch_stats = self.training and needs[0]  # the training dL/dx needs both sums
        sum_gy = self._channel_sums(gy) if batch_stats or need_b else None
        sum_gy_xhat = self._channel_sums(gy * x_hat) if batch_stats or need_w else None
        if needs[0]:
            scale = self.rstd
            if self.has_weight:
                scale = scale * xp.reshape(self.inputs[1].data, self.param_shape)
            if self.training:
                # gamma is constant over the reduced axes: mean(g) = gamma mean(dL/dy), and
                # mean(g x_hat) = gamma mean(dL/dy x_hat), so the parameter sums serve dL/dx too
                inv_m = 1.0 / (self.batch * self.spatial)
                gx = x_hat * (sum_gy_xhat * inv_m)
                gx += sum_gy * inv_m
                gx -= gy  # -(gy - gx) in place, exactly: no third array of x's size
                gx *= -scale
            else:
                gx = gy * scale
            grads[0] = gx
        if need_w:
            grads[1] = xp.reshape(sum_gy_xhat, (self.channels,))
        if need_b:
            grads[-1] = xp.reshape(sum_gy, (self.channels,))
        return tuple(grads)

    def composite(self, F, x, *params):
        axes = (0,) + tuple(range(2, x.ndim))
        if self.training:
            xc = x - F.mean(x, dim=axes, keepdim=True)
            var = F.mean(xc * xc, dim=axes, keepdim=True)
            y = xc / F.sqrt(var + self.eps)
        else:
            xp = self.xp
            mean, var = (Tensor._wrap(xp.reshape(a, self.param_shape), x.backend) for a in self.running)
            y = (x - mean) / F.sqrt(var + self.eps)
        i = 0
        if self.has_weight:
            y = y * F.reshape(params[0], self.param_shape)
            i = 1
        if self.has_bias:
            y = y + F.reshape(params[i], self.param_shape)
        return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """``F.batch_norm`` on (N, C, *) input, per channel C.

    training=True: normalise with the batch statistics over N and the spatial axes (biased
    variance), and, if running_mean / running_var are given, update them in place:
    ``running = (1 - momentum) running + momentum * batch`` with the *unbiased* variance.
    training=False: normalise with running_mean / running_var.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {list(input.shape)}")
    channels = input.shape[1]
    for name, p in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if p is not None and p.shape != (channels,):
            raise RuntimeError(f"batch_norm: {name} of shape {p.shape} for input with "
                               f"{channels} channels (shape {input.shape})")
    m = input.numel() // channels if channels else 0
    if training and m <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {list(input.shape)}")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                               "training=False")
        dtype = input.data.dtype
        running = tuple(r.data if r.data.dtype == dtype else input.backend.xp.astype(r.data, dtype)
                        for r in (running_mean, running_var))
    else:
        running = None
    fn = BatchNorm(bool(training), float(eps), weight is not None, bias is not None, running)
    out = fn(input, *[p for p in (weight, bias) if p is not None])
    if training and (running_mean is not None or running_var is not None):
        xp = input.backend.xp
        shape = (channels,)
        if running_mean is not None:
            new = xp.reshape(fn.batch_mean, shape) * momentum
            new += running_mean.data * (1.0 - momentum)
            running_mean.data = xp.astype(new, running_mean.data.dtype, copy=False)
        if running_var is not None:
            new = xp.reshape(fn.batch_var, shape) * (momentum * m / (m - 1))  # unbiased
            new += running_var.data * (1.0 - momentum)
            running_var.data = xp.astype(new, running_var.data.dtype, copy=False)
    return out


# ============================================================================== dropout
class Dropout(Function):
    """Multiply by a fixed random mask of 0 and 1/(1-p); the backward uses the same mask."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, F, gy):
        if F.is_array_mode:
            return gy * self.mask
        return gy * Tensor._wrap(self.mask, self.inputs[0].backend)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """``F.instance_norm``: each sample's channel normalised over its own spatial positions
    (pix2pix's and CycleGAN's generators use it where DCGAN uses batch normalisation; the
    statistics never mix the samples of a batch). Input (N, C, ...).

    Written with the differentiable ops (mean, var, arithmetic), so its gradient, and its
    gradient's gradient, are theirs. With running statistics and ``use_input_stats`` they are
    updated as PyTorch does: the batch's mean of each sample's mean and unbiased variance,
    blended in with ``momentum``; without ``use_input_stats`` (eval mode) they are used instead.
    """
    from ..autograd import no_grad
    from .arithmetic import sqrt
    n, c = input.shape[0], input.shape[1]
    axes = tuple(range(2, input.ndim))
    per_channel = (1, c) + (1,) * len(axes)
    if use_input_stats:
        spatial = math.prod(input.shape[2:])
        if spatial <= 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                             f"got input size {tuple(input.shape)}")
        mean = input.mean(dim=axes, keepdim=True)
        var = input.var(dim=axes, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    batch_mean = mean.detach().reshape(n, c).mean(dim=0)
                    running_mean.copy_(running_mean * (1 - momentum) + batch_mean * momentum)
                if running_var is not None:
                    unbiased = var.detach().reshape(n, c) * (spatial / (spatial - 1))
                    running_var.copy_(running_var * (1 - momentum) + unbiased.mean(dim=0) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: use_input_stats=False needs running_mean and running_var")
        mean, var = running_mean.reshape(*per_channel), running_var.reshape(*per_channel)
    out = (input - mean) / sqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(*per_channel)
    if bias is not None:
        out = out + bias.reshape(*per_channel)
    return out


def dropout(input, p=0.5, training=True, inplace=False):
    """``F.dropout``: in training, zero each element with probability ``p`` and scale the rest
    by 1/(1-p); otherwise the identity. The mask comes from the seeded host generator
    (``minigan.manual_seed``), so it is the same on every device."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.dtype not in B.FLOAT_DTYPES:
        raise TypeError(f"dropout: input must be floating point, got {input.dtype.name}")
    if p == 1.0:
        mask = np.zeros(input.shape, dtype=input.dtype)
    else:
        keep = B.host_generator().random(input.shape) >= p
        mask = keep.astype(input.dtype) * (1.0 / (1.0 - p))
    return Dropout(_from_host(mask, input.dtype, input.backend))(input)


__all__ = ["layer_norm", "batch_norm", "dropout"]
