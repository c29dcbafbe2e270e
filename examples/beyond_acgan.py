"""Beyond the book: ACGAN - a conditional GAN whose discriminator also has to name the digit.

Run:  python examples/beyond_acgan.py [--epochs N] [--steps N]

The loop written out on the public API. G draws a digit for a requested label (its embedding
multiplies the noise); D reads the image alone and answers twice: real or fake, and which of
the ten digits. D learns both on real digits (their true labels) and on fakes (the labels G was
asked for); G is rewarded when D takes its image for real *and* reads the requested label. At
the end D's class head classifies the held-out digits - a classifier trained as a side effect -
and the picture has one row per requested label. `minigan train acgan` runs the same model
with checkpoints, every picture and the judge.
"""
import argparse
import random

import numpy as np

import minigan as torch
from minigan import viz
from minigan.data import load_mnist
from minigan.models.acgan import ACGAN, class_reading
from minigan.training import acgan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = ACGAN
    torch.manual_seed(0)
    random.seed(0)                     # the random labels (Python's random, as the book's CGAN)
    data, test = load_mnist(), load_mnist(split="test")
    nets = gan.build()
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(data), gan.batch_size):
            _, real, labels = data.batch(order[start:start + gan.batch_size])  # labels one-hot
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            acgan_step(torch, nets.D, nets.G, real * 2 - 1, labels,          # pixels into [-1, 1]
                       gan.seed(torch, n), gan.random_one_hot(torch, n),
                       gan.seed(torch, n), gan.random_one_hot(torch, n), ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "acgan_losses.png")
    labels = np.repeat(np.arange(10), 10)                    # row k: ten digits asked to be k
    images = gan.generate(nets.G.module, gan.seed(torch, len(labels)), labels)
    viz.save_image(torch.tensor(images), "acgan_digits.png", nrow=10, pad_value=1.0)
    _, held_out, _ = test.batch(np.arange(len(test)))
    read = class_reading(nets.D.module, held_out * 2 - 1)
    print(f"acgan: {steps} steps; D's class head reads {np.mean(read == test.labels):.1%} of the "
          f"{len(test.labels)} held-out digits right")


if __name__ == "__main__":
    main()
