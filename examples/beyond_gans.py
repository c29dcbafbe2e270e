"""Beyond the book: the batched GANs that share the book's three-step loop.

Run:  python examples/beyond_gans.py gan-batched|gan-mlp|lsgan|dcgan-mnist [--epochs N] [--steps N]

gan-batched (the classic BatchNorm1d/Tanh MNIST GAN, batch 64), gan-mlp (BCE on logits,
U(-1, 1) noise of 96, batch 128), lsgan (the same networks, least-squares losses) and
dcgan-mnist (conv + max-pool critic, transposed-conv generator) differ only in their
networks, losses and optimisers - all in their modules under minigan/models/ - so one loop
serves them all: shuffled batches, pixels scaled to [-1, 1] for G's Tanh, the book's three
steps (gan_step) on each batch, 1,000 samples judged at the end. (WGAN's loop differs:
examples/beyond_wgan.py.)
"""
import argparse

import numpy as np

import minigan as torch
from minigan import metrics, viz
from minigan.data import load_mnist
from minigan import models
from minigan.training import gan_step

NAMES = ("gan-batched", "gan-mlp", "lsgan", "dcgan-mnist")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = models.get(args.name)
    torch.manual_seed(0)
    data = load_mnist()
    nets = gan.build()
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
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
