"""The autoencoders and the VAE (``minigan.models``: autoencoder, conv-autoencoder, vae).

Each model builds the same layer stack on minigan and on PyTorch, with the parameter count it
states; the conv autoencoder maps (B, 1, 28, 28) to (B, 1, 28, 28); the VAE's loss has the
gradients finite differences give (float64), and every parameter gradient of it matches
PyTorch's; from the same weights, batches and noise, a few dozen steps of the VAE on both
frameworks end with held-out losses within 2 % in float32 (the issue's bar) and equal to
1e-9 in float64, and the plain autoencoders (weight decay included) end with the same weights
in float64; ``minigan train NAME --steps 10`` writes every output; ``sample`` and ``eval``
do what they should with these models; the example script runs.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import models, registry
from minigan.cli import main
from minigan.data import bundled_mnist
from minigan.models.autoencoding import AutoencoderModel

torch = pytest.importorskip("torch")

NAMES = ("autoencoder", "conv-autoencoder", "vae")


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


def _layers(module):
    return [type(m).__name__ for m in module.modules()]


def _host(t):
    return np.array(t.detach().numpy(), copy=True)


def _twins(name, dtype="float64", seed=0):
    """The model on minigan and on PyTorch, in ``dtype``, with minigan's initial weights in both."""
    exp = models.get(name)
    minigan.manual_seed(seed)
    ours = exp.build(minigan, dtype=getattr(minigan, dtype))
    theirs = exp.build(torch, dtype=getattr(torch, dtype))
    theirs.module.load_state_dict({k: torch.from_numpy(_host(v))
                                   for k, v in ours.module.state_dict().items()})
    return exp, ours, theirs


def _train_twins(exp, ours, theirs, steps, dtype, batch=64, seed=5):
    """``steps`` batches of real digits (shuffled by one generator) through ``exp.step`` on
    both frameworks, each VAE step with the same ``eps`` draws."""
    images = bundled_mnist("train").images
    rng = np.random.default_rng(seed)
    plan = [(rng.choice(len(images), batch, replace=False),
             rng.standard_normal((batch, exp.noise_size)) if exp.variational else None)
            for _ in range(steps)]
    for fw, net in ((minigan, ours), (torch, theirs)):
        for index, eps in plan:
            x = exp.inputs(fw.from_numpy((images[index] / 255.0).astype(dtype)))
            exp.step(net, x, None if eps is None else fw.from_numpy(eps.astype(dtype)))


def _held_out_sample(n=500):
    """The first ``n`` test digits (the held-out loss of the parity tests, at half the cost)."""
    from minigan.data import MnistDataset
    test = bundled_mnist("test")
    return MnistDataset(test.images[:n], test.labels[:n], source="bundled test split, first 500")


# ============================================================================== structure
def test_registered_as_models_beyond_the_book():
    assert set(NAMES) <= set(models.NAMES) and set(NAMES) <= set(registry.NAMES)
    for name in NAMES:
        exp = registry.get(name)
        assert isinstance(exp, AutoencoderModel) and exp.kind == "autoencoder"
        assert not exp.book_model and exp.shuffle and registry.defaults(exp) == (128, True)


@pytest.mark.parametrize("name", NAMES)
def test_same_layer_stack_and_parameter_count_on_minigan_and_torch(name):
    exp = models.get(name)
    ours, theirs = exp.network(minigan), exp.network(torch)
    assert _layers(ours) == _layers(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert sum(p.numel() for p in ours.parameters()) == exp.parameters \
        == sum(p.numel() for p in theirs.parameters())


def test_the_issues_layer_stacks():
    ae = models.get("autoencoder").network(minigan)
    assert [(m.in_features, m.out_features) for m in ae.encoder if type(m).__name__ == "Linear"] == \
        [(784, 128), (128, 64), (64, 12), (12, 3)]
    assert [(m.in_features, m.out_features) for m in ae.decoder if type(m).__name__ == "Linear"] == \
        [(3, 12), (12, 64), (64, 128), (128, 784)]
    assert _layers(ae.encoder)[1:].count("ReLU") == 3 and _layers(ae.decoder)[-1] == "Tanh"
    conv = models.get("conv-autoencoder").network(minigan)
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
            for m in conv.modules() if "Conv" in type(m).__name__] == [
        (1, 16, (3, 3), (3, 3), (1, 1)), (16, 8, (3, 3), (2, 2), (1, 1)),
        (8, 16, (3, 3), (2, 2), (0, 0)), (16, 8, (5, 5), (3, 3), (1, 1)), (8, 1, (2, 2), (2, 2), (1, 1))]
    vae = models.get("vae").network(minigan)
    assert [(m.in_features, m.out_features) for m in (vae.fc1, vae.fc21, vae.fc22, vae.fc3, vae.fc4)] == \
        [(784, 400), (400, 20), (400, 20), (20, 400), (400, 784)]


def test_the_issues_settings():
    for name, lr, weight_decay, low, reduction in (("autoencoder", 1e-3, 0, -1.0, "sum"),
                                                   ("conv-autoencoder", 1e-3, 1e-5, -1.0, "mean"),
                                                   ("vae", 1e-3, 0, 0.0, "sum")):
        exp = models.get(name)
        opt = exp.build().optimiser
        group = opt.param_groups[0]
        assert type(opt).__name__ == "Adam" and group["lr"] == lr and group["weight_decay"] == weight_decay
        assert exp.batch_size == 128 and exp.image_range == (low, 1.0) and exp.loss_reduction == reduction
    ds = bundled_mnist("train")
    _, images, _ = ds.batch(np.arange(4))
    np.testing.assert_allclose(models.get("autoencoder").inputs(images).numpy(),
                               ds.images[:4] / 255.0 * 2 - 1, atol=1e-6)
    assert models.get("conv-autoencoder").inputs(images).shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(models.get("vae").inputs(images).numpy(), images.numpy())


@pytest.mark.parametrize("fw", [minigan, torch], ids=["minigan", "torch"])
def test_conv_autoencoder_output_shape(fw):
    network = models.get("conv-autoencoder").network(fw)
    x = fw.rand(5, 1, 28, 28) * 2 - 1
    assert tuple(network.encode(x).shape) == (5, 8, 2, 2)
    out = network(x)
    assert tuple(out.shape) == (5, 1, 28, 28)
    assert float(out.detach().abs().max()) <= 1.0           # Tanh


# ============================================================================== the VAE's loss
def test_vae_loss_gradcheck_float64():
    """The summed BCE + KL, against central differences, in every input it reads."""
    loss = models.get("vae").loss(minigan)
    rng = np.random.default_rng(0)
    x = minigan.tensor(rng.uniform(0.05, 0.95, (2, 784)))        # BCE with soft targets too
    recon = minigan.tensor(rng.uniform(0.1, 0.9, (2, 784)), requires_grad=True)
    mu = minigan.tensor(rng.standard_normal((2, 20)), requires_grad=True)
    logvar = minigan.tensor(0.5 * rng.standard_normal((2, 20)), requires_grad=True)
    assert minigan.gradcheck(lambda r, m, v: loss((r, m, v), x), (recon, mu, logvar))


def test_vae_loss_and_every_parameter_gradient_match_torch_float64():
    """One forward and backward of loss(VAE(x, eps), x), from the same weights and eps."""
    exp, ours, theirs = _twins("vae")
    rng = np.random.default_rng(1)
    x = bundled_mnist("test").images[:32] / 255.0
    eps = rng.standard_normal((32, 20))
    results = []
    for fw, net in ((minigan, ours), (torch, theirs)):
        xt = fw.from_numpy(x)
        loss = net.loss_function(net.module(xt, fw.from_numpy(eps)), xt)
        loss.backward()
        results.append((loss.item(), [_host(p.grad) for p in net.module.parameters()]))
    (l_ours, g_ours), (l_theirs, g_theirs) = results
    assert l_ours == pytest.approx(l_theirs, rel=1e-12)
    assert len(g_ours) == 10
    for i, (a, b) in enumerate(zip(g_ours, g_theirs)):
        assert np.abs(b).max() > 0, i
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11, err_msg=f"parameter {i}")


def test_vae_forward_draws_its_own_noise_when_none_is_given():
    vae = models.get("vae").network(minigan)
    x = minigan.from_numpy(bundled_mnist("test").images[:3] / 255.0).float()
    minigan.manual_seed(3)
    a = vae(x)[0].detach().numpy()
    minigan.manual_seed(3)
    b = vae(x)[0].detach().numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, vae(x)[0].detach().numpy())


# ============================================================================== training parity
@pytest.mark.parametrize("dtype, steps", [("float64", 30), ("float32", 30)])
def test_vae_held_out_loss_matches_torch(dtype, steps):
    """The issue's bar: held-out loss within 2 % of PyTorch's after the same steps from the
    same weights (and the same batches and eps). float64 agrees to rounding."""
    exp, ours, theirs = _twins("vae", dtype)
    test = _held_out_sample()
    before = exp.held_out_loss(ours.module, test, dtype=getattr(minigan, dtype))
    _train_twins(exp, ours, theirs, steps, dtype)
    held_ours = exp.held_out_loss(ours.module, test, dtype=getattr(minigan, dtype))
    held_theirs = exp.held_out_loss(theirs.module, test, torch=torch, dtype=getattr(torch, dtype))
    assert held_ours < 0.5 * before                      # it learnt something worth comparing
    assert held_ours == pytest.approx(held_theirs, rel=1e-9 if dtype == "float64" else 0.02)
    np.testing.assert_allclose(ours.progress, theirs.progress, rtol=1e-9 if dtype == "float64" else 0.02)


@pytest.mark.parametrize("name, steps", [("autoencoder", 20), ("conv-autoencoder", 12)])
def test_autoencoders_parity_float64(name, steps):
    """The same weights after ``steps`` float64 batches (the conv one with Adam's weight decay)."""
    exp, ours, theirs = _twins(name)
    before = {k: _host(v) for k, v in ours.module.state_dict().items()}
    _train_twins(exp, ours, theirs, steps, "float64", batch=32)
    a = {k: _host(v) for k, v in ours.module.state_dict().items()}
    b = {k: _host(v) for k, v in theirs.module.state_dict().items()}
    for k in b:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-7, atol=1e-12, err_msg=k)
    assert not np.allclose(before["encoder.0.weight"], a["encoder.0.weight"])
    test = _held_out_sample()
    assert exp.held_out_loss(ours.module, test, dtype=minigan.float64) == pytest.approx(
        exp.held_out_loss(theirs.module, test, torch=torch, dtype=torch.float64), rel=1e-9)


def test_fit_takes_noise_and_matches_the_step_loop():
    """``fit`` (the loop ``minigan train`` runs) is :meth:`step` over ``batches``: given the
    same eps, it ends where a hand-written loop over the same batches ends."""
    from minigan.experiment import batches
    exp = models.get("vae")
    ds = bundled_mnist("train")
    draws = np.random.default_rng(2).standard_normal((6, 128, 20)).astype(np.float32)
    finals = []
    for use_fit in (True, False):
        minigan.manual_seed(0)
        net = exp.build()
        feed = iter(draws)
        if use_fit:
            assert exp.fit(net, ds, steps=6, rng=0, noise=lambda n: minigan.from_numpy(next(feed)[:n])) == 6
        else:
            for _, _, index in batches(len(ds), batch_size=128, shuffle=True, rng=0):
                if net.counter == 6:
                    break
                exp.step(net, exp.inputs(ds.batch(index)[1]), minigan.from_numpy(next(feed)))
        finals.append(_host(net.module.fc1.weight))
    np.testing.assert_array_equal(*finals)


# ============================================================================== the command line
OUTPUTS = {"autoencoder": ["code_3d.png", "config.json", "loss.png", "metrics.json", "model.npz",
                           "reconstructions.png"],
           "conv-autoencoder": ["config.json", "loss.png", "metrics.json", "model.npz",
                                "reconstructions.png"],
           "vae": ["config.json", "loss.png", "metrics.json", "model.npz", "reconstructions.png",
                   "samples.png"]}


def _train(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["train", name, "--out", str(out), "--quiet", *extra]) == 0
    return out


@pytest.mark.parametrize("name", NAMES)
def test_train_writes_every_output(tmp_path, name):
    out = _train(tmp_path, name, "--steps", "10")
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS[name]
    config = json.loads((out / "config.json").read_text())
    assert config["batch_size"] == 128 and config["shuffle"] is True
    assert config["departures"][0].startswith("not a book model")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 10 and metrics["last_epoch_partial"] is True
    assert metrics["test_items"] == 1000 and len(metrics["test_loss_per_epoch"]) == 1
    assert metrics["test_loss"] == metrics["test_loss_per_epoch"][-1] > 0
    from PIL import Image
    width, height = Image.open(out / "reconstructions.png").size
    assert (width, height) == (10 * 30 + 2, 2 * 30 + 2)       # 10 columns, inputs over outputs


def test_epochs_are_scored_and_the_model_file_reads_back(tmp_path, capsys):
    """Two whole epochs (batch 1000 for speed): a train and held-out loss for each, the
    held-out one falling; ``minigan eval`` recomputes the last; ``sample`` decodes the prior."""
    out = _train(tmp_path, "vae", "--epochs", "2", "--batch-size", "1000")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 8 and metrics["epochs_completed"] == 2
    assert not metrics["last_epoch_partial"]
    assert metrics["test_loss_per_epoch"][1] < metrics["test_loss_per_epoch"][0]
    capsys.readouterr()
    assert main(["eval", str(out / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "vae" and report["test_items"] == 1000
    assert report["test_loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)
    assert main(["sample", str(out / "model.npz"), "--count", "6", "--out", str(tmp_path / "s.npz")]) == 0
    images = np.load(tmp_path / "s.npz")["images"]
    assert images.shape == (6, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    from minigan.modelfile import load_model
    exp, modules, _ = load_model(out / "model.npz", kind="autoencoder")
    assert exp is models.get("vae") and set(modules) == {"autoencoder"}


def test_sample_refuses_a_plain_autoencoder(tmp_path, capsys):
    out = _train(tmp_path, "autoencoder", "--steps", "2")
    capsys.readouterr()
    assert main(["sample", str(out / "model.npz"), "--out", str(tmp_path / "s.png")]) == 2
    assert "plain autoencoder" in capsys.readouterr().err and not (tmp_path / "s.png").exists()
    assert main(["eval", str(out / "model.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_loss"] > 0


def test_resume_mid_epoch_ends_where_an_unbroken_run_ends(tmp_path):
    """A checkpoint mid-epoch carries the VAE's noise generator and the epoch's running loss:
    resumed from it, a run ends with the same weights and the same per-epoch figures."""
    args = ["--steps", "6", "--batch-size", "500"]          # 8 batches an epoch
    whole = _train(tmp_path, "vae", *args)
    part = _train(tmp_path / "p", "vae", *args, "--checkpoint-every", "4")
    assert minigan.load(str(part / "checkpoint.npz"))["iteration"] == 4
    assert main(["train", "vae", "--out", str(part), "--quiet", *args, "--checkpoint-every", "4",
                 "--resume"]) == 0
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (whole, part))
    assert a["train_loss_per_epoch"] == b["train_loss_per_epoch"]
    assert a["test_loss_per_epoch"] == b["test_loss_per_epoch"]
    wa, wb = (minigan.load(str(d / "model.npz"))["modules"]["autoencoder"] for d in (whole, part))
    for k in wa:
        np.testing.assert_array_equal(wa[k].numpy(), wb[k].numpy(), err_msg=k)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_example_runs(tmp_path, name):
    path = Path(__file__).resolve().parent.parent / "examples" / "beyond_autoencoders.py"
    done = subprocess.run([sys.executable, str(path), name, "--steps", "5"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "held-out loss" in done.stdout
    expected = [f"{name}_reconstructions.png"] + ([f"{name}_samples.png"] if name == "vae" else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)


def test_vae_side_by_side_script(tmp_path):
    """scripts/vae_side_by_side.py for one epoch: both frameworks, the JSON with the machine."""
    import importlib.util
    path = Path(__file__).resolve().parent.parent / "scripts" / "vae_side_by_side.py"
    spec = importlib.util.spec_from_file_location("vae_side_by_side", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "vae.json"
    assert script.main(["--epochs", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["held_out_loss"]) == {"minigan", "torch"} and result["epochs"] == 1
    assert len(result["runs"]["torch"]["test_loss_per_epoch"]) == 1
    assert abs(result["difference_percent"]) <= 2.0 and result["within_tolerance"]
    assert "cpu" in result["machine"]
