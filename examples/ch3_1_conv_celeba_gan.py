"""Book section 3.1 (notebooks 14, 15): a convolutional GAN draws 128 x 128 faces.

Run:  minigan data pack-celeba img_align_celeba.zip celeba.h5 --limit 20000
      python examples/ch3_1_conv_celeba_gan.py celeba.h5 [--gelu] [--steps N]

Each real sample is the 128 x 128 centre of a CelebA photograph, (1, 3, 128, 128) /255. At the
end the book's memory cells print what the GAN holds - here on any device, the CPU included:
minigan counts the bytes its tensors hold (the book: 0.142 GiB allocated, 0.204 GiB peak on a
GPU, about a fifth of the fully connected GAN's).
"""
import argparse

import minigan as torch
from minigan import viz
from minigan.book.conv_celeba_gan import CONV_CELEBA_GAN, CONV_CELEBA_GAN_GELU
from minigan.data import CelebADataset
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="CelebA packed into the book's HDF5 (minigan data pack-celeba)")
    parser.add_argument("--gelu", action="store_true", help="notebook 15: GELU instead of LeakyReLU")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    gan = CONV_CELEBA_GAN_GELU if args.gelu else CONV_CELEBA_GAN
    torch.manual_seed(0)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    faces = CelebADataset(args.data, crop=128)
    print(f"{faces}: image 0 has shape {tuple(faces[0].shape)}")        # (1, 3, 128, 128)
    nets = gan.build(device=device)
    ones, zeros = gan.targets(torch, device=device)
    torch.cuda.reset_peak_memory_stats(device)
    steps = 0
    for epoch in range(args.epochs):
        for i in range(len(faces)):
            real = faces[i].to(device)
            gan_step(nets.D, nets.G, real, torch.randn(100, device=device),
                     torch.randn(100, device=device), ones, zeros)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break

    # the book's memory cells (BOOK_SPEC 4.14), answered on this device
    print(f"{steps} steps on {device}: memory allocated "
          f"{torch.cuda.memory_allocated(device) / (1024 * 1024 * 1024):.3f} GiB, "
          f"max {torch.cuda.max_memory_allocated(device) / (1024 * 1024 * 1024):.3f} GiB")
    viz.plot_images(gan.sample(nets.G.module, 6, device), f"{gan.name}_samples.png")
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, f"{gan.name}_losses.png")
    print(f"wrote {gan.name}_samples.png and {gan.name}_losses.png")


if __name__ == "__main__":
    main()
