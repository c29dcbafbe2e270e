"""Beyond the book: a Lipschitz discriminator three ways - weight clipping (WGAN), a gradient
penalty (WGAN-GP) or spectral normalisation with the hinge loss (SN-GAN) - and SAGAN.

Run:  python examples/beyond_wgan.py [--gp | --sn | --sa] [--epochs N] [--steps N]

The loop written out on the public API: each shuffled batch of 64 (pixels in [-1, 1]) trains
the critic, and every 5th critic step also G (wgan_step). With --gp the critic's loss gains
10 * mean((|grad_x D(x_hat)| - 1)^2) at random interpolates x_hat, computed with
minigan.autograd.grad(..., create_graph=True): a backward pass differentiated again. With --sn
every layer of D is wrapped in nn.utils.spectral_norm (its weight divided by its largest
singular value before each forward), D's loss is the hinge loss and G steps after every D step.
With --sa (SAGAN) both convolutional networks are spectrally normalised and each has a
self-attention layer; D learns four times faster than G; the loop is --sn's. It also draws
where G's attention looks (sagan_attention.png).
"""
import argparse

import numpy as np

import minigan as torch
from minigan import metrics, viz
from minigan.data import load_mnist
from minigan.models import sagan
from minigan.models.sngan import SNGAN
from minigan.models.wgan import WGAN
from minigan.models.wgan_gp import WGAN_GP
from minigan.training import wgan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--gp", action="store_true", help="WGAN-GP instead of WGAN")
    choice.add_argument("--sn", action="store_true", help="SN-GAN instead of WGAN")
    choice.add_argument("--sa", action="store_true", help="SAGAN instead of WGAN")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = WGAN_GP if args.gp else SNGAN if args.sn else sagan.SAGAN if args.sa else WGAN
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
            alpha = torch.rand(n, 1) if args.gp else None           # the interpolation weights
            wgan_step(torch, nets.D, nets.G, real, gan.seed(torch, n), gan.seed(torch, n),
                      n_critic=gan.n_critic, clip=gan.clip, alpha=alpha,
                      penalty_weight=gan.penalty_weight, hinge=gan.hinge)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, f"{gan.name}_losses.png", style="wasserstein")
    viz.save_image(torch.tensor(gan.sample(nets.G.module, 64)), f"{gan.name}_samples.png", nrow=8)
    if args.sa:   # each row: a fake digit, then where three of its positions look
        _, images, maps = sagan.attention_report(nets.G.module, count=4)
        viz.plot_attention_maps(images, maps, sagan.QUERIES, "sagan_attention.png")
    report = metrics.mode_collapse_report(gan.sample(nets.G.module, 1000))
    print(f"{gan.name}: {steps} critic steps; {report['classes_covered']} of 10 classes, "
          f"largest {report['largest_share']:.0%}")


if __name__ == "__main__":
    main()
