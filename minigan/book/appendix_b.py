"""Appendix B: images sampled from per-pixel probabilities (notebook ``Appendix_B_generate``; BOOK_SPEC 4.B).

What does it mean for a GAN to learn "the distribution" of its training images? The appendix
answers with a toy: eight 3 x 3 black-and-white training images. Counting, for each pixel, in
how many of them it is on gives a 3 x 3 table of counts; divided by 8 it is the probability
that the pixel is on::

    counts          probabilities
    6  0  1         0.75   0     0.125
    0  7  0         0      0.875 0
    2  0  1         0.25   0     0.125

A new image "like the training set" is drawn by switching each pixel on with its
probability: ``ceil(p - u)`` with ``u`` uniform in [0, 1) is 1 exactly when ``u < p``. The
samples (a 4 x 6 grid) are mostly the diagonal and centre patterns of the training images,
sometimes empty or mixed - new images, in the proportions the training set had. A GAN's G
learns to do this for distributions far too big to tabulate.

This is arithmetic, not a training run, so it is plain functions (no ``minigan train``
entry): ``examples/appendix_b_probability_images.py`` draws the two pictures.
"""
from __future__ import annotations

import numpy as np

import minigan

#: How many of the 8 training images have each pixel on (BOOK_SPEC 4.B).
COUNTS = np.array([[6, 0, 1],
                   [0, 7, 0],
                   [2, 0, 1]])
EXAMPLES = 8
#: The book's grid of samples.
GRID_ROWS, GRID_COLS = 4, 6


def probabilities(counts=COUNTS, examples: int = EXAMPLES) -> np.ndarray:
    """Per-pixel probability of being on: ``counts / examples`` (float64)."""
    counts = np.asarray(counts, dtype=np.float64)
    if examples <= 0 or counts.min() < 0 or counts.max() > examples:
        raise ValueError(f"counts must lie in 0..{examples} for {examples} examples")
    return counts / examples


def sample_images(probs, count: int) -> np.ndarray:
    """``count`` images drawn pixel by pixel: ``ceil(p - U(0, 1))``, 1 with probability ``p``.

    The uniform numbers come from minigan's seeded host generator (``minigan.manual_seed``).
    Returns float64 (count, H, W) of 0.0 and 1.0.
    """
    probs = np.asarray(probs, dtype=np.float64)
    u = minigan.rand(count, *probs.shape, dtype=minigan.float64).numpy()
    return np.ceil(probs - u)


def plot_counts(counts=COUNTS, path=None):
    """The counts as a picture (cmap 'Reds', as the book); returns the Figure."""
    from .. import viz
    fig = viz.plot_images([np.asarray(counts, dtype=np.float64)], None, rows=1, cols=1,
                          cmap="Reds", figsize=(6, 6))
    return _save_without_ticks(fig, path)


def plot_samples(images, path=None):
    """The book's 4 x 6 grid of samples (figsize (12, 8), no ticks, cmap 'Blues')."""
    from .. import viz
    fig = viz.plot_images(list(images), None, rows=GRID_ROWS, cols=GRID_COLS, cmap="Blues",
                          figsize=(12, 8))
    return _save_without_ticks(fig, path)


def _save_without_ticks(fig, path):
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig
