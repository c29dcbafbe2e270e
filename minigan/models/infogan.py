"""InfoGAN (Chen et al. 2016): a GAN that finds, without labels, a dial for which digit it draws.

The book's conditional GAN (section 3.2) is *told* the digit: the label goes into D and G, and
D punishes a 3 drawn for the label 7. InfoGAN is never shown a label. G's input is the usual
noise z (62 normal numbers) plus a *code*: one categorical choice c1 of 10 (a one-hot vector)
and two continuous numbers c2, c3 ~ U(-1, 1). Nothing yet says what the code means. A third
network Q - a second head on D's body - is trained to read the code back from G's image, and
G is rewarded when it can:

    loss_G = BCE(D(G(z, c)), 1)  +  lambda_cat * CE(Q_cat(G(z, c)), c1)
                                 +  lambda_con * MSE(Q_con(G(z, c)), (c2, c3))

The two extra terms are a lower bound on the mutual information I(c; G(z, c)) (the paper's
L_I; the mean squared error is the log-likelihood of a Gaussian of fixed variance, as
PyTorch-GAN's infogan.py uses). The easiest way for G to make a 10-way choice readable from
its image is to draw ten different *kinds* of image, so on MNIST c1 usually ends up choosing
the digit, and c2, c3 smooth changes such as slant and stroke width. Afterwards Q's
categorical head is an unsupervised classifier of real digits: the paper reports 5 % error
on MNIST with the best matching of its 10 codes to the 10 digits. ``minigan train infogan``
measures exactly that on the held-out digits (:func:`code_report`), and how purely each code
value draws one digit (judged by the shipped classifier).

Networks: the paper's MNIST architecture (its appendix C.1). D's body: Conv(1, 64, 4, 2, 1),
LeakyReLU(0.1), Conv(64, 128, 4, 2, 1), BatchNorm, LeakyReLU(0.1), Linear 6272-1024,
BatchNorm, LeakyReLU(0.1); D's head Linear 1024-1, Sigmoid; Q's head Linear 1024-128,
BatchNorm, LeakyReLU(0.1), Linear 128-12 (10 code logits, then 2 code values). G: Linear
74-1024, BatchNorm, ReLU, Linear 1024-6272, BatchNorm, ReLU, ConvT(128, 64, 4, 2, 1),
BatchNorm, ReLU, ConvT(64, 1, 4, 2, 1), Sigmoid (pixels in [0, 1], as the data). Layers
followed by BatchNorm have no bias (BatchNorm's own shift replaces it). Adam with betas
(0.5, 0.999): 2e-4 for D's body and head, 1e-3 for G and Q's head (the paper's rates); batch
64; lambda_cat = 1, lambda_con = 0.1.

D's BatchNorm1d over its 1,024 features makes it judge each image against the rest of its
batch. In the GAN that is no obstacle (each fake batch has better and worse images), but the
book's D test - batches of reals, then batches of uniform noise - moves it only slowly: over
one epoch of the bundled digits its loss on noise falls from 0.72 to 0.60, and read in one batch of
both, D(real) is 0.25-0.46 against D(noise) 0.50-0.54 (DCGAN's D, with no BatchNorm on
features, gives 0.98-1.00 against 0.00-0.02 after 30 batches).

The iteration keeps the book's order (:func:`minigan.training.infogan_step`): D on reals
(target 1), D on a detached fake (target 0), then G and Q on a fake from a *new* latent. The
code of each fake is the latent's own slice, so the targets of Q cost nothing to keep.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import minigan

from ..experiment import GanModel, Networks, _move, _to
from ..training import Network, infogan_step
from .gan_batched import uniform_image

NOISE = 62         # z
CATEGORIES = 10    # c1: one of ten, one-hot
CONTINUOUS = 2     # c2, c3 ~ U(-1, 1)
LATENT = NOISE + CATEGORIES + CONTINUOUS   # 74 numbers into G
LAMBDA_CAT = 1.0
LAMBDA_CON = 0.1


def latent(torch, batch=None, device=None, categories=None):
    """G's input: ``[z (62) ~ N(0, 1), one-hot c1 (10), c2, c3 ~ U(-1, 1)]``, (74,) or (B, 74).

    ``categories`` (ints) fixes c1, one per row; by default each row draws its own uniformly.
    Every number comes from the framework's seeded generator (``manual_seed``).
    """
    n = 1 if batch is None else batch
    z = torch.randn(n, NOISE, device=device)
    if categories is None:
        index = torch.randint(0, CATEGORIES, (n,), device=device)
    else:
        index = torch.tensor(np.asarray(categories, dtype=np.int64).reshape(n), device=device)
    c1 = torch.nn.functional.one_hot(index, CATEGORIES).to(z.dtype)
    c23 = torch.rand(n, CONTINUOUS, device=device) * 2 - 1
    seed = torch.cat((z, c1, c23), dim=1)
    return seed if batch is not None else seed[0]


latent.size = LATENT


def codes_of(seed):
    """The code inside a latent (B, 74): (one-hot c1 (B, 10), c2 and c3 (B, 2)) - Q's targets."""
    return seed[:, NOISE:NOISE + CATEGORIES], seed[:, NOISE + CATEGORIES:]


def generator(torch=minigan):
    """G: 74-1024 BatchNorm ReLU, 1024-6272 BatchNorm ReLU, view (128, 7, 7), ConvT(128, 64, 4,
    2, 1) BatchNorm ReLU, ConvT(64, 1, 4, 2, 1) Sigmoid, flattened to (B, 784); 6,645,121
    parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(LATENT, 1024, bias=False),
        nn.BatchNorm1d(1024),
        nn.ReLU(),
        nn.Linear(1024, 7 * 7 * 128, bias=False),
        nn.BatchNorm1d(7 * 7 * 128),
        nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Sigmoid(),
        nn.Flatten(),                  # (B, 784) rows, as the data and the other GANs
    )


@functools.lru_cache(maxsize=None)
def _discriminator_class(torch):
    """``InfoDiscriminator`` on a framework (``minigan`` or ``torch``): one class per framework."""
    nn = torch.nn

    class InfoDiscriminator(nn.Module):
        """D and Q: one body, two heads. ``forward(x)`` is D alone (a probability), so every
        step written for a plain D works; :meth:`with_codes` also gives Q's reading."""

        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)),          # the data's (B, 784) rows as images
                nn.Conv2d(1, 64, 4, 2, 1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(64, 128, 4, 2, 1, bias=False),
                nn.BatchNorm2d(128),
                nn.LeakyReLU(0.1),
                nn.Flatten(),
                nn.Linear(128 * 7 * 7, 1024, bias=False),
                nn.BatchNorm1d(1024),
                nn.LeakyReLU(0.1),
            )
            self.d_head = nn.Sequential(nn.Linear(1024, 1), nn.Sigmoid())
            self.q_head = nn.Sequential(
                nn.Linear(1024, 128, bias=False),
                nn.BatchNorm1d(128),
                nn.LeakyReLU(0.1),
                nn.Linear(128, CATEGORIES + CONTINUOUS),
            )

        def forward(self, x):
            return self.d_head(self.body(x))

        def with_codes(self, x):
            """``(D's probability (B, 1), Q's c1 logits (B, 10), Q's c2, c3 (B, 2))``, one body pass."""
            h = self.body(x)
            q = self.q_head(h)
            return self.d_head(h), q[:, :CATEGORIES], q[:, CATEGORIES:]

    return InfoDiscriminator


def discriminator(torch=minigan):
    """D with Q's head on its body; 6,690,893 parameters (D's body and head 6,558,017, Q's
    head 132,876)."""
    return _discriminator_class(torch)()


@dataclass(frozen=True)
class InfoGanModel(GanModel):
    """A GAN with a code G must make readable (:mod:`minigan.models.infogan`): D's optimiser
    steps D's body and head, G's steps G *and Q's head*, and each iteration is
    :func:`~minigan.training.infogan_step`."""
    lambda_cat: float = LAMBDA_CAT
    lambda_con: float = LAMBDA_CON

    def build(self, torch=minigan, device=None, dtype=None) -> Networks:
        D = _to(self.discriminator(torch), device, dtype)
        G = _to(self.generator(torch), device, dtype)
        d_params = list(D.body.parameters()) + list(D.d_head.parameters())
        g_params = list(G.parameters()) + list(D.q_head.parameters())
        return Networks(
            D=Network(D, self.optimiser(torch, d_params), self.loss(torch), name="D"),
            G=Network(G, self.g_optimiser(torch, g_params), None, name="G"))

    def iteration(self, nets, reals, index, n, ones, zeros, device=None, dtype=None):
        """One batch: :func:`~minigan.training.infogan_step` with two fresh latents."""
        if n is None:
            raise ValueError(f"{self.name} trains on batches (BatchNorm): --batch-size must be at least 2")
        real = _move(self.real_batch(reals, index), device, dtype)
        seed_a = _move(self.seed(minigan, n, device), None, dtype)
        seed_b = _move(self.seed(minigan, n, device), None, dtype)
        return infogan_step(minigan, nets.D, nets.G, real, seed_a, seed_b, ones, zeros,
                            codes=codes_of, lambda_cat=self.lambda_cat, lambda_con=self.lambda_con)

    def sample(self, G_module, count: int, device=None, labels=None, code=None):
        """``count`` images from fresh latents; with ``code`` (0..9) every one drawn with that
        value of c1 (``minigan sample --code``), among random latents (see
        :func:`~minigan.models.infogan_codes.generate_among_random`)."""
        if code is None:
            return super().sample(G_module, count, device, labels)
        if labels is not None:
            raise ValueError(f"{self.name} is not a conditional GAN: it draws no requested label")
        if not 0 <= code < CATEGORIES:
            raise ValueError(f"{self.name}: its code c1 takes the values 0..{CATEGORIES - 1}, not {code}")
        from .infogan_codes import generate_among_random
        seeds = latent(minigan, count, device, categories=[code] * count)
        return generate_among_random(self, G_module, seeds, device)

    def after_training(self, nets, options, say) -> dict:
        """The code pictures, and (on MNIST digits) :func:`code_report`."""
        from .infogan_codes import code_pictures, code_report, format_code_report
        code_pictures(self, nets.G.module, options.out, options.device)
        report = code_report(self, nets, options.data, options.device)
        say(format_code_report(report))
        return {"codes": report}


def _adam(lr):
    return lambda torch, params: torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))


INFOGAN = InfoGanModel(
    name="infogan", section="beyond the book: InfoGAN, a code learnt without labels",
    title="InfoGAN (D and Q share a conv body; code: 1 of 10 and 2 uniform; Adam 2e-4 / 1e-3, batch 64)",
    reference="Chen et al. 2016, appendix C.1 (MNIST); Q's continuous loss as PyTorch-GAN's infogan.py",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(), optimiser=_adam(2e-4), generator_optimiser=_adam(1e-3),
    # 30 epochs of the 4,000 bundled digits (1,890 steps, 10-11 minutes on the 2-core Zen 4):
    # Q reads 63 % (seed 0) and 62 % (seed 1) of the held-out digits right, 8 digits among the
    # ten codes; 60 epochs gave 70 % and all ten digits, but take 21 minutes
    # (benchmarks/results/zen4/infogan_runs.json).
    seed=latent, noise=uniform_image, data="mnist", image_shape=(1, 28, 28), image_range=(0.0, 1.0),
    book_epochs=None, default_epochs=30, parameters=(6_690_893, 6_645_121), batch_size=64,
    book_result="the paper: c1 read by Q classifies real MNIST digits with 5 % error")
