"""Linear and polynomial regression: the first two models of every PyTorch course, fitted by
gradient descent and checked against the exact least-squares answer.

* **A line through 15 points** - yunjey's *pytorch-tutorial*,
  ``tutorials/01-basics/linear_regression``: the toy data below, ``nn.Linear(1, 1)``,
  ``nn.MSELoss()`` (the mean), ``torch.optim.SGD``, every step on all 15 points.
* **A cubic for sin(x)** - PyTorch's own tutorial *Learning PyTorch with Examples*
  (``polynomial_nn.py``): 2,000 points of ``sin`` on [-pi, pi], the features
  ``(x, x^2, x^3)``, ``nn.Linear(3, 1)`` then ``nn.Flatten(0, 1)``, so that
  ``y = a + b x + c x^2 + d x^3`` with ``a`` the bias; ``nn.MSELoss(reduction="sum")``;
  plain gradient descent (``param -= lr * grad``, which is ``optim.SGD`` without momentum).

Both losses are quadratic in the parameters, so gradient descent converges to the unique
least-squares solution - :func:`least_squares_line` (``numpy.linalg.lstsq``) and
:func:`least_squares_cubic` (``numpy.polyfit``) - at a rate set by the Hessian's smallest
eigenvalue. The tutorials stop early: 60 steps at lr 0.001 leave the line far from it (the
toy data's Hessian has eigenvalues 0.26 and 86, so each step closes only 0.026 % of the
slow direction's gap), and 2,000 steps at lr 1e-6 leave the cubic about 3 % short (eigenvalues
1,728 ... 562,122 for the summed loss). :data:`LINE_FIT` and :data:`CUBIC_FIT` are settings
that do converge: the largest stable step (lr < 2 / largest eigenvalue) with room to spare,
and enough steps for the slowest direction to close to ~1e-9 of its start.

Every function takes the framework (``minigan`` or ``torch``) first, so the PyTorch parity
test runs the very same code on both.
"""
from __future__ import annotations

import math

import numpy as np

import minigan

__all__ = ["X_TOY", "Y_TOY", "sine_data", "line_model", "cubic_model", "fit", "fit_line",
           "fit_cubic", "line_coefficients", "cubic_coefficients", "least_squares_line",
           "least_squares_cubic", "TUTORIAL_LINE", "TUTORIAL_CUBIC", "LINE_FIT", "CUBIC_FIT"]

#: The linear-regression tutorial's 15 toy points (x, y), float32 as it writes them.
X_TOY = np.array([[3.3], [4.4], [5.5], [6.71], [6.93], [4.168], [9.779], [6.182], [7.59],
                  [2.167], [7.042], [10.791], [5.313], [7.997], [3.1]], dtype=np.float32)
Y_TOY = np.array([[1.7], [2.76], [2.09], [3.19], [1.694], [1.573], [3.366], [2.596], [2.53],
                  [1.221], [2.827], [3.465], [1.65], [2.904], [1.3]], dtype=np.float32)

#: The tutorials' own settings (they stop before the optimum) ...
TUTORIAL_LINE = {"steps": 60, "lr": 0.001}
TUTORIAL_CUBIC = {"steps": 2000, "lr": 1e-6}
#: ... and settings that reach it: lr * 86.4 = 1.73 < 2 for the line (0.51 % of the slow
#: gap closed per step, e^-20 of it left after 4,000 steps); lr * 562,122 = 1.69 < 2 for the
#: cubic (0.52 % per step, e^-21 left after 4,000).
LINE_FIT = {"steps": 4000, "lr": 0.02}
CUBIC_FIT = {"steps": 4000, "lr": 3e-6}


def sine_data(n: int = 2000):
    """``(features, y)``: ``x`` = linspace(-pi, pi, n), features ``(x, x^2, x^3)`` (n, 3), ``y = sin x``.

    float64 NumPy arrays; :func:`fit_cubic` casts them to the dtype it trains in.
    """
    x = np.linspace(-math.pi, math.pi, n)
    return np.stack([x, x ** 2, x ** 3], axis=1), np.sin(x)


def line_model(torch=minigan):
    """``nn.Linear(1, 1)``: y = w x + b."""
    return torch.nn.Linear(1, 1)


def cubic_model(torch=minigan):
    """``nn.Linear(3, 1)`` on (x, x^2, x^3), then ``Flatten(0, 1)``: (n, 1) -> (n,) like ``y``."""
    return torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))


def fit(torch, model, inputs, targets, *, steps: int, lr: float, reduction: str = "mean") -> list:
    """Full-batch gradient descent on the MSE: ``steps`` SGD steps of ``lr``; the loss before each.

    The tutorials' loop: forward, loss, ``zero_grad``, ``backward``, ``step``.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    loss_fn = torch.nn.MSELoss(reduction=reduction)
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(inputs), targets)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def _dtype(torch, dtype):
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def fit_line(torch=minigan, *, steps: int = LINE_FIT["steps"], lr: float = LINE_FIT["lr"],
             dtype="float32", model=None):
    """Fit :func:`line_model` to the 15 toy points; returns ``(model, losses)``.

    ``model`` (already in ``dtype``) continues training one given, e.g. with copied weights.
    """
    dt = _dtype(torch, dtype)
    model = line_model(torch).to(dt) if model is None else model
    inputs, targets = torch.from_numpy(X_TOY.copy()).to(dt), torch.from_numpy(Y_TOY.copy()).to(dt)
    return model, fit(torch, model, inputs, targets, steps=steps, lr=lr)


def fit_cubic(torch=minigan, *, steps: int = CUBIC_FIT["steps"], lr: float = CUBIC_FIT["lr"],
              dtype="float32", model=None, n: int = 2000):
    """Fit :func:`cubic_model` to ``sin`` at ``n`` points with the summed MSE; ``(model, losses)``."""
    dt = _dtype(torch, dtype)
    model = cubic_model(torch).to(dt) if model is None else model
    features, y = sine_data(n)
    inputs, targets = torch.from_numpy(features).to(dt), torch.from_numpy(y).to(dt)
    return model, fit(torch, model, inputs, targets, steps=steps, lr=lr, reduction="sum")


def _numpy(t):
    return np.array(t.detach().cpu().numpy(), dtype=np.float64)


def line_coefficients(model) -> np.ndarray:
    """``[w, b]`` of a fitted :func:`line_model`, as float64."""
    return np.array([_numpy(model.weight).item(), _numpy(model.bias).item()])


def cubic_coefficients(model) -> np.ndarray:
    """``[a, b, c, d]`` of ``a + b x + c x^2 + d x^3`` from a fitted :func:`cubic_model`."""
    linear = model[0]
    return np.concatenate([_numpy(linear.bias).reshape(1), _numpy(linear.weight).reshape(3)])


def least_squares_line() -> np.ndarray:
    """The exact ``[w, b]`` minimising the toy data's squared error (``numpy.linalg.lstsq``)."""
    x, y = X_TOY.astype(np.float64), Y_TOY.astype(np.float64)
    design = np.concatenate([x, np.ones_like(x)], axis=1)
    return np.linalg.lstsq(design, y[:, 0], rcond=None)[0]


def least_squares_cubic(n: int = 2000) -> np.ndarray:
    """The exact ``[a, b, c, d]`` for ``sin`` at :func:`sine_data`'s points (``numpy.polyfit``)."""
    features, y = sine_data(n)
    return np.polyfit(features[:, 0], y, 3)[::-1].copy()   # polyfit lists x^3 first
