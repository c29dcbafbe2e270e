"""Beyond the book: DCGAN on MNIST (conv D with max-pooling, conv-transpose G).

Run:  python examples/beyond_dcgan_mnist.py [--epochs N] [--steps N]

The loop written out on the public API: shuffled batches of gan.batch_size, pixels scaled to [-1, 1] for G's
Tanh, the book's three steps (gan_step) on each batch; 1,000 samples judged at the end.
"""
import argparse

import numpy as np

import minigan as torch
from minigan import metrics, viz
from minigan.data import load_mnist
from minigan.models.dcgan_mnist import DCGAN_MNIST as gan
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=gan.default_epochs)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)
    data = load_mnist()
    nets = gan.build()
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(data), gan.batch_size):
            _, images, _ = data.batch(order[start:start + gan.batch_size])
            real = images * 2 - 1                                   # [0, 1] -> [-1, 1]
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            gan_step(nets.D, nets.G, real, gan.seed(torch, n), gan.seed(torch, n), ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, f"{gan.name}_losses.png")
    viz.save_image(torch.tensor(gan.sample(nets.G.module, 64)), f"{gan.name}_samples.png", nrow=8)
    report = metrics.mode_collapse_report(gan.sample(nets.G.module, 1000))
    print(f"{gan.name}: {steps} steps; {report['classes_covered']} of 10 classes, "
          f"largest {report['largest_share']:.0%}")


if __name__ == "__main__":
    main()
