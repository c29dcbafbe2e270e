"""The classifiers people start with, as yunjey's *pytorch-tutorial* builds them.

Three steps up from a straight line, each a :class:`~minigan.experiment.ClassifierModel`
trained by the book's classifier loop (:meth:`ClassifierExperiment.fit`) with the tutorial's
data pipeline: batches of 100, reshuffled every epoch, 5 epochs, scored by the argmax of the
10 outputs over the test split.

=======================  =====================================================  =========
name (minigan train)     network (tutorial: ``tutorials/...``)                   optimiser
=======================  =====================================================  =========
logistic-regression      Linear 784-10 (01-basics/logistic_regression)           SGD 0.01
mlp-classifier           Linear 784-500, ReLU, Linear 500-10                     Adam 1e-3
                         (01-basics/feedforward_neural_network)
small-cnn                [Conv2d 5x5 pad 2, BatchNorm2d, ReLU, MaxPool2d 2] x 2   Adam 1e-3
                         (1->16, 16->32 maps), Linear 1568-10
                         (02-intermediate/convolutional_neural_network)
=======================  =====================================================  =========

All three end in raw scores (logits): ``CrossEntropyLoss`` applies the log-softmax itself.
The tutorial feeds it class indices; minigan's datasets give one-hot float targets, which
``CrossEntropyLoss`` reads as class probabilities - for a one-hot row the very same loss,
``-log softmax(x)[label]``, averaged over the batch.

Departures from the tutorial, on purpose:

* logistic regression uses SGD with lr 0.01, the issue's setting (the tutorial's script has
  0.001, under which five epochs leave the linear model far from trained);
* the CNN is one ``nn.Sequential`` (the tutorial's ``layer1``, ``layer2`` and ``fc`` with its
  ``reshape(out.size(0), -1)`` written as ``Flatten``): the same layers, parameters and
  arithmetic, with other state_dict names.

The CNN is scored the tutorial's way, after ``model.eval()``: BatchNorm normalises with the
running statistics gathered in training (``eval_scoring``), not the book's training mode.
"""
from __future__ import annotations

import minigan

from ..experiment import ClassifierModel

#: The tutorials' shared settings: images per step, epochs.
BATCH = 100
EPOCHS = 5
REFERENCE = "yunjey/pytorch-tutorial, tutorials/"


def logistic_regression(torch=minigan):
    """Linear 784 -> 10: one weight per pixel and class, plus 10 biases; 7,850 parameters."""
    return torch.nn.Sequential(torch.nn.Linear(28 * 28, 10))


def mlp_classifier(torch=minigan):
    """Linear 784 -> 500, ReLU, Linear 500 -> 10; 397,510 parameters."""
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(28 * 28, 500),
        nn.ReLU(),
        nn.Linear(500, 10),
    )


def small_cnn(torch=minigan):
    """(B, 1, 28, 28) -> 16 maps 28x28 -> pooled 14x14 -> 32 maps 14x14 -> pooled 7x7 -> 10.

    Padding 2 keeps a 5x5 convolution's output the size of its input, so only the 2x2
    max-pooling halves the maps: 7 * 7 * 32 = 1,568 features reach the Linear layer.
    """
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=5, stride=1, padding=2),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(16, 32, kernel_size=5, stride=1, padding=2),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(),                     # the tutorial's out.reshape(out.size(0), -1)
        nn.Linear(7 * 7 * 32, 10),
    )


def cross_entropy(torch):
    """``nn.CrossEntropyLoss()`` on logits; one-hot targets are read as class probabilities."""
    return torch.nn.CrossEntropyLoss()


def sgd(torch, params):
    """SGD, lr 0.01 (the issue's setting; the tutorial's script has 0.001), no momentum."""
    return torch.optim.SGD(params, lr=0.01)


def adam(torch, params):
    """Adam, lr 1e-3 (the tutorials' ``learning_rate = 0.001``), PyTorch's betas and eps."""
    return torch.optim.Adam(params, lr=1e-3)


LOGISTIC_REGRESSION = ClassifierModel(
    name="logistic-regression", section="beyond the book: logistic regression",
    title="logistic regression (Linear 784-10, CrossEntropy, SGD 0.01, batch 100)",
    reference=REFERENCE + "01-basics/logistic_regression",
    network=logistic_regression, loss=cross_entropy, optimiser=sgd,
    book_epochs=None, default_epochs=EPOCHS, parameters=7_850, batch_size=BATCH,
    book_result="not a book model")

MLP_CLASSIFIER = ClassifierModel(
    name="mlp-classifier", section="beyond the book: a two-layer perceptron",
    title="MLP classifier (784-500 ReLU -10, CrossEntropy, Adam 1e-3, batch 100)",
    reference=REFERENCE + "01-basics/feedforward_neural_network",
    network=mlp_classifier, loss=cross_entropy, optimiser=adam,
    book_epochs=None, default_epochs=EPOCHS, parameters=397_510, batch_size=BATCH,
    book_result="not a book model")

SMALL_CNN = ClassifierModel(
    name="small-cnn", section="beyond the book: a small CNN with BatchNorm and max-pooling",
    title="small CNN (2 x [Conv 5x5, BatchNorm, ReLU, MaxPool 2], Linear 1568-10, Adam 1e-3, "
          "batch 100; scored in eval mode)",
    reference=REFERENCE + "02-intermediate/convolutional_neural_network",
    network=small_cnn, loss=cross_entropy, optimiser=adam,
    book_epochs=None, default_epochs=EPOCHS, parameters=29_034, batch_size=BATCH,
    input_shape=(1, 1, 28, 28), eval_scoring=True,
    book_result="not a book model")

CLASSIFIERS = (LOGISTIC_REGRESSION, MLP_CLASSIFIER, SMALL_CNN)
