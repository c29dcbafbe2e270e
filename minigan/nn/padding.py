"""Padding layers (beyond the book): ``ReflectionPad2d`` and its kin, in PyTorch's names.

pix2pix's and CycleGAN's generators pad with reflections before their convolutions instead
of zeros, so the border of a picture is not pulled towards black. Each layer calls
:func:`minigan.nn.functional.pad` with its mode; ``padding`` is one int for every side or a
tuple (left, right) for 1d, (left, right, top, bottom) for 2d.
"""
from __future__ import annotations

from ..functional.shape import pad
from .module import Module

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d",
           "CircularPad1d", "CircularPad2d", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d"]


class _Pad(Module):
    mode = "constant"
    sides = 2            # numbers in ``padding``: 2 for 1d, 4 for 2d

    def __init__(self, padding, value=0.0):
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * self.sides
        padding = tuple(int(p) for p in padding)
        if len(padding) != self.sides:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {self.sides} ints, "
                             f"got {padding}")
        self.padding, self.value = padding, value

    def forward(self, input):
        return pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ReflectionPad1d(_Pad):
    mode = "reflect"


class ReflectionPad2d(_Pad):
    mode, sides = "reflect", 4


class ReplicationPad1d(_Pad):
    mode = "replicate"


class ReplicationPad2d(_Pad):
    mode, sides = "replicate", 4


class CircularPad1d(_Pad):
    mode = "circular"


class CircularPad2d(_Pad):
    mode, sides = "circular", 4


class ZeroPad1d(_Pad):
    def __init__(self, padding):
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    sides = 4


class ConstantPad1d(_ConstantPad):
    def __init__(self, padding, value):
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    sides = 4
