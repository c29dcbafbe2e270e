"""A training GIF: one frame per snapshot of G's outputs, written with Pillow.

Frames are uint8 HWC pictures, or image grids straight from :func:`make_grid` (float CHW,
0..1), which are converted with :func:`to_uint8_image` as ``save_image`` would.
"""
from __future__ import annotations

import numpy as np

from .grid import to_host_array, to_uint8_image


def _frame(f):
    a = to_host_array(f)
    if a.dtype == np.uint8 and (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))):
        return a                                  # already a picture
    return to_uint8_image(a)


def save_gif(frames, path, *, duration_ms=200, loop=0):
    """Write ``frames`` as an animated GIF at ``path``; returns ``path``.

    ``duration_ms`` is per frame (a number, or one per frame); ``loop=0`` repeats forever.
    All frames must have one size. Pillow merges consecutive identical frames into one
    (adding their durations), so a GIF of unchanging pictures has fewer frames.
    """
    from PIL import Image

    pictures = [_frame(f) for f in frames]
    if not pictures:
        raise ValueError(f"save_gif: no frames to write to {path}")
    size = pictures[0].shape[:2]
    for k, p in enumerate(pictures):
        if p.shape[:2] != size:
            raise ValueError(f"save_gif: frame {k} is {p.shape[0]}x{p.shape[1]} (HxW) but frame 0 "
                             f"is {size[0]}x{size[1]}; all frames of {path} must have one size")
    # one mode for all frames (grey, RGB and RGBA may mix); GIF keeps no alpha worth keeping
    images = [Image.fromarray(p).convert("RGB") for p in pictures]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=loop)
    return path
