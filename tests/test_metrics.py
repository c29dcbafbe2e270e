"""minigan.metrics: class coverage (mode collapse as a number), the Fréchet distance, the judge."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.linalg

import minigan
from minigan.data import bundled_mnist
from minigan.metrics import (JUDGE_PATH, Judge, class_histogram, coverage_report, frechet_distance,
                             frechet_distance_from_moments, frechet_distance_images, load_judge,
                             mode_collapse_report)


# ============================================================================== coverage
def test_uniform_labels_cover_every_class_with_maximal_entropy():
    report = coverage_report(np.repeat(np.arange(10), 100))
    assert report["count"] == 1000
    assert report["histogram"] == [100] * 10
    assert report["classes_covered"] == 10 and report["covered"] == list(range(10))
    assert report["largest_share"] == pytest.approx(0.1)
    assert report["entropy_bits"] == pytest.approx(math.log2(10), abs=1e-12)
    assert report["normalized_entropy"] == pytest.approx(1.0, abs=1e-12)


def test_one_class_is_total_collapse():
    report = coverage_report([7] * 1000)
    assert report["classes_covered"] == 1 and report["covered"] == [7]
    assert report["largest_class"] == 7 and report["largest_share"] == 1.0
    assert report["entropy_bits"] == 0.0 and report["normalized_entropy"] == 0.0
    assert report["histogram"] == [0] * 7 + [1000] + [0] * 2


def test_a_class_counts_as_covered_from_min_share_on():
    labels = [0] * 20 + [1] * 19 + [2] * 961          # 2.0%, 1.9%, 96.1% of 1,000
    default = coverage_report(labels)
    assert default["min_share"] == 0.02
    assert default["covered"] == [0, 2]               # exactly at the threshold counts
    assert coverage_report(labels, min_share=0.019)["covered"] == [0, 1, 2]
    assert coverage_report(labels, min_share=0.021)["covered"] == [2]
    assert coverage_report(labels, min_share=0.0)["classes_covered"] == 10  # even empty ones
    assert default["largest_class"] == 2 and default["largest_share"] == pytest.approx(0.961)


def test_entropy_of_two_equal_classes_is_one_bit():
    report = coverage_report([3, 5] * 50)
    assert report["entropy_bits"] == pytest.approx(1.0)
    assert report["normalized_entropy"] == pytest.approx(1 / math.log2(10))


def test_class_histogram_counts_and_rejects_bad_labels():
    assert class_histogram([0, 0, 4, 9], num_classes=10).tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert class_histogram(np.array([1.0, 2.0]), num_classes=3).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match="0..9"):
        class_histogram([10])
    with pytest.raises(ValueError, match="0..9"):
        class_histogram([-1])
    with pytest.raises(ValueError, match="integers"):
        class_histogram([0.5])
    with pytest.raises(ValueError, match="no labels"):
        coverage_report([])


# ============================================================================== Fréchet distance
def _reference_frechet(a, b):
    """pytorch-fid's computation: scipy's general sqrtm of the product, real part."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _correlated(rng, n, d, shift=0.0):
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + shift


def test_frechet_distance_of_a_set_with_itself_is_zero():
    features = _correlated(np.random.default_rng(0), 500, 16)
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_from_moments_matches_the_diagonal_closed_form():
    # diagonal covariances commute: Tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt(s1) - sqrt(s2))^2
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert expected == pytest.approx(1 + 6.25 + 4 + 1)
    got = frechet_distance_from_moments(mu1, np.diag(s1), mu2, np.diag(s2))
    assert got == pytest.approx(expected, rel=1e-12)


def test_frechet_distance_of_large_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    mu1, mu2 = np.array([0.0, 2.0]), np.array([1.0, 0.0])
    sd1, sd2 = np.array([1.0, 0.5]), np.array([2.0, 0.5])
    a = mu1 + sd1 * rng.standard_normal((200_000, 2))
    b = mu2 + sd2 * rng.standard_normal((200_000, 2))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((sd1 - sd2) ** 2)   # 5 + 1
    assert frechet_distance(a, b) == pytest.approx(expected, abs=0.05)


def test_frechet_distance_matches_scipy_sqrtm_reference_and_is_symmetric():
    rng = np.random.default_rng(2)
    a = _correlated(rng, 400, 12)
    b = _correlated(rng, 300, 12, shift=0.7)
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    assert ab == pytest.approx(_reference_frechet(a, b), rel=1e-7)
    assert ab == pytest.approx(ba, rel=1e-9)
    assert ab > 1.0


def test_frechet_distance_with_singular_covariances_is_finite():
    # fewer samples than features: both covariances are singular, eigenvalues ~0 and below
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(5, 40)), rng.normal(size=(6, 40)) + 0.1
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value >= 0.0
    assert value == pytest.approx(_reference_frechet(a, b), rel=1e-6)


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="features"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((10, 3)))


# ============================================================================== the shipped judge
@pytest.fixture(scope="module")
def judge():
    return load_judge()


@pytest.fixture(scope="module")
def test_set():
    return bundled_mnist("test")


def _unit(images):
    return images.astype(np.float32) / 255.0


def test_weight_file_is_small_and_holds_no_pickled_objects():
    assert JUDGE_PATH.stat().st_size < 1_000_000
    with np.load(JUDGE_PATH, allow_pickle=False) as npz:
        members = {name: npz[name] for name in npz.files}   # raises on any pickled member
    arrays = {k: v for k, v in members.items() if isinstance(v, np.ndarray)}
    assert len(arrays) == 6                           # 2 Linear layers, 1 LayerNorm: W and b each
    assert all(a.dtype == np.float32 for a in arrays.values())   # no object dtype, no float64
    assert set(members) - set(arrays) == {"__minigan__.json"}     # the rest is JSON text
    checkpoint = minigan.load(JUDGE_PATH)
    assert checkpoint["format"] == "minigan.judge"
    assert checkpoint["architecture"] == "book 4.04 improved classifier"
    assert checkpoint["command"].startswith("python scripts/train_judge.py")


def test_judge_reproduces_its_recorded_accuracy(judge, test_set):
    assert load_judge() is judge                      # cached
    predicted = judge.predict(_unit(test_set.images))
    accuracy = float(np.mean(predicted == test_set.labels))
    assert accuracy >= judge.accuracy - 1e-9
    assert accuracy >= 0.93
    assert predicted.dtype == np.int64 and predicted.shape == (1000,)


def test_judge_reads_every_image_layout(judge, test_set):
    images = _unit(test_set.images[:50])
    expected = judge.predict(images)
    assert np.array_equal(judge.predict(images.reshape(50, 28, 28)), expected)
    assert np.array_equal(judge.predict(images.reshape(50, 1, 28, 28)), expected)
    assert np.array_equal(judge.predict(minigan.tensor(images)), expected)
    assert np.array_equal(judge.predict(test_set.images[:50]), expected)   # uint8 pixels
    assert np.array_equal(judge.predict(images.astype(np.float64)), expected)
    with pytest.raises(ValueError, match="28x28"):
        judge.predict(np.zeros((3, 100)))


def test_judge_features_are_the_layer_norm_outputs(judge, test_set):
    features = judge.features(_unit(test_set.images))
    assert features.shape == (1000, 200) and features.dtype == np.float64
    # LayerNorm with its learnt affine: feeding the features to the head gives the scores
    with minigan.no_grad():
        scores = judge.module[3:](minigan.tensor(features.astype(np.float32))).numpy()
    assert np.array_equal(scores.argmax(1), judge.predict(_unit(test_set.images)))


def test_real_digits_cover_all_classes(judge, test_set):
    report = mode_collapse_report(_unit(test_set.images), judge)
    assert report["classes_covered"] == 10
    assert report["largest_share"] < 0.2
    assert report["entropy_bits"] > 3.2
    assert report["judge_accuracy"] == judge.accuracy


def test_copies_of_one_digit_are_total_mode_collapse(judge, test_set):
    one = _unit(test_set.images[:1])
    report = mode_collapse_report(np.repeat(one, 1000, axis=0), judge)
    assert report["classes_covered"] == 1
    assert report["largest_share"] == 1.0 and report["entropy_bits"] == 0.0
    assert report["largest_class"] == judge.predict(one)[0]


def test_frechet_distance_separates_real_digits_from_noise(judge, test_set):
    real = _unit(test_set.images)
    noise = np.random.default_rng(4).uniform(size=(1000, 784)).astype(np.float32)
    between_halves = frechet_distance_images(real[:500], real[500:], judge)
    against_noise = frechet_distance_images(real[:500], noise[:500], judge)
    assert 10 * between_halves < against_noise


def test_a_judge_round_trips_through_its_file(tmp_path, judge, test_set):
    path = tmp_path / "judge.npz"
    minigan.save({"format": "minigan.judge", "state_dict": judge.module.state_dict(),
                  "test_accuracy": 0.5}, path)
    again = load_judge(path)
    assert isinstance(again, Judge) and again is not judge and again.accuracy == 0.5
    images = _unit(test_set.images[:100])
    assert np.array_equal(again.scores(images), judge.scores(images))
    minigan.save({"format": "something else"}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="not a judge"):
        Judge.from_file(tmp_path / "other.npz")


def test_metrics_does_not_load_plotting_or_table_libraries():
    code = ("import sys, minigan; assert 'minigan.metrics' not in sys.modules; "
            "import minigan.metrics; "
            "print(sorted(m for m in ('matplotlib', 'pandas', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
