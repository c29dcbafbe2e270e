"""Draw images from a trained generator: a PNG grid, or an .npz of float32 images.

Examples::

    minigan sample runs/mnist-gan/model.npz --count 64 --out digits.png
    minigan sample runs/mnist-gan/model.npz --count 1000 --seed 3 --out digits.npz
    minigan sample runs/cgan/model.npz --label 3 --count 16 --out threes.png
    minigan sample runs/cgan/model.npz --count 100 --nrow 10 --out all.png   # labels 0..9 cycling
    minigan sample runs/vae/model.npz --count 64 --out vae.png     # z ~ N(0, I) decoded
    minigan sample runs/infogan/model.npz --code 3 --out c3.png    # InfoGAN's code c1 = 3

An ``.npz`` holds ``images``: float32 (N, C, H, W) in [0, 1] - (N, 1, 28, 28) for MNIST - and,
for a conditional GAN, ``labels``: the label each image was drawn for (int64 (N,)); with
``--code``, ``code``: the value of InfoGAN's c1 every image was drawn with.
"""
from __future__ import annotations

import argparse
import os

from . import device_arg, fail, run_reporting, seed_arg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model.npz written by minigan train (a GAN, or the vae)")
    parser.add_argument("--count", type=int, default=64, help="how many images (default 64)")
    parser.add_argument("--seed", type=seed_arg, default=0, help="random seed for G's inputs")
    parser.add_argument("--out", required=True, help="FILE.png (a grid) or FILE.npz (the images)")
    parser.add_argument("--label", type=int, default=None,
                        help="the digit to draw (conditional GANs: cgan, acgan; default: 0..9 in turn)")
    parser.add_argument("--code", type=int, default=None,
                        help="the value 0..9 of the code c1 an InfoGAN learnt (infogan; default: random)")
    parser.add_argument("--nrow", type=int, default=None,
                        help="images per row of the PNG grid (default 8; 10 for a conditional GAN "
                             "without --label, one column per label)")
    parser.add_argument("--device", type=device_arg, default="cpu")


def sample(model, count, seed, out, nrow=None, device="cpu", label=None, code=None):
    import numpy as np

    import minigan
    from .. import viz
    from ..experiment import cycling_labels
    from ..modelfile import ModelFileError, load_model
    experiment, modules, _ = load_model(model, device=device)
    if experiment.kind == "autoencoder":       # a VAE decodes its prior; a plain one has none
        if not experiment.variational:
            raise ModelFileError(f"{model}: holds {experiment.name!r}, a plain autoencoder: its codes "
                                 "follow no prior distribution, so there is nothing to sample "
                                 "(the vae has one; minigan eval scores reconstructions)")
    elif experiment.kind != "gan":
        raise ModelFileError(f"{model}: holds the {experiment.kind} {experiment.name!r}, but this "
                             "command needs a generator (a GAN such as mnist-gan, or the vae)")
    extra, what = {}, ""
    if experiment.conditional:
        if label is not None and not 0 <= label < experiment.num_classes:
            raise ModelFileError(f"{model}: {experiment.name} draws labels 0..{experiment.num_classes - 1}, "
                                 f"not --label {label}")
        labels = cycling_labels(count, experiment.num_classes) if label is None \
            else np.full(count, label, dtype=np.int64)
        extra["labels"] = labels
        what = f" of label {label}" if label is not None else f" of labels 0..{experiment.num_classes - 1} in turn"
        if nrow is None and label is None:
            nrow = experiment.num_classes
    elif label is not None:
        raise ModelFileError(f"{model}: holds {experiment.name!r}, which is not a conditional GAN; "
                             "--label needs one (such as cgan)")
    if code is not None:
        from ..models.infogan import CATEGORIES, InfoGanModel
        if not isinstance(experiment, InfoGanModel):
            raise ModelFileError(f"{model}: holds {experiment.name!r}, which learnt no code; --code "
                                 "needs an InfoGAN (infogan)")
        if not 0 <= code < CATEGORIES:
            raise ModelFileError(f"{model}: {experiment.name}'s code c1 takes the values "
                                 f"0..{CATEGORIES - 1}, not --code {code}")
        extra["code"] = code
        what = f" with code c1 = {code}"
    minigan.manual_seed(seed)
    images = (experiment.sample(modules["autoencoder"], count, device)
              if experiment.kind == "autoencoder" else
              experiment.sample(modules["G"], count, device, **extra))
    if out.endswith(".npz"):
        np.savez_compressed(out, images=images.astype(np.float32), **extra)
    else:
        viz.save_image(minigan.tensor(images), out, nrow=nrow or 8, pad_value=1.0)
    print(f"{count} images{what} from {experiment.name} ({tuple(images.shape[1:])}) -> {out}")


def run(args) -> int:
    if args.count < 1:
        return fail("sample", f"--count must be at least 1, got {args.count}")
    if not args.out.endswith((".png", ".npz", ".jpg")):
        return fail("sample", f"--out {args.out}: give a .png (grid) or .npz (images) file")
    parent = os.path.dirname(args.out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    if args.nrow is not None and args.nrow < 1:
        return fail("sample", f"--nrow must be at least 1, got {args.nrow}")
    return run_reporting("sample", sample, args.model, args.count, args.seed, args.out,
                         args.nrow, args.device, args.label, args.code)
