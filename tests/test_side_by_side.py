"""scripts/side_by_side.py: minigan and PyTorch trained side by side from the same start.

A few hundred of the book's steps of the improved classifier (BOOK_SPEC 4.04) on the bundled
MNIST sample, in float64, in this process: both frameworks must end on the same test accuracy
(within 1 point; in fact to the digit) with weights equal to ~1e-9, since the only
difference left is the order of float64 sums. The full runs on Fashion-MNIST are the
script's, with their results in benchmarks/results/side_by_side_*.json.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
STEPS = 300


def _script():
    spec = importlib.util.spec_from_file_location("side_by_side", ROOT / "scripts" / "side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sbs():
    return _script()


@pytest.fixture(scope="module")
def runs(sbs):
    """classifier-improved, 300 steps of the book's loop, float64, from one initial state."""
    train, test = sbs.load_data(None)
    state = sbs.initial_state("classifier-improved", seed=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # batch 1: OpenMP only slows PyTorch down on a shared machine
    try:
        return {fw: sbs.train_and_score("classifier-improved", fw, train, test, state, epochs=1,
                                        steps=STEPS, dtype="float64", keep=True)
                for fw in sbs.FRAMEWORKS}
    finally:
        torch.set_num_threads(threads)


def test_same_start_same_steps(runs):
    for fw, r in runs.items():
        assert r["steps"] == STEPS, fw
        assert r["initial_weights_identical"], fw
        assert r["dtype"] == "float64"
        assert all(w.dtype == np.float64 for w in r["weights"].values())
        assert len(r["progress"]) == STEPS // 10   # the book records every 10th loss


def test_same_accuracy_within_one_point(runs):
    m, t = runs["minigan"]["test_accuracy"], runs["torch"]["test_accuracy"]
    assert abs(m - t) <= 0.01, (m, t)
    assert m > 0.5   # it did learn: 300 steps of Adam take it well past chance (0.1)


def test_nearly_identical_weights_and_losses(runs, sbs):
    m, t = runs["minigan"], runs["torch"]
    assert m["weights"].keys() == t["weights"].keys()
    for k in t["weights"]:
        np.testing.assert_allclose(m["weights"][k], t["weights"][k], rtol=1e-6, atol=1e-9, err_msg=k)
    np.testing.assert_allclose(m["progress"], t["progress"], rtol=1e-6, atol=1e-9)
    c = sbs.compare(runs)
    assert c["within_tolerance"] and c["predictions_agree"] == 1.0
    assert c["final_weights_max_abs_difference"] < 1e-9
    assert c["loss_curve"]["first_step_apart_by_1e-06"] is None


def test_the_weights_moved(runs, sbs):
    """Not a comparison of two untouched copies."""
    start = sbs.initial_state("classifier-improved", seed=3)
    moved = runs["torch"]["weights"]["0.weight"] - start["0.weight"]
    assert np.abs(moved).max() > 1e-3


def test_torch_inputs_are_minigans_numbers(sbs):
    train, _ = sbs.load_data(None)
    images, targets = sbs.torch_inputs(torch, train, torch.float32)
    for i in (0, 1, 1234, len(train) - 1):
        label, image, target = train[i]
        assert np.array_equal(images[i].numpy(), image.numpy())
        assert np.array_equal(targets[i].numpy(), target.numpy())
        assert int(targets[i].argmax()) == label


def test_control_start_is_one_ulp_away(sbs):
    state = sbs.initial_state("cnn-classifier", seed=0)
    for dtype in ("float32", "float64"):
        nudged = sbs.nudged(state, dtype)
        assert nudged.keys() == state.keys()
        for k, v in state.items():
            if v.dtype.kind == "f":
                assert np.array_equal(nudged[k], np.nextafter(v.astype(dtype), np.inf)), k
                assert np.all(nudged[k] > v.astype(dtype)), k
            else:
                assert np.array_equal(nudged[k], v), k   # num_batches_tracked


def test_data_tag(sbs):
    assert sbs.data_tag(None) == "bundled"
    assert sbs.data_tag("fashion-mnist") == "fashion-mnist"
    assert sbs.data_tag("/data/mnist_train.csv") == "mnist_train"


def test_committed_results_are_consistent():
    """The committed full runs: the machine and command are named, the figures consistent."""
    files = sorted((ROOT / "benchmarks" / "results").glob("side_by_side_*.json"))
    if not files:
        pytest.skip("no side_by_side results written yet")
    for f in files:
        r = json.loads(f.read_text())
        assert r["command"].startswith("python scripts/side_by_side.py "), f.name
        assert r["machine"]["cpu"]["model"], f.name
        fws = r["frameworks"]
        for fw in fws.values():
            assert fw["initial_weights_identical"], f.name
            assert fw["test_correct"] == round(fw["test_accuracy"] * r["data"]["test_size"]), f.name
        c = r["comparison"]
        diff = 100 * (fws["minigan"]["test_accuracy"] - fws["torch"]["test_accuracy"])
        assert c["accuracy_difference_points"] == pytest.approx(diff, abs=1e-3), f.name
