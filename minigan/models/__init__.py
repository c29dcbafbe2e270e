"""Beyond the book: the GANs, autoencoders and classifiers people learn next, on the same
engine, loop, pictures and judge.

====================  =================================  =============================================
name (minigan train)  module                             recipe
====================  =================================  =============================================
gan-batched           gan_batched.GAN_BATCHED            the classic batched MNIST GAN (BatchNorm G)
gan-mlp               gan_mlp.GAN_MLP                    MLP GAN, BCE on logits, U(-1, 1) noise
lsgan                 lsgan.LSGAN                        the same networks, least-squares losses
dcgan-mnist           dcgan_mnist.DCGAN_MNIST            conv D with max-pooling, conv-transpose G
dcgan                 dcgan.DCGAN                        Radford et al.'s DCGAN, 32 or 64 pixels
wgan                  wgan.WGAN                          Wasserstein critic, weight clipping, RMSprop
wgan-gp               wgan_gp.WGAN_GP                    gradient penalty by double backward
sngan                 sngan.SNGAN                        spectrally normalised D, hinge loss
sagan                 sagan.SAGAN                        self-attention and spectral norm in D and G
infogan               infogan.INFOGAN                    a digit code learnt without labels (D + Q)
acgan                 acgan.ACGAN                        conditional: D also names the digit (2 heads)
autoencoder           autoencoder.AUTOENCODER            784-...-3 code and back, Tanh, summed MSE
conv-autoencoder      conv_autoencoder.CONV_AUTOENCODER  strided convs, max-pooling, conv-transposes
vae                   vae.VAE                            Kingma & Welling: BCE + KL, reparameterised
logistic-regression   classifiers.LOGISTIC_REGRESSION    Linear 784-10, CrossEntropy, SGD 0.01
mlp-classifier        classifiers.MLP_CLASSIFIER         784-500 ReLU -10, CrossEntropy, Adam 1e-3
small-cnn             classifiers.SMALL_CNN              2 x (conv, BatchNorm, ReLU, max-pool), Linear
====================  =================================  =============================================

Three kinds, each the same kind of description as the book's experiments: networks, loss and
optimiser as *functions of the framework* (``generator(torch=minigan)``), so one definition
builds the PyTorch twin of the parity tests and of ``minigan bench train``.

* GANs are :class:`minigan.experiment.GanModel`: the book's loop (:meth:`GanExperiment.fit`),
  steps (:mod:`minigan.training`) and judge; what is theirs alone is their networks, their
  losses, WGAN's critic iterations, and their tutorials' defaults: batches, shuffled epochs,
  pixels in [-1, 1] for a Tanh generator.
* The autoencoders and the VAE are :class:`~minigan.models.autoencoding.AutoencoderModel`:
  one :func:`~minigan.training.train_step` per batch with the image as its own target.
* The starter classifiers are :class:`minigan.experiment.ClassifierModel`: the book's
  classifier loop with batches, shuffling and CrossEntropy.
"""
from __future__ import annotations

import importlib

#: command-line name -> (module, attribute)
_REGISTRY = {
    "gan-batched": ("gan_batched", "GAN_BATCHED"),
    "gan-mlp": ("gan_mlp", "GAN_MLP"),
    "lsgan": ("lsgan", "LSGAN"),
    "dcgan-mnist": ("dcgan_mnist", "DCGAN_MNIST"),
    "dcgan": ("dcgan", "DCGAN"),
    "wgan": ("wgan", "WGAN"),
    "wgan-gp": ("wgan_gp", "WGAN_GP"),
    "sngan": ("sngan", "SNGAN"),
    "sagan": ("sagan", "SAGAN"),
    "infogan": ("infogan", "INFOGAN"),
    "acgan": ("acgan", "ACGAN"),
    "autoencoder": ("autoencoder", "AUTOENCODER"),
    "conv-autoencoder": ("conv_autoencoder", "CONV_AUTOENCODER"),
    "vae": ("vae", "VAE"),
    "logistic-regression": ("classifiers", "LOGISTIC_REGRESSION"),
    "mlp-classifier": ("classifiers", "MLP_CLASSIFIER"),
    "small-cnn": ("classifiers", "SMALL_CNN"),
}

NAMES = tuple(_REGISTRY)


def get(name: str):
    """The model called ``name`` (see :data:`NAMES`)."""
    try:
        module, attribute = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no model called {name!r}; the models beyond the book are: "
                       f"{', '.join(NAMES)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)


def all_models():
    return [get(name) for name in NAMES]
