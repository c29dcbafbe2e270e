"""``minigan.optim``: the optimisers of the book, in PyTorch's names and with its maths.

Book section 1.2 trains with ``torch.optim.SGD(self.parameters(), lr=0.01)``; section 1.3
switches to ``torch.optim.Adam(self.parameters())`` (and ``lr=0.0001`` for the GANs). Each
network holds its own optimiser and calls ``zero_grad()``, ``backward()``, ``step()`` once per
sample (BOOK_SPEC section 1.4), so at batch 1 the optimiser step is the largest single cost of
training (BASELINES.md section 4). Reading order: optimizer.py (groups, state dicts), sgd.py,
adam.py (the in-place update that makes batch-1 training fast); rmsprop.py (beyond the book:
WGAN's optimiser); lr_scheduler.py (beyond the book: learning-rate schedules); swa_utils.py
(beyond the book: averaged models - SWA, and the EMA of a GAN's generator).
"""
from . import lr_scheduler, swa_utils  # noqa: F401  (torch.optim's submodules of those names)
from .adam import Adam, AdamW
from .optimizer import Optimizer, required
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "required", "lr_scheduler", "swa_utils"]
