"""Beyond the book: InfoGAN - G gets a 10-way code nobody explains, and learns to use it for the digit.

Run:  python examples/beyond_infogan.py [--epochs N] [--steps N]

The loop written out on the public API. G reads 62 noise numbers plus a code: one of ten
(one-hot) and two numbers in [-1, 1]. D's body has a second head, Q, that tries to read the
code back from G's image; G's loss adds Q's cross entropy on the ten-way code and its squared
error on the two numbers, so G must draw ten recognisably different things. No label is ever
used in training. At the end Q's ten-way reading classifies the held-out real digits (each
code matched to the digit it agrees with most), and the picture has one row per code value.
`minigan train infogan` runs the same model with checkpoints, every picture and the judge.
"""
import argparse

import numpy as np

import minigan as torch
from minigan import viz
from minigan.data import load_mnist
from minigan.models.infogan import INFOGAN, codes_of, latent
from minigan.models.infogan_codes import code_pictures, matched_accuracy, q_reading
from minigan.training import infogan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = INFOGAN
    torch.manual_seed(0)
    data, test = load_mnist(), load_mnist(split="test")
    nets = gan.build()                 # D's optimiser: D's body and head; G's: G and Q's head
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(data), gan.batch_size):
            _, real, _ = data.batch(order[start:start + gan.batch_size])   # pixels in [0, 1]
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            infogan_step(torch, nets.D, nets.G, real, latent(torch, n), latent(torch, n), ones, zeros,
                         codes=codes_of, lambda_cat=gan.lambda_cat, lambda_con=gan.lambda_con)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "infogan_losses.png")
    code_pictures(gan, nets.G.module, ".")     # codes.png: row k drawn with code k, a z per column;
    #                                            code_c2.png, code_c3.png: the two numbers from -2 to 2
    _, images, _ = test.batch(np.arange(len(test)))          # every held-out digit, in [0, 1]
    read = matched_accuracy(q_reading(nets.D.module, images), test.labels)
    print(f"infogan: {steps} steps; Q's code classifies {read['accuracy']:.1%} of the "
          f"{len(test.labels)} held-out digits right (codes matched to digits: {read['code_to_label']})")


if __name__ == "__main__":
    main()
