"""Where a self-attention layer looks (SAGAN, :mod:`minigan.models.sagan`; the paper's figure 5).

A row per image: the image with a few *query* positions marked, then, for each query, the
attention map of that position - how much of its output comes from every other position
(one row of the layer's (N, N) attention matrix, shown on the layer's H x W grid and
stretched to the image's size). A convolution would light up a small square around the
query; attention may light up the whole stroke, or the far side of the digit.
"""
from __future__ import annotations

import numpy as np

from ._figure import new_figure, save_figure

COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown")


def plot_attention_maps(images, maps, queries, path=None, *, cmap="Blues"):
    """``images`` (S, H, W) in [0, 1]; ``maps`` (S, Q, h, w), one map per query position;
    ``queries`` Q (row, column) positions on the h x w grid. Returns the Figure."""
    images, maps = np.asarray(images), np.asarray(maps)
    if images.ndim != 3 or maps.ndim != 4 or maps.shape[:2] != (images.shape[0], len(queries)):
        raise ValueError(f"plot_attention_maps: images (S, H, W) and maps (S, {len(queries)}, h, w) "
                         f"expected, got shapes {images.shape} and {maps.shape}")
    rows, cols = images.shape[0], 1 + len(queries)
    scale = images.shape[1] / maps.shape[2]           # map cell -> image pixels
    fig = new_figure((2.2 * cols, 2.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for s in range(rows):
        axes[s, 0].imshow(images[s], cmap=cmap, vmin=0.0, vmax=1.0, interpolation="none")
        for q, (r, c) in enumerate(queries):
            colour = COLOURS[q % len(COLOURS)]
            centre = ((c + 0.5) * scale - 0.5, (r + 0.5) * scale - 0.5)
            axes[s, 0].plot(*centre, "o", color=colour, markersize=6)
            ax = axes[s, 1 + q]
            ax.imshow(maps[s, q], cmap="magma", interpolation="nearest",
                      extent=(-0.5, images.shape[2] - 0.5, images.shape[1] - 0.5, -0.5))
            ax.plot(*centre, "o", color=colour, markersize=6, markeredgecolor="white")
            if s == 0:
                ax.set_title(f"query ({r}, {c})", fontsize=9)
        if s == 0:
            axes[s, 0].set_title("image", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return save_figure(fig, path)
