"""Book section 1.2 (notebooks 02, 03): real MNIST digits and the first classifier.

Run:  python examples/ch1_2_mnist_classifier.py [--data mnist_train.csv] [--epochs 4] [--steps N]

The book's loop, written out: one image at a time, in stored order, MSE against a one-hot
target, SGD at 0.01. With no --data it uses the bundled real MNIST sample (4,000 training
and 1,000 test digits); with the book's mnist_train.csv it reaches the book's 0.88.
"""
import argparse

import minigan as torch
from minigan.book.classifier import PLAIN
from minigan.data import load_mnist
from minigan.training import train_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="book CSV, IDX folder or 'fashion-mnist'")
    parser.add_argument("--epochs", type=int, default=PLAIN.book_epochs)
    parser.add_argument("--steps", type=int, default=None, help="stop after N images")
    args = parser.parse_args()
    torch.manual_seed(0)

    train, test = load_mnist(args.data, "train"), load_mnist(args.data, "test")
    label, image, target = train[13]                       # notebook 02 looks at a record
    print(f"{train}: record 13 has label {label}, {image.shape[0]} pixels in [0, 1]")

    C = PLAIN.build()                                      # layers + SGD + MSE + progress
    print(C.module)
    steps = 0
    for epoch in range(args.epochs):
        for label, image, target in train:                 # stops at IndexError, as the book's
            train_step(C, image, target)
            steps += 1
            if args.steps and steps >= args.steps:
                break
        print(f"epoch {epoch + 1}: {C.counter} steps, last loss {C.progress[-1]:.4f}")
        if args.steps and steps >= args.steps:
            break

    accuracy = PLAIN.accuracy(C.module, test)
    print(f"test accuracy {accuracy:.4f} on {len(test)} digits (book: 0.88 on full MNIST)")


if __name__ == "__main__":
    main()
