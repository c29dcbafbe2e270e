"""Book section 2.3 (notebooks 07, 08): GANs that write digits - the collapse, then the fix.

Run:  python examples/ch2_3_mnist_gan.py [--v1] [--epochs N] [--steps N] [--data mnist_train.csv]

The book's loop, written out, for the improved MNIST GAN (or, with --v1, the first attempt
with MSE, SGD and a one-number seed, which collapses). At the end, 1,000 samples are judged
by a classifier trained on real digits: mode collapse as a number.
"""
import argparse

import minigan as torch
from minigan import metrics, viz
from minigan.book.mnist_gan import MNIST_GAN, MNIST_GAN_V1
from minigan.data import load_mnist
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v1", action="store_true", help="the first attempt (4.07)")
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = MNIST_GAN_V1 if args.v1 else MNIST_GAN
    torch.manual_seed(0)

    data = load_mnist(args.data)
    nets = gan.build()
    ones, zeros = torch.FloatTensor([1.0]), torch.FloatTensor([0.0])
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
        for label, image, target in data:
            gan_step(nets.D, nets.G, image, gan.seed(torch), gan.seed(torch), ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        print(f"epoch {epoch + 1}: {steps} steps")
        if args.steps and steps >= args.steps:
            break

    viz.plot_gan_progress(nets.D.progress, nets.G.progress, f"{gan.name}_losses.png")
    viz.plot_images(gan.sample(nets.G.module, 6), f"{gan.name}_samples.png")   # the book's 2 x 3
    report = metrics.mode_collapse_report(gan.sample(nets.G.module, 1000))
    print(f"{gan.name}: {report['classes_covered']} of 10 classes, largest {report['largest_share']:.0%}")


if __name__ == "__main__":
    main()
