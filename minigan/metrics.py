"""Mode collapse as a number, and image quality: class coverage and the Fréchet distance.

A GAN that has collapsed draws the same few digits whatever its seed. To see that without
looking at pictures, a *judge* - a classifier trained on real digits - labels a batch of
generated images, and :func:`coverage_report` summarises the labels: how many classes hold a
fair share of them, the biggest class's share, and the Shannon entropy of the histogram
(log2(10) = 3.32 bits when every digit is equally common, 0 when all are one digit)::

    >>> from minigan.metrics import coverage_report
    >>> coverage_report([3] * 1000)["classes_covered"], coverage_report(range(10))["entropy_bits"]
    (1, 3.321928094887362)

The judge's hidden features also measure how *real* the images look: the Fréchet distance
between Gaussians fitted to the features of real and generated images (the FID formula, on
this small classifier's 200 features instead of Inception's 2048, so the numbers compare
runs of minigan with each other, not with published FIDs).

The judge is the book's improved classifier (section 1.3, BOOK_SPEC 4.04) trained by
``scripts/train_judge.py`` on the bundled real MNIST sample; its weights ship as
``minigan/data/judge_classifier.npz`` (a minigan checkpoint: a zip of ``.npy`` files and
JSON, never a pickle). This module is not imported by ``import minigan``.
"""
from __future__ import annotations

import functools
import math
import os
from pathlib import Path

import numpy as np

import minigan

__all__ = ["class_histogram", "coverage_report", "Judge", "load_judge", "mode_collapse_report",
           "frechet_distance", "frechet_distance_from_moments", "frechet_distance_images",
           "held_out_digits", "judge_generated", "real_baseline", "meets_coverage_bar",
           "JUDGE_PATH", "JUDGE_FORMAT", "BAR_CLASSES", "BAR_LARGEST_SHARE"]

JUDGE_PATH = Path(__file__).resolve().parent / "data" / "judge_classifier.npz"
JUDGE_FORMAT = "minigan.judge"
#: A class counts as covered when it holds at least this share of the samples. One sample in
#: 1,000 would be too lenient: a collapsed GAN still strays into most classes now and then.
MIN_SHARE = 0.02


# ============================================================================== class coverage
def class_histogram(labels, num_classes: int = 10) -> np.ndarray:
    """Counts of each class 0 .. num_classes-1 in ``labels`` (int64 array of num_classes)."""
    labels = np.asarray(labels).reshape(-1)
    if labels.size and labels.dtype.kind not in "iu":
        if labels.dtype.kind != "f" or not np.all(labels == np.round(labels)):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}, found "
                         f"{labels.min()}..{labels.max()}")
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def coverage_report(labels, num_classes: int = 10, min_share: float = MIN_SHARE) -> dict:
    """How evenly ``labels`` spread over the classes; the numbers of mode collapse.

    ``classes_covered`` counts the classes holding at least ``min_share`` of the samples
    (``covered`` lists them); ``largest_class`` / ``largest_share`` name the most common
    class and its share; ``entropy_bits`` is the Shannon entropy of the histogram in bits
    (at most log2(num_classes)) and ``normalized_entropy`` that divided by its maximum.
    """
    histogram = class_histogram(labels, num_classes)
    count = int(histogram.sum())
    if count == 0:
        raise ValueError("coverage_report: no labels to count")
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be in [0, 1], got {min_share}")
    shares = histogram / count
    # division, not `count >= min_share * total`: 20/1000 rounds to exactly the float 0.02,
    # so a class right at the threshold counts, whereas 0.02*1000 may round above 20
    covered = [int(c) for c in np.flatnonzero(shares >= min_share)]
    nonzero = shares[shares > 0]
    entropy = float(-np.sum(nonzero * np.log2(nonzero)))
    largest = int(np.argmax(histogram))
    return {
        "count": count,
        "histogram": [int(h) for h in histogram],
        "min_share": float(min_share),
        "classes_covered": len(covered),
        "covered": covered,
        "largest_class": largest,
        "largest_share": float(shares[largest]),
        "entropy_bits": entropy + 0.0,  # -0.0 -> 0.0 when every label is one class
        "normalized_entropy": entropy / math.log2(num_classes) + 0.0 if num_classes > 1 else 0.0,
    }


# ============================================================================== the judge
def _as_batch(images) -> np.ndarray:
    """(N, 784), (N, 28, 28) or (N, 1, 28, 28) images, arrays or Tensors, as float32 (N, 784).

    Float images are read as values in [0, 1]; uint8 ones as pixels 0-255 (divided by 255,
    as the data loaders do).
    """
    if isinstance(images, minigan.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images)
    if images.ndim < 2 or images[0].size != 784:
        raise ValueError(f"the judge reads a batch of 28x28 images: (N, 784), (N, 28, 28) or "
                         f"(N, 1, 28, 28), got shape {images.shape}")
    if images.dtype == np.uint8:
        return images.reshape(len(images), 784).astype(np.float32) / np.float32(255.0)
    return np.ascontiguousarray(images.reshape(len(images), 784), dtype=np.float32)


class Judge:
    """A classifier of real digits that labels images and gives their hidden features.

    ``module`` is the book's improved classifier (Linear, LeakyReLU, LayerNorm, Linear,
    Sigmoid). The features are the LayerNorm's 200 outputs: the last layer before the
    class scores, the most "semantic" representation the network has.
    """

    #: images per forward pass: bounded memory for any number of images
    CHUNK = 4096

    def __init__(self, module, accuracy: float = float("nan"), info: dict | None = None):
        self.module = module
        self.accuracy = float(accuracy)  # recorded test accuracy on the bundled test split
        self.info = dict(info or {})
        self._body = module[:3]          # Linear, LeakyReLU, LayerNorm: the feature extractor
        self._head = module[3:]          # Linear, Sigmoid

    @classmethod
    def from_file(cls, path) -> "Judge":
        from .book.classifier import improved_classifier

        checkpoint = minigan.load(path)
        if not isinstance(checkpoint, dict) or checkpoint.get("format") != JUDGE_FORMAT:
            raise ValueError(f"{path}: not a judge's weight file (format {JUDGE_FORMAT!r})")
        module = improved_classifier(minigan)
        module.load_state_dict(checkpoint["state_dict"])
        module.eval()
        info = {k: v for k, v in checkpoint.items() if k != "state_dict"}
        return cls(module, checkpoint["test_accuracy"], info)

    def _run(self, images, layers) -> np.ndarray:
        x = _as_batch(images)
        out = []
        with minigan.no_grad():
            for start in range(0, len(x), self.CHUNK):
                out.append(layers(minigan.from_numpy(x[start:start + self.CHUNK])).numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def features(self, images) -> np.ndarray:
        """The LayerNorm's outputs, (N, 200) float64 (computed in float32, as trained)."""
        return self._run(images, self._body).astype(np.float64).reshape(-1, 200)

    def scores(self, images) -> np.ndarray:
        """The 10 sigmoid outputs per image, (N, 10) float32."""
        return self._run(images, self.module).reshape(-1, 10)

    def predict(self, images) -> np.ndarray:
        """The judged class of each image (argmax of the scores), int64 (N,)."""
        return self.scores(images).argmax(axis=1).astype(np.int64)

    def __repr__(self):
        return f"Judge(book 4.04 improved classifier, test accuracy {self.accuracy:.4f})"


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> Judge:
    return Judge.from_file(path)


def load_judge(path=None) -> Judge:
    """The judge from ``path`` (default: the shipped ``minigan/data/judge_classifier.npz``).

    Loaded once per path and shared: treat it as read-only.
    """
    return _load_cached(os.path.abspath(os.fspath(JUDGE_PATH if path is None else path)))


def mode_collapse_report(images, judge: Judge | None = None, min_share: float = MIN_SHARE) -> dict:
    """:func:`coverage_report` of the judge's labels for ``images``, plus ``judge_accuracy``.

    Healthy MNIST generators cover all 10 digits with entropy near 3.3 bits; a collapsed one
    covers one or two with the largest share near 1.
    """
    judge = judge if judge is not None else load_judge()
    report = coverage_report(judge.predict(images), 10, min_share)
    report["judge_accuracy"] = judge.accuracy
    return report


# ============================================================================== Fréchet distance
def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix by its eigen-decomposition.

    Round-off can leave eigenvalues of a PSD matrix slightly negative (a covariance of fewer
    samples than features is singular); they are clipped to 0 instead of giving NaNs.
    """
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance_from_moments(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``|mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``.

    The product sigma1 sigma2 is not symmetric, so a general matrix square root (Schur, as
    ``scipy.linalg.sqrtm``) is slow and leaves spurious imaginary parts. But with
    ``s = sigma1^(1/2)``, ``sigma1 sigma2 = s (s sigma2 s) s^-1`` is similar to the symmetric
    PSD matrix ``s sigma2 s``: same eigenvalues, so the same trace of the square root. The
    trace is then the sum of the square roots of that matrix's eigenvalues, from ``eigh``,
    real by construction (tiny negative ones from round-off clipped to 0).
    """
    mu1 = np.atleast_1d(np.asarray(mu1, np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"frechet_distance: means and covariances must be (D,) and (D, D) of one "
                         f"D, got {mu1.shape}, {sigma1.shape}, {mu2.shape}, {sigma2.shape}")
    s = _sqrtm_psd((sigma1 + sigma1.T) / 2)
    middle = s @ sigma2 @ s
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt = float(np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None))))
    diff = mu1 - mu2
    distance = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    return max(distance, 0.0)  # it is a squared distance; round-off can dip just below 0


def _moments(features, name):
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"frechet_distance: {name} must be (N, D) with N >= 2, got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (the FID formula).

    Means and unbiased covariances (ddof=1, as pytorch-fid) of each set, then
    :func:`frechet_distance_from_moments`. Symmetric; 0 for identical sets.
    """
    mu_a, sigma_a = _moments(features_a, "features_a")
    mu_b, sigma_b = _moments(features_b, "features_b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"frechet_distance: the feature sets have {mu_a.shape[0]} and "
                         f"{mu_b.shape[0]} features")
    return frechet_distance_from_moments(mu_a, sigma_a, mu_b, sigma_b)


def frechet_distance_images(images_a, images_b, judge: Judge | None = None) -> float:
    """Fréchet distance between two batches of images, on the judge's 200 hidden features."""
    judge = judge if judge is not None else load_judge()
    return frechet_distance(judge.features(images_a), judge.features(images_b))


# ============================================================================== judging a generator
#: The issue's bar for an MNIST GAN at its defaults: at least this many of the 10 classes
#: among 1,000 samples, none above this share.
BAR_CLASSES = 9
BAR_LARGEST_SHARE = 0.20


def held_out_digits(data=None) -> np.ndarray:
    """The test split of ``data`` (default: the bundled sample's 1,000 held-out digits) as
    (N, 1, 28, 28) float32 images in [0, 1]: what generated digits are compared with.

    The judge was trained on the *train* split, so the test digits are as new to it as
    generated ones are (``minigan.data.load_mnist(data, "test")``).
    """
    from .data import load_mnist
    test = load_mnist(data, split="test")
    return test.images.reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255.0)


def meets_coverage_bar(report: dict) -> bool:
    """The issue's bar: >= 9 of 10 classes covered and the largest class at most 20 %."""
    return (report["classes_covered"] >= BAR_CLASSES
            and report["largest_share"] <= BAR_LARGEST_SHARE + 1e-12)


def judge_generated(images, reference=None, judge: Judge | None = None,
                    min_share: float = MIN_SHARE) -> dict:
    """Everything the judge says about a batch of generated digits, in one dict.

    The :func:`mode_collapse_report` of ``images`` (class coverage, largest share, entropy,
    ``judge_accuracy``), plus ``frechet_distance``: the Fréchet distance between the judge's
    hidden features (its LayerNorm's 200 outputs, :meth:`Judge.features`) of ``images`` and
    of ``reference`` - real digits, by default :func:`held_out_digits` (the bundled test
    split) - and ``meets_bar`` (:func:`meets_coverage_bar`). ``reference`` may be images in
    any form :func:`frechet_distance_images` reads, or a dataset with an ``images`` array
    (uint8 pixels, as ``load_mnist`` gives).
    """
    judge = judge if judge is not None else load_judge()
    if reference is None:
        reference = held_out_digits()
    reference = getattr(reference, "images", reference)
    report = mode_collapse_report(images, judge, min_share)
    report["frechet_distance"] = frechet_distance_images(images, reference, judge)
    report["frechet_reference_count"] = int(len(reference))
    report["meets_bar"] = meets_coverage_bar(report)
    return report


def real_baseline(count: int = 1000, data=None, judge: Judge | None = None, seed: int = 0) -> dict:
    """The scale for :func:`judge_generated`'s numbers: *real* train digits judged the same way.

    The train split (default: the bundled sample's 4,000) is shuffled with
    ``numpy.random.default_rng(seed)`` and cut into disjoint sets of ``count``; each is
    judged against the held-out test split exactly as a generator's ``count`` samples are.
    The Fréchet distance of real against real is not 0 - two finite samples of one
    distribution differ, and the estimate is biased upwards for small ``count`` - so this is
    the best a generator can hope for at this sample size. Returns the per-set reports
    (``sets``) and the mean / min / max of their Fréchet distances.
    """
    from .data import load_mnist
    judge = judge if judge is not None else load_judge()
    train = load_mnist(data, split="train")
    if count < 2 or count > len(train):
        raise ValueError(f"real_baseline: count must be in 2..{len(train)} (the train split), "
                         f"got {count}")
    reference = held_out_digits(data)
    order = np.random.default_rng(seed).permutation(len(train))
    sets = []
    for start in range(0, len(train) - count + 1, count):
        images = train.images[order[start:start + count]]
        sets.append(judge_generated(images, reference, judge))
    distances = [s["frechet_distance"] for s in sets]
    return {"what": f"{len(sets)} disjoint sets of {count} real train digits (shuffled with "
                    f"default_rng({seed})) against the {len(reference)} held-out test digits",
            "count": count, "train_source": train.source, "seed": seed,
            "frechet_distance_mean": float(np.mean(distances)),
            "frechet_distance_min": float(np.min(distances)),
            "frechet_distance_max": float(np.max(distances)),
            "sets": sets}
