"""The book's seed experiments (section 2.3, notebook 09) on a trained MNIST generator.

Two random seeds give two digits; this draws what lies between and around them::

    minigan seeds runs/mnist-gan/model.npz --out runs/seeds

``seeds.png`` (the two digits), ``interpolation.png`` (the 3 x 4 grid from seed1 to seed2,
both ends exact), ``arithmetic.png`` (sum, difference, product of the seeds), and
``seeds.npz`` with the two seeds, so a pair you like can be kept.
"""
from __future__ import annotations

import argparse
import os

from . import device_arg, run_reporting, seed_arg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a model.npz of a GAN with a randn seed (mnist-gan)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=seed_arg, default=0, help="random seed for the two seeds")
    parser.add_argument("--device", type=device_arg, default="cpu")


def seeds(model, out, seed=0, device="cpu"):
    import numpy as np

    import minigan
    from .. import viz
    from ..book.seed_experiments import GRID_COLS, GRID_ROWS, seed_pictures
    from ..modelfile import load_model
    experiment, modules, _ = load_model(model, kind="gan", device=device)
    os.makedirs(out, exist_ok=True)
    minigan.manual_seed(seed)
    pair = np.asarray(experiment.seed(minigan, 2).numpy(), dtype=np.float32)
    pictures = seed_pictures(experiment, modules["G"], pair[0], pair[1])
    viz.plot_images(pictures["seeds"], os.path.join(out, "seeds.png"), rows=1, cols=2,
                    titles=["seed1", "seed2"])
    k = GRID_ROWS * GRID_COLS - 1
    viz.plot_images(pictures["interpolation"], os.path.join(out, "interpolation.png"),
                    rows=GRID_ROWS, cols=GRID_COLS,
                    titles=[f"seed1 + (seed2 - seed1) * {i}/{k}" for i in range(k + 1)])
    viz.plot_images(pictures["arithmetic"], os.path.join(out, "arithmetic.png"), rows=1, cols=3,
                    titles=["seed1 + seed2", "seed1 - seed2", "seed1 * seed2"])
    np.savez(os.path.join(out, "seeds.npz"), seed1=pair[0], seed2=pair[1])
    print(f"seed experiments of {experiment.name} -> {out}/: seeds.png, interpolation.png, "
          "arithmetic.png, seeds.npz")


def run(args) -> int:
    return run_reporting("seeds", seeds, args.model, args.out, args.seed, args.device)
