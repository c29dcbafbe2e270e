"""Pack CelebA's aligned photographs into the HDF5 file the CelebA GANs read (book notebook 10).

Example::

    minigan data pack-celeba celeba/img_align_celeba.zip celeba_aligned_small.h5 --limit 20000

SRC is CelebA's img_align_celeba.zip (202,599 aligned 218x178 JPEGs) or a folder of JPEG/PNG
images. The output holds group img_align_celeba with datasets 0.jpg, 1.jpg ... (uint8
218x178x3, gzip level 9): the book's layout. The book packs the first 20,000 images.
Photographs of other sizes are resized to cover 218x178 and centre-cropped.

Get CelebA with torchvision (torchvision.datasets.CelebA(root='.', download=True) leaves
celeba/img_align_celeba.zip) or download img_align_celeba.zip from the official CelebA site
(mmlab.ie.cuhk.edu.hk/projects/CelebA.html).
"""
from __future__ import annotations

import argparse

from . import fail


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of images, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", help="img_align_celeba.zip, or a folder of JPEG/PNG images")
    parser.add_argument("out", help="the HDF5 file to write (e.g. celeba_aligned_small.h5)")
    parser.add_argument("--limit", type=_positive, default=None, metavar="N",
                        help="pack only the first N images (the book: 20000; default: all)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run(args) -> int:
    from ..data import DataError, pack_celeba

    try:
        count = pack_celeba(args.src, args.out, limit=args.limit, progress=not args.quiet)
    except DataError as e:
        return fail("data pack-celeba", str(e))
    if not args.quiet:
        print(f"packed {count} images from {args.src} into {args.out}")
    return 0
