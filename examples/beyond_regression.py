"""Beyond the book: linear and polynomial regression, checked against least squares.

Run:  python examples/beyond_regression.py [--tutorial]

A line through the 15 toy points of yunjey's pytorch-tutorial (nn.Linear(1, 1), MSELoss,
SGD), and the cubic a + b x + c x^2 + d x^3 that PyTorch's own tutorial fits to sin(x) on
[-pi, pi] (nn.Linear(3, 1) on (x, x^2, x^3), summed MSE, gradient descent). Both are fitted
by gradient descent on minigan and compared with the exact answers of numpy.linalg.lstsq and
numpy.polyfit. ``--tutorial`` uses the tutorials' own step counts and rates, which stop
short of the optimum (minigan/models/regression.py says by how much and why).
The picture goes to regression.png.
"""
import argparse

import numpy as np

import minigan as torch
from minigan.models import regression as R


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tutorial", action="store_true", help="the tutorials' steps and rates")
    args = parser.parse_args()
    torch.manual_seed(0)
    line_settings = R.TUTORIAL_LINE if args.tutorial else R.LINE_FIT
    cubic_settings = R.TUTORIAL_CUBIC if args.tutorial else R.CUBIC_FIT
    line, line_losses = R.fit_line(torch, **line_settings)
    cubic, cubic_losses = R.fit_cubic(torch, **cubic_settings)

    w, b = R.line_coefficients(line)
    w_ls, b_ls = R.least_squares_line()
    print(f"line ({line_settings['steps']} steps, lr {line_settings['lr']}): y = {w:.6f} x + {b:.6f}, "
          f"loss {line_losses[-1]:.6f}; least squares: y = {w_ls:.6f} x + {b_ls:.6f}")
    coefficients, exact = R.cubic_coefficients(cubic), R.least_squares_cubic()
    show = lambda c: f"{c[0]:+.6f} {c[1]:+.6f} x {c[2]:+.6f} x^2 {c[3]:+.6f} x^3"
    print(f"cubic ({cubic_settings['steps']} steps, lr {cubic_settings['lr']}): y = {show(coefficients)}, "
          f"summed loss {cubic_losses[-1]:.6f}")
    print(f"      least squares (numpy.polyfit):   y = {show(exact)}")
    print(f"largest difference from least squares: line {np.abs([w - w_ls, b - b_ls]).max():.2e}, "
          f"cubic {np.abs(coefficients - exact).max():.2e}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    left.plot(R.X_TOY, R.Y_TOY, "ro", label="toy data")
    xs = np.array([R.X_TOY.min(), R.X_TOY.max()])
    left.plot(xs, w * xs + b, label="fitted line (minigan)")
    left.legend()
    x = np.linspace(-np.pi, np.pi, 200)
    right.plot(x, np.sin(x), label="sin(x)")
    right.plot(x, np.polyval(coefficients[::-1], x), "--", label="fitted cubic (minigan)")
    right.legend()
    fig.savefig("regression.png", dpi=80)
    print("picture -> regression.png")


if __name__ == "__main__":
    main()
