"""Book section 2.2: a GAN that learns the 1010 pattern (notebook 06; BOOK_SPEC 4.06).

The smallest GAN there is: real data are 4 numbers that look like 1, 0, 1, 0
([U(0.8,1), U(0,0.2), U(0.8,1), U(0,0.2)]); D is 4 -> 3 -> 1 and G is 1 -> 3 -> 4, with
Sigmoids, MSE and SGD. G's input is always the constant 0.5, so G learns one output, and the
book watches it learn by taking a snapshot of G(0.5) every 1,000 iterations (the 4 x 10
picture). When D can no longer tell, it answers 0.5 and both losses sit at the ideal MSE of
0.25 (Appendix A).
"""
from __future__ import annotations

import random

import minigan

from ..experiment import GanExperiment

#: The book trains for 10,000 iterations and snapshots G(0.5) every 1,000.
ITERATIONS = 10_000
SNAPSHOT_EVERY = 1_000


def generate_real():
    """``generate_real()`` (BOOK_SPEC section 2): the 1010 pattern, drawn with Python's random."""
    return minigan.tensor([random.uniform(0.8, 1.0), random.uniform(0.0, 0.2),
                           random.uniform(0.8, 1.0), random.uniform(0.0, 0.2)])


class PatternSource:
    """The 1010 pattern as a dataset: ``n`` fresh patterns, then ``IndexError``."""

    def __init__(self, n: int = ITERATIONS):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if not -self.n <= index < self.n:
            raise IndexError(f"PatternSource index {index} out of range for {self.n} patterns")
        return generate_real()


def discriminator(torch=minigan):
    """D (BOOK_SPEC 4.06): Linear 4-3, Sigmoid, Linear 3-1, Sigmoid; 19 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(4, 3),
        nn.Sigmoid(),
        nn.Linear(3, 1),
        nn.Sigmoid(),
    )


def generator(torch=minigan):
    """G (BOOK_SPEC 4.06): Linear 1-3, Sigmoid, Linear 3-4, Sigmoid; 22 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(1, 3),
        nn.Sigmoid(),
        nn.Linear(3, 4),
        nn.Sigmoid(),
    )


def half_seed(torch, batch=None, device=None):
    """G's input in notebook 06: the constant ``FloatTensor([0.5])``, for both G steps."""
    shape = (1,) if batch is None else (batch, 1)
    return torch.full(shape, 0.5, device=device)


half_seed.size = 1

PATTERN_GAN = GanExperiment(
    name="pattern1010", section="2.2 (BOOK_SPEC 4.06)", title="1010 pattern GAN (MSE, SGD)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.MSELoss(),
    optimiser=lambda torch, params: torch.optim.SGD(params, lr=0.01),
    seed=half_seed, noise=lambda torch, device=None: torch.rand(4, device=device),
    data="pattern", image_shape=(1, 1, 4),
    book_epochs=1, default_epochs=1, parameters=(19, 22), plot_style="mse",
    book_result="final G(0.5) = [0.9387, 0.0527, 0.9389, 0.0474]; losses end near 0.25")
