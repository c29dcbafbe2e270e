"""Draw images from a trained generator: a PNG grid, or an .npz of float32 images.

Examples::

    minigan sample runs/mnist-gan/model.npz --count 64 --out digits.png
    minigan sample runs/mnist-gan/model.npz --count 1000 --seed 3 --out digits.npz

An ``.npz`` holds ``images``: float32 (N, C, H, W) in [0, 1] - (N, 1, 28, 28) for MNIST.
"""
from __future__ import annotations

import argparse
import os

from . import fail, run_reporting


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model.npz written by minigan train (a GAN)")
    parser.add_argument("--count", type=int, default=64, help="how many images (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for G's inputs")
    parser.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npz (the images)")
    parser.add_argument("--nrow", type=int, default=8, help="images per row of the PNG grid")
    parser.add_argument("--device", default="cpu")


def sample(model, count, seed, out, nrow=8, device="cpu"):
    import numpy as np

    import minigan
    from .. import viz
    from ..modelfile import load_model
    experiment, modules, _ = load_model(model, kind="gan", device=device)
    minigan.manual_seed(seed)
    images = experiment.sample(modules["G"], count, device)
    if out.endswith(".npz"):
        np.savez_compressed(out, images=images.astype(np.float32))
    else:
        viz.save_image(minigan.tensor(images), out, nrow=nrow, pad_value=1.0)
    print(f"{count} images from {experiment.name} ({tuple(images.shape[1:])}) -> {out}")


def run(args) -> int:
    if args.count < 1:
        return fail("sample", f"--count must be at least 1, got {args.count}")
    if not args.out.endswith((".png", ".npz", ".jpg")):
        return fail("sample", f"--out {args.out}: give a .png (grid) or .npz (images) file")
    parent = os.path.dirname(args.out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return run_reporting("sample", sample, args.model, args.count, args.seed, args.out,
                         args.nrow, args.device)
