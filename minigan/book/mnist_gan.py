"""Book section 2.3: GANs that write digits (notebooks 07 and 08; BOOK_SPEC 4.07, 4.08).

The first attempt (``mnist-gan-v1``) reuses the classifier's recipe - Sigmoids, MSE, SGD -
and feeds G a single uniform random number. It collapses: every output is the same blob,
because one number cannot carry enough variety and nothing rewards G for producing it.

The improved GAN (``mnist-gan``) applies chapter 1's refinements to both networks
(LeakyReLU(0.02), LayerNorm, BCE, Adam at 1e-4) and feeds G 100 normal random numbers; the
book's notes say the randn(100) seed "fixes mode collapse mostly". minigan measures the
difference instead of eyeballing it: ``minigan eval`` judges 1,000 samples with a classifier
trained on real digits and reports how many classes appear and the largest class's share.
"""
from __future__ import annotations

import minigan

from ..experiment import GanExperiment, rand_seed, randn_seed


def discriminator_v1(torch=minigan):
    """D of the first attempt (4.07): 784-200 Sigmoid, 200-1 Sigmoid; 157,201 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 200),
        nn.Sigmoid(),
        nn.Linear(200, 1),
        nn.Sigmoid(),
    )


def generator_v1(torch=minigan):
    """G of the first attempt (4.07): 1-200 Sigmoid, 200-784 Sigmoid; 157,984 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(1, 200),
        nn.Sigmoid(),
        nn.Linear(200, 784),
        nn.Sigmoid(),
    )


def discriminator(torch=minigan, inputs: int = 784):
    """D of the improved GAN (4.08): LeakyReLU(0.02) then LayerNorm; 157,601 parameters.

    ``inputs`` grows by the label's 10 in the conditional GAN (4.16), which is otherwise this D.
    """
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(inputs, 200),
        nn.LeakyReLU(0.02),
        nn.LayerNorm(200),
        nn.Linear(200, 1),
        nn.Sigmoid(),
    )


def generator(torch=minigan, inputs: int = 100):
    """G of the improved GAN (4.08): a randn(100) seed in; 178,184 parameters.

    ``inputs`` grows by the label's 10 in the conditional GAN (4.16), which is otherwise this G.
    """
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(inputs, 200),
        nn.LeakyReLU(0.02),
        nn.LayerNorm(200),
        nn.Linear(200, 784),
        nn.Sigmoid(),
    )


def uniform_image(torch, device=None):
    """``generate_random_image(784)``: D's uniform noise in the discriminator test."""
    return torch.rand(784, device=device)


MNIST_GAN_V1 = GanExperiment(
    name="mnist-gan-v1", section="2.3 (BOOK_SPEC 4.07)",
    title="first MNIST GAN (MSE, SGD, a 1-value seed): the mode-collapse demonstration",
    discriminator=discriminator_v1, generator=generator_v1,
    loss=lambda torch: torch.nn.MSELoss(),
    optimiser=lambda torch, params: torch.optim.SGD(params, lr=0.01),
    seed=rand_seed(1), noise=uniform_image, data="mnist", image_shape=(1, 28, 28),
    # 15 epochs of the 4,000 bundled digits = the book's 60,000 steps
    book_epochs=1, default_epochs=15, parameters=(157_201, 157_984), plot_style="mse",
    book_result="six identical noisy blobs after 1 epoch (mode collapse)")

MNIST_GAN = GanExperiment(
    name="mnist-gan", section="2.3 (BOOK_SPEC 4.08)",
    title="improved MNIST GAN (BCE, LeakyReLU, LayerNorm, Adam 1e-4, randn(100) seed)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=0.0001),
    seed=randn_seed(100), noise=uniform_image, data="mnist", image_shape=(1, 28, 28),
    # 6 epochs of the 4,000 bundled digits = 24,000 steps: on seeds 0-3 every run then covers
    # 8-10 classes with none above 23 %; longer runs drift toward a favourite digit ("3").
    book_epochs=4, default_epochs=6, parameters=(157_601, 178_184), plot_style="bce",
    book_result="six different, fairly clean digits after 4 epochs")
