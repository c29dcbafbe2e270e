"""Matplotlib figures made without pyplot, so drawing needs no GUI and no global state.

pyplot keeps every figure in a global registry and picks a backend on first use; a figure
built as ``Figure`` with an Agg canvas does neither, so pictures can be drawn from training
loops, tests and headless servers alike. matplotlib is imported here, inside the functions,
because ``import minigan`` must not pay for it (the viz package is imported by minigan).
"""
from __future__ import annotations

DPI = 100  # 16x8 inches -> a 1600x800 PNG: readable, and small enough to keep per epoch


def new_figure(figsize=(16, 8)):
    """An empty Figure attached to an Agg canvas (BOOK_SPEC §1.8: figures are 16x8)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path):
    """Write ``fig`` as a PNG (or whatever ``path``'s suffix says) at :data:`DPI`."""
    if path is not None:
        fig.savefig(path, dpi=DPI)
    return fig
