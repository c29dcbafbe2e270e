"""Book section 2.2 (notebook 06): a GAN learns the 1010 pattern.

Run:  python examples/ch2_2_pattern1010.py [--steps 10000]

First the discriminator test (D alone tells real patterns from uniform noise), then the
GAN: every iteration D sees a real pattern (target 1) and G's output (target 0), then G
learns through D. A snapshot of G(0.5) every 1,000 iterations shows the pattern emerging
(pattern1010_snapshots.png); the book ends at G(0.5) = [0.94, 0.05, 0.94, 0.05].
"""
import argparse

import minigan as torch
from minigan import viz
from minigan.book.pattern1010 import PATTERN_GAN, generate_real
from minigan.training import gan_step, train_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    torch.manual_seed(0)

    # the discriminator test (BOOK_SPEC 4.06)
    D = PATTERN_GAN.build().D
    for i in range(args.steps):
        train_step(D, generate_real(), torch.FloatTensor([1.0]))
        train_step(D, torch.rand(4), torch.FloatTensor([0.0]))
    print(f"D test: real -> {D(generate_real()).item():.4f}, noise -> {D(torch.rand(4)).item():.4f}"
          " (book: 0.8236, 0.2237)")

    # the GAN (BOOK_SPEC 1.7): G's input is always 0.5
    nets = PATTERN_GAN.build()
    half, ones, zeros = torch.FloatTensor([0.5]), torch.FloatTensor([1.0]), torch.FloatTensor([0.0])
    snapshots = []
    for i in range(args.steps):
        gan_step(nets.D, nets.G, generate_real(), half, half, ones, zeros)
        if i % 1000 == 0:
            snapshots.append(nets.G(half).detach().numpy())
    final = nets.G(half).detach().numpy()
    print("final G(0.5) =", [round(float(v), 4) for v in final], "(book: [0.9387, 0.0527, 0.9389, 0.0474])")
    viz.plot_pattern_snapshots(snapshots, "pattern1010_snapshots.png")
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "pattern1010_losses.png", style="mse")


if __name__ == "__main__":
    main()
