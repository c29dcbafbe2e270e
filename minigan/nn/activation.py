"""Activation layers: Sigmoid, Tanh, ReLU, LeakyReLU, GELU, Softmax, LogSoftmax; beyond the
book Softplus, SiLU, ELU and PReLU.

The book's networks end in ``Sigmoid`` (every notebook), use ``LeakyReLU`` from section 1.3 on
(slope 0.02 for MNIST, 0.2 for the conv GANs of section 3.1, the 0.01 default in the FC CelebA
GAN of section 2.4) and swap it for ``GELU`` in section 3.1's refinements (notebook 15). Each
module calls one fused Function of :mod:`minigan.functional.activation` directly: per-sample
training makes every avoided Python call count. (So the modules skip one thing the functions
do: ``F.sigmoid`` / ``F.tanh`` turn an integer tensor into the default float dtype first, as
PyTorch does; ``nn.Sigmoid`` on integers gives NumPy's float64. The check would cost about
0.1 us a call, 0.7 % of the 1010 GAN's step.)
"""
from __future__ import annotations

import warnings

from ..functional import activation as A
from ..functional.image_blocks import prelu
from ..tensor import full
from .module import Module, Parameter

__all__ = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "GELU", "Softmax", "LogSoftmax", "Softplus", "SiLU",
           "ELU", "PReLU"]


class Sigmoid(Module):
    """1 / (1 + e^-x) (book section 1.2: the output layer of every network)."""

    def forward(self, input):
        return A.Sigmoid()(input)


class Tanh(Module):
    def forward(self, input):
        return A.Tanh()(input)


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace  # accepted for PyTorch compatibility; minigan never mutates

    def forward(self, input):
        return A.ReLU()(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise (book section 1.3, notebook 04)."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return A.LeakyReLU(float(self.negative_slope))(input)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """x Phi(x), exact erf form by default (book section 3.1 refinements, notebook 15)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return A.GELU()(input) if self.approximate == "none" else A.GELUTanh()(input)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + e^(beta x)) / beta, x itself above ``threshold`` (a smooth ReLU)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return A.Softplus(float(self.beta), float(self.threshold))(input)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    """x sigma(x)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return A.SiLU()(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return A.ELU(float(self.alpha))(input)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """LeakyReLU with a learnt slope: one for all channels, or one per channel (SRGAN)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), init, device=device, dtype=dtype))

    def forward(self, input):
        return prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


def _legacy_softmax_dim(name, ndim):
    """PyTorch's implicit choice for ``dim=None`` (deprecated there, with this warning)."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("softmax", input.ndim)
        return A.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("log_softmax", input.ndim)
        return A.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
