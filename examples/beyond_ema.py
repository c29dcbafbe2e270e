"""Beyond the book: an exponential moving average (EMA) of the generator's weights.

Run:  python examples/beyond_ema.py [--decay 0.999] [--epochs N] [--steps N]

The book's improved MNIST GAN loop (section 2.3), unchanged, plus two lines: a copy of G that
follows G's weights slowly (``AveragedModel`` with ``get_ema_multi_avg_fn``, PyTorch's
``torch.optim.swa_utils``), updated after every step:

    ema_G = W_0,   ema_G = decay * ema_G + (1 - decay) * W_t

While D and G chase each other, G's weights circle around a good point rather than settle on
it; their average sits nearer to it (Yazici et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training"; Karras et al. 2018 sample from it). The average never trains and
G never sees it. At the end both are judged on the same 1,000 seeds: classes covered and the
Frechet distance to the held-out digits. (``minigan train mnist-gan --ema 0.999`` does the
same and writes the pictures.)
"""
import argparse

import minigan as torch
from minigan import metrics, viz
from minigan.book.mnist_gan import MNIST_GAN
from minigan.data import load_mnist
from minigan.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decay", type=float, default=0.999)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = MNIST_GAN
    torch.manual_seed(0)

    data = load_mnist()
    nets = gan.build()
    ema_G = AveragedModel(nets.G.module, multi_avg_fn=get_ema_multi_avg_fn(args.decay))
    ones, zeros = torch.FloatTensor([1.0]), torch.FloatTensor([0.0])
    steps = 0
    for epoch in range(args.epochs or gan.default_epochs):
        for label, image, target in data:
            gan_step(nets.D, nets.G, image, gan.seed(torch), gan.seed(torch), ones, zeros)
            ema_G.update_parameters(nets.G.module)     # the first call copies G; later ones average
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break

    seeds = gan.seed(torch, 1000)                      # the same seeds for both generators
    test_images = load_mnist(split="test").images
    for name, tag, G in (("G", "g", nets.G.module), ("EMA of G", "ema", ema_G.module)):
        images = gan.generate(G, seeds)
        report = metrics.mode_collapse_report(images)
        fd = metrics.frechet_distance_images(images, test_images)
        print(f"{name}: {report['classes_covered']} of 10 classes, largest "
              f"{report['largest_share']:.0%}, Frechet distance {fd:.1f}")
        viz.save_image(torch.tensor(images[:64]), f"mnist-gan_{tag}_samples.png", nrow=8)
    print(f"{steps} steps, {int(ema_G.n_averaged)} averaged")


if __name__ == "__main__":
    main()
