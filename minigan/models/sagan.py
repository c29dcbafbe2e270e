"""SAGAN (Zhang, Goodfellow, Metaxas & Odena 2019): self-attention in both networks.

A convolution sees a few pixels around each pixel; to relate the top of a digit to its bottom,
a convolutional G must pass the information up through several layers. A *self-attention*
layer relates every position to every other in one step. At each position it computes a
*query* and a *key* (1x1 convolutions to C/8 channels) and a *value* (C channels); position
i's output is the average of every position's value, weighted by how well i's query matches
their keys (a softmax over the N = H x W positions)::

    attention[i, j] = softmax_j( query_i . key_j )         (B, N, N)
    out_i           = sum_j attention[i, j] * value_j       (B, C, N)
    y               = gamma * out + x                       gamma starts at 0

Because gamma starts at 0, the layer starts as the identity and the networks first learn as
plain convolutional ones, then learn how much to lean on the attention.

The paper's other choices, all kept here:

* **spectral normalisation in both networks** (:func:`minigan.nn.utils.spectral_norm`, as in
  :mod:`~minigan.models.sngan`, which normalises D alone), which the paper found steadies G;
* **the hinge loss** (:func:`minigan.training.critic_step` with ``hinge=True``) and one D step
  per G step;
* **two time-scales** (Heusel et al. 2017): D learns four times faster than G, Adam 4e-4
  against 1e-4, betas (0, 0.9).

Networks: heykeetae's ``Self-Attention-GAN/sagan_models.py`` (the widely read PyTorch
version; its ``Self_Attn`` block, to the letter) with its 64-pixel stacks cut to MNIST's 28
pixels. G: z (128, N(0, 1)) -> ConvT k7 to 256 x 7 x 7 -> ConvT to 128 x 14 x 14 ->
self-attention -> ConvT to 1 x 28 x 28, Tanh (BatchNorm and ReLU after the first two, which
are spectrally normalised; the last is not, as in sagan_models.py). D: Conv to 64 x 14 x 14,
Conv to 128 x 7 x 7, self-attention, Conv to 256 x 4 x 4 (each spectrally normalised,
LeakyReLU(0.1)), then Conv k4 to one score.
"""
from __future__ import annotations

import copy
import functools
import os
from dataclasses import dataclass

import numpy as np

import minigan

from ..experiment import randn_seed
from .gan_batched import uniform_image
from .wgan import WassersteinGan

LATENT = 128
CONV = 64   # sagan_models.py's conv_dim: channels of D's first layer and G's last hidden one
#: the attention picture's query positions on G's 14 x 14 attention grid (row, column)
QUERIES = ((3, 7), (7, 7), (10, 4))
ATTENTION_SEED = 20190614   # its latents come from a generator of their own (training's untouched)


@functools.lru_cache(maxsize=None)
def self_attention_class(torch):
    """The ``SelfAttention`` module class on a framework (``minigan`` or ``torch``)."""
    nn = torch.nn

    class SelfAttention(nn.Module):
        """sagan_models.py's ``Self_Attn``: y = gamma * attend(x) + x, gamma from 0."""

        def __init__(self, channels):
            super().__init__()
            self.query_conv = nn.Conv2d(channels, channels // 8, 1)
            self.key_conv = nn.Conv2d(channels, channels // 8, 1)
            self.value_conv = nn.Conv2d(channels, channels, 1)
            self.gamma = nn.Parameter(torch.zeros(1))

        def attention(self, x):
            """The (B, N, N) attention map: row i is where position i looks (sums to 1)."""
            b, _, h, w = x.shape
            query = self.query_conv(x).reshape(b, -1, h * w).permute(0, 2, 1)   # (B, N, C/8)
            key = self.key_conv(x).reshape(b, -1, h * w)                          # (B, C/8, N)
            return torch.softmax(torch.bmm(query, key), dim=-1)

        def forward(self, x):
            b, c, h, w = x.shape
            value = self.value_conv(x).reshape(b, c, h * w)                       # (B, C, N)
            out = torch.bmm(value, self.attention(x).permute(0, 2, 1))            # (B, C, N)
            return self.gamma * out.reshape(b, c, h, w) + x

    return SelfAttention


def generator(torch=minigan):
    """G: ConvT(128, 256, 7) BN ReLU, ConvT(256, 128, 4, 2, 1) BN ReLU (both spectrally
    normalised), SelfAttention(128) at 14 x 14, ConvT(128, 1, 4, 2, 1), Tanh; flattened to
    (B, 784) rows as the data; 2,153,762 parameters."""
    nn = torch.nn
    sn = nn.utils.spectral_norm
    return nn.Sequential(
        nn.Unflatten(1, (LATENT, 1, 1)),                      # z as a 1 x 1 image of 128 channels
        sn(nn.ConvTranspose2d(LATENT, 4 * CONV, 7)),          # 1 -> 7
        nn.BatchNorm2d(4 * CONV),
        nn.ReLU(),
        sn(nn.ConvTranspose2d(4 * CONV, 2 * CONV, 4, 2, 1)),  # 7 -> 14
        nn.BatchNorm2d(2 * CONV),
        nn.ReLU(),
        self_attention_class(torch)(2 * CONV),
        nn.ConvTranspose2d(2 * CONV, 1, 4, 2, 1),             # 14 -> 28
        nn.Tanh(),
        nn.Flatten(),
    )


def discriminator(torch=minigan):
    """D: Conv(1, 64, 4, 2, 1), Conv(64, 128, 4, 2, 1), SelfAttention(128) at 7 x 7,
    Conv(128, 256, 3, 2, 1) (each spectrally normalised, LeakyReLU(0.1)), Conv(256, 1, 4):
    one score per image; 452,194 parameters."""
    nn = torch.nn
    sn = nn.utils.spectral_norm
    return nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),                         # the data's (B, 784) rows as images
        sn(nn.Conv2d(1, CONV, 4, 2, 1)),                      # 28 -> 14
        nn.LeakyReLU(0.1),
        sn(nn.Conv2d(CONV, 2 * CONV, 4, 2, 1)),               # 14 -> 7
        nn.LeakyReLU(0.1),
        self_attention_class(torch)(2 * CONV),
        sn(nn.Conv2d(2 * CONV, 4 * CONV, 3, 2, 1)),           # 7 -> 4
        nn.LeakyReLU(0.1),
        nn.Conv2d(4 * CONV, 1, 4),                            # 4 -> 1: the score
        nn.Flatten(),
    )


def _gammas(module):
    """Each SelfAttention's gamma: how much of its output is attention (0 at the start)."""
    return [m.gamma.item() for m in module.modules() if type(m).__name__ == "SelfAttention"]


def attention_report(G_module, count: int = 64, device=None) -> tuple[dict, np.ndarray, np.ndarray]:
    """G's attention on ``count`` fresh fakes: ``(report, images, maps)``.

    ``report["reach_pixels"]`` is how far a position looks: the attention-weighted distance
    from each query position to the positions it reads, averaged over all queries and images,
    in the image's pixels (one cell of the 14 x 14 grid is 2 pixels); ``uniform_reach_pixels``
    is the same for attention spread evenly. ``local_share`` is the attention a position gives
    its 3 x 3 neighbourhood (a 3 x 3 convolution's whole view); ``uniform_local_share`` the
    same for even attention. ``images`` (count, 28, 28) in [0, 1] and ``maps`` (count, Q, 14,
    14), the attention rows of the :data:`QUERIES`, feed :func:`minigan.viz.plot_attention_maps`.
    G is read through a copy: its forward in training mode moves spectral norm's power-iteration
    vectors and BatchNorm's running statistics, which must stay as training left them.
    """
    G_module = copy.deepcopy(G_module)
    rng = np.random.default_rng(ATTENTION_SEED)
    x = minigan.tensor(rng.standard_normal((count, LATENT)).astype(np.float32), device=device)
    x = x.to(next(G_module.parameters()).dtype)
    attention = None
    with minigan.no_grad():
        for layer in G_module:                 # G's Sequential, layer by layer, to catch the map
            if type(layer).__name__ == "SelfAttention":
                attention = layer.attention(x).cpu().numpy().astype(np.float64)   # (B, N, N)
                side = x.shape[-1]
            x = layer(x)
    images = np.clip((x.cpu().numpy().reshape(count, 28, 28) + 1) / 2, 0.0, 1.0)
    rows, cols = np.divmod(np.arange(side * side), side)
    distance = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :]) * (28 / side)
    local = np.maximum(abs(rows[:, None] - rows[None, :]), abs(cols[:, None] - cols[None, :])) <= 1
    report = {
        "generator_gamma": _gammas(G_module),
        "grid": [side, side],
        "reach_pixels": float((attention * distance).sum(axis=-1).mean()),
        "uniform_reach_pixels": float(distance.mean()),
        "local_share": float((attention * local).sum(axis=-1).mean()),
        "uniform_local_share": float(local.mean()),
    }
    picks = [r * side + c for r, c in QUERIES]
    maps = attention[:, picks, :].reshape(count, len(QUERIES), side, side)
    return report, images, maps


@dataclass(frozen=True)
class SaganModel(WassersteinGan):
    """SAGAN: :class:`WassersteinGan`'s hinge iteration, plus a look at G's attention after
    training (``attention.png`` and the numbers of :func:`attention_report`)."""

    def after_training(self, nets, options, say) -> dict:
        from .. import viz
        report, images, maps = attention_report(nets.G.module, device=options.device)
        report["discriminator_gamma"] = _gammas(nets.D.module)
        viz.plot_attention_maps(images[:4], maps[:4], QUERIES, os.path.join(options.out, "attention.png"))
        say(f"  G's attention (gamma {', '.join(f'{g:.3f}' for g in report['generator_gamma'])}): a position "
            f"looks {report['reach_pixels']:.1f} pixels away on average ({report['uniform_reach_pixels']:.1f} "
            f"if it looked everywhere alike); {report['local_share']:.0%} of its attention stays in its "
            f"3 x 3 neighbourhood ({report['uniform_local_share']:.0%} alike); D's gamma "
            f"{', '.join(f'{g:.3f}' for g in report['discriminator_gamma'])}")
        return {"attention": report}


def _adam(lr):
    return lambda torch, params: torch.optim.Adam(params, lr=lr, betas=(0.0, 0.9))


SAGAN = SaganModel(
    name="sagan", section="beyond the book: the self-attention GAN",
    title="SAGAN (self-attention in D and G, spectral norm in both, hinge loss, Adam 4e-4 / 1e-4 "
          "betas (0, 0.9), batch 64)",
    reference="Zhang et al. 2019 on heykeetae's Self-Attention-GAN networks, cut to 28 pixels",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: None,
    optimiser=_adam(4e-4), generator_optimiser=_adam(1e-4),
    # 20 epochs of the 4,000 bundled digits (1,260 steps, about 12 minutes with one BLAS thread
    # on the 2-core Zen 4): seed 0 10 classes, largest 14.4 %, Frechet 66.8. Judged every 5
    # epochs (benchmarks/results/coverage_curve_sagan_seed0.json) it covers 10 classes from
    # epoch 5 on, the largest at 15.2-17.7 %.
    seed=randn_seed(LATENT), noise=uniform_image, data="mnist",
    image_shape=(1, 28, 28), book_epochs=None, default_epochs=20,
    parameters=(452_194, 2_153_762), batch_size=64, n_critic=1, hinge=True,
    plot_style="wasserstein", book_result="not a book model")
