"""Models that reconstruct their input: the autoencoders and the variational autoencoder.

An :class:`AutoencoderModel` is the third kind of experiment (``kind = "autoencoder"``),
beside the classifiers and the GANs of :mod:`minigan.experiment`. Like them it is a
description whose parts are *functions of the framework*: ``network(torch)`` builds the
module on ``minigan`` or on ``torch``, ``loss(torch)`` its loss, ``optimiser(torch, params)``
its optimiser, so the one definition serves ``minigan train``, the examples, and the PyTorch
twin of the tests and of ``scripts/vae_side_by_side.py``.

The module's interface, shared by the plain autoencoders and the VAE:

* ``module(x)`` - the outputs the loss reads: the reconstruction, or for the VAE
  ``(reconstruction, mu, logvar)``; the VAE also takes ``module(x, eps)``, its
  reparameterisation noise passed in (so two frameworks can be fed the same draws);
* ``module.encode(x)`` - the code (the VAE: ``(mu, logvar)``, as PyTorch's example);
* ``module.decode(z)`` - an image batch from codes.

One training step is the book's :func:`minigan.training.train_step` - forward, loss, counter,
``zero_grad``, ``backward``, ``step`` - with the input as its own target: ``train_step(net, x,
x)``, or ``train_step(net, x, x, eps)`` for the VAE, whose noise rides in the step's
``condition`` slot (``module(x, eps)``). The loop is :meth:`AutoencoderModel.fit` over
:func:`minigan.experiment.batches`, the same batches, shuffles and resume points as the GANs'.

Held-out loss is reported as PyTorch's VAE example prints its ``Test set loss``: the summed
loss over the test split divided by the number of items (a mean-reduced loss is first
multiplied back by its batch's size), so the figure is a loss *per image* whatever the batch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import minigan

from ..experiment import batches
from ..training import Network, train_step

__all__ = ["AutoencoderModel", "encoder_decoder", "HELD_OUT_SEED"]

#: The VAE's reparameterisation noise on the test split comes from its own generator with this
#: seed: the held-out loss is the same number every time it is computed (for a given model),
#: on any framework, and scoring never moves the training's random stream (resume stays exact).
HELD_OUT_SEED = 1234


def encoder_decoder(torch, encoder, decoder):
    """A module ``decoder(encoder(x))`` with ``encode`` / ``decode`` (the plain autoencoders).

    Built on ``torch``'s own ``nn.Module`` so it is the same module on minigan and PyTorch
    (``state_dict`` keys ``encoder.0.weight`` ...; PyTorch's tutorials name them the same).
    """
    class Autoencoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder

        def encode(self, x):
            return self.encoder(x)

        def decode(self, z):
            return self.decoder(z)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    return Autoencoder()


@dataclass(frozen=True)
class AutoencoderModel:
    """An autoencoder or VAE beyond the book: network, loss, optimiser, data, defaults.

    ``input_shape`` is one image as the network reads it (``(784,)``, or ``(1, 28, 28)`` for
    a convolutional one); pixels are scaled from the data's [0, 1] into ``image_range``
    ([-1, 1] for a decoder ending in Tanh, [0, 1] for the VAE's Sigmoid and BCE).
    ``loss_reduction`` says what one batch's loss is: ``"sum"`` over items (and pixels), or
    ``"mean"`` over items and pixels (``nn.MSELoss()``'s default); the per-image figures of
    metrics.json undo it. ``noise_size`` is the VAE's latent size (it draws ``eps`` of that
    size per image); ``None`` for a plain autoencoder. ``code_size`` is the code's length
    (the autoencoder's 3 draws a 3-D scatter). ``reference`` names the recipe followed.
    """
    name: str
    section: str
    title: str
    reference: str
    network: Callable
    loss: Callable
    optimiser: Callable
    default_epochs: int
    parameters: int
    code_size: int
    image_range: tuple = (-1.0, 1.0)
    input_shape: tuple = (784,)
    loss_reduction: str = "sum"
    noise_size: int | None = None
    batch_size: int = 128
    shuffle: bool = True
    data: str = "mnist"
    image_shape: tuple = (1, 28, 28)
    book_epochs: int | None = None
    book_result: str = "not a book model"
    notes: tuple = field(default=())
    kind: str = "autoencoder"
    book_model = False          # (class attributes, not fields)
    conditional = False

    # ------------------------------------------------------------------ parts
    @property
    def variational(self) -> bool:
        """A VAE: a prior to sample from, and reparameterisation noise in every step."""
        return self.noise_size is not None

    def build(self, torch=minigan, device=None, dtype=None) -> Network:
        module = self.network(torch)
        if dtype is not None:
            module = module.to(dtype)
        if device is not None:
            module = module.to(device)
        return Network(module, self.optimiser(torch, module.parameters()), self.loss(torch),
                       name=self.name)

    def inputs(self, images):
        """A (B, 784) batch of [0, 1] pixels as the network reads it: scaled, viewed."""
        low, high = self.image_range
        if (low, high) != (0.0, 1.0):
            images = images * (high - low) + low
        return images.reshape(images.shape[0], *self.input_shape)

    def to_images(self, out) -> np.ndarray:
        """Network outputs (numpy, any shape with N first) as (N, 1, 28, 28) in [0, 1]."""
        low, high = self.image_range
        out = np.asarray(out, dtype=np.float32).reshape(len(out), *self.image_shape)
        return np.clip((out - low) / (high - low), 0.0, 1.0).astype(np.float32)

    def noise(self, torch, n: int, device=None, dtype=None):
        """The VAE's ``eps`` ~ N(0, I) for ``n`` images, from ``torch``'s generator; None for
        a plain autoencoder."""
        if not self.variational:
            return None
        eps = torch.randn(n, self.noise_size, device=device)
        return eps if dtype is None else eps.to(dtype)

    # ------------------------------------------------------------------ training
    def step(self, net: Network, x, eps=None):
        """One step: :func:`~minigan.training.train_step` with ``x`` as its own target (the
        VAE's ``eps`` goes in as the step's condition: ``module(x, eps)``)."""
        return train_step(net, x, x, eps)

    def fit(self, net: Network, dataset, *, epochs: int = 1, steps: int | None = None,
            batch_size: int = 128, shuffle: bool = True, rng=None, device=None, dtype=None,
            on_step=None, start: int = 0, noise=None) -> int:
        """Train ``net`` on ``dataset`` (an MnistDataset); returns the iterations run.

        Each iteration is :meth:`step` on one batch of :func:`~minigan.experiment.batches`.
        ``noise(n)`` gives the VAE's ``eps`` for a batch of ``n`` (default: :meth:`noise` from
        minigan's generator, which ``minigan train --seed`` seeds). ``on_step(iteration,
        epoch, loss, items)`` is called after each iteration with the batch's loss tensor and
        its number of images.
        """
        it = start
        for epoch, _, index in batches(len(dataset), epochs=epochs, batch_size=batch_size,
                                       shuffle=shuffle, rng=rng, start=start):
            if steps is not None and it >= steps:
                break
            index = np.atleast_1d(index)          # batch size 1 yields a bare int
            images = dataset.batch(index)[1]
            if dtype is not None:
                images = images.to(dtype)
            if device is not None:
                images = images.to(device)
            eps = None
            if self.variational:
                eps = noise(len(index)) if noise is not None else \
                    self.noise(minigan, len(index), device, dtype)
            loss = self.step(net, self.inputs(images), eps)
            it += 1
            if on_step is not None:
                on_step(it, epoch, loss, len(index))
        return it

    def per_item(self, loss_value: float, items: int) -> float:
        """A batch's loss as the sum of its images' losses (undoing a mean over items)."""
        return loss_value * items if self.loss_reduction == "mean" else loss_value

    # ------------------------------------------------------------------ scoring and pictures
    def held_out_loss(self, module, dataset, *, torch=minigan, batch_size: int = 1000,
                      device=None, dtype=None, seed: int = HELD_OUT_SEED) -> float:
        """The loss per image over all of ``dataset`` (the test split), without gradients.

        As PyTorch's VAE example: each batch's loss summed, divided by the number of images.
        The VAE's ``eps`` (sampled in testing too, as in the example) comes from
        ``numpy.random.default_rng(seed)``, so minigan and PyTorch score with the same draws.
        ``torch`` is the framework ``module`` belongs to.
        """
        loss_function = self.loss(torch)
        rng = np.random.default_rng(seed)
        total = 0.0
        with torch.no_grad():
            for first in range(0, len(dataset), batch_size):
                index = np.arange(first, min(first + batch_size, len(dataset)))
                x = _host_to(torch, dataset.batch(index)[1].numpy(), device, dtype)
                x = self.inputs(x)
                if self.variational:
                    eps = rng.standard_normal((len(index), self.noise_size)).astype(np.float32)
                    outputs = module(x, _host_to(torch, eps, device, dtype))
                else:
                    outputs = module(x)
                total += self.per_item(float(loss_function(outputs, x).item()), len(index))
        return total / len(dataset)

    def code(self, module, images):
        """The codes of a (B, 784) batch of [0, 1] pixels (the VAE: the means ``mu``), numpy."""
        with minigan.no_grad():
            out = module.encode(self.inputs(images))
        if isinstance(out, tuple):
            out = out[0]
        return np.asarray(out.cpu().numpy()).reshape(len(out), -1)

    def reconstruct(self, module, images) -> np.ndarray:
        """Reconstructions of a (B, 784) batch of [0, 1] pixels, as (B, 1, 28, 28) in [0, 1].

        The VAE decodes its mean code ``mu`` (no noise): the picture of what it learnt,
        the same every time.
        """
        with minigan.no_grad():
            x = self.inputs(images)
            if self.variational:
                out = module.decode(module.encode(x)[0])
            else:
                out = module(x)
        return self.to_images(out.cpu().numpy())

    def sample(self, module, count: int, device=None) -> np.ndarray:
        """``count`` images decoded from the prior, z ~ N(0, I) (minigan's generator).

        Only a VAE has a prior; a plain autoencoder's code space has no distribution to
        draw from, and asking for one raises ValueError.
        """
        if not self.variational:
            raise ValueError(f"{self.name} is a plain autoencoder: its codes follow no prior "
                             "distribution, so there is nothing to sample (the vae has one)")
        with minigan.no_grad():
            z = minigan.randn(count, self.noise_size, device=device)
            out = module.decode(z)
        return self.to_images(out.cpu().numpy())


def _host_to(torch, array, device=None, dtype=None):
    """A host array as a tensor of ``torch`` (minigan or PyTorch), on ``device`` in ``dtype``."""
    t = torch.from_numpy(np.ascontiguousarray(array))
    if dtype is not None:
        t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    return t
