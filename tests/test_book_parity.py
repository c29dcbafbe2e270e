"""Training parity with PyTorch (DESIGN.md, testing doctrine): the book's models, trained.

Each test builds one experiment of :mod:`minigan.book` twice, on minigan and on PyTorch, in
float64 (``experiment.build(fw, dtype=float64)``), copies minigan's initial weights into the
PyTorch twin, draws every real sample, seed and target up front with NumPy, and runs the same
book-style steps (:func:`minigan.training.gan_step` / :func:`~minigan.training.train_step`)
on both. At the end every parameter and buffer must agree to a relative 1e-6, and so must the
recorded losses (``progress``) and Adam's moments. One comparison checks layers, losses,
optimiser and the loop's order at once.

=====================  ======  =========================================================
experiment             steps   data
=====================  ======  =========================================================
pattern1010            200     the book's ``generate_real`` 1010 pattern (NumPy); G's input
                               the constant 0.5 (BOOK_SPEC 4.06)
classifier-improved    200     real digits of the bundled MNIST sample, one-hot targets (4.04)
mnist-gan              200     real digits; seeds randn(100), two fresh ones a step (4.08)
cnn-classifier         50      real digits viewed (1, 1, 28, 28); BatchNorm in training mode,
                               running statistics compared too (4.13)
=====================  ======  =========================================================

``test_parity_check_can_fail`` makes sure the comparison notices a small difference (one
learning rate changed by 1 %).
"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import book
from minigan.data import bundled_mnist
from minigan.training import gan_step, train_step

torch = pytest.importorskip("torch")

RTOL, ATOL = 1e-6, 1e-12   # the bar: relative difference <= 1e-6
STEPS = 200


pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


# ============================================================================== helpers
def _networks(built):
    return [built.D, built.G] if hasattr(built, "G") else [built]


def _twins(name, seed=0):
    """The experiment on minigan and on PyTorch, float64, with minigan's initial weights in both."""
    exp = book.get(name)
    minigan.manual_seed(seed)
    ours = exp.build(minigan, dtype=minigan.float64)
    theirs = exp.build(torch, dtype=torch.float64)
    for m, t in zip(_networks(ours), _networks(theirs)):
        t.module.load_state_dict({k: torch.from_numpy(np.array(v.numpy(), copy=True))
                                  for k, v in m.module.state_dict().items()})
        assert all(p.dtype == minigan.float64 for p in m.parameters())
        assert all(p.dtype == torch.float64 for p in t.parameters())
    return exp, ours, theirs


def _state(net) -> dict:
    """Every parameter and buffer of a Network as float64 / int NumPy arrays, by state-dict name."""
    out = {}
    for k, v in net.module.state_dict().items():
        if isinstance(v, torch.Tensor):
            v = v.detach()
        out[k] = np.array(v.numpy(), copy=True)
    return out


def _relative(a, b) -> float:
    """max |a - b| / |b| (where b is 0, the absolute difference over ATOL / RTOL)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), ATOL / RTOL), initial=0.0))


def compare_weights(ours, theirs, rtol=RTOL, atol=ATOL) -> tuple[float, str]:
    """Assert every parameter and buffer agrees; return (worst relative difference, its name).

    The failure names the worst parameter and lists every one that differs.
    """
    worst, worst_name, bad = 0.0, "", []
    for m, t in zip(_networks(ours), _networks(theirs)):
        sm, st = _state(m), _state(t)
        assert sm.keys() == st.keys(), m.name
        for k in st:
            name = f"{m.name}.{k}"
            assert sm[k].shape == st[k].shape, name
            rel = _relative(sm[k], st[k])
            if rel > worst:
                worst, worst_name = rel, name
            if not np.allclose(sm[k], st[k], rtol=rtol, atol=atol):
                bad.append(f"{name} (max relative difference {rel:.3g})")
    if bad:
        pytest.fail(f"weights differ from PyTorch's: worst {worst_name} (max relative difference "
                    f"{worst:.3g} > {rtol:g}); differing: {', '.join(bad)}")
    return worst, worst_name


def compare_progress(ours, theirs) -> float:
    worst = 0.0
    for m, t in zip(_networks(ours), _networks(theirs)):
        assert (m.counter, len(m.progress)) == (t.counter, len(t.progress)), m.name
        np.testing.assert_allclose(m.progress, t.progress, rtol=RTOL, atol=ATOL,
                                   err_msg=f"{m.name}'s recorded losses")
        worst = max(worst, _relative(m.progress, t.progress))
    return worst


def compare_adam(ours, theirs) -> float:
    """Adam's step count and moments; returns the worst of max|a - b| / max|b| per moment.

    minigan keeps discounted sums (optim/adam.py): ``exp_avg = exp_sum * (1 - beta1)``,
    ``exp_avg_sq = exp_sum_sq * (1 - beta2)``. The tolerance is relative to each moment's
    largest value: a gradient that is zero in exact arithmetic (a conv bias whose channel
    stays on one side of the LeakyReLU before a BatchNorm) is rounding noise, 1e-17, in both
    frameworks, and its moments are noise too.
    """
    worst = 0.0
    for m, t in zip(_networks(ours), _networks(theirs)):
        sm, st = m.optimiser.state_dict()["state"], t.optimiser.state_dict()["state"]
        assert sorted(sm) == sorted(st) and len(st) == len(list(t.parameters())), m.name
        beta1, beta2 = t.optimiser.param_groups[0]["betas"]
        for i in st:
            assert int(sm[i]["step"]) == int(st[i]["step"]), (m.name, i)
            for ours_key, theirs_key, scale in (("exp_sum", "exp_avg", 1 - beta1),
                                                ("exp_sum_sq", "exp_avg_sq", 1 - beta2)):
                a = np.asarray(sm[i][ours_key].numpy()) * scale
                b = st[i][theirs_key].numpy()
                top = float(np.max(np.abs(b)))
                np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL * top,
                                           err_msg=f"{m.name} parameter {i} {theirs_key}")
                if top > 0:
                    worst = max(worst, float(np.max(np.abs(a - b))) / top)
    return worst


def _moved(before, after) -> bool:
    """The weights changed (the comparison is not between two untouched copies)."""
    return any(not np.allclose(before[k], after[k], rtol=1e-6, atol=0) for k in before)


def _mnist(n):
    ds = bundled_mnist("train")
    assert len(ds.images) >= n
    return ds.images[:n].astype(np.float64) / 255.0, ds.labels[:n]


def _report(name, steps, weights, progress, adam=None):
    """The figures, shown with ``pytest -s`` (or in the output of a failure)."""
    extra = "" if adam is None else f", Adam moments {adam:.2g}"
    print(f"\n{name}: {steps} steps, worst relative difference: weights {weights[0]:.2g} "
          f"({weights[1]}), recorded losses {progress:.2g}{extra}")


# ============================================================================== the loops
def run_gan(fw, exp, nets, reals, seeds_a, seeds_b):
    """The book's GAN loop (BOOK_SPEC 1.7) over pre-drawn NumPy numbers."""
    ones, zeros = exp.targets(fw, dtype=fw.float64)
    for real, a, b in zip(reals, seeds_a, seeds_b):
        gan_step(nets.D, nets.G, fw.from_numpy(real), fw.from_numpy(a), fw.from_numpy(b),
                 ones, zeros)


def run_classifier(fw, exp, net, images, targets):
    """The book's classifier loop (1.2): one ``train`` per image, in stored order."""
    for image, target in zip(images, targets):
        train_step(net, exp.view(fw.from_numpy(image)), fw.from_numpy(target))


def pattern_data(steps, rng):
    """``generate_real()`` of notebook 06, drawn with NumPy; G's input is always 0.5."""
    reals = rng.uniform([0.8, 0.0, 0.8, 0.0], [1.0, 0.2, 1.0, 0.2], size=(steps, 4))
    half = np.full((steps, 1), 0.5)
    return reals, half, half.copy()


def _gan_parity(name, reals, seeds_a, seeds_b, adam=True):
    exp, ours, theirs = _twins(name)
    start = [_state(n) for n in _networks(ours)]
    run_gan(minigan, exp, ours, reals, seeds_a, seeds_b)
    run_gan(torch, exp, theirs, reals, seeds_a, seeds_b)
    steps = len(reals)
    assert (ours.D.counter, ours.G.counter) == (2 * steps, steps)
    assert (len(ours.D.progress), len(ours.G.progress)) == (2 * steps // 10, steps // 10)
    weights = compare_weights(ours, theirs)
    progress = compare_progress(ours, theirs)
    moments = compare_adam(ours, theirs) if adam else None
    assert all(_moved(s, _state(n)) for s, n in zip(start, _networks(ours)))
    _report(name, steps, weights, progress, moments)
    return weights


def _classifier_parity(name, steps):
    exp, ours, theirs = _twins(name)
    images, labels = _mnist(steps)
    targets = np.eye(10)[labels]
    start = _state(ours)
    run_classifier(minigan, exp, ours, images, targets)
    run_classifier(torch, exp, theirs, images, targets)
    assert ours.counter == steps and len(ours.progress) == steps // 10
    weights = compare_weights(ours, theirs)
    progress = compare_progress(ours, theirs)
    moments = compare_adam(ours, theirs)
    assert _moved(start, _state(ours))
    _report(name, steps, weights, progress, moments)
    return weights


# ============================================================================== the tests
def test_pattern1010_gan_parity():
    """BOOK_SPEC 4.06: MSE, SGD 0.01, Sigmoids; 200 iterations = 600 training steps."""
    reals, seeds_a, seeds_b = pattern_data(STEPS, np.random.default_rng(10))
    _gan_parity("pattern1010", reals, seeds_a, seeds_b, adam=False)


def test_improved_classifier_parity():
    """BOOK_SPEC 4.04: BCE, LeakyReLU(0.02), LayerNorm, Adam 1e-3 on 200 real digits."""
    _classifier_parity("classifier-improved", STEPS)


def test_improved_mnist_gan_parity():
    """BOOK_SPEC 4.08: BCE, LeakyReLU, LayerNorm, Adam 1e-4, randn(100) seeds, real digits."""
    reals, _ = _mnist(STEPS)
    rng = np.random.default_rng(11)
    seeds_a, seeds_b = rng.standard_normal((STEPS, 100)), rng.standard_normal((STEPS, 100))
    _gan_parity("mnist-gan", reals, seeds_a, seeds_b)


def test_cnn_classifier_parity():
    """BOOK_SPEC 4.13: conv, LeakyReLU, BatchNorm2d in training mode (running statistics too)."""
    _classifier_parity("cnn-classifier", 50)


def test_parity_check_can_fail():
    """The comparison notices a 1 % different learning rate on one side, after 20 iterations."""
    reals, seeds_a, seeds_b = pattern_data(20, np.random.default_rng(12))
    exp, ours, theirs = _twins("pattern1010")
    for group in theirs.G.optimiser.param_groups:
        group["lr"] *= 1.01
    run_gan(minigan, exp, ours, reals, seeds_a, seeds_b)
    run_gan(torch, exp, theirs, reals, seeds_a, seeds_b)
    with pytest.raises(pytest.fail.Exception, match=r"weights differ from PyTorch's: worst [DG]\.") as info:
        compare_weights(ours, theirs)
    assert "max relative difference" in str(info.value)


def test_parity_check_passes_on_identical_twins():
    """And the helpers accept two untouched copies (the copy of weights is exact)."""
    _, ours, theirs = _twins("mnist-gan")
    assert compare_weights(ours, theirs) == (0.0, "")
