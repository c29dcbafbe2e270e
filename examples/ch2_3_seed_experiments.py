"""Book section 2.3 (notebook 09): what a trained generator does between and around seeds.

Run:  python examples/ch2_3_seed_experiments.py MODEL.npz
      (MODEL.npz from `minigan train mnist-gan`)

Two seeds, the 12-step line between them (a 3 x 4 grid), their sum, difference and product.
"""
import argparse

import minigan as torch
from minigan import viz
from minigan.book.seed_experiments import seed_pictures
from minigan.modelfile import load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gan, modules, _ = load_model(args.model, kind="gan")
    torch.manual_seed(args.seed)
    seed1, seed2 = gan.seed(torch).numpy(), gan.seed(torch).numpy()
    pictures = seed_pictures(gan, modules["G"], seed1, seed2)
    viz.plot_images(pictures["interpolation"], "seed_interpolation.png", rows=3, cols=4)
    viz.plot_images(pictures["arithmetic"], "seed_arithmetic.png", rows=1, cols=3,
                    titles=pictures["arithmetic_names"])
    print("wrote seed_interpolation.png and seed_arithmetic.png")


if __name__ == "__main__":
    main()
