"""Weight initialisation in PyTorch's names (``torch.nn.init``).

The book never initialises weights itself: every layer starts from PyTorch's defaults
(BOOK_SPEC section 1.9), which ``Linear`` and the conv layers reproduce here through
``kaiming_uniform_(w, a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), +1/sqrt(fan_in)), and the same
bound for the bias. ``fan_in`` is read from dimension 1 of the weight times the kernel size,
so a ``ConvTranspose2d`` weight of shape (in, out, k, k) has fan_in = out * k * k, exactly
as in PyTorch.

Every function fills its tensor in place from the one seeded host generator
(``minigan.manual_seed``), under ``no_grad`` (so it works on Parameters), and returns it.
A NumPy ``Generator`` may be passed as ``generator=`` instead. The tensor may also be given as
its ``.data`` array, as PyTorch's DCGAN tutorial does (``nn.init.normal_(m.weight.data, 0.0,
0.02)``): that array is filled in place.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend as B
from ..autograd import no_grad
from ..tensor import Tensor, _from_host

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_"]

_LINEAR_LIKE = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (PyTorch's table): 1 for linear/conv/sigmoid,
    5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope 0.01 by
    default), 3/4 for selu."""
    if nonlinearity in _LINEAR_LIKE or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Number):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out): dims 1 and 0 of the weight, times the receptive field (kernel)."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _filled(tensor, make):
    """Fill ``tensor`` with ``make(backend, dtype, shape)``, an array of that device and dtype.

    ``tensor`` may also be a raw array: PyTorch's tutorials pass ``m.weight.data``, which in
    minigan is the parameter's array itself, so that array is written in place (and the
    parameter holding it changes). A Tensor gets a new array, under ``no_grad``."""
    if isinstance(tensor, Tensor):
        with no_grad():   # (through a detached alias too: it hands the array on, as PyTorch's)
            tensor._replace_array(make(tensor.backend, tensor.dtype, tuple(tensor.shape)))
        return tensor
    if hasattr(tensor, "shape") and hasattr(tensor, "dtype") and hasattr(tensor, "__setitem__"):
        tensor[...] = make(B.backend_of_array(tensor), B.as_dtype(tensor.dtype), tuple(tensor.shape))
        return tensor
    raise TypeError(f"nn.init: expected a Tensor or its .data array, got {type(tensor).__name__}")


def _fill(tensor, host_values):
    """Replace the tensor's numbers with host values (cast to its dtype, moved to its device)."""
    return _filled(tensor, lambda backend, dtype, shape: _from_host(host_values, dtype, backend))


def _generator(generator):
    return B.host_generator() if generator is None else generator


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with U(a, b)."""
    return _fill(tensor, _generator(generator).uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, _generator(generator).normal(mean, std, tensor.shape))


def constant_(tensor, val):
    """Fill with ``val``."""
    return _filled(tensor, lambda backend, dtype, shape: backend.xp.full(shape, val, dtype=dtype))


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def orthogonal_(tensor, gain=1.0, generator=None):
    """A (semi-)orthogonal matrix (Saxe et al. 2013; BigGAN's and SAGAN's initialisation):
    the tensor viewed as (shape[0], rest), filled with the Q of the QR decomposition of a
    standard normal matrix, signs fixed by R's diagonal so Q is uniformly distributed, times
    ``gain`` - PyTorch's algorithm (its numbers differ: another generator)."""
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    rows = shape[0]
    cols = math.prod(shape[1:])
    if rows * cols == 0:
        return tensor
    flat = _generator(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: U(-bound, bound), bound = gain * sqrt(3 / fan). PyTorch's layers call it with
    a = sqrt(5), which gives gain sqrt(1/3) and so bound = 1 / sqrt(fan_in)."""
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    bound = math.sqrt(3.0) * std  # PyTorch's order of operations, for the same float
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He: N(0, std^2), std = gain / sqrt(fan)."""
    if 0 in tuple(tensor.shape):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)


def default_bound(weight):
    """PyTorch's default bound 1/sqrt(fan_in) for a layer's weight and bias (0 if fan_in is 0)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(weight)
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
