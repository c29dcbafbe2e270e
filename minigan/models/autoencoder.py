"""The fully connected autoencoder with a 3-number code (pytorch-beginner's simple_autoencoder).

The encoder squeezes a 784-pixel digit through 128, 64 and 12 units (ReLU between) down to a
code of just **3 numbers**, and the decoder mirrors it back, 3 -> 12 -> 64 -> 128 -> 784, ending
in Tanh; so pixels are scaled to [-1, 1]. The code is small enough to *see*: ``minigan train
autoencoder`` draws the test digits' codes as a 3-D scatter coloured by digit (``code_3d.png``),
where the digits gather in clusters no one asked for - the network found them to reconstruct.

Loss: squared error summed over pixels and images (``MSELoss(reduction="sum")``, as the issue
specifies; the tutorial averages, which changes only the loss's scale, and Adam's steps
barely, being scale-free but for its eps). Adam 1e-3; batches of 128, shuffled.
"""
from __future__ import annotations

import minigan

from .autoencoding import AutoencoderModel, encoder_decoder

CODE = 3


def encoder(torch=minigan):
    """784-128 ReLU, 128-64 ReLU, 64-12 ReLU, 12-3 (the code, no activation); 109,555 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(28 * 28, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 12),
        nn.ReLU(),
        nn.Linear(12, CODE),
    )


def decoder(torch=minigan):
    """3-12 ReLU, 12-64 ReLU, 64-128 ReLU, 128-784 Tanh; 110,336 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(CODE, 12),
        nn.ReLU(),
        nn.Linear(12, 64),
        nn.ReLU(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Linear(128, 28 * 28),
        nn.Tanh(),
    )


def network(torch=minigan):
    """``decoder(encoder(x))`` with ``encode`` / ``decode``; 219,891 parameters."""
    return encoder_decoder(torch, encoder(torch), decoder(torch))


def adam(torch, params):
    """Adam 1e-3 (PyTorch's other defaults)."""
    return torch.optim.Adam(params, lr=1e-3)


AUTOENCODER = AutoencoderModel(
    name="autoencoder", section="beyond the book: the fully connected autoencoder",
    title="autoencoder (784-128-64-12-3 code, mirrored decoder with Tanh, summed MSE, Adam 1e-3, batch 128)",
    reference="pytorch-beginner's simple_autoencoder (L1aoXingyu), with the loss summed",
    network=network, loss=lambda torch: torch.nn.MSELoss(reduction="sum"), optimiser=adam,
    # 100 epochs of the 4,000 bundled digits (3,200 steps): held-out loss 116.5 per test image
    # (train 107.9), in 20 s with one BLAS thread on the 2-core machine (seed 0)
    default_epochs=100, parameters=219_891, code_size=CODE,
    image_range=(-1.0, 1.0), input_shape=(784,), loss_reduction="sum")
