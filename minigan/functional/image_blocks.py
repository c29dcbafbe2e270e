"""Layers of the image GANs after the book, composed of differentiable ops (so their
gradients, and gradients of gradients, are those ops'): SRGAN's ``pixel_shuffle`` and
``prelu``, ``dropout2d`` (whole channels dropped), and ``adaptive_avg_pool2d`` (a global
average before a discriminator's last layer).
"""
from __future__ import annotations

from .. import backend as B
from ..tensor import Tensor, _from_host
from .arithmetic import where
from .shape import cat, permute, reshape

__all__ = ["pixel_shuffle", "pixel_unshuffle", "prelu", "dropout2d", "adaptive_avg_pool2d"]


def pixel_shuffle(input, upscale_factor):
    """(..., C r^2, H, W) -> (..., C, H r, W r): each group of r^2 channels becomes an r x r
    block of pixels (Shi et al. 2016; SRGAN's upsampling). A reshape, a permute, a reshape."""
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by "
                           f"the square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = permute(x, (*range(n), n, n + 3, n + 1, n + 4, n + 2))
    return reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """The inverse: (..., C, H r, W r) -> (..., C r^2, H, W)."""
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor {r}, got {h} x {w}")
    n = len(lead)
    x = reshape(input, (*lead, c, h // r, r, w // r, r))
    x = permute(x, (*range(n), n, n + 2, n + 4, n + 1, n + 3))
    return reshape(x, (*lead, c * r * r, h // r, w // r))


def prelu(input, weight):
    """``F.prelu``: x where positive, ``weight * x`` elsewhere; ``weight`` has one slope, or one
    per channel (dimension 1; a 1-d input has no channel dimension)."""
    if weight.ndim != 1:
        raise RuntimeError(f"prelu: weight must be 1-d, got shape {tuple(weight.shape)}")
    k = weight.shape[0]
    if k != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if k != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter "
                               f"numbers = {k} and channel size = {channels}.")
        weight = reshape(weight, (1, k) + (1,) * (input.ndim - 2))
    return where(input > 0, input, weight * input)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """``F.dropout2d``: in training, zero whole channels of (N, C, H, W) (or (C, H, W)) with
    probability ``p`` and scale the rest by 1/(1-p) (the mask from the seeded host generator)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"dropout2d: expected a 3D or 4D input, got {input.ndim}D")
    if not training or p == 0.0:
        return input
    if input.dtype not in B.FLOAT_DTYPES:
        raise TypeError(f"dropout2d: input must be floating point, got {input.dtype.name}")
    shape = tuple(input.shape[:-2]) + (1, 1)
    keep = B.host_generator().random(shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    mask = Tensor._wrap(_from_host(keep.astype(input.dtype) * scale, input.dtype, input.backend),
                        input.backend)
    return input * mask


def _bins(size, out):
    """PyTorch's adaptive pooling windows: [floor(i size / out), ceil((i + 1) size / out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(input, output_size):
    """``F.adaptive_avg_pool2d``: the mean of each of PyTorch's ``output_size`` windows of
    (N, C, H, W) or (C, H, W); done as rows then columns, as the windows are rectangles."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d: expected a 3D or 4D input, got {input.ndim}D")
    size = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    h, w = input.shape[-2:]
    oh, ow = (h if size[0] is None else size[0]), (w if size[1] is None else size[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"adaptive_avg_pool2d: output size must be positive, got {size}")
    rows = [input[..., a:b, :].mean(dim=-2, keepdim=True) for a, b in _bins(h, oh)]
    x = rows[0] if oh == 1 else cat(rows, -2)
    cols = [x[..., a:b].mean(dim=-1, keepdim=True) for a, b in _bins(w, ow)]
    return cols[0] if ow == 1 else cat(cols, -1)

