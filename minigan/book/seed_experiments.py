"""Book section 2.3, the seed experiments (notebook 09; BOOK_SPEC 4.09).

A trained generator maps each seed - a point in 100-dimensional space - to an image. The
book asks what happens between and around two seeds that give two digits (a 3 and a 9 in
the notebook): moving along the straight line from one to the other morphs one digit
smoothly into the other; their sum seems to combine features; their difference and their
element-wise product follow no intuitive rule.

:func:`seed_pictures` computes all four for one pair of seeds; ``minigan seeds MODEL.npz``
draws them.
"""
from __future__ import annotations

import numpy as np

#: The notebook's interpolation grid: 3 x 4 = 12 images, k = 0 ... 11, both ends exact.
GRID_ROWS, GRID_COLS = 3, 4


def interpolate(seed1, seed2, steps: int = GRID_ROWS * GRID_COLS):
    """``seed1 + (seed2 - seed1) * k / (steps - 1)`` for k = 0 ... steps-1, stacked (steps, size)."""
    return np.stack([seed1 + (seed2 - seed1) * k / (steps - 1) for k in range(steps)])


def seed_arithmetic(seed1, seed2) -> dict:
    """The notebook's three combinations of two seeds (the product cell is mislabelled
    "difference" in the notebook; here each has its own name)."""
    return {"sum": seed1 + seed2, "difference": seed1 - seed2, "product": seed1 * seed2}


def seed_pictures(experiment, G_module, seed1, seed2) -> dict:
    """Images (N, C, H, W) in [0, 1] for: the two seeds, the 12-step line between them,
    and their sum, difference and product."""
    import minigan
    as_tensor = lambda a: minigan.tensor(np.asarray(a, dtype=np.float32))  # noqa: E731
    out = {"seeds": experiment.generate(G_module, as_tensor(np.stack([seed1, seed2]))),
           "interpolation": experiment.generate(G_module, as_tensor(interpolate(seed1, seed2)))}
    combos = seed_arithmetic(seed1, seed2)
    out["arithmetic"] = experiment.generate(G_module, as_tensor(np.stack(list(combos.values()))))
    out["arithmetic_names"] = list(combos)
    return out
