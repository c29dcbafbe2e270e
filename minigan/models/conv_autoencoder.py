"""The convolutional autoencoder of pytorch-beginner's conv_autoencoder (L1aoXingyu).

Encoder: a 3x3 convolution with stride 3 (28 -> 10), ReLU, 2x2 max-pooling (-> 5), a 3x3
convolution with stride 2 (-> 3), ReLU, and a 2x2 max-pooling with stride **1** (-> 2): the code
is 8 maps of 2x2, 32 numbers. Decoder: three transposed convolutions back up, 2 -> 5 -> 15 ->
28, ReLU between and Tanh at the end (pixels scaled to [-1, 1])::

    ConvT(8,16,3,s2):      (2 - 1) * 2 + 3          = 5
    ConvT(16,8,5,s3,p1):   (5 - 1) * 3 - 2 * 1 + 5  = 15
    ConvT(8,1,2,s2,p1):    (15 - 1) * 2 - 2 * 1 + 2 = 28

Loss: ``nn.MSELoss()`` (the mean over pixels, as the tutorial); Adam 1e-3 with weight decay
1e-5 (PyTorch's coupled L2 form: ``g + 1e-5 * p`` before the moments, which minigan's Adam
does exactly); batches of 128, shuffled. The tutorial's ``ReLU(True)`` (in place) is written
``ReLU()`` here: the same numbers, and both frameworks accept either.
"""
from __future__ import annotations

import minigan

from .autoencoding import AutoencoderModel, encoder_decoder


def encoder(torch=minigan):
    """Conv(1,16,3,s3,p1) ReLU MaxPool(2,2), Conv(16,8,3,s2,p1) ReLU MaxPool(2,1): (B, 8, 2, 2);
    1,320 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=2),
        nn.Conv2d(16, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2, stride=1),
    )


def decoder(torch=minigan):
    """ConvT(8,16,3,s2) ReLU, ConvT(16,8,5,s3,p1) ReLU, ConvT(8,1,2,s2,p1) Tanh: (B, 1, 28, 28);
    4,409 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.ConvTranspose2d(8, 16, 3, stride=2),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 5, stride=3, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 1, 2, stride=2, padding=1),
        nn.Tanh(),
    )


def network(torch=minigan):
    """``decoder(encoder(x))`` on (B, 1, 28, 28) images; 5,729 parameters."""
    return encoder_decoder(torch, encoder(torch), decoder(torch))


def adam(torch, params):
    """Adam 1e-3, weight decay 1e-5 (the tutorial's ``Adam(model.parameters(), lr=1e-3,
    weight_decay=1e-5)``)."""
    return torch.optim.Adam(params, lr=1e-3, weight_decay=1e-5)


CONV_AUTOENCODER = AutoencoderModel(
    name="conv-autoencoder", section="beyond the book: the convolutional autoencoder",
    title="convolutional autoencoder (stride-3 conv, max-pooling, three transposed convs, Tanh; "
          "MSE, Adam 1e-3 with weight decay 1e-5, batch 128)",
    reference="pytorch-beginner's conv_autoencoder (L1aoXingyu)",
    network=network, loss=lambda torch: torch.nn.MSELoss(), optimiser=adam,
    # 100 epochs of the 4,000 bundled digits (3,200 steps): held-out loss 0.1350 per test image
    # (mean squared error per pixel in [-1, 1]; after 30 epochs 0.172), in 63 s with one BLAS
    # thread on the 2-core machine (seed 0)
    default_epochs=100, parameters=5_729, code_size=32,
    image_range=(-1.0, 1.0), input_shape=(1, 28, 28), loss_reduction="mean")
