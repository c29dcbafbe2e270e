"""Appendix D: simultaneous gradient steps of two opponents spiral away (notebook Appendix_D_convergence).

Run:  python examples/appendix_d_unstable_descent.py [--out DIR]

x climbs f(x, y) = x*y while y descends it, both updated at once from the old values, from
(0.6, 0.7) with learning rate 0.1: 500 points circling the equilibrium (0, 0) on a spiral that
grows by sqrt(1 + 0.1^2) per step. Writes the book's two plots.
"""
import argparse
import os

from minigan.book import appendix_d


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    xs, ys = appendix_d.unstable_descent()        # x0 = 0.6, y0 = 0.7, lr = 0.1, 500 points
    appendix_d.plot_lines(xs, ys, os.path.join(args.out, "appendix_d_lines.png"))
    appendix_d.plot_path(xs, ys, os.path.join(args.out, "appendix_d_spiral.png"))
    r0, r1 = (xs[0] ** 2 + ys[0] ** 2) ** 0.5, (xs[-1] ** 2 + ys[-1] ** 2) ** 0.5
    print(f"final x = {xs[-1]:.3f}, y = {ys[-1]:.3f} (book: 1.952, 10.864); distance from (0, 0) "
          f"{r0:.3f} -> {r1:.2f}, x {appendix_d.radius_growth():.5f} per step")
    print(f"wrote appendix_d_lines.png and appendix_d_spiral.png in {args.out}")


if __name__ == "__main__":
    main()
