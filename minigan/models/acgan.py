"""ACGAN (Odena, Olah & Shlens 2017): a conditional GAN whose discriminator also names the digit.

The book's conditional GAN (section 3.2) conditions *through the input*: D reads the image
together with its one-hot label and must reject a 3 drawn for the label 7. The auxiliary
classifier GAN conditions *through a loss* instead. D reads the image alone and has two
heads: the usual real-or-fake probability, and a classifier over the ten digits. Every D step
trains both - the classifier on real digits (their true labels) and on fakes (the label G was
asked for) - and G is rewarded when D takes its image for real *and* its classifier reads the
requested label::

    loss_D = BCE(D(x), 1 or 0) + CE(D's class logits(x), label)
    loss_G = BCE(D(G(z, label)), 1) + CE(D's class logits(G(z, label)), label)

So G cannot ignore the label: an image the classifier reads as another digit costs it. As a
by-product, D's class head is a digit classifier trained on the real data;
``minigan train acgan`` measures it on the held-out digits (:func:`classifier_report`), and,
as for the book's CGAN, how often the shipped judge reads the label G was asked for.

Networks: PyTorch-GAN's ``implementations/acgan/acgan.py`` at MNIST's 28 pixels (the tutorial
resizes to 32). G multiplies the noise z (100) by a learnt embedding of the label (100 numbers
per class), maps it with Linear 100-6272 to 128 x 7 x 7, then BatchNorm, Upsample x2, Conv
128-128 3x3, BatchNorm, LeakyReLU(0.2), Upsample x2, Conv 128-64, BatchNorm, LeakyReLU(0.2),
Conv 64-1, Tanh. D: four blocks of Conv 3x3 stride 2 (16, 32, 64, 128 channels), LeakyReLU(0.2),
Dropout2d(0.25) and (but the first) BatchNorm, 28 -> 14 -> 7 -> 4 -> 2 pixels; the two heads
read the 512 features. Weights drawn as the tutorial's ``weights_init_normal``: N(0, 0.02) for
the convolutions, N(1, 0.02) for BatchNorm's scale. Adam 2e-4, betas (0.5, 0.999), batch 64.

Two quirks of the tutorial are kept and one is not. Kept: ``BatchNorm2d(n, 0.8)`` means eps =
0.8 (momentum was meant, as in :mod:`~minigan.models.gan_batched`), and the label enters G by
*multiplying* the noise. Not kept: the tutorial ends its class head in Softmax and then applies
``CrossEntropyLoss``, which takes logits and applies log-softmax again (a softmax of
probabilities: gradients squashed); here the head gives logits. The iteration keeps the book's
order (:func:`minigan.training.acgan_step`), where the tutorial steps G first and D once on the
average of its real and fake losses.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

import minigan

from ..experiment import ConditionalGanExperiment, GanModel, _move, cycling_labels, randn_seed
from ..training import acgan_step
from .gan_batched import uniform_image
from .head_reading import head_argmax

LATENT = 100
CLASSES = 10
INIT = 7            # G starts at 7 x 7 and upsamples twice to 28 x 28
FEATURES = 128 * 2 * 2
DROPOUT = 0.25
#: G draws at most CHUNK images a batch; a batch that does not ask for every label about
#: equally often is drawn among a crowd of random ones filling it to CROWD (``AcganModel.generate``)
CHUNK = 128
CROWD = 256
CROWD_SEED = 20170101


def _init_normal(torch):
    """The tutorial's ``weights_init_normal``: convolutions N(0, 0.02); BatchNorm scale N(1, 0.02),
    shift 0 (Linear and Embedding keep their framework's defaults)."""
    init = torch.nn.init

    def apply(m):
        kind = type(m).__name__
        if kind.startswith("Conv"):
            init.normal_(m.weight, 0.0, 0.02)
        elif kind.startswith("BatchNorm"):
            init.normal_(m.weight, 1.0, 0.02)
            init.constant_(m.bias, 0.0)
    return apply


@functools.lru_cache(maxsize=None)
def _classes(torch):
    """The two network classes on a framework (``minigan`` or ``torch``)."""
    nn = torch.nn

    class LabelledGenerator(nn.Module):
        """G(z, one-hot label) -> (B, 784) in [-1, 1]: the label's embedding times z, then the
        tutorial's upsampling convolutions."""

        def __init__(self):
            super().__init__()
            self.label_embedding = nn.Embedding(CLASSES, LATENT)
            self.l1 = nn.Linear(LATENT, 128 * INIT * INIT)
            self.conv_blocks = nn.Sequential(
                nn.BatchNorm2d(128),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(128, 128, 3, stride=1, padding=1),
                nn.BatchNorm2d(128, 0.8),          # eps=0.8: the tutorial's positional quirk
                nn.LeakyReLU(0.2),
                nn.Upsample(scale_factor=2),
                nn.Conv2d(128, 64, 3, stride=1, padding=1),
                nn.BatchNorm2d(64, 0.8),
                nn.LeakyReLU(0.2),
                nn.Conv2d(64, 1, 3, stride=1, padding=1),
                nn.Tanh(),
            )

        def forward(self, noise, labels):
            # one-hot rows (as every conditional GAN here is called) -> class indexes
            h = self.l1(self.label_embedding(labels.argmax(dim=1)) * noise)
            out = self.conv_blocks(h.reshape(h.shape[0], 128, INIT, INIT))
            return out.reshape(out.shape[0], 28 * 28)   # rows, as the data

    class AuxiliaryDiscriminator(nn.Module):
        """One conv body, two heads: ``forward(x)`` is the real-or-fake probability alone (so
        the D test and every step written for a plain D work); :meth:`with_classes` also gives
        the ten class logits."""

        def __init__(self, dropout=DROPOUT):
            super().__init__()

            def block(n_in, n_out, bn=True):
                layers = [nn.Conv2d(n_in, n_out, 3, 2, 1), nn.LeakyReLU(0.2), nn.Dropout2d(dropout)]
                return layers + [nn.BatchNorm2d(n_out, 0.8)] if bn else layers

            self.body = nn.Sequential(
                nn.Unflatten(1, (1, 28, 28)),
                *block(1, 16, bn=False), *block(16, 32), *block(32, 64), *block(64, 128),
                nn.Flatten(),
            )
            self.adv_head = nn.Sequential(nn.Linear(FEATURES, 1), nn.Sigmoid())
            self.aux_head = nn.Linear(FEATURES, CLASSES)   # logits (the tutorial: a Softmax)

        def forward(self, x):
            return self.adv_head(self.body(x))

        def with_classes(self, x):
            """``(probability of real (B, 1), class logits (B, 10))``, one body pass."""
            h = self.body(x)
            return self.adv_head(h), self.aux_head(h)

    return LabelledGenerator, AuxiliaryDiscriminator


def generator(torch=minigan):
    """G: 857,065 parameters (the embedding 1,000, Linear 633,472, the convolutions 221,953,
    BatchNorm 640)."""
    G = _classes(torch)[0]()
    G.apply(_init_normal(torch))
    return G


def discriminator(torch=minigan, dropout=DROPOUT):
    """D with its class head: 103,243 parameters (the body 97,600, the heads 513 and 5,130)."""
    D = _classes(torch)[1](dropout)
    D.apply(_init_normal(torch))
    return D


def _balanced(labels, k: int) -> bool:
    """Every one of the ``k`` labels asked for about equally often (counts differ by at most 1)."""
    counts = np.bincount(labels, minlength=k)
    return int(counts.max() - counts.min()) <= 1


def class_reading(D_module, images, batch: int = 500, torch=minigan):
    """D's class head (argmax of its logits) on (N, 784) images in the model's pixel range
    (:func:`~minigan.models.head_reading.head_argmax`: a copy of D, BatchNorm in training mode,
    dropout off)."""
    return head_argmax(D_module, images, lambda reader, x: reader.with_classes(x)[1],
                       batch=batch, torch=torch)


def classifier_report(experiment, D_module, data: str, device=None) -> dict:
    """D's class head as a classifier of the held-out real digits: accuracy and the confusion
    counts (``counts[true][read]``)."""
    from ..runs import _is_digits, load_real_data
    test = load_real_data(experiment, data, "test")
    images = experiment.scale(test.batch(np.arange(len(test)))[1].to(device))
    read = class_reading(D_module, images)
    labels = np.asarray(test.labels, dtype=np.int64)
    counts = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    np.add.at(counts, (labels, read), 1)
    return {"count": int(len(labels)), "items": "digits" if _is_digits(test) else "images",
            "accuracy": float(np.mean(read == labels)), "counts": counts.tolist()}


@dataclass(frozen=True)
class AcganModel(GanModel, ConditionalGanExperiment):
    """A conditional GAN beyond the book (batches, shuffled epochs, pixels in [-1, 1], as
    :class:`GanModel`) that draws requested labels (as :class:`ConditionalGanExperiment`:
    ``minigan sample --label``, the per-label judge), stepped by
    :func:`~minigan.training.acgan_step`."""

    def iteration(self, nets, reals, index, n, ones, zeros, device=None, dtype=None):
        """One batch: real images with their one-hot labels, two fresh seeds, two sets of
        random labels (Python's ``random``, seeded by ``--seed``, as the book's CGAN)."""
        if n is None:
            raise ValueError(f"{self.name} trains on batches (BatchNorm): --batch-size must be at least 2")
        _, image, label = reals.batch(index)
        real, real_labels = _move(self.scale(image), device, dtype), _move(label, device, dtype)
        seed_a = _move(self.seed(minigan, n, device), None, dtype)
        labels_a = _move(self.random_one_hot(minigan, n, device), None, dtype)
        seed_b = _move(self.seed(minigan, n, device), None, dtype)
        labels_b = _move(self.random_one_hot(minigan, n, device), None, dtype)
        return acgan_step(minigan, nets.D, nets.G, real, real_labels, seed_a, labels_a, seed_b,
                          labels_b, ones, zeros)

    def generate(self, G_module, seeds, labels=None):
        """G's images of ``labels`` (default 0, 1, ... 9, 0, ...) from (N, 100) ``seeds``, in
        batches of at most :data:`CHUNK`.

        G keeps training mode (the tutorial never calls ``eval()``), so its BatchNorm normalises
        by the batch, as in training, where each batch asks for random labels. A batch that
        asks for every label about equally often (labels 0..9 in turn: the judge's samples, the
        grids) is drawn as it is. One that does not - 24 images of four labels, ``minigan sample
        --label 3`` - would be normalised against itself and come out as other pictures, so it
        is drawn inside a crowd of random latents and labels filling the batch to :data:`CROWD`.
        The crowd comes from a generator of its own with a fixed seed: drawing never moves the
        training's random streams, and a request gives the same pictures every time."""
        n = len(seeds)
        labels = self.labels_for(n, labels)
        if n == 0:
            return super().generate(G_module, seeds, labels)
        crowd = np.random.default_rng(CROWD_SEED)
        out = []
        for start in range(0, n, CHUNK):
            asked, k = labels[start:start + CHUNK], min(CHUNK, n - start)
            batch = seeds[start:start + k]
            if not _balanced(asked, self.num_classes):
                fill = minigan.tensor(crowd.standard_normal((CROWD - k, LATENT)).astype(np.float32),
                                      device=seeds.device).to(seeds.dtype)
                batch = minigan.cat((batch, fill), dim=0)
                asked = np.concatenate((asked, crowd.integers(0, self.num_classes, CROWD - k)))
            out.append(super().generate(G_module, batch, asked)[:k])
        return np.concatenate(out)

    def images_per_label(self, G_module, per_label: int, device=None) -> list:
        """The per-label judge's images drawn in one request for the labels 0..9 in turn (every
        batch then holds every label, as in training), grouped by label."""
        labels = cycling_labels(per_label * self.num_classes, self.num_classes)
        images = self.sample(G_module, len(labels), device, labels=labels)
        return [images[labels == k] for k in range(self.num_classes)]

    def after_training(self, nets, options, say) -> dict:
        """D's class head read on the held-out digits (:func:`classifier_report`)."""
        report = classifier_report(self, nets.D.module, options.data, options.device)
        say(f"  D's class head as a classifier of the {report['count']:,} held-out {report['items']}: "
            f"{report['accuracy']:.1%} right")
        return {"classifier": report}


ACGAN = AcganModel(
    name="acgan", section="beyond the book: ACGAN, a D that also names the digit",
    title="ACGAN (D: real-or-fake and a 10-way class head; G: label embedding x noise, "
          "upsampling convs; Adam 2e-4, batch 64)",
    reference="Odena et al. 2017; PyTorch-GAN's implementations/acgan/acgan.py at 28 pixels",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999)),
    # 30 epochs of the 4,000 bundled digits (1,890 steps, about 25 minutes with one BLAS thread on
    # the 2-core Zen 4): the judge reads the asked label in 84.6 % (seed 0) and 83.0 % (seed 1),
    # D's class head 94.5 % and 94.1 % of the held-out digits (benchmarks/results/zen4/acgan_runs.json)
    seed=randn_seed(LATENT), noise=uniform_image, data="mnist", image_shape=(1, 28, 28),
    book_epochs=None, default_epochs=30, parameters=(103_243, 857_065), batch_size=64,
    book_result="the paper: class-conditional ImageNet and CIFAR-10 samples (no MNIST figure)")
