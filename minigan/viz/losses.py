"""Loss plots in the book's style (BOOK_SPEC §1.8).

Every notebook draws its ``progress`` list (one loss every 10th ``train`` call, §1.6) with
pandas::

    df = pandas.DataFrame(self.progress, columns=['loss'])
    df.plot(ylim=(0), figsize=(16,8), alpha=0.1, marker='.', grid=True,
            yticks=(0, 0.25, 0.5, 1.0, 5.0))

:func:`plot_progress` draws the same picture with matplotlib alone: x = 0..n-1, a faint line
with '.' markers, a grid, the legend 'loss'. The low alpha is what makes the book's plots
readable: tens of thousands of overlapping points show up as a density.
"""
from __future__ import annotations

import numpy as np

from ._figure import new_figure, save_figure

# style -> (ylim, yticks).  MSE-era notebooks (03, 06, 07, 13) fix both ends of the axis;
# BCE GANs (08, 09, 12, 14, 15, 16) fix only the bottom, since BCE losses spike far above 1.
STYLES = {
    "mse": ((0, 1.0), (0, 0.25, 0.5)),
    "bce": ((0, None), (0, 0.25, 0.5, 1.0, 5.0)),
    # Wasserstein critics' losses (minigan.models.wgan) are signed and unbounded: free axis
    "wasserstein": ((None, None), None),
}


def _as_losses(progress):
    """A 1-D float array from a list of floats (or 0-d tensors), an array or a Tensor."""
    from .grid import to_host_array

    if isinstance(progress, np.ndarray) or hasattr(progress, "backend"):
        return to_host_array(progress, np.float64).ravel()
    return np.array([float(v) for v in progress], dtype=np.float64)


def plot_progress(progress, path=None, *, style="bce", title=None, ax=None):
    """Plot a loss list as the book does (BOOK_SPEC §1.8); returns the Figure.

    ``style`` is ``"bce"`` (ylim bottom 0, yticks 0, 0.25, 0.5, 1, 5) or ``"mse"`` (ylim
    0..1, yticks 0, 0.25, 0.5), or ``"wasserstein"`` (a free axis, for signed critic
    losses). Draws into ``ax`` when given, else on a new 16x8 figure;
    writes a PNG when ``path`` is given. An empty list gives an empty, labelled plot.
    """
    if style not in STYLES:
        raise ValueError(f"plot_progress: style must be one of {sorted(STYLES)}, got {style!r}")
    ylim, yticks = STYLES[style]
    losses = _as_losses(progress)
    fig = new_figure((16, 8)) if ax is None else ax.figure
    if ax is None:
        ax = fig.add_subplot()

    # pandas plots a column against its index, in the first colour of the cycle
    ax.plot(np.arange(len(losses)), losses, label="loss", alpha=0.1, marker=".")
    if len(losses) == 0:
        ax.text(0.5, 0.5, "no losses recorded yet", transform=ax.transAxes,
                ha="center", va="center", color="grey")
    # same order as pandas: limits first, then ticks (which widen a BCE axis up to 5.0)
    ax.set_ylim(*ylim)
    if yticks is not None:
        ax.set_yticks(yticks)
    ax.grid(True)
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_gan_progress(d_progress, g_progress, path, *, style="bce", title=None):
    """D's and G's loss lists as two stacked panels of one picture; returns the Figure.

    In the book's loop D's list holds only its losses on fake samples: D trains twice per GAN
    step and records on every 10th call, which always falls on the fake call (BOOK_SPEC §1.6),
    so D has two points for each of G's. A critic (``style="wasserstein"``: WGAN, WGAN-GP,
    SN-GAN's hinge loss) trains once per batch on real and fake together, and each of its
    points is that whole loss.
    """
    fig = new_figure((16, 16))
    ax_d, ax_g = fig.subplots(2, 1)
    plot_progress(d_progress, style=style, ax=ax_d,
                  title="critic / discriminator (real and fake in one loss, every 10th step)"
                  if style == "wasserstein" else "discriminator (fake-sample losses only, BOOK_SPEC §1.6)")
    plot_progress(g_progress, style=style, ax=ax_g, title="generator")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
