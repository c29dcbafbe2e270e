"""The book's models, one module per section of *Make Your First GAN With PyTorch*.

=====================  ==========================  ==========================================
name (minigan train)   module                      book section (BOOK_SPEC)
=====================  ==========================  ==========================================
classifier             classifier.PLAIN            1.2 the MNIST classifier (4.03)
classifier-improved    classifier.IMPROVED         1.3 the refinements (4.04)
pattern1010            pattern1010.PATTERN_GAN     2.2 the 1010 pattern GAN (4.06)
mnist-gan-v1           mnist_gan.MNIST_GAN_V1      2.3 the first MNIST GAN (4.07)
mnist-gan              mnist_gan.MNIST_GAN         2.3 the improved MNIST GAN (4.08)
(seed experiments)     seed_experiments            2.3 seeds: interpolation, sum ... (4.09)
celeba-gan             celeba_gan.CELEBA_GAN       2.4 the fully connected CelebA GAN (4.12)
cnn-classifier         cnn_classifier.CNN          3.1 the MNIST CNN classifier (4.13)
conv-celeba-gan        conv_celeba_gan.            3.1 the convolutional CelebA GAN (4.14)
                       CONV_CELEBA_GAN
conv-celeba-gan-gelu   ...CONV_CELEBA_GAN_GELU     3.1 the same with GELU (4.15)
cgan                   cgan.CGAN                   3.2 the conditional MNIST GAN (4.16)
(appendix B)           appendix_b                  B   images sampled from pixel probabilities
(appendix D)           appendix_d                  D   simultaneous gradient descent spirals out
=====================  ==========================  ==========================================

Every network is a function of the framework (``discriminator(torch=minigan)``), so the same
definition builds the PyTorch twin that the parity tests train side by side. The training
steps are in :mod:`minigan.training`, the loops in :mod:`minigan.experiment`.
"""
from __future__ import annotations

import importlib

#: command-line name -> (module, attribute)
_REGISTRY = {
    "classifier": ("classifier", "PLAIN"),
    "classifier-improved": ("classifier", "IMPROVED"),
    "pattern1010": ("pattern1010", "PATTERN_GAN"),
    "mnist-gan-v1": ("mnist_gan", "MNIST_GAN_V1"),
    "mnist-gan": ("mnist_gan", "MNIST_GAN"),
    "celeba-gan": ("celeba_gan", "CELEBA_GAN"),
    "cnn-classifier": ("cnn_classifier", "CNN"),
    "conv-celeba-gan": ("conv_celeba_gan", "CONV_CELEBA_GAN"),
    "conv-celeba-gan-gelu": ("conv_celeba_gan", "CONV_CELEBA_GAN_GELU"),
    "cgan": ("cgan", "CGAN"),
}

NAMES = tuple(_REGISTRY)


def get(name: str):
    """The experiment called ``name`` (see :data:`NAMES`)."""
    try:
        module, attribute = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no experiment called {name!r}; the book's are: {', '.join(NAMES)}") from None
    return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)


def all_experiments():
    return [get(name) for name in NAMES]
