"""Beyond the book: the classifiers people start with (yunjey's pytorch-tutorial).

Run:  python examples/beyond_classifiers.py logistic-regression|mlp-classifier|small-cnn
                                            [--data fashion-mnist] [--epochs N] [--steps N]

logistic regression (Linear 784-10, SGD 0.01), a two-layer perceptron (784-500 ReLU -10,
Adam 1e-3) and the small CNN (two blocks of 5x5 convolution, BatchNorm, ReLU and 2x2
max-pooling, then Linear 1568-10, Adam 1e-3) - their networks live in
minigan/models/classifiers.py - share the tutorials' loop: batches of 100, reshuffled every
epoch, CrossEntropyLoss on the logits, 5 epochs. The CNN is scored as the tutorial scores it,
after ``model.eval()`` (BatchNorm's running statistics). The loss plot goes to NAME_loss.png.
"""
import argparse

import numpy as np

import minigan as torch
from minigan import models, viz
from minigan.data import load_mnist
from minigan.training import train_step

NAMES = ("logistic-regression", "mlp-classifier", "small-cnn")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--data", default=None, help="fashion-mnist, an IDX folder ... (default: bundled MNIST)")
    parser.add_argument("--epochs", type=int, default=None, help="default: the tutorial's 5")
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    model = models.get(args.name)
    torch.manual_seed(0)
    train, test = load_mnist(args.data, "train"), load_mnist(args.data, "test")
    C = model.build()                        # network, CrossEntropyLoss, optimiser
    rng = np.random.default_rng(0)
    steps = 0
    for epoch in range(args.epochs or model.default_epochs):
        order = rng.permutation(len(train))  # the tutorial's DataLoader(shuffle=True)
        for start in range(0, len(train), model.batch_size):
            _, images, targets = train.batch(order[start:start + model.batch_size])
            train_step(C, model.view(images), targets)   # one-hot targets: class probabilities
            steps += 1
            if args.steps and steps >= args.steps:
                break
        if args.steps and steps >= args.steps:
            break
    viz.plot_progress(C.progress, f"{model.name}_loss.png", title=f"{model.name}: loss every 10th step")
    line = f"{model.name}: {steps} steps; test accuracy {model.accuracy(C.module, test):.4f}"
    if model.eval_scoring:   # the tutorial's model.eval(); the other way, for comparison
        line += (f" (BatchNorm in eval mode; in training mode "
                 f"{model.accuracy(C.module, test, eval_mode=False):.4f})")
    print(line + f" on {len(test):,} test images")


if __name__ == "__main__":
    main()
