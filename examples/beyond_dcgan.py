"""Beyond the book: the DCGAN of Radford et al., as PyTorch's examples/dcgan builds it, on MNIST.

Run:  python examples/beyond_dcgan.py [--image-size 32|64] [--epochs N] [--steps N] [--batch-size B]

G turns (B, 100, 1, 1) noise into an image with transposed convolutions (BatchNorm, ReLU,
Tanh at the end); D mirrors it with strided convolutions (BatchNorm, LeakyReLU 0.2, Sigmoid).
Both are built in minigan/models/dcgan.py and initialised by the example's weights_init
through Module.apply: convolution weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0.
The digits are resized from 28x28 to the image size with bilinear interpolation (the
example's transforms.Resize) and scaled to [-1, 1] for G's Tanh; each batch then goes through
the book's three steps (gan_step). 32 pixels (one stride-2 stage fewer than the published 64)
is the default: practical on a CPU. 1,000 samples, resized back to 28x28, are judged at the end.
"""
import argparse

import numpy as np

import minigan as torch
import minigan.nn.functional as F
from minigan import metrics, models, viz
from minigan.data import load_mnist
from minigan.models import dcgan
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=32, choices=dcgan.IMAGE_SIZES)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64, help="the example's: 64")
    args = parser.parse_args()
    gan = models.get("dcgan").configure(image_size=args.image_size)
    size = args.image_size
    torch.manual_seed(0)
    data = load_mnist()
    nets = gan.build()            # D, G with weights_init applied, each with BCE-Adam(2e-4, (0.5, 0.999))
    print(nets.G.module)
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
        order = rng.permutation(len(data))
        for start in range(0, len(data), args.batch_size):
            _, images, _ = data.batch(order[start:start + args.batch_size])
            n = images.shape[0]
            digits = F.interpolate(images.view(n, 1, 28, 28), size=(size, size), mode="bilinear")
            real = digits * 2 - 1                                   # [0, 1] -> [-1, 1]
            ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)
            gan_step(nets.D, nets.G, real, torch.randn(n, dcgan.NZ, 1, 1), torch.randn(n, dcgan.NZ, 1, 1),
                     ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "dcgan_losses.png")
    viz.save_image(torch.tensor(gan.sample(nets.G.module, 64)), "dcgan_samples.png", nrow=8)
    report = metrics.mode_collapse_report(gan.sample(nets.G.module, 1000))   # 28x28 for the judge
    print(f"dcgan at {size} pixels: {steps} steps; {report['classes_covered']} of 10 classes, "
          f"largest {report['largest_share']:.0%}")


if __name__ == "__main__":
    main()
