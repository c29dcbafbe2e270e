"""The book's pictures of generated images (BOOK_SPEC §1.8, §4.06, §4.09, §4.14).

Every GAN notebook shows a rows x cols grid of G's outputs with ``plt.subplots`` and
``imshow(img, interpolation='none', cmap='Blues')`` (the colour map only matters for grey
images); the 1010 GAN shows its ten G(0.5) snapshots as one 4x10 picture. G's outputs come
in several layouts, and :func:`plot_images` takes each of them as the notebooks reshape them:

* flat vectors of a square length (MNIST: 784 -> 28x28, §4.08);
* (H,W) grey images;
* HWC colour images (fully connected CelebA G: (218,178,3), §4.12);
* CHW or NCHW colour images (conv CelebA G: (1,3,128,128), permuted to HWC, §4.14).
"""
from __future__ import annotations

import math

import numpy as np

from ._figure import new_figure, save_figure
from .grid import to_host_array


def _one_image(a):
    """One image as a 2-D grey or (H,W,3|4) colour array ready for ``imshow``."""
    shape = a.shape
    if a.ndim == 4 and a.shape[0] == 1:       # (1,C,H,W): the conv G's batch of one
        a = a[0]
    if a.ndim == 1:
        side = math.isqrt(a.size)
        if side * side != a.size:
            raise ValueError(f"plot_images: a flat image needs a square length (784 = 28x28), "
                             f"got {a.size}")
        a = a.reshape(side, side)
    elif a.ndim == 3:
        if a.shape[-1] not in (1, 3, 4) and a.shape[0] in (1, 3, 4):
            a = a.transpose(1, 2, 0)          # CHW -> HWC, as §4.14's permute(0,2,3,1)
        if a.shape[-1] == 1:
            a = a[..., 0]
        elif a.shape[-1] not in (3, 4):
            raise ValueError(f"plot_images: a 3-D image must be HWC or CHW with 1, 3 or 4 "
                             f"channels, got shape {shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"plot_images: cannot show an image of shape {shape}")
    if a.ndim == 3 and a.dtype.kind == "f":
        a = np.clip(a, 0.0, 1.0)              # imshow would clip too, with a warning per image
    return a


def _split(images):
    """A list of single images from a sequence, or from one array whose first axis is the batch.

    For a single array: 1-D is one flat image; 2-D is a batch of flat images when its rows
    have a square length, else one (H,W) image; 3-D is one colour image when it is HWC
    (last axis 3 or 4) or CHW with 3 channels, else a batch of (H,W) images; 4-D is a batch.
    """
    if isinstance(images, (list, tuple)):
        return [to_host_array(im) for im in images]
    a = to_host_array(images)
    if a.ndim == 2 and math.isqrt(a.shape[1]) ** 2 != a.shape[1]:
        return [a]
    if a.ndim == 3 and (a.shape[-1] in (3, 4) or a.shape[0] == 3):
        return [a]
    return [a] if a.ndim == 1 else list(a)


def plot_images(images, path=None, *, rows=2, cols=3, titles=None, cmap="Blues", figsize=(16, 8)):
    """Show images on a rows x cols grid of subplots, as the notebooks do; returns the Figure.

    The first ``rows*cols`` images are drawn row by row; spare cells are left blank.
    ``titles`` optionally labels each image. Writes a PNG when ``path`` is given.
    """
    shown = [_one_image(a) for a in _split(images)][:rows * cols]
    fig = new_figure(figsize)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(shown):
            ax.axis("off")
            continue
        ax.imshow(shown[k], interpolation="none", cmap=cmap)
        if titles is not None and k < len(titles):
            ax.set_title(str(titles[k]))
    return save_figure(fig, path)


def plot_pattern_snapshots(snapshots, path=None):
    """The 1010 GAN's snapshots of G(0.5) as one picture (BOOK_SPEC §4.06); returns the Figure.

    The notebook appends G(0.5) every 1,000 steps and shows ``numpy.array(image_list).T``:
    one column per snapshot, one row per output, so rows 0 and 2 darken as G learns 1010.
    """
    columns = [to_host_array(s, np.float64).ravel() for s in snapshots]
    if not columns:
        raise ValueError("plot_pattern_snapshots: no snapshots to show")
    lengths = {c.size for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"plot_pattern_snapshots: snapshots differ in length: {sorted(lengths)}")
    fig = new_figure((16, 8))
    fig.add_subplot().imshow(np.stack(columns).T, interpolation="none", cmap="Blues")
    return save_figure(fig, path)
