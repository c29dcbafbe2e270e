"""The GANs beyond the book (``minigan.models``): structure, commands, and parity with PyTorch.

Each model builds the same layer stack on minigan and on PyTorch; ``minigan train NAME
--steps N`` writes every output; WGAN-GP's gradient penalty (double backward) and every
parameter gradient through it match PyTorch in float64; a short float64 run of gan-batched
and of WGAN, from identical weights and batches through the same step functions, ends with
the same weights as PyTorch's.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import minigan
from minigan import models, registry
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.training import gan_step, gradient_penalty, wgan_step

from twins import assert_same_weights, critic_losses, float64_twins, state_arrays

torch = pytest.importorskip("torch")


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


def _layers(module):
    return [type(m).__name__ for m in module.modules()]


def _count(module):
    return sum(p.numel() for p in module.parameters())


def _twins(name, seed=0):
    """The model on minigan and on PyTorch, float64, with minigan's initial weights in both."""
    exp = models.get(name)
    return (exp, *float64_twins(exp, seed))


def _reals(n, batch):
    """``n`` batches of real digits scaled to [-1, 1], float64."""
    images = bundled_mnist("train").images[:n * batch].astype(np.float64) / 255.0 * 2 - 1
    return images.reshape(n, batch, 784)


# ============================================================================== structure
def test_registry_finds_both_kinds():
    from minigan import book
    assert set(models.NAMES) >= {"gan-batched", "gan-mlp", "lsgan", "dcgan-mnist", "wgan", "wgan-gp", "sngan"}
    assert not set(book.NAMES) & set(models.NAMES)
    assert registry.NAMES == book.NAMES + models.NAMES
    assert registry.get("mnist-gan") is book.get("mnist-gan")
    assert registry.get("wgan-gp") is models.get("wgan-gp")
    assert registry.defaults(book.get("mnist-gan")) == (1, False)
    assert registry.defaults(models.get("gan-mlp")) == (128, True)
    with pytest.raises(KeyError, match="beyond the book"):
        registry.get("no-such-gan")


@pytest.mark.parametrize("name", [n for n in models.NAMES if models.get(n).kind == "gan"])
def test_same_layer_stack_on_minigan_and_torch(name):
    exp = models.get(name)
    for build in (exp.discriminator, exp.generator):
        ours, theirs = build(minigan), build(torch)
        assert _layers(ours) == _layers(theirs)
        assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert (_count(exp.discriminator(minigan)), _count(exp.generator(minigan))) == exp.parameters
    assert not exp.book_model and exp.shuffle
    # the pixels' range is the generator's: Tanh's (-1, 1), or (InfoGAN's) Sigmoid's (0, 1)
    last = [t for t in _layers(exp.generator(minigan)) if t in ("Tanh", "Sigmoid")][-1]
    assert exp.image_range == {"Tanh": (-1.0, 1.0), "Sigmoid": (0.0, 1.0)}[last]


def test_issue_settings():
    """The issue's numbers: quirky BatchNorm eps, optimisers, batches, noise."""
    G = models.get("gan-batched").generator(minigan)
    assert [m.eps for m in G.modules() if type(m).__name__ == "BatchNorm1d"] == [0.8, 0.8, 0.8]
    for name, kind, lr, betas, batch in (("gan-batched", "Adam", 2e-4, (0.5, 0.999), 64),
                                         ("gan-mlp", "Adam", 3e-4, (0.5, 0.999), 128),
                                         ("lsgan", "Adam", 3e-4, (0.5, 0.999), 128),
                                         ("dcgan-mnist", "Adam", 3e-4, (0.5, 0.999), 128),
                                         ("wgan", "RMSprop", 5e-5, None, 64),
                                         ("wgan-gp", "Adam", 1e-4, (0.5, 0.9), 64),
                                         ("sngan", "Adam", 2e-4, (0.5, 0.999), 64)):
        exp = models.get(name)
        opt = exp.build().D.optimiser
        group = opt.param_groups[0]
        assert type(opt).__name__ == kind and group["lr"] == lr and exp.batch_size == batch, name
        if betas:
            assert tuple(group["betas"]) == betas, name
    seeds = models.get("gan-mlp").seed(minigan, 500)
    assert seeds.shape == (500, 96) and -1 <= seeds.min().item() < -0.9 and 0.9 < seeds.max().item() <= 1
    assert models.get("wgan").clip == 0.01 and models.get("wgan").n_critic == 5
    assert models.get("wgan-gp").penalty_weight == 10.0 and models.get("wgan-gp").n_critic == 5
    assert models.get("sngan").hinge and models.get("sngan").n_critic == 1
    assert sum(type(h).__name__ == "SpectralNorm" for m in models.get("sngan").discriminator(minigan).modules()
               for h, _ in m.__dict__.get("_forward_pre_hooks", {}).values()) == 3


def test_images_scaled_to_tanh_range_and_back():
    exp = models.get("gan-batched")
    ds = bundled_mnist("train")
    real = exp.real_batch(ds, np.arange(8)).numpy()
    np.testing.assert_allclose(real, ds.images[:8] / 255.0 * 2 - 1, atol=1e-6)
    back = exp.to_images(real)
    assert back.shape == (8, 1, 28, 28)
    np.testing.assert_allclose(back.reshape(8, 784), ds.images[:8] / 255.0, atol=1e-6)


def test_least_squares_loss():
    from minigan.models.lsgan import least_squares_loss
    out, target = np.array([[0.3], [1.5]]), np.array([[1.0], [1.0]])
    ours = least_squares_loss(minigan)(minigan.tensor(out), minigan.tensor(target)).item()
    assert ours == pytest.approx(0.5 * np.mean((out - target) ** 2), rel=1e-6)


# ============================================================================== WGAN-GP: double backward
def test_gradient_penalty_and_every_parameter_gradient_match_torch_float64():
    """The penalty, and d(penalty)/d(every critic weight) - a derivative through a backward
    pass - agree with PyTorch in float64."""
    exp, ours, theirs = _twins("wgan-gp")
    rng = np.random.default_rng(3)
    real = _reals(1, 16)[0]
    fake = np.tanh(rng.standard_normal((16, 784)))
    alpha = rng.uniform(size=(16, 1))
    results = []
    for fw, net in ((minigan, ours.D), (torch, theirs.D)):
        net.module.zero_grad()
        penalty = gradient_penalty(fw, net.module, fw.from_numpy(real), fw.from_numpy(fake),
                                   fw.from_numpy(alpha))
        penalty.backward()
        grads = [np.zeros(tuple(p.shape)) if p.grad is None else np.array(p.grad.numpy(), copy=True)
                 for p in net.module.parameters()]
        results.append((penalty.item(), grads))
    (p_ours, g_ours), (p_theirs, g_theirs) = results
    assert p_theirs > 1e-3                        # a penalty worth checking
    assert p_ours == pytest.approx(p_theirs, rel=1e-10)
    assert len(g_ours) == len(g_theirs) == 6
    # LeakyReLU is piecewise linear, so grad_x D does not move with the biases: only the three
    # weights get a gradient from the penalty (zero or None for the biases, in both frameworks)
    assert [bool(np.abs(b).max() > 0) for b in g_theirs] == [True, False] * 3
    for i, (a, b) in enumerate(zip(g_ours, g_theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-14, err_msg=f"critic parameter {i}")


# ============================================================================== training parity
def test_gan_batched_parity_float64():
    """20 batches of 64 through gan_step on both frameworks: the same weights at the end
    (BatchNorm1d with eps 0.8 in training mode, BCE, Adam (0.5, 0.999))."""
    exp, ours, theirs = _twins("gan-batched")
    steps, batch = 20, 64
    reals = _reals(steps, batch)
    rng = np.random.default_rng(7)
    seeds = rng.standard_normal((steps, 2, batch, 100))
    before = state_arrays(ours.G)
    for fw, nets in ((minigan, ours), (torch, theirs)):
        ones, zeros = exp.targets(fw, batch, dtype=fw.float64)
        for real, (a, b) in zip(reals, seeds):
            gan_step(nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b), ones, zeros)
    assert_same_weights(ours, theirs)
    np.testing.assert_allclose(ours.G.progress, theirs.G.progress, rtol=1e-8)
    assert not np.allclose(before["0.weight"], state_arrays(ours.G)["0.weight"])


def test_wgan_parity_float64():
    """12 batches through wgan_step (critic clipped at 0.01, RMSprop, G every 5th): same weights."""
    exp, ours, theirs = _twins("wgan")
    steps, batch = 12, 32
    reals = _reals(steps, batch)
    seeds = np.random.default_rng(8).standard_normal((steps, 2, batch, 100))
    for fw, nets in ((minigan, ours), (torch, theirs)):
        for real, (a, b) in zip(reals, seeds):
            wgan_step(fw, nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b),
                      n_critic=exp.n_critic, clip=exp.clip)
    assert (ours.D.counter, ours.G.counter) == (12, 2)
    assert max(float(np.abs(p.detach().numpy()).max()) for p in ours.D.parameters()) <= 0.01
    assert_same_weights(ours, theirs)


def test_wgan_gp_steps_parity_float64():
    """10 batches through wgan_step with the penalty (Adam (0.5, 0.9)): same weights."""
    exp, ours, theirs = _twins("wgan-gp")
    steps, batch = 10, 16
    reals = _reals(steps, batch)
    rng = np.random.default_rng(9)
    seeds, alphas = rng.standard_normal((steps, 2, batch, 100)), rng.uniform(size=(steps, batch, 1))
    for fw, nets in ((minigan, ours), (torch, theirs)):
        for real, (a, b), alpha in zip(reals, seeds, alphas):
            wgan_step(fw, nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b),
                      n_critic=exp.n_critic, alpha=fw.from_numpy(alpha),
                      penalty_weight=exp.penalty_weight)
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-10)


def test_sngan_parity_float64():
    """12 batches through wgan_step with the hinge loss and a spectrally normalised D (one
    power-iteration step per forward, its u and v buffers compared too): same weights."""
    exp, ours, theirs = _twins("sngan")
    assert {k for k in state_arrays(ours.D) if k.endswith(("_u", "_v"))} == {
        f"{i}.weight_{s}" for i in (0, 2, 4) for s in "uv"}
    steps, batch = 12, 32
    reals = _reals(steps, batch)
    seeds = np.random.default_rng(10).standard_normal((steps, 2, batch, 100))
    losses = critic_losses(exp, ours, theirs, reals, seeds)
    assert (ours.D.counter, ours.G.counter) == (12, 12)
    np.testing.assert_allclose(losses["minigan"], losses["torch"], rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-6, atol=1e-10)


def test_hinge_loss_is_the_papers():
    """loss_D = mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))), on scores chosen to sit on
    both sides of the margins."""
    from minigan.training import Network, critic_step

    class Fixed(minigan.nn.Module):   # D scores real rows by their first number, fakes likewise
        def __init__(self):
            super().__init__()
            self.w = minigan.nn.Parameter(minigan.ones(1))

        def forward(self, x):
            return x[:, :1] * self.w

    real = np.array([[2.0], [0.5], [-1.0]])
    fake = np.array([[-3.0], [0.25], [1.0]])
    scorer = Fixed()
    D = Network(scorer, minigan.optim.SGD(scorer.parameters(), lr=0.0), None)
    G = Network(minigan.nn.Identity(), None, None)
    loss = critic_step(minigan, D, G, minigan.tensor(real), minigan.tensor(fake), hinge=True)
    expected = np.maximum(0, 1 - real).mean() + np.maximum(0, 1 + fake).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-12)


# ============================================================================== the command line
FAST = ("gan-batched", "gan-mlp", "lsgan", "wgan", "wgan-gp", "sngan")


def _train(tmp_path, name, steps):
    out = tmp_path / name
    assert main(["train", name, "--steps", str(steps), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.parametrize("name", FAST)
def test_train_writes_every_output(tmp_path, name):
    out = _train(tmp_path, name, 10)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["config.json", "losses.png", "metrics.json", "model.npz", "samples.png",
                     "samples_book.png", "training.gif"]
    config = json.loads((out / "config.json").read_text())
    exp = models.get(name)
    assert config["batch_size"] == exp.batch_size and config["shuffle"] is True
    assert config["departures"][0].startswith("not a book model")
    assert not any("the book trains" in d for d in config["departures"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 10 and metrics["mode_collapse"]["count"] == 1000


@pytest.mark.slow
def test_train_dcgan_mnist_writes_outputs(tmp_path):
    out = _train(tmp_path, "dcgan-mnist", 3)
    assert json.loads((out / "metrics.json").read_text())["mode_collapse"]["count"] == 1000


def test_departures_from_the_models_defaults(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "gan-mlp", "--steps", "2", "--batch-size", "32", "--no-shuffle",
                 "--out", str(out), "--quiet", "--no-gif"]) == 0
    departures = json.loads((out / "config.json").read_text())["departures"]
    assert "batch size 32 (its default: 128)" in departures
    assert "stored order (its default: shuffled each epoch)" in departures


def test_sample_and_eval_read_a_model_beyond_the_book(tmp_path, capsys):
    out = _train(tmp_path, "gan-batched", 3)
    model = str(out / "model.npz")
    assert main(["sample", model, "--count", "6", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (6, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    capsys.readouterr()
    assert main(["eval", model, "--count", "50", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "gan-batched" and report["count"] == 50
    from minigan.modelfile import load_model
    exp, modules, _ = load_model(model, kind="gan")
    assert exp is models.get("gan-batched") and set(modules) == {"D", "G"}


@pytest.mark.slow
@pytest.mark.parametrize("script, args", [("beyond_gans.py", ["gan-batched"]), ("beyond_gans.py", ["gan-mlp"]),
                                          ("beyond_gans.py", ["lsgan"]), ("beyond_gans.py", ["dcgan-mnist"]),
                                          ("beyond_wgan.py", []), ("beyond_wgan.py", ["--gp"]),
                                          ("beyond_wgan.py", ["--sn"]), ("beyond_wgan.py", ["--sa"]),
                                          ("beyond_ema.py", [])])
def test_examples_run(tmp_path, script, args):
    import subprocess
    import sys
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / script
    done = subprocess.run([sys.executable, str(path), "--steps", "5", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "of 10 classes" in done.stdout
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".png"] * (3 if "--sa" in args else 2)


# ============================================================================== the D test
@pytest.mark.parametrize("name", [n for n in models.NAMES if models.get(n).kind == "gan"])
def test_discriminator_test_runs_on_the_models_batches(name, tmp_path):
    """The book's D test (D alone, reals against uniform noise) on each model's own batches:
    a conv or BatchNorm D cannot read one 784-vector at a time, and a critic (no BCE targets)
    takes its own step with the noise as its fakes."""
    out = tmp_path / name
    assert main(["train", name, "--discriminator-test", "--steps", "2", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 2 and len(metrics["d_real"]) == 4 and len(metrics["d_noise"]) == 4
    assert (out / "loss_d_test.png").exists()


@pytest.mark.parametrize("name", ["gan-batched", "sngan", "wgan-gp"])
def test_discriminator_test_separates_reals_from_noise(name, tmp_path):
    out = tmp_path / name
    assert main(["train", name, "--discriminator-test", "--steps", "30", "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert min(metrics["d_real"]) > max(metrics["d_noise"])


def test_discriminator_test_takes_the_batch_size_given(tmp_path, capsys):
    out = tmp_path / "b8"
    assert main(["train", "gan-batched", "--discriminator-test", "--batch-size", "8", "--epochs", "1",
                 "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["iterations"] == 500     # 4,000 digits / 8
    # the book's test is one sample at a time: said in one line, before any training
    assert main(["train", "mnist-gan", "--discriminator-test", "--batch-size", "8", "--quiet",
                 "--out", str(tmp_path / "book")]) == 2
    assert "one sample at a time" in capsys.readouterr().err
