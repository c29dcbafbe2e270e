"""Wasserstein GAN (Arjovsky et al. 2017) as PyTorch-GAN's ``wgan.py`` builds it.

D becomes a *critic*: no Sigmoid, no targets. It scores real images high and fakes low, and
its loss ``mean(D(fake)) - mean(D(real))`` estimates (minus) the Wasserstein-1 distance
between the two distributions - provided the critic is 1-Lipschitz. WGAN enforces that
crudely by clipping every critic weight into [-0.01, 0.01] after each step. The critic trains
on every batch; G (loss ``-mean(D(G(z)))``) steps once every 5 critic steps; RMSprop 5e-5
(momentum-based optimisers were unstable with clipping, the paper says).

The networks are those of :mod:`minigan.models.gan_batched` (G with BatchNorm1d, Tanh), the
critic without its Sigmoid. The step is :func:`minigan.training.wgan_step`.
:class:`WassersteinGan` also serves WGAN-GP (:mod:`minigan.models.wgan_gp`).
"""
from __future__ import annotations

from dataclasses import dataclass

import minigan

from ..experiment import GanModel, _move, randn_seed
from ..training import Network, critic_step, wgan_step
from . import gan_batched


@dataclass(frozen=True)
class WassersteinGan(GanModel):
    """A GAN whose iteration is :func:`~minigan.training.wgan_step`: critic steps, G every
    ``n_critic``-th; ``clip`` (WGAN), ``penalty_weight`` (WGAN-GP) or ``hinge`` (SN-GAN's
    hinge loss, :mod:`minigan.models.sngan`)."""
    n_critic: int = 5
    clip: float | None = None
    penalty_weight: float = 0.0
    hinge: bool = False

    def iteration(self, nets, reals, index, n, ones, zeros, device=None, dtype=None):
        """One batch: a critic step (and every ``n_critic``-th, a G step); ``ones``/``zeros``
        are unused (a critic has no targets)."""
        if n is None:
            raise ValueError(f"{self.name} trains on batches: --batch-size must be at least 2")
        real = _move(self.real_batch(reals, index), device, dtype)
        seed_a = _move(self.seed(minigan, n, device), None, dtype)
        seed_b = _move(self.seed(minigan, n, device), None, dtype)
        alpha = None
        if self.penalty_weight:
            alpha = _move(minigan.rand(n, *([1] * (real.ndim - 1)), device=device), None, dtype)
        return wgan_step(minigan, nets.D, nets.G, real, seed_a, seed_b, n_critic=self.n_critic,
                         clip=self.clip, alpha=alpha, penalty_weight=self.penalty_weight,
                         hinge=self.hinge)

    def critic_test_step(self, D, real, noise):
        """The D test of a critic: its own step (:func:`~minigan.training.critic_step`, with
        clipping, hinge or penalty as in training) with the uniform noise as the fakes."""
        alpha = None
        if self.penalty_weight:
            alpha = minigan.rand(real.shape[0], *([1] * (real.ndim - 1)), device=real.device).to(real.dtype)
        critic_step(minigan, D, Network(minigan.nn.Identity(), None), real, noise, clip=self.clip,
                    alpha=alpha, penalty_weight=self.penalty_weight, hinge=self.hinge)


def critic(torch=minigan):
    """The critic: gan-batched's D without the Sigmoid; 533,505 parameters."""
    return gan_batched.discriminator(torch, sigmoid=False)


WGAN = WassersteinGan(
    name="wgan", section="beyond the book: the Wasserstein GAN with weight clipping",
    title="WGAN (critic without Sigmoid, weights clipped at 0.01, RMSprop 5e-5, 5 critic steps per G step)",
    reference="PyTorch-GAN's implementations/wgan/wgan.py",
    discriminator=critic, generator=gan_batched.generator,
    loss=lambda torch: None,
    optimiser=lambda torch, params: torch.optim.RMSprop(params, lr=5e-5),
    # 225 epochs of the 4,000 bundled digits (14,175 critic steps, 2,835 G steps): seed 0
    # covers 10 classes, largest 17.6 % - but not robustly: clipping learns slowly (1 class at
    # epoch 50; 9-10 classes at 21-32 % over epochs 125-200, 24 % at 250). Seed 1 unmeasured.
    seed=randn_seed(gan_batched.LATENT), noise=gan_batched.uniform_image, data="mnist",
    image_shape=(1, 28, 28), book_epochs=None, default_epochs=225,
    parameters=(533_505, 1_510_032), batch_size=64, n_critic=5, clip=0.01,
    plot_style="wasserstein", book_result="not a book model")
