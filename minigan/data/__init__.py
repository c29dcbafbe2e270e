"""Real data for the book's models: MNIST (CSV, IDX, a bundled sample) and CelebA (HDF5).

``from minigan.data import load_mnist, CelebADataset`` (this package is not imported by
``import minigan``; pandas, h5py, Pillow and matplotlib load only inside the functions that
use them).

- :mod:`.mnist`: the book's ``MnistDataset`` and the CSV / IDX readers (BOOK_SPEC sections 2, 3)
- :mod:`.bundled`: 5,000 real MNIST digits shipped with minigan, for offline runs and tests
- :mod:`.sources`: ``load_mnist(data, split)``, the rules for a ``--data`` value
- :mod:`.celeba`: ``pack_celeba`` (the book's HDF5 layout) and ``CelebADataset`` (sections 4.10-4.14)
- :mod:`.errors`: ``DataError``, raised for every bad file with the file and problem named
"""
from __future__ import annotations

from .bundled import bundled_mnist
from .celeba import CelebADataset, crop_centre, pack_celeba
from .errors import DataError
from .mnist import DIGIT_CLASSES, FASHION_CLASSES, MnistDataset, read_idx, read_mnist_csv
from .sources import FASHION_MNIST_DIR, find_fashion_mnist, load_mnist

__all__ = ["DataError", "MnistDataset", "load_mnist", "read_mnist_csv", "read_idx", "bundled_mnist",
           "CelebADataset", "pack_celeba", "crop_centre", "find_fashion_mnist", "FASHION_MNIST_DIR",
           "DIGIT_CLASSES", "FASHION_CLASSES"]
