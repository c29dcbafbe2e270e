"""Train a model (one of the book's, or one beyond it) on real data; write its weights,
pictures and numbers.

Examples::

    minigan train mnist-gan                          # the bundled real MNIST sample, ~minutes
    minigan train classifier-improved --data fashion-mnist
    minigan train pattern1010 --out runs/1010
    minigan train mnist-gan --data mnist_train.csv --epochs 4     # the book's full run
    minigan train celeba-gan --data celeba_aligned_small.h5
    minigan train gan-batched                        # beyond the book: batches of 64, shuffled
    minigan train dcgan --image-size 64              # Radford et al.'s DCGAN at its published size
    minigan train dcgan --data faces.h5              # ... on CelebA-format faces (3 channels)
    minigan train mnist-gan --ema 0.999              # also an EMA of G's weights, judged beside G

Book-faithful by default: one sample at a time, in stored order, PyTorch's defaults.
``--batch-size`` and ``--shuffle`` are departures, printed and recorded in config.json.
The models beyond the book (:mod:`minigan.models`) default to their published batch size,
shuffled; a departure from those is printed the same way.
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from . import device_arg, fail, run_reporting, seed_arg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .. import registry
    parser.add_argument("name", choices=registry.NAMES, metavar="NAME",
                        help="the model: " + ", ".join(registry.NAMES))
    parser.add_argument("--data", default=None,
                        help="real data: a book CSV (mnist_train.csv), an IDX folder, 'fashion-mnist', "
                             "or a CelebA HDF5 file; default: the bundled real MNIST sample")
    parser.add_argument("--epochs", type=int, default=None, help="passes over the data (default: the model's)")
    parser.add_argument("--steps", type=int, default=None, help="stop after N iterations")
    parser.add_argument("--seed", type=seed_arg, default=0, help="seeds minigan's RNG and Python's random")
    parser.add_argument("--out", default=None, help="output folder (default: runs/NAME)")
    parser.add_argument("--device", type=device_arg, default="cpu", help="cpu, cuda, cuda:1 ...")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="samples per step (the book: 1; a model beyond it: its published batch)")
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=None,
                        help="shuffle every epoch (the book: stored order; models beyond it: shuffled)")
    parser.add_argument("--image-size", type=int, default=None, metavar="PIXELS",
                        help="side of the images a model with an image size trains on (dcgan: 32, "
                             "its default here, or 64 as published)")
    parser.add_argument("--discriminator-test", action="store_true",
                        help="the book's D test instead: D alone learns real samples from uniform noise")
    parser.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                        help="write OUT/checkpoint.npz every N iterations (Ctrl-C and SIGTERM always write one)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint.npz (same command otherwise); ends bit-identical "
                             "to a run never stopped")
    parser.add_argument("--detect-anomaly", action="store_true",
                        help="stop at the first NaN/Inf in any op, forward or backward, naming the op and "
                             "where it was made (slower: for debugging)")
    parser.add_argument("--ema", type=float, default=None, metavar="DECAY",
                        help="GANs: also keep an exponential moving average of G's weights (decay "
                             "0.999 is usual), updated after every G step and judged beside G; "
                             "writes model_ema.npz and samples_ema.png (G trains exactly as without)")
    parser.add_argument("--no-gif", action="store_true", help="skip the training GIF")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or messages")


def run(args) -> int:
    from .. import registry
    from ..runs import RunOptions, train
    experiment = registry.get(args.name)
    batch_size, shuffle = registry.defaults(experiment)
    options = RunOptions(data=args.data, epochs=args.epochs, steps=args.steps, seed=args.seed,
                         out=args.out or f"runs/{args.name}", device=args.device,
                         batch_size=batch_size if args.batch_size is None else args.batch_size,
                         shuffle=shuffle if args.shuffle is None else args.shuffle, quiet=args.quiet,
                         gif=not args.no_gif, discriminator_test=args.discriminator_test,
                         checkpoint_every=args.checkpoint_every, resume=args.resume,
                         image_size=args.image_size, ema=args.ema, argv=["minigan", *sys.argv[1:]])
    if options.batch_size < 1:
        return fail("train", f"--batch-size must be at least 1, got {options.batch_size}")
    for flag, value in (("--epochs", options.epochs), ("--steps", options.steps)):
        if value is not None and value < 1:  # 0 would read as "not given" further on
            return fail("train", f"{flag} must be at least 1, got {value}")
    if options.discriminator_test and experiment.kind != "gan":
        return fail("train", f"--discriminator-test trains a GAN's discriminator alone; "
                             f"{experiment.name} is a {experiment.kind}, with no discriminator")
    if options.discriminator_test and getattr(experiment, "book_model", False) and (
            options.batch_size != 1 or options.shuffle):
        return fail("train", f"--discriminator-test: the book's test of {experiment.name}'s D trains "
                             "on one sample at a time, in stored order; --batch-size and --shuffle "
                             "apply to the GANs beyond the book")
    if options.ema is not None and (experiment.kind != "gan" or options.discriminator_test):
        return fail("train", f"--ema averages a GAN generator's weights; {experiment.name} "
                             + ("trains no generator under --discriminator-test" if options.discriminator_test
                                else f"is a {experiment.kind}, with no generator"))
    if options.ema is not None and not 0.0 <= options.ema < 1.0:
        return fail("train", f"--ema must be a decay in [0, 1), such as 0.999; got {options.ema}")
    if options.checkpoint_every is not None and options.checkpoint_every < 1:
        return fail("train", f"--checkpoint-every must be at least 1, got {options.checkpoint_every}")
    if options.image_size is not None:
        # checked here so a bad size ends in one line, before any data is read
        from ..runs import configured
        try:
            configured(experiment, options)
        except ValueError as e:
            return fail("train", str(e))
    from ..anomaly import AnomalyError, detect_anomaly
    from ..resume import RunInterrupted
    anomaly = detect_anomaly() if args.detect_anomaly else contextlib.nullcontext()
    try:
        with anomaly:
            return run_reporting("train", train, experiment, options)
    except RunInterrupted as e:
        print(f"minigan train: {e}", file=sys.stderr)
        return 128 + e.signum
    except AnomalyError as e:      # a numerical failure, not bad input: exit status 1
        print(f"minigan train: {e}", file=sys.stderr)
        return 1
