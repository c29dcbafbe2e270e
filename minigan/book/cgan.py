"""Book section 3.2: a conditional GAN that draws the digit it is asked for (notebook 16; BOOK_SPEC 4.16).

The improved MNIST GAN (section 2.3) learns to draw digits, but which digit comes out is up
to the seed. The conditional GAN adds the digit's label, as a one-hot vector of 10, to both
networks' inputs - plain concatenation, nothing more:

* D reads ``[image (784), one-hot (10)]`` (794 numbers) and answers "a real image *of this
  label*?". A perfect 7 shown with the label 3 is fake.
* G reads ``[seed randn(100), one-hot (10)]`` (110 numbers) and must draw that label to fool D.

Each training iteration (:func:`minigan.training.conditional_gan_step`) shows D the real image
with its own label (target 1), then a fake drawn for a random label with that label (target
0), and trains G with a *new* random label going into G and into D (target 1). The random
labels come from Python's ``random.randint``, as the book's ``generate_random_one_hot``.

Afterwards ``minigan sample model.npz --label 3`` draws threes, and the judge (a classifier of
real digits, :func:`minigan.metrics.load_judge`) checks, for every label, how many of 100
drawings really are that digit (:func:`label_accuracy`).

The book trains 12 epochs of 60,000 digits (720,000 iterations). ``minigan train cgan``'s
default is 80 epochs of the bundled 4,000 (320,000 iterations, under 10 minutes on two cores):
at 60 epochs the worst label was read right 90-92 % of the time, at 80 epochs 95-97 % (seeds
0 and 1), every other label 96-100 %.
"""
from __future__ import annotations

import functools

import numpy as np

import minigan

from ..experiment import ConditionalGanExperiment, randn_seed
from . import mnist_gan
from .mnist_gan import uniform_image

NUM_CLASSES = 10


@functools.lru_cache(maxsize=None)
def _conditional_class(torch):
    """``Conditional`` for a framework (``minigan`` or ``torch``): one class per framework."""

    class Conditional(torch.nn.Module):
        """The book's CGAN ``forward(inputs, label)``: ``model(cat((inputs, label)))``.

        The one-hot label is appended to the inputs along the last dimension, so one sample
        (784,) + (10,) and a batch (B, 784) + (B, 10) both work.
        """

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, inputs, label):
            return self.model(torch.cat((inputs, label), dim=-1))

    return Conditional


def conditional(torch, model):
    """``model`` wrapped to read ``(inputs, one_hot_label)`` concatenated (on ``torch``)."""
    return _conditional_class(torch)(model)


def discriminator(torch=minigan):
    """D (4.16): the improved MNIST GAN's D (4.08) reading [image, one-hot]: 794-200,
    LeakyReLU(0.02), LayerNorm, 200-1, Sigmoid; 159,601 parameters."""
    return conditional(torch, mnist_gan.discriminator(torch, inputs=784 + NUM_CLASSES))


def generator(torch=minigan):
    """G (4.16): the improved MNIST GAN's G (4.08) reading [seed, one-hot]: 110-200,
    LeakyReLU(0.02), LayerNorm, 200-784, Sigmoid; 180,184 parameters."""
    return conditional(torch, mnist_gan.generator(torch, inputs=100 + NUM_CLASSES))


def label_accuracy(G_module, per_label: int = 100, device=None, judge=None, experiment=None) -> dict:
    """For every label 0-9, ``per_label`` images drawn for it and judged by the shipped classifier.

    Returns ``{"per_label": [{"label", "correct", "count", "share", "judged": histogram} x 10],
    "min_share", "mean_share", "worst_label", "per_label_count", "judge_accuracy"}``: the
    share of each label's drawings that the judge reads as that digit.
    """
    from .. import metrics
    experiment = experiment or CGAN
    judge = judge if judge is not None else metrics.load_judge()
    rows = []
    for label, images in enumerate(experiment.images_per_label(G_module, per_label, device)):
        judged = judge.predict(images)
        correct = int(np.sum(judged == label))
        rows.append({"label": label, "correct": correct, "count": per_label,
                     "share": correct / per_label,
                     "judged": [int(c) for c in np.bincount(judged, minlength=NUM_CLASSES)]})
    shares = [r["share"] for r in rows]
    worst = int(np.argmin(shares))
    return {"per_label": rows, "per_label_count": per_label, "min_share": float(min(shares)),
            "mean_share": float(np.mean(shares)), "worst_label": worst,
            "judge_accuracy": judge.accuracy}


def format_label_table(report: dict) -> str:
    """The per-label table as text: label, correct/count, share, the judge's commonest wrong reading."""
    lines = ["label  correct  share  most common other reading"]
    for r in report["per_label"]:
        others = [(c, k) for k, c in enumerate(r["judged"]) if k != r["label"] and c]
        other = f"{max(others)[1]} ({max(others)[0]})" if others else "-"
        lines.append(f"{r['label']:>5}  {r['correct']:>3}/{r['count']:<3}  {r['share']:6.1%}  {other}")
    lines.append(f"  min {report['min_share']:.1%} (label {report['worst_label']}), "
                 f"mean {report['mean_share']:.1%}")
    return "\n".join(lines)


CGAN = ConditionalGanExperiment(
    name="cgan", section="3.2 (BOOK_SPEC 4.16)",
    title="conditional MNIST GAN (one-hot label concatenated to D's image and G's seed)",
    discriminator=discriminator, generator=generator,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params, lr=0.0001),
    seed=randn_seed(100), noise=uniform_image, data="mnist", image_shape=(1, 28, 28),
    book_epochs=12, default_epochs=80, parameters=(159_601, 180_184), plot_style="bce",
    book_result="plot_images(9), (3), (1), (5): six varied, correct digits of each requested "
                "label after 12 epochs of 60,000")
