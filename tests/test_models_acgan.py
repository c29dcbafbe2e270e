"""ACGAN (minigan.models.acgan): its two-headed D, its step against PyTorch's in float64, its
losses by hand, pictures drawn among a crowd, D's class head read on held-out digits, and
`minigan train acgan` / `minigan sample --label`."""
from __future__ import annotations

import dataclasses
import functools
import json
import random

import numpy as np
import pytest

import minigan
from minigan import models
from minigan.backend import host_generator
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.experiment import ConditionalGanExperiment
from minigan.models import acgan
from minigan.models.acgan import ACGAN, CROWD, LATENT, class_reading
from minigan.training import acgan_generator_step, acgan_step, classifying_step

from device_params import NOT_NUMPY
from twins import assert_same_weights, float64_twins, state_arrays

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)

#: the model with D's Dropout2d at p = 0: the two frameworks cannot draw the same masks
NO_DROPOUT = dataclasses.replace(ACGAN, discriminator=functools.partial(acgan.discriminator, dropout=0.0))


def _one_hot(labels):
    return np.eye(10)[np.asarray(labels)]


# ============================================================================== the model
def test_registered_conditional_with_the_tutorials_settings():
    assert models.get("acgan") is ACGAN and ACGAN.conditional and not ACGAN.book_model
    nets = ACGAN.build()
    D, G = nets.D.module, nets.G.module
    assert [m.p for m in D.modules() if type(m).__name__ == "Dropout2d"] == [0.25] * 4
    assert [m.eps for m in D.modules() if type(m).__name__ == "BatchNorm2d"] == [0.8] * 3   # the quirk
    assert [m.eps for m in G.modules() if type(m).__name__ == "BatchNorm2d"] == [1e-5, 0.8, 0.8]
    group = nets.D.optimiser.param_groups[0]
    assert group["lr"] == 2e-4 and tuple(group["betas"]) == (0.5, 0.999) and ACGAN.batch_size == 64
    assert nets.G.optimiser.param_groups[0]["lr"] == 2e-4
    # weights_init_normal: convolutions N(0, 0.02), BatchNorm scales N(1, 0.02)
    conv = np.concatenate([m.weight.detach().numpy().ravel() for m in G.modules() if type(m).__name__ == "Conv2d"])
    assert abs(conv.std() - 0.02) < 0.001 and abs(conv.mean()) < 0.001
    scale = np.concatenate([m.weight.detach().numpy() for m in D.modules() if type(m).__name__ == "BatchNorm2d"])
    assert abs(scale.mean() - 1) < 0.01 and 0.01 < scale.std() < 0.03


def test_two_heads_on_one_body_and_the_label_choosing_the_picture():
    minigan.manual_seed(0)
    D, G = acgan.discriminator(), acgan.generator()
    D.eval()    # (BatchNorm and dropout fixed: the two passes see the same numbers)
    x = minigan.rand(6, 784) * 2 - 1
    with minigan.no_grad():
        scores, logits = D.with_classes(x)
        alone = D(x)
    assert scores.shape == (6, 1) and logits.shape == (6, 10)
    np.testing.assert_array_equal(alone.numpy(), scores.numpy())
    z = minigan.randn(4, LATENT)
    with minigan.no_grad():
        a = G(z, minigan.tensor(_one_hot([1, 1, 1, 1]).astype(np.float32)))
        b = G(z, minigan.tensor(_one_hot([1, 7, 1, 7]).astype(np.float32)))
    assert a.shape == (4, 784) and -1 <= a.min().item() and a.max().item() <= 1
    assert not np.allclose(a.numpy()[1], b.numpy()[1])    # another label: another picture


# ============================================================================== the step
def _batches(steps, batch, seed=4):
    data = bundled_mnist("train")
    rng = np.random.default_rng(seed)
    for i in range(steps):
        index = np.arange(i * batch, (i + 1) * batch)
        real = data.images[index].astype(np.float64).reshape(batch, 784) / 255.0 * 2 - 1
        yield (real, _one_hot(data.labels[index]), rng.standard_normal((batch, LATENT)),
               _one_hot(rng.integers(0, 10, batch)), rng.standard_normal((batch, LATENT)),
               _one_hot(rng.integers(0, 10, batch)))


@pytest.mark.slow
def test_steps_match_torch_float64():
    """Three iterations of acgan_step (BCE + cross entropy for D on reals and on a detached
    fake, then for G through D's two heads) on both frameworks from the same weights, reals,
    seeds and labels: the same losses, and every weight and running statistic."""
    ours, theirs = float64_twins(NO_DROPOUT)
    steps, batch = 3, 8
    losses = {}
    for fw, nets in ((minigan, ours), (torch, theirs)):
        ones, zeros = fw.ones(batch, 1, dtype=fw.float64), fw.zeros(batch, 1, dtype=fw.float64)
        losses[fw.__name__] = [[loss.item() for loss in acgan_step(fw, nets.D, nets.G,
                                                                    *map(fw.from_numpy, arrays), ones, zeros)]
                               for arrays in _batches(steps, batch)]
    np.testing.assert_allclose(losses["minigan"], losses["torch"], rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-10)
    assert (ours.D.counter, ours.G.counter) == (2 * steps, steps)


def _log_softmax(logits):
    shifted = logits - logits.max(1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def test_losses_are_bce_plus_cross_entropy_and_g_steps_only_g():
    """D's and G's losses recomputed by hand from the networks' outputs; G's step moves G and
    leaves D's weights where they were."""
    minigan.manual_seed(1)
    nets = NO_DROPOUT.build(minigan, dtype=minigan.float64)
    real, labels, seed, asked, _, _ = next(_batches(1, 8))
    real, labels, seed, asked = (minigan.from_numpy(a) for a in (real, labels, seed, asked))
    ones = minigan.ones(8, 1, dtype=minigan.float64)
    with minigan.no_grad():   # the same batch statistics as the step's own pass
        d, logits = (a.numpy() for a in nets.D.module.with_classes(real))
    loss = classifying_step(minigan, nets.D, real, ones, labels).item()
    expected = -np.log(d).mean() - (labels.numpy() * _log_softmax(logits)).sum(1).mean()
    assert loss == pytest.approx(expected, rel=1e-12)

    with minigan.no_grad():
        d, logits = (a.numpy() for a in nets.D.module.with_classes(nets.G.module(seed, asked)))
    before_d, before_g = state_arrays(nets.D), state_arrays(nets.G)
    loss = acgan_generator_step(minigan, nets.G, nets.D, seed, asked, ones).item()
    expected = -np.log(d).mean() - (asked.numpy() * _log_softmax(logits)).sum(1).mean()
    assert loss == pytest.approx(expected, rel=1e-12)
    after_d = state_arrays(nets.D)
    assert all(np.array_equal(before_d[k], after_d[k]) for k in before_d if not k.endswith(
        ("running_mean", "running_var", "num_batches_tracked")))
    assert not np.array_equal(before_g["l1.weight"], state_arrays(nets.G)["l1.weight"])


def test_iteration_reads_the_real_labels_and_refuses_batches_of_one():
    nets, data = ACGAN.build(), bundled_mnist("train")
    random.seed(0)
    minigan.manual_seed(0)
    ones, zeros = ACGAN.targets(minigan, 4)
    losses = ACGAN.iteration(nets, data, np.arange(4), 4, ones, zeros)
    assert len(losses) == 3 and all(np.isfinite(loss.item()) for loss in losses)
    with pytest.raises(ValueError, match="--batch-size must be at least 2"):
        ACGAN.iteration(nets, data, 0, None, None, None)


# ============================================================================== pictures, readings
def test_an_unbalanced_request_is_drawn_among_a_crowd_of_its_own():
    """Latents asking for one label go through G inside a batch filled from a generator of its
    own: the same request gives the same pictures, the global random streams do not move, and
    the batch is not normalised against itself. Labels 0..9 in turn need no crowd."""
    minigan.manual_seed(5)
    G = acgan.generator()
    seeds = minigan.randn(3, LATENT)
    host, python = host_generator().bit_generator.state, random.getstate()
    first = ACGAN.generate(G, seeds, [4, 4, 4])
    np.testing.assert_array_equal(first, ACGAN.generate(G, seeds, [4, 4, 4]))
    assert host_generator().bit_generator.state == host and random.getstate() == python
    crowd = np.random.default_rng(acgan.CROWD_SEED)
    fill = minigan.tensor(crowd.standard_normal((CROWD - 3, LATENT)).astype(np.float32))
    labels = np.concatenate(([4, 4, 4], crowd.integers(0, 10, CROWD - 3)))
    plain = functools.partial(ConditionalGanExperiment.generate, ACGAN, G)   # one batch, as asked
    np.testing.assert_array_equal(first, plain(minigan.cat((seeds, fill)), labels)[:3])
    assert np.abs(plain(seeds, [4, 4, 4]) - first).max() > 0.005   # (untrained G: pixels near 0.5)
    many = minigan.randn(300, LATENT)            # 0..9 in turn, in batches of 128 as they are
    np.testing.assert_array_equal(ACGAN.generate(G, many)[128:256], plain(many[128:256], np.arange(128, 256) % 10))
    per_label = ACGAN.images_per_label(G, 3)
    assert len(per_label) == 10 and all(images.shape == (3, 1, 28, 28) for images in per_label)
    with pytest.raises(ValueError, match="3 seeds but 2 labels"):
        ACGAN.generate(G, seeds, [1, 2])
    with pytest.raises(ValueError, match="labels must be 0..9, got -1..2"):
        ACGAN.generate(G, seeds, [-1, 2, 2])
    with pytest.raises(ValueError, match="labels must be 0..9"):
        ACGAN.sample(G, 2, labels=10)


def test_class_reading_is_repeatable_and_leaves_the_running_statistics_alone():
    minigan.manual_seed(2)
    D = acgan.discriminator()
    before = state_arrays(D)
    images = minigan.rand(30, 784) * 2 - 1
    read = class_reading(D, images, batch=12)
    assert read.shape == (30,) and read.dtype.kind == "i" and 0 <= read.min() and read.max() < 10
    np.testing.assert_array_equal(read, class_reading(D, images, batch=12))   # dropout off
    after = state_arrays(D)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert D.training and all(m.training for m in D.modules())


# ============================================================================== the command line
def test_train_reports_the_class_head_and_the_requested_labels(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "acgan", "--steps", "2", "--out", str(out), "--no-gif"]) == 0
    said = capsys.readouterr().out
    assert "D's class head as a classifier of the 1,000 held-out digits" in said
    assert "100 samples per requested label, judged" in said
    metrics = json.loads((out / "metrics.json").read_text())
    classifier = metrics["classifier"]
    assert classifier["count"] == 1000 and 0 <= classifier["accuracy"] <= 1
    assert np.asarray(classifier["counts"]).sum() == 1000
    assert np.asarray(classifier["counts"]).sum(axis=1).tolist() == np.bincount(
        bundled_mnist("test").labels, minlength=10).tolist()
    assert [r["label"] for r in metrics["label_accuracy"]["per_label"]] == list(range(10))
    assert main(["sample", str(out / "model.npz"), "--count", "3", "--label", "7",
                 "--out", str(tmp_path / "s.npz")]) == 0
    saved = np.load(tmp_path / "s.npz")
    assert saved["images"].shape == (3, 1, 28, 28) and saved["labels"].tolist() == [7, 7, 7]
    capsys.readouterr()
    assert main(["sample", str(out / "model.npz"), "--code", "3", "--out", str(tmp_path / "c.png")]) == 2
    assert "learnt no code" in capsys.readouterr().err


@pytest.mark.slow
def test_example_runs(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "beyond_acgan.py"
    done = subprocess.run([sys.executable, str(path), "--steps", "2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "of the 1000 held-out digits right" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acgan_digits.png", "acgan_losses.png"]


@pytest.mark.parametrize("device", NOT_NUMPY)
def test_train_sample_and_d_test_on_other_devices(device, tmp_path):
    """Everything ACGAN adds (the step, the crowd, the class head's reading, sampling a label,
    the batched D test) on array-api-strict and on CUDA where there is one."""
    out = tmp_path / "run"
    assert main(["train", "acgan", "--device", device, "--steps", "2", "--quiet", "--no-gif",
                 "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["classifier"]["count"] == 1000
    assert main(["sample", str(out / "model.npz"), "--label", "2", "--count", "3", "--device", device,
                 "--out", str(tmp_path / "c.npz")]) == 0
    assert main(["train", "acgan", "--device", device, "--discriminator-test", "--steps", "2",
                 "--quiet", "--out", str(tmp_path / "d")]) == 0
