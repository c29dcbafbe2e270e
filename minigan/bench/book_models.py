"""The book's networks, written once for any PyTorch-shaped framework (torch or minigan).

``models(torch)`` and ``models(minigan)`` return the same classes built on that framework's
``nn`` and ``optim``: the code below is the book's, and because minigan's API is PyTorch's
it runs unchanged on both. That is what makes the training benchmark fair (the very same
Python drives both engines) and what the parity test relies on.

Each class is as the book writes it (BOOK_SPEC section 1): an ``nn.Module`` subclass that
holds its layers in ``self.model``, **its own optimiser**, and (a discriminator or classifier)
**its loss function**; a ``train`` method that *overrides* ``nn.Module.train(mode)`` and does
one training step on one sample: forward, loss, ``counter += 1``, ``progress.append(loss.item())``
when ``counter % 10 == 0``, ``zero_grad``, ``backward``, ``step``. A generator has no loss of
its own: ``G.train(D, inputs, targets)`` runs its output through ``D`` and uses
``D.loss_function``, and only G's optimiser steps (BOOK_SPEC section 1.7).

The two ``train`` bodies (one for discriminators and classifiers, one for generators) are
written once, in :class:`Discriminator` and :class:`Generator` below; every concrete class
is the book's ``__init__`` on top of one of them.

=====================  ==============  ===========================================  ==========
class                  book section    layers                                       parameters
=====================  ==============  ===========================================  ==========
Pattern1010D           4.06 (nb 06)    Linear 4-3, Sigmoid, Linear 3-1, Sigmoid;   19
                                       MSE, SGD 0.01
Pattern1010G           4.06            Linear 1-3, Sigmoid, Linear 3-4, Sigmoid;   22
                                       SGD 0.01
MnistD                 4.08 (nb 08)    Linear 784-200, LeakyReLU 0.02, LayerNorm,   157,601
                                       Linear 200-1, Sigmoid; BCE, Adam 1e-4
MnistG                 4.08            Linear 100-200, LeakyReLU 0.02, LayerNorm,   178,184
                                       Linear 200-784, Sigmoid; Adam 1e-4
MnistClassifier        4.04 (nb 04)    Linear 784-200, LeakyReLU 0.02, LayerNorm,   159,410
                                       Linear 200-10, Sigmoid; BCE, Adam (1e-3)
CnnClassifier          4.13 (nb 13)    Conv 1-10 k5 s2, LeakyReLU, BN, Conv 10-10   3,720
                                       k3 s2, LeakyReLU, BN, View 250, Linear
                                       250-10, Sigmoid; BCE, Adam (1e-3)
CelebaConvD            4.14 (nb 14)    3 x (Conv k8 s2 ...), View 300, Linear       4,294,448
                                       300-1, Sigmoid; BCE, Adam 1e-4
CelebaConvG            4.14            Linear 100-363, LeakyReLU 0.2, View           4,330,816
                                       (1,3,11,11), 3 x ConvTranspose k8 s2 (only
                                       the last with padding=1), BN(3), Sigmoid
=====================  ==============  ===========================================  ==========

Only what the benchmark needs is here (no plotting, no datasets); ``minigan.gans`` is where
the book's full experiments live.
"""
from __future__ import annotations

from types import SimpleNamespace

#: BOOK_SPEC section 5.3 ([derived] parameter counts), checked in both frameworks by the tests.
PARAMETER_COUNTS = {
    "Pattern1010D": 19, "Pattern1010G": 22,
    "MnistD": 157_601, "MnistG": 178_184,
    "MnistClassifier": 159_410,
    "CnnClassifier": 3_720,
    "CelebaConvD": 4_294_448, "CelebaConvG": 4_330_816,
}

#: G's output for the conv CelebA GAN (BOOK_SPEC 4.14; BASELINES section 3 (d) "shapes").
CELEBA_IMAGE_SHAPE = (1, 3, 128, 128)

_cache: dict = {}


def models(torch) -> SimpleNamespace:
    """The book's classes built on ``torch.nn`` and ``torch.optim`` of the module passed in.

    ``torch`` is the framework module (``import torch`` or ``import minigan``); the result is
    cached per framework, so ``models(torch).MnistD is models(torch).MnistD``.
    """
    key = id(torch)
    if key not in _cache:
        _cache[key] = _build(torch)
    return _cache[key]


def _build(torch) -> SimpleNamespace:
    nn, optim = torch.nn, torch.optim

    class View(nn.Module):
        """The book's reshaping layer (notebooks 12-15): ``x.view(shape)``, no parameters."""

        def __init__(self, shape):
            super().__init__()
            self.shape = shape,

        def forward(self, x):
            return x.view(*self.shape)

    # ------------------------------------------------------------- the two train() bodies
    class Discriminator(nn.Module):
        """The book's ``train(inputs, targets)`` of every discriminator and classifier."""

        def __init__(self):
            super().__init__()
            self.counter = 0
            self.progress = []

        def forward(self, inputs):
            return self.model(inputs)

        def train(self, inputs, targets):
            outputs = self.forward(inputs)
            loss = self.loss_function(outputs, targets)
            self.counter += 1
            if self.counter % 10 == 0:
                self.progress.append(loss.item())
            self.optimiser.zero_grad()
            loss.backward()
            self.optimiser.step()

    class Generator(nn.Module):
        """The book's ``train(D, inputs, targets)``: G's output through D, D's loss, G's step."""

        def __init__(self):
            super().__init__()
            self.counter = 0
            self.progress = []

        def forward(self, inputs):
            return self.model(inputs)

        def train(self, D, inputs, targets):
            g_output = self.forward(inputs)
            d_output = D.forward(g_output)
            loss = D.loss_function(d_output, targets)
            self.counter += 1
            if self.counter % 10 == 0:
                self.progress.append(loss.item())
            self.optimiser.zero_grad()
            loss.backward()
            self.optimiser.step()

    # ------------------------------------------------------------- 4.06 the 1010 pattern
    class Pattern1010D(Discriminator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(4, 3),
                nn.Sigmoid(),
                nn.Linear(3, 1),
                nn.Sigmoid())
            self.loss_function = nn.MSELoss()
            self.optimiser = optim.SGD(self.parameters(), lr=0.01)

    class Pattern1010G(Generator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(1, 3),
                nn.Sigmoid(),
                nn.Linear(3, 4),
                nn.Sigmoid())
            self.optimiser = optim.SGD(self.parameters(), lr=0.01)

    # ------------------------------------------------------------- 4.08 the improved MNIST GAN
    class MnistD(Discriminator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(784, 200),
                nn.LeakyReLU(0.02),
                nn.LayerNorm(200),
                nn.Linear(200, 1),
                nn.Sigmoid())
            self.loss_function = nn.BCELoss()
            self.optimiser = optim.Adam(self.parameters(), lr=0.0001)

    class MnistG(Generator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(100, 200),
                nn.LeakyReLU(0.02),
                nn.LayerNorm(200),
                nn.Linear(200, 784),
                nn.Sigmoid())
            self.optimiser = optim.Adam(self.parameters(), lr=0.0001)

    # ------------------------------------------------------------- 4.04 the improved classifier
    class MnistClassifier(Discriminator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(784, 200),
                nn.LeakyReLU(0.02),
                nn.LayerNorm(200),
                nn.Linear(200, 10),
                nn.Sigmoid())
            self.loss_function = nn.BCELoss()
            self.optimiser = optim.Adam(self.parameters())

    # ------------------------------------------------------------- 4.13 the CNN classifier
    class CnnClassifier(Discriminator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Conv2d(1, 10, kernel_size=5, stride=2),
                nn.LeakyReLU(0.02),
                nn.BatchNorm2d(10),
                nn.Conv2d(10, 10, kernel_size=3, stride=2),
                nn.LeakyReLU(0.02),
                nn.BatchNorm2d(10),
                View(250),
                nn.Linear(250, 10),
                nn.Sigmoid())
            self.loss_function = nn.BCELoss()
            self.optimiser = optim.Adam(self.parameters())

    # ------------------------------------------------------------- 4.14 the conv CelebA GAN
    class CelebaConvD(Discriminator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Conv2d(3, 256, kernel_size=8, stride=2),
                nn.BatchNorm2d(256),
                nn.LeakyReLU(0.2),
                nn.Conv2d(256, 256, kernel_size=8, stride=2),
                nn.BatchNorm2d(256),
                nn.LeakyReLU(0.2),
                nn.Conv2d(256, 3, kernel_size=8, stride=2),
                nn.LeakyReLU(0.2),
                View(3 * 10 * 10),
                nn.Linear(3 * 10 * 10, 1),
                nn.Sigmoid())
            self.loss_function = nn.BCELoss()
            self.optimiser = optim.Adam(self.parameters(), lr=0.0001)

    class CelebaConvG(Generator):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(
                nn.Linear(100, 3 * 11 * 11),
                nn.LeakyReLU(0.2),
                View((1, 3, 11, 11)),
                nn.ConvTranspose2d(3, 256, kernel_size=8, stride=2),
                nn.BatchNorm2d(256),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(256, 256, kernel_size=8, stride=2),
                nn.BatchNorm2d(256),
                nn.LeakyReLU(0.2),
                nn.ConvTranspose2d(256, 3, kernel_size=8, stride=2, padding=1),
                nn.BatchNorm2d(3),
                nn.Sigmoid())
            self.optimiser = optim.Adam(self.parameters(), lr=0.0001)

    return SimpleNamespace(
        View=View, Discriminator=Discriminator, Generator=Generator,
        Pattern1010D=Pattern1010D, Pattern1010G=Pattern1010G,
        MnistD=MnistD, MnistG=MnistG, MnistClassifier=MnistClassifier,
        CnnClassifier=CnnClassifier, CelebaConvD=CelebaConvD, CelebaConvG=CelebaConvG)


def parameter_count(net) -> int:
    """How many numbers a network learns (the book's counts are :data:`PARAMETER_COUNTS`)."""
    return sum(p.numel() for p in net.parameters())


def gan_step(D, G, real, seed_a, seed_b, ones, zeros) -> None:
    """One iteration of every GAN notebook's loop, for one real sample (BOOK_SPEC section 1.7).

    1. ``D.train(real, 1.0)``; 2. ``D.train(G.forward(seed_a).detach(), 0.0)`` (no gradient
    reaches G); 3. ``G.train(D, seed_b, 1.0)`` with a new seed (only G's optimiser steps).
    """
    D.train(real, ones)
    D.train(G.forward(seed_a).detach(), zeros)
    G.train(D, seed_b, ones)
