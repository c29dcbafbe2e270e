"""Book section 3.1: a convolutional GAN for 128 x 128 faces (notebooks 14, 15; BOOK_SPEC 4.14, 4.15).

D reads the centre 128 x 128 crop of a face with three 8 x 8 stride-2 convolutions; G mirrors
it with three transposed convolutions from a 3 x 11 x 11 start (only the last has padding 1,
which makes the output exactly 128). With 8.6 M parameters instead of the fully connected
GAN's 46.7 M, it needs about a fifth of the memory and draws sharper faces. The notebook 15
variant swaps every LeakyReLU(0.2) for GELU.
"""
from __future__ import annotations

import minigan

from ..experiment import GanExperiment, randn_seed

IMAGE_SHAPE = (1, 3, 128, 128)


def _activation(nn, gelu: bool):
    return nn.GELU() if gelu else nn.LeakyReLU(0.2)


def discriminator(torch=minigan, gelu: bool = False):
    """D (4.14): 3 x Conv2d k8 s2 (BatchNorm on the first two), View 300, Linear 300-1, Sigmoid."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 256, kernel_size=8, stride=2),       # (1, 256, 61, 61)
        nn.BatchNorm2d(256),
        _activation(nn, gelu),
        nn.Conv2d(256, 256, kernel_size=8, stride=2),     # (1, 256, 27, 27)
        nn.BatchNorm2d(256),
        _activation(nn, gelu),
        nn.Conv2d(256, 3, kernel_size=8, stride=2),       # (1, 3, 10, 10)
        _activation(nn, gelu),
        nn.Flatten(0),                                    # the book's View(300)
        nn.Linear(3 * 10 * 10, 1),
        nn.Sigmoid(),
    )


def generator(torch=minigan, gelu: bool = False):
    """G (4.14): Linear 100-363, View (1,3,11,11), 3 x ConvTranspose2d k8 s2, BatchNorm(3), Sigmoid."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(100, 3 * 11 * 11),
        _activation(nn, gelu),
        nn.Unflatten(0, (1, 3, 11, 11)),                  # the book's View((1, 3, 11, 11))
        nn.ConvTranspose2d(3, 256, kernel_size=8, stride=2),      # (1, 256, 28, 28)
        nn.BatchNorm2d(256),
        _activation(nn, gelu),
        nn.ConvTranspose2d(256, 256, kernel_size=8, stride=2),    # (1, 256, 62, 62)
        nn.BatchNorm2d(256),
        _activation(nn, gelu),
        nn.ConvTranspose2d(256, 3, kernel_size=8, stride=2, padding=1),  # (1, 3, 128, 128)
        nn.BatchNorm2d(3),
        nn.Sigmoid(),
    )


def _noise(torch, device=None):
    """``generate_random_image((1,3,128,128))``: D's uniform noise in the D test."""
    return torch.rand(*IMAGE_SHAPE, device=device)


CONV_CELEBA_GAN = GanExperiment(
    name="conv-celeba-gan", section="3.1 (BOOK_SPEC 4.14)",
    title="convolutional CelebA GAN (128x128 crops)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=0.0001),
    seed=randn_seed(100), noise=_noise, data="celeba-crop", image_shape=(3, 128, 128),
    book_epochs=12, default_epochs=1, parameters=(4_294_448, 4_330_816), plot_style="bce",
    book_result="sharper, smoother faces, all alike (partial mode collapse) after 12 epochs",
    per_sample=True)

CONV_CELEBA_GAN_GELU = GanExperiment(
    name="conv-celeba-gan-gelu", section="3.1 (BOOK_SPEC 4.15)",
    title="convolutional CelebA GAN with GELU",
    discriminator=lambda torch=minigan: discriminator(torch, gelu=True),
    generator=lambda torch=minigan: generator(torch, gelu=True),
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=0.0001),
    seed=randn_seed(100), noise=_noise, data="celeba-crop", image_shape=(3, 128, 128),
    book_epochs=4, default_epochs=1, parameters=(4_294_448, 4_330_816), plot_style="bce",
    book_result="varied, fairly realistic faces after 4 epochs",
    per_sample=True)
