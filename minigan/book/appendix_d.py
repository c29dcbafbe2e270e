"""Appendix D: adversarial gradient descent can spiral away (notebook ``Appendix_D_convergence``; BOOK_SPEC 4.D).

A GAN is a game: D adjusts its parameters to lower its loss while G adjusts its own to raise
it. The appendix shows what simultaneous gradient steps do to the simplest such game,
``f(x, y) = x * y``, where one player (x) climbs f and the other (y) descends it::

    x <- x + lr * df/dx = x + lr * y      (gradient ascent)
    y <- y - lr * df/dy = y - lr * x      (gradient descent; both from the *old* values)

The equilibrium is (0, 0), yet every step rotates (x, y) a little *and scales it by
sqrt(1 + lr^2)* - the update matrix [[1, lr], [-lr, 1]] has eigenvalues 1 +- i*lr - so the
players circle the answer on an outward spiral instead of settling. From (0.6, 0.7) with
lr = 0.1, 499 updates (500 points) grow the radius from 0.922 to 11.04, ending at
x = 1.952, y = 10.864. Training a GAN can oscillate the same way.

Arithmetic, not a training run: plain functions, and ``examples/appendix_d_unstable_descent.py``
draws the two plots.
"""
from __future__ import annotations

import math

import numpy as np

#: The book's start, learning rate and number of points.
X0, Y0, LR, POINTS = 0.6, 0.7, 0.1, 500


def unstable_descent(x0: float = X0, y0: float = Y0, lr: float = LR, points: int = POINTS):
    """The ``points`` positions (x, y) of simultaneous updates from (x0, y0): float64 arrays.

    Point 0 is the start; each of the ``points - 1`` updates uses the old values of both.
    """
    if points < 1:
        raise ValueError(f"points must be at least 1, got {points}")
    xs, ys = np.empty(points), np.empty(points)
    x, y = float(x0), float(y0)
    for i in range(points):
        xs[i], ys[i] = x, y
        x, y = x + lr * y, y - lr * x
    return xs, ys


def radius_growth(lr: float = LR) -> float:
    """The factor the distance from (0, 0) grows by at every update: ``sqrt(1 + lr^2)``."""
    return math.sqrt(1.0 + lr * lr)


def plot_lines(xs, ys, path=None):
    """x and y against the update number (figsize (20, 6)); returns the Figure."""
    from ..viz._figure import new_figure, save_figure
    fig = new_figure((20, 6))
    ax = fig.add_subplot()
    ax.plot(xs, label="x")
    ax.plot(ys, label="y")
    ax.set_xlabel("update")
    ax.grid(True)
    ax.legend()
    return save_figure(fig, path)


def plot_path(xs, ys, path=None):
    """The path in the x-y plane (figsize (10, 10)): an outward spiral; returns the Figure."""
    from ..viz._figure import new_figure, save_figure
    fig = new_figure((10, 10))
    ax = fig.add_subplot()
    ax.scatter(xs, ys, s=8, c=np.arange(len(xs)), cmap="viridis")
    ax.plot([xs[0]], [ys[0]], "r+", markersize=14)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_aspect("equal")
    ax.grid(True)
    return save_figure(fig, path)
