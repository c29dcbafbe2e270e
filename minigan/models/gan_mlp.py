"""The fully connected GAN of the Stanford CS231n GAN notebook: BCE on logits, U(-1, 1) noise.

D has no Sigmoid: it outputs a logit, and ``BCEWithLogitsLoss`` fuses the Sigmoid into the
loss (log-sum-exp form), which never takes the log of a rounded 0 or 1. G reads 96 uniform
numbers in [-1, 1] and ends in Tanh, so real pixels are scaled to [-1, 1]. Batches of 128,
shuffled; Adam 3e-4 with beta1 = 0.5. The loop is the book's three steps
(:func:`minigan.training.gan_step`); :mod:`minigan.models.lsgan` trains the same networks
with least-squares losses.
"""
from __future__ import annotations

import minigan

from ..experiment import GanModel, uniform_seed
from .gan_batched import uniform_image

NOISE = 96


def discriminator(torch=minigan):
    """D: 784-256 LeakyReLU(0.2), 256-256 LeakyReLU(0.2), 256-1 (a logit); 267,009 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    )


def generator(torch=minigan):
    """G: 96-1024 ReLU, 1024-1024 ReLU, 1024-784 Tanh; 1,952,528 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(NOISE, 1024),
        nn.ReLU(),
        nn.Linear(1024, 1024),
        nn.ReLU(),
        nn.Linear(1024, 784),
        nn.Tanh(),
    )


def adam(torch, params):
    """Adam 3e-4, betas (0.5, 0.999) (the notebook's ``get_optimizer``)."""
    return torch.optim.Adam(params, lr=3e-4, betas=(0.5, 0.999))


GAN_MLP = GanModel(
    name="gan-mlp", section="beyond the book: the fully connected GAN with BCE on logits",
    title="MLP GAN (logit D, BCEWithLogits, U(-1, 1) noise of 96, Adam 3e-4, batch 128)",
    reference="the CS231n GAN notebook (vanilla GAN)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCEWithLogitsLoss(), optimiser=adam,
    # 90 epochs of the 4,000 bundled digits (2,880 steps): seed 0 covers 10 classes, largest
    # 17.7 %; seed 1 9 classes, largest 17.5 %. The largest share wanders by a few points from
    # one tenth epoch to the next (17-23 % over epochs 80-100).
    seed=uniform_seed(NOISE), noise=uniform_image, data="mnist", image_shape=(1, 28, 28),
    book_epochs=None, default_epochs=90, parameters=(267_009, 1_952_528), batch_size=128,
    book_result="not a book model")
