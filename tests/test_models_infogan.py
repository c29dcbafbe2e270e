"""InfoGAN (minigan.models.infogan): its latent, its split optimisers, its step against
PyTorch's in float64, the matching that turns Q's codes into digits, and `minigan train infogan`."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import minigan
from minigan import models
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.models import infogan
from minigan.models.infogan import CATEGORIES, CONTINUOUS, INFOGAN, LATENT, NOISE, codes_of, latent
from minigan.models.infogan_codes import best_matching, code_grids, matched_accuracy, q_reading
from minigan.training import info_generator_step, infogan_step

from device_params import NOT_NUMPY
from twins import assert_same_weights, float64_twins, state_arrays

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


def _count(params):
    return sum(p.numel() for p in params)


# ============================================================================== the model
def test_registered_with_the_papers_sizes():
    assert models.get("infogan") is INFOGAN and "infogan" in models.NAMES
    nets = INFOGAN.build()
    D, G = nets.D.module, nets.G.module
    assert (_count(D.parameters()), _count(G.parameters())) == INFOGAN.parameters
    assert _count(D.q_head.parameters()) == 132_876
    assert LATENT == 74 and (NOISE, CATEGORIES, CONTINUOUS) == (62, 10, 2)
    x = minigan.rand(5, 784)
    assert G(latent(minigan, 5)).shape == (5, 784)
    D.eval()     # (BatchNorm by its running statistics: the two passes see the same numbers)
    with minigan.no_grad():
        d, logits, values = D.with_codes(x)
        alone = D(x)
    assert (d.shape, logits.shape, values.shape) == ((5, 1), (5, 10), (5, 2))
    assert 0 < d.min().item() and d.max().item() < 1
    np.testing.assert_array_equal(alone.numpy(), d.numpy())   # forward is D's head alone


def test_same_layers_on_torch():
    for build in (infogan.discriminator, infogan.generator):
        ours, theirs = build(minigan), build(torch)
        assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
        assert list(ours.state_dict()) == list(theirs.state_dict())


def test_optimisers_split_the_parameters():
    """D's optimiser steps D's body and head; G's steps G and Q's head: every parameter once."""
    nets = INFOGAN.build()
    D, G = nets.D.module, nets.G.module
    d_ids = {id(p) for group in nets.D.optimiser.param_groups for p in group["params"]}
    g_ids = {id(p) for group in nets.G.optimiser.param_groups for p in group["params"]}
    assert not d_ids & g_ids
    assert d_ids == {id(p) for p in list(D.body.parameters()) + list(D.d_head.parameters())}
    assert g_ids == {id(p) for p in list(G.parameters()) + list(D.q_head.parameters())}
    assert nets.D.optimiser.param_groups[0]["lr"] == 2e-4 and nets.G.optimiser.param_groups[0]["lr"] == 1e-3


def test_latent_holds_a_one_hot_code_and_two_uniform_numbers():
    minigan.manual_seed(3)
    seed = latent(minigan, 2000)
    assert seed.shape == (2000, 74)
    c1, c23 = codes_of(seed)
    c1, c23 = c1.numpy(), c23.numpy()
    assert set(np.unique(c1)) == {0.0, 1.0} and (c1.sum(axis=1) == 1).all()
    assert np.bincount(c1.argmax(axis=1), minlength=10).min() > 150      # all ten, about evenly
    assert -1 <= c23.min() and c23.max() < 1 and abs(c23.mean()) < 0.05
    assert abs(seed.numpy()[:, :62].std() - 1) < 0.02
    fixed = latent(minigan, 4, categories=[7, 0, 7, 3])
    np.testing.assert_array_equal(codes_of(fixed)[0].numpy().argmax(axis=1), [7, 0, 7, 3])
    assert latent(minigan).shape == (74,)
    minigan.manual_seed(3)
    np.testing.assert_array_equal(latent(minigan, 2000).numpy(), seed.numpy())


# ============================================================================== the step
@pytest.mark.slow
def test_steps_match_torch_float64():
    """Five iterations of infogan_step (BCE for D; BCE + cross entropy + MSE through Q for G,
    stepped by G's optimiser that also holds Q's head) on both frameworks from the same weights,
    reals and latents: the same losses and every weight and running statistic."""
    ours, theirs = float64_twins(INFOGAN)
    steps, batch = 5, 16
    reals = bundled_mnist("train").images[:steps * batch].astype(np.float64).reshape(steps, batch, 784) / 255.0
    rng = np.random.default_rng(4)
    seeds = []
    for _ in range(steps):
        pair = []
        for _ in range(2):
            z = rng.standard_normal((batch, NOISE))
            c1 = np.eye(CATEGORIES)[rng.integers(0, CATEGORIES, batch)]
            pair.append(np.concatenate([z, c1, rng.uniform(-1, 1, (batch, CONTINUOUS))], axis=1))
        seeds.append(pair)
    losses = {}
    for fw, nets in ((minigan, ours), (torch, theirs)):
        ones, zeros = fw.ones(batch, 1, dtype=fw.float64), fw.zeros(batch, 1, dtype=fw.float64)
        losses[fw.__name__] = [
            [loss.item() for loss in infogan_step(fw, nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a),
                                                  fw.from_numpy(b), ones, zeros, codes=codes_of)]
            for real, (a, b) in zip(reals, seeds)]
    np.testing.assert_allclose(losses["minigan"], losses["torch"], rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-10)


def test_info_loss_is_cross_entropy_plus_weighted_mse():
    """G's loss, recomputed by hand from the networks' outputs (Q's targets are the latent's
    own code); and Q's head moves under G's optimiser while D's body and head do not."""
    minigan.manual_seed(1)
    nets = INFOGAN.build(minigan, dtype=minigan.float64)
    seed = latent(minigan, 8).to(minigan.float64)
    with minigan.no_grad():   # the same batch statistics as the step's own pass
        d, logits, values = (a.numpy() for a in nets.D.module.with_codes(nets.G.module(seed)))
    before = state_arrays(nets.D.module)
    loss = info_generator_step(minigan, nets.G, nets.D, seed, minigan.ones(8, 1, dtype=minigan.float64),
                                       codes=codes_of, lambda_cat=1.0, lambda_con=0.1).item()
    c1, c23 = (a.numpy() for a in codes_of(seed))
    log_softmax = logits - logits.max(1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(1, keepdims=True))
    expected = (-np.log(d).mean() - (c1 * log_softmax).sum(1).mean() + 0.1 * ((values - c23) ** 2).mean())
    assert loss == pytest.approx(expected, rel=1e-12)
    after = state_arrays(nets.D.module)
    moved = {k for k in before if k.split(".")[0] in ("body", "d_head") and k.endswith(("weight", "bias"))
             and not np.array_equal(before[k], after[k])}
    assert not moved
    assert not np.array_equal(before["q_head.0.weight"], after["q_head.0.weight"])


# ============================================================================== codes as classes
def test_best_matching_is_the_best_permutation():
    rng = np.random.default_rng(0)
    for k in (1, 2, 3, 5, 7):
        for _ in range(5):
            counts = rng.integers(0, 20, (k, k))
            match = best_matching(counts)
            assert sorted(match) == list(range(k))
            best = max(sum(counts[r, p[r]] for r in range(k)) for p in itertools.permutations(range(k)))
            assert sum(counts[r, match[r]] for r in range(k)) == best


def test_best_matching_agrees_with_scipy_at_ten():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(1)
    for _ in range(10):
        counts = rng.integers(0, 100, (10, 10))
        rows, cols = scipy_optimize.linear_sum_assignment(counts, maximize=True)
        match = best_matching(counts)
        assert sum(counts[r, match[r]] for r in range(10)) == counts[rows, cols].sum()
    with pytest.raises(ValueError, match="square"):
        best_matching(np.zeros((2, 3)))


def test_matched_accuracy_of_relabelled_classes():
    labels = np.repeat(np.arange(10), 7)
    permuted = np.array([3, 1, 4, 0, 5, 9, 2, 6, 8, 7])[labels]
    report = matched_accuracy(permuted, labels)
    assert report["accuracy"] == 1.0 and report["majority_accuracy"] == 1.0
    assert [report["code_to_label"][c] for c in permuted[::7]] == list(range(10))
    merged = np.where(labels < 2, 0, labels)   # codes 0 and 1 both mean "0 or 1": one is lost
    report = matched_accuracy(merged, labels)
    assert report["accuracy"] == pytest.approx(63 / 70) and report["majority_accuracy"] == pytest.approx(63 / 70)


def test_q_reading_leaves_the_running_statistics_alone():
    minigan.manual_seed(2)
    D = infogan.discriminator()
    before = state_arrays(D)
    codes = q_reading(D, minigan.rand(30, 784), batch=12)
    assert codes.shape == (30,) and codes.dtype.kind == "i" and 0 <= codes.min() and codes.max() < 10
    after = state_arrays(D)
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_code_grids():
    grids = code_grids(columns=4)
    codes = grids["codes"].numpy()
    assert codes.shape == (40, 74)
    np.testing.assert_array_equal(codes[:, 62:72].argmax(1), np.repeat(np.arange(10), 4))
    np.testing.assert_array_equal(codes[:4, :62], codes[36:, :62])      # column j: one z down the rows
    assert (codes[:, 72:] == 0).all()
    c2 = grids["c2"].numpy()
    assert (c2[:, :62] == c2[0, :62]).all()                             # one z for the whole sweep
    np.testing.assert_allclose(c2[:4, 72], np.linspace(-2, 2, 4))
    assert (c2[:, 73] == 0).all()
    np.testing.assert_allclose(grids["c3"].numpy()[:4, 73], np.linspace(-2, 2, 4), rtol=1e-6)


# ============================================================================== the command line
def test_train_writes_the_code_pictures_and_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "infogan", "--steps", "2", "--out", str(out), "--no-gif"]) == 0   # (not quiet: the lines)
    said = capsys.readouterr().out
    assert "Q's code c1 as a classifier of the 1,000 held-out items" in said
    assert {"codes.png", "code_c2.png", "code_c3.png", "samples.png", "model.npz"} <= {p.name for p in out.iterdir()}
    from PIL import Image
    assert Image.open(out / "codes.png").size == (10 * 30 + 2, 10 * 30 + 2)   # 10 x 10 digits, 2 px apart
    codes = json.loads((out / "metrics.json").read_text())["codes"]
    assert codes["real"]["count"] == 1000 and 0 <= codes["real"]["accuracy"] <= 1
    assert sorted(codes["real"]["code_to_label"]) == list(range(10))
    generated = codes["generated"]
    assert [r["code"] for r in generated["per_code"]] == list(range(10))
    assert np.asarray(generated["counts"]).sum(axis=1).tolist() == [100] * 10
    assert 1 <= generated["distinct_digits"] <= 10
    assert main(["sample", str(out / "model.npz"), "--count", "4", "--out", str(tmp_path / "s.npz")]) == 0
    assert np.load(tmp_path / "s.npz")["images"].shape == (4, 1, 28, 28)
    assert main(["sample", str(out / "model.npz"), "--count", "3", "--code", "7", "--out", str(tmp_path / "c.npz")]) == 0
    saved = np.load(tmp_path / "c.npz")
    assert saved["images"].shape == (3, 1, 28, 28) and int(saved["code"]) == 7
    capsys.readouterr()
    assert main(["sample", str(out / "model.npz"), "--code", "10", "--out", str(tmp_path / "c.png")]) == 2
    assert "code c1 takes the values 0..9, not --code 10" in capsys.readouterr().err


def test_sample_with_a_code_draws_it_among_random_latents():
    """``sample(code=k)``: every latent carries c1 = k, and each image is what G draws for it
    inside a batch of ordinary latents (BatchNorm in training mode normalises by the batch)."""
    minigan.manual_seed(5)
    G = infogan.generator()
    minigan.manual_seed(6)
    images = INFOGAN.sample(G, 3, code=4)
    minigan.manual_seed(6)
    seeds = latent(minigan, 3, categories=[4, 4, 4])
    assert (codes_of(seeds)[0].numpy().argmax(1) == 4).all()
    batch = minigan.cat((seeds, latent(minigan, 997)), dim=0)
    np.testing.assert_array_equal(images, INFOGAN.generate(G, batch)[:3])
    alone = INFOGAN.generate(G, seeds)          # normalised against themselves: other pictures
    assert np.abs(alone - images).max() > 0.05
    with pytest.raises(ValueError, match="0..9, not 10"):
        INFOGAN.sample(G, 2, code=10)


def test_refuses_batches_of_one(tmp_path):
    with pytest.raises(ValueError, match="--batch-size must be at least 2"):
        INFOGAN.iteration(INFOGAN.build(), bundled_mnist("train"), 0, None, None, None)


@pytest.mark.slow
def test_example_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "beyond_infogan.py"
    done = subprocess.run([sys.executable, str(path), "--steps", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "of the 1000 held-out digits right" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code_c2.png", "code_c3.png", "codes.png",
                                                         "infogan_losses.png"]


@pytest.mark.parametrize("device", NOT_NUMPY)
def test_train_sample_and_d_test_on_other_devices(device, tmp_path):
    """Everything InfoGAN adds (latents, the step, the code pictures and report, sampling a
    code, the batched D test) on array-api-strict (which found an out-of-range slice stop) and
    on CUDA where there is one."""
    out = tmp_path / "run"
    assert main(["train", "infogan", "--device", device, "--steps", "2", "--quiet", "--no-gif",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["codes"]["real"]["count"] == 1000
    assert main(["sample", str(out / "model.npz"), "--code", "2", "--count", "3", "--device", device,
                 "--out", str(tmp_path / "c.npz")]) == 0
    assert main(["train", "infogan", "--device", device, "--discriminator-test", "--steps", "2",
                 "--quiet", "--out", str(tmp_path / "d")]) == 0
