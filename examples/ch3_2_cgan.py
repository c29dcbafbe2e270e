"""Book section 3.2 (notebook 16): a conditional GAN draws the digit it is asked for.

Run:  python examples/ch3_2_cgan.py [--data mnist_train.csv] [--epochs N] [--steps N]

The book's loop written out: for every real digit, D learns it *with its own label* is real,
D learns G's drawing of a random label is fake, and G learns, with a new random label, to
fool D. The label is a one-hot vector of 10 concatenated to D's image and to G's seed. At the
end G draws six of each of the book's labels 9, 3, 1 and 5, and a classifier of real digits
judges 100 drawings per label: how many are the digit asked for.
"""
import argparse
import random

import numpy as np

import minigan as torch
from minigan import viz
from minigan.book.cgan import CGAN, format_label_table, label_accuracy
from minigan.data import load_mnist
from minigan.training import conditional_gan_step


def generate_random_one_hot(size):
    """The book's helper: a one-hot vector with its 1.0 at a random index (Python's random)."""
    label_tensor = torch.zeros(size)
    label_tensor[random.randint(0, size - 1)] = 1.0
    return label_tensor


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=CGAN.default_epochs)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    random.seed(0)

    data = load_mnist(args.data)
    nets = CGAN.build()
    ones, zeros = torch.FloatTensor([1.0]), torch.FloatTensor([0.0])
    steps = 0
    for epoch in range(args.epochs):
        for label, image, label_tensor in data:
            conditional_gan_step(nets.D, nets.G, image, label_tensor,
                                 torch.randn(100), generate_random_one_hot(10),
                                 torch.randn(100), generate_random_one_hot(10), ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        print(f"epoch {epoch + 1}: {steps} steps")
        if args.steps and steps >= args.steps:
            break

    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "cgan_losses.png")
    book_labels = np.repeat([9, 3, 1, 5], 6)                    # the book's plot_images(9) ...
    viz.plot_images(CGAN.sample(nets.G.module, len(book_labels), labels=book_labels),
                    "cgan_samples.png", rows=4, cols=6, titles=[f"label {k}" for k in book_labels])
    print(format_label_table(label_accuracy(nets.G.module, 100)))
    print("wrote cgan_losses.png and cgan_samples.png")


if __name__ == "__main__":
    main()
