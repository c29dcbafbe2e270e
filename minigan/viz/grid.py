"""``make_grid`` and ``save_image`` with torchvision's semantics, on NumPy.

torchvision is not a dependency, so this is a rebuild of ``torchvision.utils.make_grid`` /
``save_image`` from their documented behaviour, defaults and quirks included:

* (H,W) and (C,H,W) inputs are single images; a list is stacked along a new batch axis first
  (so a list of (H,W) images stacks to one (B,H,W) image, as in torchvision);
* one-channel images are repeated to three channels;
* a batch of one comes back as that image, unpadded;
* otherwise ``nrow`` images per row, each cell ``padding`` pixels apart and from the border,
  on a canvas of ``pad_value``: shape ``(C, ymaps*(H+padding)+padding, xmaps*(W+padding)+padding)``;
* ``normalize`` clamps to ``value_range`` (or the data's min..max; per image with
  ``scale_each``) and maps it to 0..1, dividing by ``max(high - low, 1e-5)``.

``save_image`` rounds as torchvision does: ``x*255 + 0.5``, clamped to 0..255, truncated to
uint8, so 0.5 becomes 128.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from ..tensor import tensor as _tensor


def to_host_array(x, dtype=None):
    """A NumPy array on the host from a minigan Tensor (any device), an array or a list."""
    if isinstance(x, Tensor):
        x = x.detach()
        x = x.backend.xp.to_numpy(x.data)  # a copy from the GPU; a view on the CPU
    return np.asarray(x, dtype=dtype)


def _stack(images):
    """The images as one float array, and whether a Tensor was given (to return one)."""
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError("make_grid: got an empty list of images")
        like = images[0] if isinstance(images[0], Tensor) else None
        arrays = [to_host_array(im) for im in images]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"make_grid: the images must all have one shape, got {sorted(shapes)}")
        array = np.stack(arrays)
    else:
        like = images if isinstance(images, Tensor) else None
        array = to_host_array(images)
    # keep float64 for a float64 Tensor; everything else is drawn in float32
    dtype = np.float64 if like is not None and array.dtype == np.float64 else np.float32
    return array.astype(dtype, copy=True), like


def _normalize(batch, value_range, scale_each):
    """torchvision's norm_range, in place on a (B,C,H,W) float array."""
    if value_range is not None:
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified, "
                            f"got {value_range!r}")

    def norm(img):
        low, high = value_range if value_range is not None else (float(img.min()), float(img.max()))
        np.clip(img, low, high, out=img)
        img -= low
        img /= max(high - low, 1e-5)

    for img in (batch if scale_each else [batch]):  # each image is a view into batch
        norm(img)


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):
    """Arrange a batch of images in a grid, as ``torchvision.utils.make_grid``.

    ``tensor`` is (B,C,H,W), a list of (C,H,W), or one (C,H,W) or (H,W) image; a minigan
    Tensor or a NumPy array. Returns the (C, height, width) grid as the same kind it was
    given: a Tensor on the input's device (float64 kept) or a float32 array.
    """
    batch, like = _stack(tensor)
    if batch.ndim == 2:                       # one (H,W) image
        batch = batch[None]
    if batch.ndim == 3:                       # one (C,H,W) image
        if batch.shape[0] == 1:
            batch = np.concatenate([batch] * 3, axis=0)
        batch = batch[None]
    if batch.ndim != 4:
        raise ValueError(f"make_grid: expected (B,C,H,W), (C,H,W) or (H,W) images, got shape "
                         f"{batch.shape}")
    if batch.shape[1] == 1:                   # one-channel images -> grey RGB
        batch = np.concatenate([batch] * 3, axis=1)
    if normalize:
        _normalize(batch, value_range, scale_each)

    if batch.shape[0] == 1:                   # torchvision returns a lone image unpadded
        grid = batch[0]
    else:
        nmaps, channels, h, w = batch.shape
        xmaps = min(nrow, nmaps)
        ymaps = int(math.ceil(nmaps / xmaps))
        cell_h, cell_w = h + padding, w + padding
        grid = np.full((channels, cell_h * ymaps + padding, cell_w * xmaps + padding), pad_value,
                       dtype=batch.dtype)
        for k in range(nmaps):                # row-major: image k in row k//xmaps, column k%xmaps
            top, left = (k // xmaps) * cell_h + padding, (k % xmaps) * cell_w + padding
            grid[:, top:top + h, left:left + w] = batch[k]
    if like is not None:
        return _tensor(grid, device=like.device)
    return grid


def to_uint8_image(grid):
    """A (C,H,W) or (H,W) image of 0..1 floats as an (H,W,3) uint8 array, rounded as
    torchvision's ``save_image``: ``x*255 + 0.5``, clamped to 0..255, truncated.

    One channel is repeated to three (grey); four channels stay RGBA.
    """
    a = to_host_array(grid)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"to_uint8_image: expected a (C,H,W) or (H,W) image, got shape {a.shape}")
    if a.shape[0] == 1:
        a = np.concatenate([a] * 3, axis=0)
    if a.shape[0] not in (3, 4):
        raise ValueError(f"to_uint8_image: expected 1, 3 or 4 channels first, got shape {a.shape}")
    scaled = np.clip(a.astype(np.float32) * 255 + 0.5, 0, 255)
    return np.ascontiguousarray(scaled.transpose(1, 2, 0).astype(np.uint8))


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
               pad_value=0.0, format=None):
    """``make_grid`` the images and save the grid with Pillow, as torchvision's ``save_image``.

    ``fp`` is a path or a file object; ``format`` overrides the format taken from the name.
    """
    from PIL import Image

    grid = make_grid(tensor, nrow=nrow, padding=padding, normalize=normalize,
                     value_range=value_range, scale_each=scale_each, pad_value=pad_value)
    Image.fromarray(to_uint8_image(grid)).save(fp, format=format)
