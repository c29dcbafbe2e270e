"""Book section 2.4: a fully connected GAN that draws faces (notebook 12; BOOK_SPEC 4.12).

The improved MNIST GAN scaled up to whole 218 x 178 colour photographs: D flattens the HWC
image (116,412 numbers) into a Linear layer, G ends with a Linear layer of 116,412 outputs
viewed back as (218, 178, 3). Both use PyTorch's default LeakyReLU slope (0.01) here. The
networks are big (46.7 M parameters) and learn only blurry, noisy faces: the reason
chapter 3 turns to convolutions. Its losses settle near ln 2 = 0.693, the ideal BCE.
"""
from __future__ import annotations

import minigan

from ..experiment import GanExperiment, randn_seed

#: CelebA's aligned images are 218 x 178 RGB, stored HWC (BOOK_SPEC section 3).
IMAGE_HWC = (218, 178, 3)
FLAT = 218 * 178 * 3


def discriminator(torch=minigan):
    """D (4.12): View(116412), Linear 116412-100, LeakyReLU(), LayerNorm, Linear 100-1, Sigmoid."""
    nn = torch.nn
    return nn.Sequential(
        nn.Flatten(0),              # the book's View(218*178*3) of one HWC image
        nn.Linear(FLAT, 100),
        nn.LeakyReLU(),             # PyTorch's default slope, 0.01, as the notebook
        nn.LayerNorm(100),
        nn.Linear(100, 1),
        nn.Sigmoid(),
    )


def generator(torch=minigan):
    """G (4.12): Linear 100-300, LeakyReLU(), LayerNorm, Linear 300-116412, Sigmoid, View."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(100, 3 * 10 * 10),
        nn.LeakyReLU(),
        nn.LayerNorm(3 * 10 * 10),
        nn.Linear(3 * 10 * 10, FLAT),
        nn.Sigmoid(),
        nn.Unflatten(-1, IMAGE_HWC),   # the book's View((218, 178, 3))
    )


CELEBA_GAN = GanExperiment(
    name="celeba-gan", section="2.4 (BOOK_SPEC 4.12)",
    title="fully connected CelebA GAN (218x178 faces)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=0.0001),
    seed=randn_seed(100), noise=lambda torch, device=None: torch.rand(*IMAGE_HWC, device=device),
    data="celeba", image_shape=(3, 218, 178),
    book_epochs=1, default_epochs=1, parameters=(11_641_601, 35_070_912), plot_style="bce",
    book_result="blurry, noisy but recognisable faces after 1 epoch of 20,000; losses near 0.69")
