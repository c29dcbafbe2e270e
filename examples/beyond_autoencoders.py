"""Beyond the book: the autoencoders and the VAE, their loop written out on the public API.

Run:  python examples/beyond_autoencoders.py autoencoder|conv-autoencoder|vae [--epochs N] [--steps N]

autoencoder (784-128-64-12-3 and back, Tanh, summed MSE), conv-autoencoder (strided convs and
max-pooling down to 8 maps of 2x2, three transposed convs back up) and vae (Kingma & Welling as
PyTorch's examples/vae: BCE + KL, reparameterised) are defined in minigan/models/; their loop is
the same - shuffled batches of 128, the image as its own target - and is written out here:
forward, loss, zero_grad, backward, step. The VAE's forward draws its own noise
(``torch.randn_like``, as the example). At the end: the held-out loss per test image, a picture
of test digits (top row) over their reconstructions, and for the VAE 64 samples from the prior.
"""
import argparse

import numpy as np

import minigan as torch
from minigan import viz
from minigan.data import load_mnist
from minigan import models

NAMES = ("autoencoder", "conv-autoencoder", "vae")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--epochs", type=int, default=None, help="default: the model's")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    model = models.get(args.name)
    torch.manual_seed(0)
    train, test = load_mnist(), load_mnist(split="test")
    network = model.network(torch)
    loss_function = model.loss(torch)
    optimiser = model.optimiser(torch, network.parameters())
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or model.default_epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(train), model.batch_size):
            _, images, _ = train.batch(order[start:start + model.batch_size])
            x = model.inputs(images)           # [-1, 1] for a Tanh decoder; (B, 1, 28, 28) for convs
            loss = loss_function(network(x), x)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    held_out = model.held_out_loss(network, test)
    _, shown, _ = test.batch(np.arange(10))
    pairs = np.concatenate([shown.numpy().reshape(10, 1, 28, 28), model.reconstruct(network, shown)])
    viz.save_image(torch.tensor(pairs), f"{model.name}_reconstructions.png", nrow=10)
    if model.variational:
        viz.save_image(torch.tensor(model.sample(network, 64)), f"{model.name}_samples.png", nrow=8)
    print(f"{model.name}: {steps} steps; held-out loss {held_out:.4f} per test image "
          f"({len(test):,} images)")


if __name__ == "__main__":
    main()
