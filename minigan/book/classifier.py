"""Book section 1.2-1.3: the MNIST classifiers (notebooks 03 and 04; BOOK_SPEC 4.03, 4.04).

The first classifier is the simplest network that learns digits: two Linear layers with
Sigmoids, mean squared error against a one-hot target, plain SGD. The improved one changes
four things at once, each a lesson of section 1.3: binary cross-entropy instead of MSE
(a bigger gradient when the answer is confidently wrong), LeakyReLU instead of Sigmoid (no
vanishing gradient), LayerNorm after the activation, and Adam instead of SGD.

Each network is a function of the framework (``minigan`` by default, or ``torch``): the same
definition builds the minigan model and, in the parity tests, the PyTorch one.
"""
from __future__ import annotations

import minigan

from ..experiment import ClassifierExperiment


def plain_classifier(torch=minigan):
    """Section 1.2 (BOOK_SPEC 4.03): 784 -> 200 -> 10 with Sigmoids; 159,010 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 200),
        nn.Sigmoid(),
        nn.Linear(200, 10),
        nn.Sigmoid(),
    )


def improved_classifier(torch=minigan):
    """Section 1.3 (BOOK_SPEC 4.04): LeakyReLU(0.02), then LayerNorm; 159,410 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 200),
        nn.LeakyReLU(0.02),
        nn.LayerNorm(200),
        nn.Linear(200, 10),
        nn.Sigmoid(),
    )


PLAIN = ClassifierExperiment(
    name="classifier", section="1.2 (BOOK_SPEC 4.03)", title="MNIST classifier (MSE, SGD)",
    network=plain_classifier,
    loss=lambda torch: torch.nn.MSELoss(),
    optimiser=lambda torch, params: torch.optim.SGD(params, lr=0.01),
    book_epochs=4, default_epochs=4, parameters=159_010, plot_style="mse",
    book_result="test accuracy 0.88 after 4 epochs of full MNIST")

IMPROVED = ClassifierExperiment(
    name="classifier-improved", section="1.3 (BOOK_SPEC 4.04)",
    title="improved MNIST classifier (BCE, LeakyReLU, LayerNorm, Adam)",
    network=improved_classifier,
    loss=lambda torch: torch.nn.BCELoss(),
    optimiser=lambda torch, params: torch.optim.Adam(params),  # the default lr, 1e-3
    book_epochs=3, default_epochs=3, parameters=159_410, plot_style="bce",
    book_result="test accuracy 0.9724 after 3 epochs of full MNIST")
