"""Book section 3.1: a convolutional MNIST classifier (notebook 13; BOOK_SPEC 4.13).

Two stride-2 convolutions learn local features (strokes, corners) shared across the image,
so the network needs only 3,720 parameters - 43 times fewer than section 1.3's - and still
scores 0.9814 on the full test set. The book keeps BatchNorm in training mode throughout
(its networks override ``train()``, so ``eval()`` is never called): every image, in
training and in testing, is normalised with its own statistics (BOOK_SPEC 1.5). minigan
does the same by default.
"""
from __future__ import annotations

import minigan

from ..experiment import ClassifierExperiment


def cnn_classifier(torch=minigan):
    """The CNN of 4.13: (1,1,28,28) -> (1,10,12,12) -> (1,10,5,5) -> 250 -> 10; 3,720 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 10, kernel_size=5, stride=2),
        nn.LeakyReLU(0.02),
        nn.BatchNorm2d(10),
        nn.Conv2d(10, 10, kernel_size=3, stride=2),
        nn.LeakyReLU(0.02),
        nn.BatchNorm2d(10),
        nn.Flatten(0),              # the book's View(250) of the (1, 10, 5, 5) maps
        nn.Linear(250, 10),
        nn.Sigmoid(),
    )


CNN = ClassifierExperiment(
    name="cnn-classifier", section="3.1 (BOOK_SPEC 4.13)",
    title="MNIST CNN classifier (BatchNorm in training mode, as the book)",
    network=cnn_classifier,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params),
    book_epochs=3, default_epochs=3, parameters=3_720, plot_style="bce",
    book_result="test accuracy 0.9814 after 3 epochs of full MNIST",
    input_shape=(1, 1, 28, 28), per_sample=True)
