"""``nn.Conv2d`` and ``nn.ConvTranspose2d``: the layers of the book's CNNs.

Book section 4.13 classifies MNIST with ``Conv2d(1, 10, kernel_size=5, stride=2)`` and
``Conv2d(10, 10, kernel_size=3, stride=2)``; section 4.14's CelebA GAN has a discriminator of
three ``Conv2d(., ., kernel_size=8, stride=2)`` and a generator of three
``ConvTranspose2d(., ., kernel_size=8, stride=2)``, the last with ``padding=1``.

Both keep PyTorch's parameter shapes, argument names, defaults and initialisation
(BOOK_SPEC section 1.9): the weight is ``kaiming_uniform_(a=sqrt(5))``, which is
U(-1/sqrt(fan_in), +1/sqrt(fan_in)), and the bias takes the same bound. ``fan_in`` is
weight dimension 1 times the kernel area: ``in_channels*KH*KW`` for Conv2d, whose weight is
(out, in, KH, KW), but ``out_channels*KH*KW`` for ConvTranspose2d, whose weight is
(in, out, KH, KW). The maths is in :mod:`minigan.functional.conv`.
"""
from __future__ import annotations

from .. import backend as B
from ..functional.conv import _pair, conv2d, conv_transpose2d
from ..tensor import empty
from . import init
from .module import Module, Parameter


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: arguments, parameters, init and printing."""

    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 output_padding, groups, bias, padding_mode, device, dtype):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if groups != 1:
            raise NotImplementedError(f"{name}: groups={groups} is not supported; minigan "
                                      "implements groups=1 only (the book's layers are ungrouped)")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(f"{name}: padding_mode must be one of 'zeros', 'reflect', "
                             f"'replicate', 'circular', got {padding_mode!r}")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not supported; "
                                      "only 'zeros'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _pair(kernel_size, "kernel_size", name)
        if min(self.kernel_size) <= 0:
            raise ValueError(f"{name}: kernel_size must be positive, got {kernel_size!r}")
        self.stride = _pair(stride, "stride", name)
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding", name)
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or a pair of ints, got {padding!r}")
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        self.dilation = _pair(dilation, "dilation", name)
        self.output_padding = _pair(output_padding, "output_padding", name)
        self.groups, self.padding_mode = groups, padding_mode
        self.transposed = self._transposed

        dtype = B.as_dtype(dtype) if dtype is not None else B.get_default_dtype()
        kh, kw = self.kernel_size
        shape = ((in_channels, out_channels // groups, kh, kw) if self._transposed
                 else (out_channels, in_channels // groups, kh, kw))
        self.weight = Parameter(empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: weight and bias both U(-1/sqrt(fan_in), +1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        if self.bias is not None:
            bound = init.default_bound(self.weight)
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation), as ``torch.nn.Conv2d``.

    Input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, OH, OW) with
    ``OH = (H + 2*padding - dilation*(kernel-1) - 1) // stride + 1``.
    Book section 4.13: ``Conv2d(1, 10, kernel_size=5, stride=2)`` maps (1, 1, 28, 28) to
    (1, 10, 12, 12).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, 0,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                      self.groups, _layer=self)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution, as ``torch.nn.ConvTranspose2d``: the gradient of a Conv2d
    with respect to its input, used to *grow* images.

    Input (N, C_in, H, W) or (C_in, H, W); output (N, C_out, OH, OW) with
    ``OH = (H-1)*stride - 2*padding + dilation*(kernel-1) + output_padding + 1``.
    Book section 4.14: ``ConvTranspose2d(3, 256, kernel_size=8, stride=2)`` maps
    (1, 3, 11, 11) to (1, 256, 28, 28).
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         output_padding, groups, bias, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        if output_size is not None:
            raise NotImplementedError(f"{self!r}: output_size is not supported; "
                                      "pass output_padding to the layer instead")
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation, _layer=self)
