"""The classifiers people start with, and the two regressions (``minigan.models.classifiers``,
``minigan.models.regression``): structure, parity with PyTorch, the command line, the examples.

Each classifier builds the same layer stack on minigan and on PyTorch; a few dozen float64
steps of each through ``scripts/side_by_side.py``'s ``train_and_score`` - the tutorial's
shuffled batches, the same on both frameworks, from one initial state - end with the same
weights, losses and test predictions; ``minigan train NAME --steps 20`` writes its outputs and
``minigan eval`` reads them back. The regressions converge to the exact least-squares
solutions and give PyTorch's parameters after the same steps.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigan
from minigan import models, registry
from minigan.cli import main
from minigan.data import MnistDataset, bundled_mnist
from minigan.models import regression as R
from minigan.training import train_step

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("logistic-regression", "mlp-classifier", "small-cnn")


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


@pytest.fixture(scope="module")
def sbs():
    spec = importlib.util.spec_from_file_location("side_by_side", ROOT / "scripts" / "side_by_side.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _head(ds, n):
    """The first ``n`` items of ``ds``: scoring float64 CNNs on 1,000 images twice per test is slow."""
    return MnistDataset(ds.images[:n], ds.labels[:n], source=f"{ds.source}, first {n}")


def _layers(module):
    return [type(m).__name__ for m in module.modules()]


def _count(module):
    return sum(p.numel() for p in module.parameters())


# ============================================================================== structure
@pytest.mark.parametrize("name", NAMES)
def test_same_layer_stack_and_parameter_count(name):
    exp = models.get(name)
    ours, theirs = exp.network(minigan), exp.network(torch)
    assert _layers(ours) == _layers(theirs)
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())   # buffers too (BatchNorm)
    assert _count(ours) == _count(theirs) == exp.parameters


def test_parameter_counts():
    assert models.get("logistic-regression").parameters == 7_850
    assert models.get("mlp-classifier").parameters == 397_510
    # the CNN's count as PyTorch computes it, for the tutorial's own class written out here
    nn = torch.nn
    layer1 = nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2, 2))
    layer2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2, 2))
    tutorial = nn.ModuleList([layer1, layer2, nn.Linear(7 * 7 * 32, 10)])
    assert models.get("small-cnn").parameters == _count(tutorial)


def test_issue_settings():
    """The issue's optimisers and rates, the tutorials' batch 100, shuffling and 5 epochs."""
    for name, kind, lr in (("logistic-regression", "SGD", 0.01), ("mlp-classifier", "Adam", 1e-3),
                           ("small-cnn", "Adam", 1e-3)):
        exp = models.get(name)
        net = exp.build()
        group = net.optimiser.param_groups[0]
        assert type(net.optimiser).__name__ == kind and group["lr"] == lr, name
        assert type(net.loss_function).__name__ == "CrossEntropyLoss", name
        assert (exp.batch_size, exp.shuffle, exp.default_epochs) == (100, True, 5), name
        assert registry.get(name) is exp and registry.defaults(exp) == (100, True)
        assert exp.kind == "classifier" and not exp.book_model and not exp.per_sample
        assert exp.eval_scoring == (name == "small-cnn")
    assert models.get("small-cnn").network(minigan)(minigan.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_one_hot_targets_are_pytorchs_class_index_loss():
    """The datasets' one-hot float targets in minigan's CrossEntropyLoss give PyTorch's loss
    on class indices - the tutorial's ``criterion(outputs, labels)``."""
    ds = bundled_mnist("train")
    labels, _, targets = ds.batch(np.arange(50))
    logits = np.random.default_rng(0).standard_normal((50, 10))
    ours = minigan.nn.CrossEntropyLoss()(minigan.tensor(logits), targets.to(minigan.float64)).item()
    theirs = torch.nn.CrossEntropyLoss()(torch.from_numpy(logits), torch.from_numpy(np.asarray(labels))).item()
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_small_cnn_scores_in_eval_mode_and_leaves_the_mode_alone():
    exp = models.get("small-cnn")
    minigan.manual_seed(1)
    net = exp.build()
    test = _head(bundled_mnist("test"), 300)
    before = {k: np.array(v.numpy(), copy=True) for k, v in net.module.state_dict().items()}
    train = bundled_mnist("train")
    for start in range(0, 200, 50):   # a few steps so the running statistics move off 0 and 1
        _, images, targets = train.batch(np.arange(start, start + 50))
        train_step(net, exp.view(images), targets)
    trained = {k: np.array(v.numpy(), copy=True) for k, v in net.module.state_dict().items()}
    assert not np.allclose(before["1.running_mean"], trained["1.running_mean"])
    default = exp.predict(net.module, test)
    assert net.module.training                                   # put back as it was
    np.testing.assert_array_equal(default, exp.predict(net.module, test, eval_mode=True))
    for k, v in net.module.state_dict().items():                 # eval scoring moves nothing
        np.testing.assert_array_equal(v.numpy(), trained[k], err_msg=k)
    net.module.eval()
    np.testing.assert_array_equal(exp.predict(net.module, test), default)
    assert not net.module.training                               # left in eval mode, as it was
    net.module.train()
    train_mode = exp.predict(net.module, test, eval_mode=False)   # batch statistics instead
    assert train_mode.shape == default.shape and not np.array_equal(train_mode, default)


# ============================================================================== training parity
#: steps and batch of the float64 parity runs: the CNN on smaller batches to stay fast
PARITY = {"logistic-regression": (30, 100), "mlp-classifier": (30, 100), "small-cnn": (24, 20)}
#: the convolutions' biases feed straight into BatchNorm, which subtracts the batch mean: their
#: true gradient is 0, and Adam divides the rounding-sized remainder by its own tiny running
#: size, so they (and the running means that see them) wander by up to lr * 1e-4 per step in
#: each framework alike (documented in scripts/side_by_side.py); the network's output does not
#: depend on them. Everything else must agree to float64 rounding.
FREE = {"0.bias", "1.running_mean", "4.bias", "5.running_mean"}


@pytest.mark.parametrize("name", NAMES)
def test_float64_training_parity(name, sbs):
    steps, batch = PARITY[name]
    train, test = sbs.load_data(None)
    test = _head(test, 300)
    state = sbs.initial_state(name, seed=2)
    runs = {fw: sbs.train_and_score(name, fw, train, test, state, epochs=1, steps=steps, dtype="float64",
                                    keep=True, batch_size=batch, shuffle_seed=5)
            for fw in sbs.FRAMEWORKS}
    m, t = runs["minigan"], runs["torch"]
    for r in (m, t):
        assert r["steps"] == steps and r["initial_weights_identical"] and r["shuffle"] is True
        assert r["batch_size"] == batch and len(r["progress"]) == steps // 10
    assert m["weights"].keys() == t["weights"].keys()
    free = FREE if name == "small-cnn" else set()
    for k in t["weights"]:
        if k in free:
            np.testing.assert_allclose(m["weights"][k], t["weights"][k], atol=1e-5, err_msg=k)
        else:
            np.testing.assert_allclose(m["weights"][k], t["weights"][k], rtol=1e-9, atol=1e-12, err_msg=k)
    np.testing.assert_allclose(m["progress"], t["progress"], rtol=1e-10)
    np.testing.assert_array_equal(m["predictions"], t["predictions"])
    assert m["test_accuracy"] == t["test_accuracy"] > 0.3        # learned, well past chance
    if name == "small-cnn":
        assert m["test_accuracy_train_mode"] == t["test_accuracy_train_mode"]
        assert m["test_accuracy_eval_mode"] == m["test_accuracy"]
    moved = np.abs(t["weights"]["0.weight"] - state["0.weight"]).max()
    assert moved > 1e-3                                           # not two untouched copies


def test_side_by_side_shuffles_the_same_batches_for_both(sbs):
    """Epoch e's order is default_rng([seed, e]), the order ``minigan train`` uses; another
    seed gives other batches and so another run."""
    train, test = sbs.load_data(None)
    test = _head(test, 100)
    state = sbs.initial_state("logistic-regression", seed=0)
    a, b = (sbs.train_and_score("logistic-regression", "minigan", train, test, state, epochs=1,
                                steps=10, dtype="float64", shuffle_seed=s)["progress"] for s in (0, 1))
    assert a != b
    stored = sbs.train_and_score("classifier-improved", "minigan", train, test,
                                 sbs.initial_state("classifier-improved", 0), epochs=1, steps=10)
    assert (stored["batch_size"], stored["shuffle"]) == (1, False)   # the book's models as before


# ============================================================================== the command line
@pytest.mark.parametrize("name", NAMES)
def test_train_writes_outputs_and_eval_reads_them(tmp_path, capsys, name):
    out = tmp_path / name
    assert main(["train", name, "--steps", "20", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "loss.png", "metrics.json", "model.npz"]
    config = json.loads((out / "config.json").read_text())
    assert (config["batch_size"], config["shuffle"]) == (100, True)
    assert config["departures"][0].startswith("not a book model: yunjey/pytorch-tutorial")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations"] == 20 and metrics["test_items"] == 1000
    assert metrics["test_accuracy"] > 0.3          # 20 steps of 100 digits, well past chance
    capsys.readouterr()
    assert main(["eval", str(out / "model.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the same number from the saved weights (for the CNN: the running statistics saved too)
    assert report["model"] == name and report["test_accuracy"] == metrics["test_accuracy"]


# ============================================================================== regression
def test_line_converges_to_least_squares():
    exact = R.least_squares_line()
    for dtype, tol in (("float64", 1e-7), ("float32", 5e-5)):
        minigan.manual_seed(0)
        model, losses = R.fit_line(minigan, dtype=dtype)
        np.testing.assert_allclose(R.line_coefficients(model), exact, atol=tol, err_msg=dtype)
        assert losses[-1] < losses[0]
    minigan.manual_seed(0)
    short, _ = R.fit_line(minigan, **R.TUTORIAL_LINE, dtype="float64")   # the tutorial stops early
    assert np.abs(R.line_coefficients(short) - exact).max() > 0.1


def test_cubic_converges_to_polyfit():
    exact = R.least_squares_cubic()
    assert exact[1] == pytest.approx(0.8567, abs=1e-4) and exact[3] == pytest.approx(-0.0933, abs=1e-4)
    for dtype, tol in (("float64", 1e-7), ("float32", 5e-5)):
        minigan.manual_seed(0)
        model, _ = R.fit_cubic(minigan, dtype=dtype)
        np.testing.assert_allclose(R.cubic_coefficients(model), exact, atol=tol, err_msg=dtype)


@pytest.mark.parametrize("which", ["line", "cubic"])
def test_regression_parity_with_torch_float64(which):
    """The same start, the same steps: PyTorch's parameters (and every loss) to float64 rounding."""
    build, fit = (R.line_model, R.fit_line) if which == "line" else (R.cubic_model, R.fit_cubic)
    minigan.manual_seed(3)
    ours = build(minigan).to(minigan.float64)
    theirs = build(torch).to(torch.float64)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True))
                            for k, v in ours.state_dict().items()})
    _, our_losses = fit(minigan, model=ours, dtype="float64", steps=500)
    _, their_losses = fit(torch, model=theirs, dtype="float64", steps=500)
    coefficients = R.line_coefficients if which == "line" else R.cubic_coefficients
    np.testing.assert_allclose(coefficients(ours), coefficients(theirs), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-10)
    assert our_losses[-1] < 0.5 * our_losses[0]


# ============================================================================== examples
def _run_example(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("name", NAMES)
def test_classifier_example_runs(tmp_path, name):
    out = _run_example(tmp_path, str(ROOT / "examples" / "beyond_classifiers.py"), name, "--steps", "5")
    assert f"{name}: 5 steps; test accuracy" in out
    assert ("in training mode" in out) == (name == "small-cnn")
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}_loss.png"]


def test_regression_example_runs(tmp_path):
    out = _run_example(tmp_path, str(ROOT / "examples" / "beyond_regression.py"))
    assert "least squares" in out and "cubic" in out
    assert [p.name for p in tmp_path.iterdir()] == ["regression.png"]
