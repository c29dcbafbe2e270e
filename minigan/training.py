"""The book's training steps, written once (BOOK_SPEC sections 1.6 and 1.7).

Every network in the book is a class that holds its layers, **its own optimiser**, (for a
discriminator or classifier) **its loss function**, a ``counter`` and a ``progress`` list,
and whose ``train`` method does one step on one sample. minigan keeps ``nn.Module.train``'s
meaning, so that bundle is :class:`Network` here and the steps are plain functions:

* :func:`train_step` - the book's ``D.train(inputs, targets)`` (and every classifier's):
  forward, loss, ``counter += 1``, record the loss every 10th call, ``zero_grad``,
  ``backward``, ``step``.
* :func:`generator_step` - the book's ``G.train(D, inputs, targets)``: G's output goes
  through D, the loss is **D's** loss function, backward runs through D into G, and only
  G's optimiser steps (D is left with gradients it zeroes at its next step).
* :func:`gan_step` - one iteration of every GAN notebook (section 1.7): D on the real
  sample (target 1), D on a detached fake from a fresh seed (target 0), G through D with a
  *new* seed (target 1).
* :func:`conditional_gan_step` - the same iteration for the conditional GAN (section 3.2,
  BOOK_SPEC 4.16): every network call also takes a one-hot label (the *condition*), the real
  sample's own for the real step, and a fresh random one for each of the two fake steps.

Beyond the book (:mod:`minigan.models`), the Wasserstein GANs and SN-GAN change the step
itself:

* :func:`critic_step` - the critic's ``mean(D(fake)) - mean(D(real))`` (no targets, no
  Sigmoid), then WGAN's weight clipping or WGAN-GP's gradient penalty
  (:func:`gradient_penalty`, a derivative of a derivative: double backward); or SN-GAN's
  hinge loss (its D spectrally normalised, :func:`minigan.nn.utils.spectral_norm`);
* :func:`critic_generator_step` - G's ``-mean(D(G(z)))`` (SN-GAN's G loss too);
* :func:`wgan_step` - one iteration: a critic step on this batch, and every ``n_critic``-th
  critic step also a G step.

InfoGAN (:mod:`minigan.models.infogan`) keeps :func:`gan_step`'s order and adds to G's loss
the terms that make its code readable by Q (:func:`info_generator_step`, :func:`infogan_step`).
ACGAN (:mod:`minigan.models.acgan`) keeps it too, with a class term in every step's loss: D
learns to name the digit of reals and fakes (:func:`classifying_step`), G to draw the digit it
was asked for (:func:`acgan_generator_step`, :func:`acgan_step`).

The batched, least-squares and logits GANs keep :func:`gan_step`'s order with another loss.

Nothing here imports a framework: the functions only call methods that PyTorch and minigan
share (``module(x)``, ``loss.backward()``, ``optimiser.step()`` ...), so the very same step
drives a PyTorch copy of a model in the parity tests and in ``minigan bench train``.

The side effect the book never mentions (section 1.6): D is trained twice per GAN step and
records every 10th call, so its counter is even only on the fake call and **D's progress list
holds only its losses on fake samples**. Keeping the counter exactly as the book does keeps
that quirk, and the loss plots look like the book's.
"""
from __future__ import annotations

__all__ = ["Network", "train_step", "generator_step", "gan_step", "conditional_gan_step",
           "gradient_penalty", "critic_step", "critic_generator_step", "wgan_step",
           "info_generator_step", "infogan_step", "classifying_step", "acgan_generator_step",
           "acgan_step", "RECORD_EVERY"]

#: The book appends ``loss.item()`` to ``progress`` when ``counter % 10 == 0`` (section 1.6).
RECORD_EVERY = 10


class Network:
    """A network as the book's classes hold it: layers, optimiser, loss, counter, progress.

    ``module`` is any ``nn.Module`` (minigan's or PyTorch's); ``loss_function`` is ``None``
    for a generator, which borrows its discriminator's (section 1.4).
    """

    def __init__(self, module, optimiser, loss_function=None, name: str = ""):
        self.module = module
        self.optimiser = optimiser
        self.loss_function = loss_function
        self.name = name
        self.counter = 0
        self.progress: list[float] = []

    def __call__(self, inputs, condition=None):
        return self.module(inputs) if condition is None else self.module(inputs, condition)

    def parameters(self):
        return self.module.parameters()

    def record(self, loss) -> None:
        """``counter += 1``; every 10th call append ``loss.item()`` (section 1.6)."""
        self.counter += 1
        if self.counter % RECORD_EVERY == 0:
            self.progress.append(loss.item())

    def __repr__(self):
        return (f"Network({self.name or type(self.module).__name__}, counter={self.counter}, "
                f"{len(self.progress)} progress points)")


def _descend(net: Network, loss) -> None:
    net.optimiser.zero_grad()
    loss.backward()
    net.optimiser.step()


def train_step(net: Network, inputs, targets, condition=None):
    """One step of a discriminator or classifier: the book's ``D.train(inputs, targets)``.

    A conditional network also reads ``condition`` (the CGAN's ``D.train(image, label,
    target)``): it is called as ``module(inputs, condition)``.
    """
    outputs = net.module(inputs) if condition is None else net.module(inputs, condition)
    loss = net.loss_function(outputs, targets)
    net.record(loss)
    _descend(net, loss)
    return loss


def generator_step(G: Network, D: Network, inputs, targets, condition=None):
    """One step of a generator: the book's ``G.train(D, inputs, targets)`` (section 1.7, 3).

    With a ``condition`` (the CGAN's ``G.train(D, seed, label, target)``) the same label goes
    into G and, with G's output, into D.
    """
    if condition is None:
        scores = D.module(G.module(inputs))
    else:
        scores = D.module(G.module(inputs, condition), condition)
    loss = D.loss_function(scores, targets)
    G.record(loss)
    _descend(G, loss)
    return loss


def gan_step(D: Network, G: Network, real, seed_a, seed_b, ones, zeros):
    """One iteration of the book's GAN loop, for one real sample (section 1.7).

    1. ``D.train(real, 1.0)``;
    2. ``D.train(G.forward(seed_a).detach(), 0.0)`` - no gradient reaches G;
    3. ``G.train(D, seed_b, 1.0)`` - a new seed; only G's optimiser steps.

    Returns the three losses (tensors) in that order.
    """
    loss_real = train_step(D, real, ones)
    loss_fake = train_step(D, G.module(seed_a).detach(), zeros)
    loss_g = generator_step(G, D, seed_b, ones)
    return loss_real, loss_fake, loss_g


def conditional_gan_step(D: Network, G: Network, real, real_label, seed_a, label_a, seed_b,
                         label_b, ones, zeros):
    """One iteration of the conditional GAN's loop (BOOK_SPEC 4.16), for one real sample.

    1. ``D.train(real, real_label, 1.0)`` - the image with its own one-hot label;
    2. ``D.train(G.forward(seed_a, label_a).detach(), label_a, 0.0)`` - a random label;
    3. ``G.train(D, seed_b, label_b, 1.0)`` - a *new* random label, into G and into D.

    The labels are one-hot vectors (the book's ``generate_random_one_hot``). Returns the three
    losses in that order.
    """
    loss_real = train_step(D, real, ones, real_label)
    loss_fake = train_step(D, G.module(seed_a, label_a).detach(), zeros, label_a)
    loss_g = generator_step(G, D, seed_b, ones, label_b)
    return loss_real, loss_fake, loss_g


# ============================================================================== Wasserstein GANs
def gradient_penalty(torch, critic, real, fake, alpha):
    """WGAN-GP's penalty (Gulrajani et al. 2017): ``mean((||grad_x D(x_hat)||_2 - 1)^2)``.

    ``x_hat = alpha * real + (1 - alpha) * fake`` with ``alpha`` ~ U(0, 1), one per sample
    (shape (B, 1), or (B, 1, 1, 1) for images). The gradient of the critic's output with
    respect to ``x_hat`` is taken with ``create_graph=True``, so it is itself a graph: the
    penalty's backward differentiates a derivative (double backward) to reach the critic's
    weights. ``torch`` is the framework (``minigan`` or ``torch``): its ``autograd.grad``.
    """
    x_hat = (alpha * real + (1 - alpha) * fake).detach().requires_grad_(True)
    scores = critic(x_hat)
    (gradient,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = gradient.reshape(gradient.shape[0], -1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def critic_step(torch, D: Network, G: Network, real, seed, *, clip=None, alpha=None,
                penalty_weight=0.0, hinge=False):
    """One step of a Wasserstein critic: ``loss = mean(D(fake)) - mean(D(real))``; or, with
    ``hinge``, of SN-GAN's discriminator: ``mean(relu(1 + D(fake))) + mean(relu(1 - D(real)))``
    (the hinge loss: scores beyond the margins -1 and 1 no longer move D).

    The fake comes from ``seed`` and is detached (no gradient reaches G). WGAN then clips
    every critic weight into ``[-clip, clip]`` (in place, under ``torch.no_grad()``);
    WGAN-GP adds ``penalty_weight * gradient_penalty(...)`` at the ``alpha`` interpolates.
    Records the loss (every 10th call) like :func:`train_step`.
    """
    fake = G.module(seed).detach()
    if hinge:
        loss = torch.relu(1 + D.module(fake)).mean() + torch.relu(1 - D.module(real)).mean()
    else:
        loss = D.module(fake).mean() - D.module(real).mean()
    if penalty_weight:
        loss = loss + penalty_weight * gradient_penalty(torch, D.module, real, fake, alpha)
    D.record(loss)
    _descend(D, loss)
    if clip is not None:
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-clip, clip)
    return loss


def critic_generator_step(G: Network, D: Network, seed):
    """One step of a Wasserstein generator: ``loss = -mean(D(G(seed)))``; only G steps."""
    loss = -D.module(G.module(seed)).mean()
    G.record(loss)
    _descend(G, loss)
    return loss


def wgan_step(torch, D: Network, G: Network, real, seed_a, seed_b, *, n_critic=5, clip=None,
              alpha=None, penalty_weight=0.0, hinge=False):
    """One iteration of WGAN / WGAN-GP / SN-GAN on one batch of reals.

    A :func:`critic_step` on ``real`` against a fake from ``seed_a``; when that was the
    critic's ``n_critic``-th step since G's last (``D.counter % n_critic == 0``), also a
    :func:`critic_generator_step` with the new seed ``seed_b``. So G steps once every
    ``n_critic`` batches, as in PyTorch-GAN's wgan.py and wgan_gp.py. Returns
    ``(critic loss, G loss or None)``.
    """
    loss_d = critic_step(torch, D, G, real, seed_a, clip=clip, alpha=alpha,
                         penalty_weight=penalty_weight, hinge=hinge)
    loss_g = None
    if D.counter % n_critic == 0:
        loss_g = critic_generator_step(G, D, seed_b)
    return loss_d, loss_g


# ============================================================================== InfoGAN
def info_generator_step(torch, G: Network, D: Network, seed, targets, *, codes, lambda_cat=1.0,
                        lambda_con=0.1):
    """InfoGAN's G step: fool D, and let Q read the code back from the image.

    ``loss = BCE(D(x), 1) + lambda_cat * CE(Q's c1 logits, c1) + lambda_con * MSE(Q's c2, c3;
    c2, c3)`` with ``x = G(seed)``; ``codes(seed)`` gives the code inside the latent (a one-hot
    c1, which cross entropy takes as class probabilities, and the continuous values). D's body
    runs once for both heads (``D.module.with_codes``). G's optimiser holds G's and Q's head's
    parameters, so only those step; D's body and head keep gradients that D's next
    ``zero_grad`` clears, as in :func:`generator_step`.
    """
    F = torch.nn.functional
    scores, logits, values = D.module.with_codes(G.module(seed))
    c1, c23 = codes(seed)
    loss = (D.loss_function(scores, targets) + lambda_cat * F.cross_entropy(logits, c1)
            + lambda_con * F.mse_loss(values, c23))
    G.record(loss)
    _descend(G, loss)
    return loss


def infogan_step(torch, D: Network, G: Network, real, seed_a, seed_b, ones, zeros, *, codes,
                 lambda_cat=1.0, lambda_con=0.1):
    """One InfoGAN iteration in the book's order: D on ``real`` (target 1), D on the detached
    ``G(seed_a)`` (target 0), then :func:`info_generator_step` on a new latent ``seed_b``.
    Returns the three losses."""
    loss_real = train_step(D, real, ones)
    loss_fake = train_step(D, G.module(seed_a).detach(), zeros)
    loss_g = info_generator_step(torch, G, D, seed_b, ones, codes=codes, lambda_cat=lambda_cat,
                                 lambda_con=lambda_con)
    return loss_real, loss_fake, loss_g


# ============================================================================== ACGAN
def classifying_step(torch, D: Network, inputs, targets, labels):
    """ACGAN's D step: ``BCE(D(x), targets) + CE(D's class logits, labels)``, one body pass.

    ``labels`` are one-hot rows (cross entropy takes them as class probabilities). D learns
    both to tell real from fake and to name the digit, on real images (their true labels) and
    on fakes (the labels G was asked for), as Odena et al.'s L_S + L_C. Records the loss like
    :func:`train_step`.
    """
    scores, logits = D.module.with_classes(inputs)
    loss = D.loss_function(scores, targets) + torch.nn.functional.cross_entropy(logits, labels)
    D.record(loss)
    _descend(D, loss)
    return loss


def acgan_generator_step(torch, G: Network, D: Network, seed, labels, targets):
    """ACGAN's G step: draw ``G(seed, labels)``, and be rewarded both when D takes it for real
    and when D's class head reads the requested label: ``BCE(D(x), 1) + CE(logits, labels)``.
    Only G's optimiser steps."""
    scores, logits = D.module.with_classes(G.module(seed, labels))
    loss = D.loss_function(scores, targets) + torch.nn.functional.cross_entropy(logits, labels)
    G.record(loss)
    _descend(G, loss)
    return loss


def acgan_step(torch, D: Network, G: Network, real, real_labels, seed_a, labels_a, seed_b, labels_b,
               ones, zeros):
    """One ACGAN iteration in the book's order: :func:`classifying_step` on ``real`` with its
    own labels (target 1), on the detached ``G(seed_a, labels_a)`` with the labels it was drawn
    for (target 0), then :func:`acgan_generator_step` on a new seed and new labels. Returns the
    three losses."""
    loss_real = classifying_step(torch, D, real, ones, real_labels)
    loss_fake = classifying_step(torch, D, G.module(seed_a, labels_a).detach(), zeros, labels_a)
    loss_g = acgan_generator_step(torch, G, D, seed_b, labels_b, ones)
    return loss_real, loss_fake, loss_g
