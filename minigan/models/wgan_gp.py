"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic kept 1-Lipschitz by a gradient
penalty instead of weight clipping - **minigan's showcase of double backward**.

At random points between real and fake images, ``x_hat = alpha * real + (1 - alpha) * fake``,
the critic's gradient with respect to its *input* should have norm 1, so its loss gains::

    10 * mean((||grad_x D(x_hat)||_2 - 1)^2)

That gradient is computed by ``minigan.autograd.grad(D(x_hat).sum(), x_hat,
create_graph=True)``: backward is written with minigan's own differentiable ops, so with
``create_graph=True`` the gradient is itself a graph, and ``loss.backward()`` then
differentiates *through a backward pass* to reach the critic's weights (every op on the way -
linear, LeakyReLU, the norm - is differentiated twice). See
:func:`minigan.training.gradient_penalty`; a test checks the penalty and every parameter
gradient through it against PyTorch in float64.

No BatchNorm in the critic (the penalty is per sample, and BatchNorm mixes samples): it is
gan-batched's D without its Sigmoid, as in PyTorch-GAN's ``wgan_gp.py``. Adam 1e-4 with
betas (0.5, 0.9) - the paper's - and 5 critic steps per G step.
"""
from __future__ import annotations

from ..experiment import randn_seed
from . import gan_batched
from .wgan import WassersteinGan, critic

#: lambda, the penalty's weight (the paper's 10)
PENALTY_WEIGHT = 10.0

WGAN_GP = WassersteinGan(
    name="wgan-gp", section="beyond the book: the Wasserstein GAN with gradient penalty",
    title="WGAN-GP (gradient penalty 10 by double backward, Adam 1e-4 betas (0.5, 0.9), 5 critic steps)",
    reference="PyTorch-GAN's implementations/wgan_gp/wgan_gp.py, with the paper's Adam settings",
    discriminator=critic, generator=gan_batched.generator,
    loss=lambda torch: None,
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.9)),
    # 100 epochs of the 4,000 bundled digits (6,300 critic steps, 1,260 G steps): seed 0 covers
    # 10 classes, largest 15.8 %; seed 1 10 classes, largest 14.7 % (judged at epochs 60, 80,
    # 100: 10 classes, 15-21 %).
    seed=randn_seed(gan_batched.LATENT), noise=gan_batched.uniform_image, data="mnist",
    image_shape=(1, 28, 28), book_epochs=None, default_epochs=100,
    parameters=(533_505, 1_510_032), batch_size=64, n_critic=5, penalty_weight=PENALTY_WEIGHT,
    plot_style="wasserstein", book_result="not a book model")
