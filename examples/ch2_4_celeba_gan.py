"""Book section 2.4 (notebooks 10-12): a fully connected GAN draws faces.

Run:  minigan data pack-celeba img_align_celeba.zip celeba.h5 --limit 20000
      python examples/ch2_4_celeba_gan.py celeba.h5 [--steps N]

Each real sample is a whole 218 x 178 x 3 photograph /255; G ends with 116,412 outputs.
"""
import argparse

import minigan as torch
from minigan import viz
from minigan.book.celeba_gan import CELEBA_GAN
from minigan.data import CelebADataset
from minigan.training import gan_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="CelebA packed into the book's HDF5 (minigan data pack-celeba)")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    torch.manual_seed(0)

    faces = CelebADataset(args.data)
    print(f"{faces}: image 6 has shape {tuple(faces[6].shape)}")       # notebook 11: (218, 178, 3)
    nets = CELEBA_GAN.build()
    ones, zeros = torch.FloatTensor([1.0]), torch.FloatTensor([0.0])
    for i in range(min(len(faces), args.steps or len(faces))):
        gan_step(nets.D, nets.G, faces[i], torch.randn(100), torch.randn(100), ones, zeros)
    viz.plot_images(CELEBA_GAN.sample(nets.G.module, 6), "celeba_gan_samples.png")
    viz.plot_gan_progress(nets.D.progress, nets.G.progress, "celeba_gan_losses.png")
    print("wrote celeba_gan_samples.png and celeba_gan_losses.png")


if __name__ == "__main__":
    main()
