"""The Fréchet distance on the judge's hidden features, and judging a generator with it.

``minigan.metrics`` (issue 10): :func:`frechet_distance` behaves as a distance should (0 for a
set with itself, growing with a shift, the FID formula computed directly with scipy),
:func:`judge_generated` / :func:`real_baseline` give the numbers of the side-by-side script,
real digits sit far closer to the held-out test digits than a collapsed "generator" does,
``minigan train`` writes the distance into metrics.json, and ``scripts/gan_side_by_side.py``
trains a model on both frameworks with one loop (the PyTorch one proven, in float64, to be the
very training ``GanExperiment.fit`` runs) and writes and tabulates its JSON.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import metrics, models
from minigan.data import load_mnist
from minigan.metrics import (frechet_distance, frechet_distance_images, held_out_digits,
                             judge_generated, load_judge, meets_coverage_bar, real_baseline)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def judge():
    return load_judge()


@pytest.fixture(scope="module")
def baseline(judge):
    return real_baseline(1000, judge=judge, seed=0)


def _direct_frechet(a, b):
    """The FID formula straight from its definition: scipy's general matrix square root."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy_linalg.sqrtm(s_a @ s_b).real
    return float((mu_a - mu_b) @ (mu_a - mu_b) + np.trace(s_a + s_b - 2 * root))


# ============================================================================== the distance
def test_a_set_with_itself_is_at_distance_zero(judge):
    features = judge.features(held_out_digits())
    assert features.shape == (1000, 200)
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance_images(held_out_digits(), held_out_digits(), judge) == pytest.approx(0.0, abs=1e-6)


def test_a_shift_of_the_mean_adds_its_squared_length():
    """Same covariance, means apart by ``v``: the distance is exactly ``|v|^2``, so it grows
    with the shift (quadratically)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    direction = rng.normal(size=6)
    distances = [frechet_distance(a, a + c * direction) for c in (0.0, 0.5, 1.0, 2.0)]
    expected = [c * c * float(direction @ direction) for c in (0.0, 0.5, 1.0, 2.0)]
    np.testing.assert_allclose(distances, expected, rtol=1e-7, atol=1e-8)
    assert distances == sorted(distances) and distances[-1] > 1.0


def test_matches_the_formula_computed_directly_on_small_features():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5)) + 0.7
    assert frechet_distance(a, b) == pytest.approx(_direct_frechet(a, b), rel=1e-7)
    assert frechet_distance(b, a) == pytest.approx(frechet_distance(a, b), rel=1e-9)


def test_matches_the_formula_on_the_judges_features_of_real_digits(judge):
    """On real features too (200 dimensions, ill-conditioned covariances), to 1e-5."""
    train = load_mnist(None, "train").images[:1000]
    a, b = judge.features(train), judge.features(held_out_digits())
    assert frechet_distance(a, b) == pytest.approx(_direct_frechet(a, b), rel=1e-5)


# ============================================================================== judging a generator
def test_held_out_digits_are_the_bundled_test_split():
    images = held_out_digits()
    test = load_mnist(None, "test")
    assert images.shape == (1000, 1, 28, 28) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    np.testing.assert_array_equal(images.reshape(1000, 784) * 255.0, test.images.astype(np.float32))


def test_judge_generated_reports_coverage_distance_and_the_bar(judge):
    real = load_mnist(None, "train")
    report = judge_generated(real.images[:1000], judge=judge)
    assert report["count"] == 1000 and report["frechet_reference_count"] == 1000
    assert report["classes_covered"] == 10 and report["meets_bar"] is True
    assert report["frechet_distance"] == pytest.approx(
        frechet_distance_images(real.images[:1000], held_out_digits(), judge), rel=1e-12)
    # a dataset as the reference: its uint8 pixels read as the same images
    again = judge_generated(real.images[:1000], load_mnist(None, "test"), judge)
    assert again["frechet_distance"] == pytest.approx(report["frechet_distance"], rel=1e-9)


def test_the_bar_is_nine_classes_none_above_a_fifth():
    def report(classes, share):
        return {"classes_covered": classes, "largest_share": share}
    assert meets_coverage_bar(report(9, 0.20)) and meets_coverage_bar(report(10, 0.11))
    assert not meets_coverage_bar(report(8, 0.15)) and not meets_coverage_bar(report(10, 0.201))


def test_real_baseline_is_far_below_a_collapsed_generator(judge, baseline):
    """Real train digits vs the test digits: small. One digit class repeated (a generator
    collapsed onto one mode, with all its real variety kept): many times larger."""
    assert len(baseline["sets"]) == 4 and baseline["count"] == 1000
    assert all(s["classes_covered"] == 10 and s["meets_bar"] for s in baseline["sets"])
    assert 0 < baseline["frechet_distance_min"] <= baseline["frechet_distance_mean"] \
        <= baseline["frechet_distance_max"]
    train = load_mnist(None, "train")
    ones = train.images[train.labels == 1]
    collapsed = judge_generated(ones, judge=judge)
    assert collapsed["classes_covered"] <= 2 and not collapsed["meets_bar"]
    assert collapsed["frechet_distance"] > 10 * baseline["frechet_distance_max"]
    noise = np.random.default_rng(2).uniform(size=(1000, 784)).astype(np.float32)
    assert judge_generated(noise, judge=judge)["frechet_distance"] > collapsed["frechet_distance"]


def test_real_baseline_checks_its_count(judge):
    with pytest.raises(ValueError, match="count must be in 2..4000"):
        real_baseline(5000, judge=judge)


# ============================================================================== minigan train
def test_minigan_train_writes_the_frechet_distance(tmp_path, capsys, baseline):
    from minigan.cli import main
    out = tmp_path / "run"
    assert main(["train", "gan-mlp", "--steps", "3", "--out", str(out), "--no-gif"]) == 0
    printed = capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(m["frechet_distance"]) and m["frechet_distance"] > 0
    assert f"Fréchet distance to the test digits {m['frechet_distance']:.2f}" in printed
    # three steps from random weights: nowhere near real digits
    assert m["frechet_distance"] > 10 * baseline["frechet_distance_max"]


# ============================================================================== the script
@pytest.fixture(scope="module")
def script():
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    spec = importlib.util.spec_from_file_location("gan_side_by_side", ROOT / "scripts" / "gan_side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for k, v in saved.items():   # the script pins one BLAS thread for itself, not for this process
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    return module


def _numpy_seed(size, rng_seed=5):
    """G's seeds from one NumPy sequence, the same on both frameworks (``.reset()`` restarts it)."""
    state = {}

    def seed(torch, batch=None, device=None):
        shape = (size,) if batch is None else (batch, size)
        return torch.from_numpy(state["rng"].uniform(-1, 1, shape).astype(np.float32))

    seed.size = size
    seed.reset = lambda: state.update(rng=np.random.default_rng(rng_seed))
    return seed


@pytest.mark.parametrize("name, steps", [("gan-mlp", 4), ("wgan", 7), ("infogan", 2), ("acgan", 2),
                                         ("sagan", 2)])
def test_the_pytorch_loop_is_the_same_training_as_fit_float64(script, name, steps):
    """With the noise taken out of the two RNGs (the same seeds on both), the script's PyTorch
    loop and minigan's ``GanExperiment.fit`` end on the same weights in float64: the same
    shuffled batches, the same real batches, the same step function and settings."""
    torch = pytest.importorskip("torch")
    model = models.get(name)
    seed_fn = _numpy_seed(model.seed.size)
    model = dataclasses.replace(model, seed=seed_fn)
    if name == "acgan":   # (the frameworks cannot draw the same dropout masks; the labels are Python's)
        model = dataclasses.replace(model, discriminator=functools.partial(model.discriminator, dropout=0.0))
    state = script.initial_state(model, seed=3)
    train = load_mnist(None, "train")
    ends = []
    for fw, fit in ((minigan, script.fit_minigan), (torch, script.fit_torch)):
        seed_fn.reset()
        nets = script.build(model, fw, state, dtype="float64")
        assert fit(model, nets, train, epochs=1, steps=steps, seed=11, dtype="float64") == steps
        ends.append((nets.D.counter, nets.G.counter,
                     {f"{p}.{k}": np.array(v.detach().numpy() if hasattr(v, "detach") else v.numpy())
                      for p, net in (("D", nets.D), ("G", nets.G))
                      for k, v in net.module.state_dict().items()}))
    (d0, g0, ours), (d1, g1, theirs) = ends
    assert (d0, g0) == (d1, g1)
    # a critic (wgan, sagan) steps once a batch and G every n_critic-th; the book's loop D twice
    assert (d0, g0) == ((steps, steps // model.n_critic) if hasattr(model, "n_critic") else (2 * steps, steps))
    moved = 0
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-7, atol=1e-11, err_msg=k)
        moved += not np.allclose(ours[k], state[k[0]][k[2:]])
    assert moved > 0


def test_script_writes_json_and_the_table(script, tmp_path, baseline):
    pytest.importorskip("torch")
    out = tmp_path / "gan_side_by_side_gan-mlp.json"
    assert script.main(["gan-mlp", "--steps", "3", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["model"] == "gan-mlp" and r["seed"] == 0 and r["defaults"] is False
    assert r["command"] == f"python scripts/gan_side_by_side.py gan-mlp --steps 3 --out {out}"
    assert r["threads"]["torch"] == 1 and "cpu" in r["machine"]
    for fw in ("minigan", "torch"):
        f = r["frameworks"][fw]
        assert f["steps"] == 3 and f["d_steps"] == 6 and f["g_steps"] == 3
        assert f["frechet_distance"] > 10 * r["real_baseline"]["frechet_distance_max"]
        assert sum(f["histogram"]) == 1000 and f["train_seconds"] >= 0 and f["train_cpu_seconds"] > 0
        assert len(f["resamples"]) == script.RESAMPLES
        assert all(d["frechet_distance"] > 10 * r["real_baseline"]["frechet_distance_max"]
                   for d in f["resamples"])
    assert r["real_baseline"]["frechet_distance_mean"] == pytest.approx(
        baseline["frechet_distance_mean"], rel=1e-9)
    text = script.table(script.collect([out]))
    row = next(line for line in text.splitlines() if line.startswith("| gan-mlp"))
    assert "(not the defaults)" in row and f"{r['frameworks']['torch']['frechet_distance']:.1f}" in row
    assert "Real vs real" in text and r["command"] in text
    assert "\nMachine: " in text                 # one machine: one plain line
    # rows from two kinds of machine: each line names its rows
    other = dict(r, model="lsgan", seed=1,
                 machine=dict(r["machine"], cpu=dict(r["machine"]["cpu"], family="99", model_number="1")))
    lines = [line for line in script.table([r, other]).splitlines() if line.startswith("Machine")]
    assert len(lines) == 2 and lines[0].startswith("Machine for gan-mlp: ")
    assert lines[1].startswith("Machine for lsgan, seed 1: ") and "family 99 model 1" in lines[1]
