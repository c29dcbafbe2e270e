"""The variational autoencoder of Kingma & Welling (2013), as PyTorch's examples/vae builds it.

Encoder: Linear 784 -> 400, ReLU, then two heads 400 -> 20: the mean ``mu`` and the
log-variance ``logvar`` of a Gaussian over the code. The *reparameterisation trick* draws the
code as ``z = mu + eps * exp(0.5 * logvar)`` with ``eps`` ~ N(0, I): the randomness is an input,
so gradients flow through ``mu`` and ``logvar``. Decoder: Linear 20 -> 400, ReLU, 400 -> 784,
Sigmoid, pixels in [0, 1].

The loss is the negative evidence lower bound, summed over the batch::

    BCE = binary_cross_entropy(recon, x, reduction="sum")              reconstruction
    KLD = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))                  KL(q(z|x) || N(0, I))

Adam 1e-3; batches of 128, shuffled. ``forward(x, eps=None)`` draws ``eps`` with
``torch.randn_like`` as the example does, or takes it from the caller: minigan's loop draws it
from minigan's seeded generator, and the parity tests feed the very same draws to minigan and
PyTorch. Sampling from the prior is ``decode(z)`` with ``z`` ~ N(0, I) (``samples.png``).
"""
from __future__ import annotations

import minigan

from .autoencoding import AutoencoderModel

LATENT = 20
HIDDEN = 400


def network(torch=minigan):
    """The example's ``VAE`` module on ``torch``: fc1 784-400, fc21 / fc22 400-20, fc3 20-400,
    fc4 400-784; 652,824 parameters."""
    nn, F = torch.nn, torch.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, HIDDEN)
            self.fc21 = nn.Linear(HIDDEN, LATENT)     # mu
            self.fc22 = nn.Linear(HIDDEN, LATENT)     # logvar
            self.fc3 = nn.Linear(LATENT, HIDDEN)
            self.fc4 = nn.Linear(HIDDEN, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps=None):
            std = torch.exp(0.5 * logvar)
            if eps is None:
                eps = torch.randn_like(std)
            return mu + eps * std

        def decode(self, z):
            h3 = F.relu(self.fc3(z))
            return torch.sigmoid(self.fc4(h3))

        def forward(self, x, eps=None):
            mu, logvar = self.encode(x.view(-1, 784))
            z = self.reparameterize(mu, logvar, eps)
            return self.decode(z), mu, logvar

    return VAE()


def loss(torch=minigan):
    """The example's ``loss_function``: summed BCE plus the KL divergence from N(0, I)."""
    F = torch.nn.functional

    def loss_function(outputs, x):
        recon_x, mu, logvar = outputs
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    return loss_function


def adam(torch, params):
    """Adam 1e-3 (the example's ``optim.Adam(model.parameters(), lr=1e-3)``)."""
    return torch.optim.Adam(params, lr=1e-3)


VAE = AutoencoderModel(
    name="vae", section="beyond the book: the variational autoencoder (Kingma & Welling)",
    title="VAE (784-400 ReLU, mu/logvar 400-20, reparameterised, 20-400 ReLU, 400-784 Sigmoid; "
          "BCE + KL summed, Adam 1e-3, batch 128)",
    reference="PyTorch's examples/vae",
    # 50 epochs of the 4,000 bundled digits (1,600 steps): held-out loss 114.2 per test image
    # (after 10 epochs 140, 30 epochs 118), in 29 s with one BLAS thread on the 2-core machine
    network=network, loss=loss, optimiser=adam, default_epochs=50, parameters=652_824,
    code_size=LATENT, image_range=(0.0, 1.0), input_shape=(784,), loss_reduction="sum",
    noise_size=LATENT)
