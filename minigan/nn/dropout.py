"""``Dropout``: zero random elements while training (not used by the book; a common GAN
regulariser for the discriminator). The mask comes from the seeded host generator."""
from __future__ import annotations

from ..functional.image_blocks import dropout2d
from ..functional.norm import dropout
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class Dropout(Module):
    """In training mode zero each element with probability ``p`` and scale the others by
    1/(1-p); in eval mode (``module.eval()``) return the input unchanged."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Whole channels of (N, C, H, W) zeroed with probability ``p`` while training (their
    neighbouring pixels are correlated, so single pixels would barely regularise)."""

    def forward(self, input):
        return dropout2d(input, self.p, self.training)
