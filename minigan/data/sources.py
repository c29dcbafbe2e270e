"""``load_mnist``: turn a ``--data`` value into an MnistDataset, by these rules.

==============================  ===========================================================
``data``                        what is read
==============================  ===========================================================
``None`` or ``"bundled"``       the bundled real sample (4,000 train / 1,000 test digits)
a ``.csv`` / ``.csv.gz`` file   the book's CSV (BOOK_SPEC section 3); see the test rule below
a folder                        its IDX pair for the split (``train-images-idx3-ubyte[.gz]`` +
                                ``train-labels-idx1-ubyte[.gz]``, or ``t10k-...`` for test);
                                failing that, the book's ``mnist_train.csv`` / ``mnist_test.csv``
``"fashion-mnist"``/``"fashion"``  the Debian package's folder, :data:`FASHION_MNIST_DIR`
==============================  ===========================================================

A path that exists wins over a keyword of the same spelling. The CSV test rule: with
``split="test"`` a file whose name says ``test`` is used as given; a file whose name says
``train`` (``mnist_train.csv``) stands for the book's pair, and its partner with ``train``
replaced by ``test`` (``mnist_test.csv``) is read from the same folder. The book keeps the two
files in different folders (section 3); pass the test file itself then. ``split="train"``
always reads the file given. Fashion-MNIST (a folder or file whose name says "fashion") gets
its 10 class names in ``.classes``.
"""
from __future__ import annotations

import os

from .bundled import bundled_mnist
from .errors import DataError
from .mnist import FASHION_CLASSES, MnistDataset, read_idx, read_mnist_csv

__all__ = ["load_mnist", "find_fashion_mnist", "FASHION_MNIST_DIR"]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"  # Debian: dataset-fashion-mnist
SPLITS = ("train", "test")
_IDX_PREFIX = {"train": "train", "test": "t10k"}
_CSV_NAMES = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
_ACCEPTED = ("--data takes a book CSV file (mnist_train.csv), a folder of IDX files, "
             "'fashion-mnist', or 'bundled' (the default)")


def find_fashion_mnist():
    """The Debian package's Fashion-MNIST folder if all four IDX files are there, else None."""
    if all(_idx_file(FASHION_MNIST_DIR, split, kind) for split in SPLITS
           for kind in ("images", "labels")):
        return FASHION_MNIST_DIR
    return None


def load_mnist(data=None, split: str = "train") -> MnistDataset:
    """The MNIST-format dataset that ``data`` names (rules in the module docstring)."""
    if split not in SPLITS:
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    if data is None:
        return bundled_mnist(split)
    path = os.fspath(data)
    if not os.path.exists(path):
        keyword = path.lower()
        if keyword == "bundled":
            return bundled_mnist(split)
        if keyword in ("fashion-mnist", "fashion"):
            folder = find_fashion_mnist()
            if folder is None:
                raise DataError(f"Fashion-MNIST was asked for, but its IDX files are not in "
                                f"{FASHION_MNIST_DIR}: install them with 'sudo apt-get install "
                                "dataset-fashion-mnist', or pass the folder that holds them")
            return _from_folder(folder, split)
        raise DataError(f"{path}: no such file or folder; {_ACCEPTED}")
    if os.path.isdir(path):
        return _from_folder(path, split)
    if path.lower().endswith((".csv", ".csv.gz")):
        return _from_csv(path, split)
    raise DataError(f"{path}: not a .csv file or a folder; {_ACCEPTED} "
                    "(for IDX files pass the folder that holds them)")


def _is_fashion(*names) -> bool:
    return any("fashion" in os.path.basename(os.path.abspath(n)).lower() for n in names)


def _from_csv(path: str, split: str) -> MnistDataset:
    if split == "test":
        path = _test_csv_for(path)
    images, labels = read_mnist_csv(path)
    classes = FASHION_CLASSES if _is_fashion(path, os.path.dirname(os.path.abspath(path))) else None
    return MnistDataset(images, labels, source=path, classes=classes)


def _test_csv_for(path: str) -> str:
    """The test CSV that goes with ``path`` (the rule in the module docstring)."""
    folder, name = os.path.split(path)
    lower = name.lower()
    if "test" in lower:
        return path
    at = lower.rfind("train")
    if at < 0:
        raise DataError(f"{path}: cannot tell which file holds the test split (the name says "
                        "neither 'train' nor 'test'); pass the test CSV itself")
    word = name[at:at + 5]
    test = "TEST" if word.isupper() else "Test" if word[0].isupper() else "test"
    partner = os.path.join(folder, name[:at] + test + name[at + 5:])
    if not os.path.isfile(partner):
        raise DataError(f"{path}: for the test split expected {partner} beside it (the partner "
                        "of a train CSV); pass the test CSV's own path if it lives elsewhere")
    return partner


def _idx_file(folder: str, split: str, kind: str):
    """The path of one IDX file of the pair, or None. ``kind`` is "images" or "labels"."""
    dims = "idx3" if kind == "images" else "idx1"
    for sep in ("-", "."):  # the original archives unpack as train-images-idx3-ubyte or .idx3
        for ext in (".gz", ""):
            candidate = os.path.join(folder, f"{_IDX_PREFIX[split]}-{kind}{sep}{dims}-ubyte{ext}")
            if os.path.isfile(candidate):
                return candidate
    return None


def _from_folder(folder: str, split: str) -> MnistDataset:
    images_path, labels_path = _idx_file(folder, split, "images"), _idx_file(folder, split, "labels")
    if images_path is None and labels_path is None:
        csv = os.path.join(folder, _CSV_NAMES[split])
        if os.path.isfile(csv):
            return _from_csv(csv, "train")  # already the split's own file
        prefix = _IDX_PREFIX[split]
        raise DataError(f"{folder}: no MNIST files for the {split} split; expected the IDX pair "
                        f"{prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz], "
                        f"or the book's {_CSV_NAMES[split]}")
    if images_path is None or labels_path is None:
        have, kind = (labels_path, "images") if images_path is None else (images_path, "labels")
        dims = "idx3" if kind == "images" else "idx1"
        raise DataError(f"{folder}: found {os.path.basename(have)} but not its partner "
                        f"{_IDX_PREFIX[split]}-{kind}-{dims}-ubyte[.gz]")
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != "uint8" or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: expected uint8 images of shape (N, 28, 28), "
                        f"found {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: expected labels of shape (N,), found {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels; they must pair one to one")
    classes = FASHION_CLASSES if _is_fashion(folder) else None
    return MnistDataset(images, labels, source=f"{images_path} + {os.path.basename(labels_path)}",
                        classes=classes)
