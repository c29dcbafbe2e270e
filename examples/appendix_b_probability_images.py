"""Appendix B: new images drawn from per-pixel probabilities (notebook Appendix_B_generate).

Run:  python examples/appendix_b_probability_images.py [--out DIR]

Eight 3 x 3 training images are summarised by how often each pixel is on; a new image switches
each pixel on with that probability, ceil(p - u) for u uniform in [0, 1). Writes the counts
(cmap Reds) and the book's 4 x 6 grid of samples.
"""
import argparse
import os

import minigan
from minigan.book import appendix_b


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    minigan.manual_seed(0)

    probs = appendix_b.probabilities()            # counts / 8
    print("probabilities:\n", probs)
    samples = appendix_b.sample_images(probs, appendix_b.GRID_ROWS * appendix_b.GRID_COLS)
    appendix_b.plot_counts(path=os.path.join(args.out, "appendix_b_counts.png"))
    appendix_b.plot_samples(samples, os.path.join(args.out, "appendix_b_samples.png"))
    many = appendix_b.sample_images(probs, 10_000)
    print("share of 10,000 samples with each pixel on:\n", many.mean(axis=0).round(3))
    print(f"wrote appendix_b_counts.png and appendix_b_samples.png in {args.out}")


if __name__ == "__main__":
    main()
