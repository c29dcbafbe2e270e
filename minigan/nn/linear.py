"""``Linear``: y = x W^T + b, the fully connected layer of every network in the book.

Book section 1.2 (notebook 03) builds the MNIST classifier from ``nn.Linear(784, 200)`` and
``nn.Linear(200, 10)``; every GAN after it uses the same layer. The weight has shape
(out_features, in_features) and both weight and bias start from PyTorch's default
U(-1/sqrt(in_features), +1/sqrt(in_features)) (BOOK_SPEC section 1.9), so parameter counts,
state_dict layouts and the starting distribution are PyTorch's.
"""
from __future__ import annotations

import math

from ..functional.arithmetic import Linear as LinearFunction, linear
from ..tensor import empty
from . import init
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """Fully connected layer: input (..., in_features) -> (..., out_features).

    The book feeds single samples without a batch dimension, e.g. a (784,) image; batched
    (N, 784) input works the same way. The forward is the fused ``F.linear`` node.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(empty(self.out_features, self.in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(self.out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)) for the weight,
        and the same bound for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = init.default_bound(self.weight)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        try:
            weight, bias = self._parameters["weight"], self._parameters["bias"]
        except KeyError:  # a weight recomputed before each call (nn.utils.spectral_norm)
            weight, bias = self.weight, self.bias
        if input.data.shape[-1:] == (self.in_features,) and input.data.dtype == weight.data.dtype:
            # the checked fast path: call the fused node directly
            return LinearFunction()(input, weight) if bias is None else LinearFunction()(input, weight, bias)
        return linear(input, weight, bias)  # raises the descriptive error

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
