"""SN-GAN (Miyato et al. 2018): every layer of the discriminator spectrally normalised, and
the hinge loss.

:func:`minigan.nn.utils.spectral_norm` divides each of D's weights by its largest singular
value (estimated by one step of power iteration per forward), so D is about 1-Lipschitz -
WGAN-GP's aim, reached without a penalty's double backward and without clipping's damage.
The losses are the hinge loss the paper's best results use (Lim & Ye 2017)::

    loss_D = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))
    loss_G = -mean(D(G(z)))

The networks are gan-batched's (:mod:`minigan.models.gan_batched`): its G unchanged, its D
without the Sigmoid and with its three Linear layers wrapped in ``spectral_norm`` - so beside
gan-batched (BCE, no normalisation) and wgan-gp (penalty) the one change is the constraint.
Adam 2e-4 with betas (0.5, 0.999) and one D step per G step (the paper's setting C's
optimiser, at gan-batched's rate); the iteration is :func:`minigan.training.wgan_step` with
``n_critic=1`` and ``hinge=True``.
"""
from __future__ import annotations

import minigan

from ..experiment import randn_seed
from . import gan_batched
from .wgan import WassersteinGan


def discriminator(torch=minigan):
    """D: 784-512 LeakyReLU(0.2), 512-256 LeakyReLU(0.2), 256-1 (a score), every Linear
    spectrally normalised; 533,505 parameters (and a ``weight_u``/``weight_v`` buffer pair a
    layer)."""
    nn = torch.nn
    sn = nn.utils.spectral_norm
    return nn.Sequential(
        sn(nn.Linear(784, 512)),
        nn.LeakyReLU(0.2, inplace=True),
        sn(nn.Linear(512, 256)),
        nn.LeakyReLU(0.2, inplace=True),
        sn(nn.Linear(256, 1)),
    )


SNGAN = WassersteinGan(
    name="sngan", section="beyond the book: the spectrally normalised GAN",
    title="SN-GAN (spectral_norm on every D layer, hinge loss, Adam 2e-4 betas (0.5, 0.999), batch 64)",
    reference="Miyato et al. 2018 (hinge loss, one D step per G step) on PyTorch-GAN's gan.py networks",
    discriminator=discriminator, generator=gan_batched.generator,
    loss=lambda torch: None,
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)),
    seed=randn_seed(gan_batched.LATENT), noise=gan_batched.uniform_image, data="mnist",
    image_shape=(1, 28, 28), book_epochs=None, default_epochs=100,
    parameters=(533_505, 1_510_032), batch_size=64, n_critic=1, hinge=True,
    plot_style="wasserstein", book_result="not a book model")
