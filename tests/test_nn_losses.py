"""Losses against PyTorch: MSE, L1, BCE (with its -100 log clamp), BCE with logits,
cross entropy and NLL, for every reduction, forward and the gradients of input and target,
plus float64 gradcheck and gradgradcheck (the composite path), and the error messages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from test_nn_helpers import DEVICES, DTYPES, assert_close, compare_function, float64_inputs, host, mg, th

SETTINGS = settings(max_examples=20, deadline=None)
REDUCTIONS = ["mean", "sum", "none"]
shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)


def probabilities(rng, shape, margin=1e-3):
    return rng.uniform(margin, 1 - margin, shape)


# ============================================================================== pointwise losses
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss"])
@SETTINGS
@given(shape=shapes, reduction=st.sampled_from(REDUCTIONS), seed=st.integers(0, 2**16))
def test_pointwise_loss_matches_torch(device, dtype, name, shape, reduction, seed):
    rng = np.random.default_rng(seed)
    if name == "BCELoss":
        x, t = probabilities(rng, shape), rng.uniform(0, 1, shape)
    else:
        x, t = rng.standard_normal(shape) * 3, rng.uniform(-1, 2, shape)
        if name == "L1Loss":  # keep |x - t| away from its kink at 0
            t = np.where(np.abs(x - t) < 0.01, t + 0.1, t)
    compare_function(getattr(torch.nn, name)(reduction=reduction), getattr(nn, name)(reduction=reduction),
                     [x, t], dtype, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_at_saturated_predictions_equals_torch(device, dtype):
    """p exactly 0 or 1 (a saturated float32 sigmoid): loss 100 not inf, 0 not nan, and the
    gradient (p - t) / max(p (1 - p), 1e-12) = +-1e12 exactly as PyTorch."""
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5, 1e-30])
    t = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.7, 1.0, 1.0])
    for reduction in REDUCTIONS:
        compare_function(torch.nn.BCELoss(reduction=reduction), nn.BCELoss(reduction=reduction),
                         [p, t], dtype, input_grads=False, device=device)
        pt, pm = th(p, dtype, requires_grad=True), mg(p, dtype, device=device, requires_grad=True)
        lt = torch.nn.functional.binary_cross_entropy(pt, th(t, dtype), reduction=reduction)
        lm = F.binary_cross_entropy(pm, mg(t, dtype, device=device), reduction=reduction)
        assert_close(lm, lt, dtype, "loss")
        lt.sum().backward()
        lm.sum().backward()
        assert_close(pm.grad, pt.grad, dtype, "gradient")
    assert host(F.binary_cross_entropy(mg([0.0]), mg([1.0]))) == pytest.approx(100.0)
    assert host(F.binary_cross_entropy(mg([1.0]), mg([1.0]))) == 0.0


def test_bce_tiny_probabilities_use_the_clamp_exactly():
    """Below e^-100 PyTorch's loss is exactly 100; just above, the true log."""
    for dtype, tiny in (("float64", 1e-300), ("float32", 1e-45), ("float64", 1e-40), ("float32", 1e-40)):
        p, t = np.array([tiny, 1 - 1e-7]), np.array([1.0, 0.0])
        expected = torch.nn.functional.binary_cross_entropy(th(p, dtype), th(t, dtype), reduction="none")
        assert_close(F.binary_cross_entropy(mg(p, dtype), mg(t, dtype), reduction="none"), expected, dtype)


def test_bce_tiny_loss_values_are_accurate():
    """The book prints D outputs of 1e-11 on noise: log(1 - p) must not lose them (log1p)."""
    p, t = np.array([1e-11, 1e-10]), np.zeros(2)
    expected = torch.nn.functional.binary_cross_entropy(th(p), th(t), reduction="none")
    assert_close(F.binary_cross_entropy(mg(p), mg(t), reduction="none"), expected, "float64")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_weight_matches_torch(dtype):
    rng = np.random.default_rng(0)
    p, t, w = probabilities(rng, (4, 3)), rng.uniform(0, 1, (4, 3)), rng.uniform(0, 2, (3,))
    for reduction in REDUCTIONS:
        compare_function(lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, weight=th(w, dtype), reduction=reduction),
                         lambda a, b: F.binary_cross_entropy(a, b, weight=mg(w, dtype), reduction=reduction),
                         [p, t], dtype)
        assert nn.BCELoss(weight=mg(w)).weight is not None


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_weights_and_extreme_logits_match_torch(dtype):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal((3, 4)) * 4, [[-200.0, -40.0, 40.0, 200.0]]])
    t = rng.uniform(0, 1, (4, 4))
    w, pw = rng.uniform(0.5, 2, (4,)), rng.uniform(0.5, 3, (4,))
    for reduction in REDUCTIONS:
        t_loss = torch.nn.BCEWithLogitsLoss(weight=th(w, dtype), pos_weight=th(pw, dtype), reduction=reduction)
        m_loss = nn.BCEWithLogitsLoss(weight=mg(w, dtype), pos_weight=mg(pw, dtype), reduction=reduction)
        compare_function(t_loss, m_loss, [x, t], dtype)
        compare_function(torch.nn.BCEWithLogitsLoss(pos_weight=th(pw, dtype), reduction=reduction),
                         nn.BCEWithLogitsLoss(pos_weight=mg(pw, dtype), reduction=reduction), [x, t], dtype)


def test_mse_and_l1_with_weight_match_torch():
    rng = np.random.default_rng(2)
    x, t, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    for fn in ("mse_loss", "l1_loss"):
        for reduction in REDUCTIONS:
            compare_function(lambda a, b, c: getattr(torch.nn.functional, fn)(a, b, reduction=reduction, weight=c),
                             lambda a, b, c: getattr(F, fn)(a, b, reduction=reduction, weight=c),
                             [x, t, w], "float64")


def test_mse_promotes_like_torch():
    x32, t64 = mg(np.ones(3), np.float32), mg(np.zeros(3), np.float64)
    assert F.mse_loss(x32, t64).dtype == minigan.float64
    assert F.mse_loss(x32, mg(np.array([1, 0, 1]))).dtype == minigan.float32
    with pytest.raises(RuntimeError, match="dtype"):
        F.binary_cross_entropy(mg(np.full(3, 0.5), np.float32), t64)


# ============================================================================== class losses
def class_case(rng, batch, n_classes, extra):
    """Logits of shape (C,), (N, C) or (N, C, d...) and matching class-index targets."""
    if batch is None:
        return rng.standard_normal((n_classes,)) * 2, np.array(rng.integers(0, n_classes))
    x = rng.standard_normal((batch, n_classes) + extra) * 2
    return x, rng.integers(0, n_classes, (batch,) + extra)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
@SETTINGS
@given(batch=st.one_of(st.none(), st.integers(1, 4)), n_classes=st.integers(2, 5),
       extra=st.lists(st.integers(1, 3), max_size=2).map(tuple), reduction=st.sampled_from(REDUCTIONS),
       weighted=st.booleans(), ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.3]),
       seed=st.integers(0, 2**16))
def test_class_loss_matches_torch(device, dtype, name, batch, n_classes, extra, reduction, weighted,
                                  ignore, smoothing, seed):
    rng = np.random.default_rng(seed)
    x, t = class_case(rng, batch, n_classes, extra)
    kwargs = {"reduction": reduction}
    w = rng.uniform(0.2, 2, (n_classes,))
    if weighted:
        kwargs_t, kwargs_m = dict(kwargs, weight=th(w, dtype)), dict(kwargs, weight=mg(w, dtype, device=device))
    else:
        kwargs_t, kwargs_m = dict(kwargs), dict(kwargs)
    if ignore and t.ndim:
        t = t.copy()
        t.reshape(-1)[0] = 1  # ignore a class that occurs, keep another position valid
        t.reshape(-1)[-1] = 0 if t.size > 1 else t.reshape(-1)[-1]
        kwargs_t["ignore_index"] = kwargs_m["ignore_index"] = 1
        if t.size == 1 and reduction == "mean":
            return  # every position ignored: 0/0, nan on both sides
    if name == "CrossEntropyLoss":
        kwargs_t["label_smoothing"] = kwargs_m["label_smoothing"] = smoothing
    else:
        x = host(torch.log_softmax(th(x), dim=0 if batch is None else 1))
    compare_function(getattr(torch.nn, name)(**kwargs_t), getattr(nn, name)(**kwargs_m), [x, t], dtype,
                     device=device)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_probability_targets_matches_torch(dtype, reduction, smoothing):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 2))
    target = rng.dirichlet(np.ones(5), (4, 2)).transpose(0, 2, 1)
    w = rng.uniform(0.5, 2, (5,))
    compare_function(lambda a, b: torch.nn.functional.cross_entropy(a, b, weight=th(w, dtype), reduction=reduction,
                                                                    label_smoothing=smoothing),
                     lambda a, b: F.cross_entropy(a, b, weight=mg(w, dtype), reduction=reduction,
                                                  label_smoothing=smoothing),
                     [x, target], dtype)


def test_class_losses_reject_bad_targets():
    x = mg(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"\[0, 3\]"):
        F.cross_entropy(x, mg(np.array([0, 4, 1])))
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, mg(np.array([0, 1])))
    with pytest.raises(RuntimeError, match="class-index"):
        F.nll_loss(x, mg(np.zeros((3, 4))))
    with pytest.raises(RuntimeError, match="weight"):
        F.cross_entropy(x, mg(np.array([0, 1, 2])), weight=mg(np.ones(3)))


# ============================================================================== errors and API
@pytest.mark.parametrize("module,fn_name", [(nn.MSELoss, "mse_loss"), (nn.L1Loss, "l1_loss"),
                                            (nn.BCELoss, "binary_cross_entropy"),
                                            (nn.BCEWithLogitsLoss, "binary_cross_entropy_with_logits")])
def test_shape_mismatch_is_an_error_naming_the_loss_and_both_shapes(module, fn_name):
    """PyTorch only warns and broadcasts (1,) against (10,); here it is an error."""
    out, target = mg(np.full((10,), 0.5)), mg(np.ones((1,)))
    with pytest.raises(ValueError) as info:
        module()(out, target)
    message = str(info.value)
    assert fn_name in message and "(10,)" in message and "(1,)" in message
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)|\(4,\).*\(4, 1\)"):
        module()(mg(np.full((4, 1), 0.5)), mg(np.ones(4)))


def test_bce_rejects_inputs_outside_0_1():
    for bad in ([1.5, 0.5], [-0.1, 0.5], [np.nan, 0.5]):
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            F.binary_cross_entropy(mg(np.array(bad)), mg(np.ones(2)))


def test_bce_rejects_targets_outside_0_1_as_torch_does():
    """Class numbers passed as BCE targets used to give a loss silently (PyTorch raises)."""
    for bad in ([3.0, 0.0], [-1.0, 1.0], [np.nan, 1.0]):
        with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
            F.binary_cross_entropy(mg(np.array([0.5, 0.5])), mg(np.array(bad)))
        with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
            torch.nn.functional.binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor(bad))


def test_reduction_arguments():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="average")
    x, t = mg(np.array([1.0, 2.0, 4.0])), mg(np.zeros(3))
    assert host(nn.MSELoss(size_average=False)(x, t)) == pytest.approx(21.0)  # legacy flags
    assert host(nn.MSELoss(reduce=False)(x, t)).shape == (3,)
    assert host(nn.MSELoss()(x, t)) == pytest.approx(7.0)


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "BCELoss", "BCEWithLogitsLoss",
                                  "CrossEntropyLoss", "NLLLoss"])
def test_loss_repr_is_torchs(name):
    assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())


def test_book_usage_shapes():
    """Notebook 04: a (10,) sigmoid output against a (10,) one-hot target; GANs: (1,) vs
    FloatTensor([1.0])."""
    out = nn.Sigmoid()(minigan.randn(10, requires_grad=True))
    target = minigan.zeros(10)
    target[3] = 1.0
    loss = nn.BCELoss()(out, target)
    assert loss.shape == () and loss.dtype == minigan.float32
    loss.backward()
    d_out = nn.Sigmoid()(minigan.randn(1))
    assert nn.BCELoss()(d_out, minigan.FloatTensor([1.0])).shape == ()
    assert nn.MSELoss()(d_out, minigan.FloatTensor([0.0])).dtype == minigan.float32


# ============================================================================== gradcheck
def _loss_cases():
    rng = np.random.default_rng(5)
    p, t = probabilities(rng, (2, 3), 0.05), rng.uniform(0, 1, (2, 3))
    x, t_cls = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    for reduction in REDUCTIONS:
        yield f"mse-{reduction}", (lambda a, b, r=reduction: F.mse_loss(a, b, reduction=r)), (x[:2, :3], t)
        yield f"l1-{reduction}", (lambda a, b, r=reduction: F.l1_loss(a, b, reduction=r)), (x[:2, :3], t + 2)
        yield f"bce-{reduction}", (lambda a, b, r=reduction: F.binary_cross_entropy(a, b, reduction=r)), (p, t)
        yield (f"bce_logits-{reduction}",
               (lambda a, b, r=reduction: F.binary_cross_entropy_with_logits(
                   a, b, reduction=r, pos_weight=mg(np.array([1.0, 2.0, 0.5])))), (x[:2, :3], t))
        yield (f"cross_entropy-{reduction}",
               (lambda a, r=reduction: F.cross_entropy(a, mg(t_cls), reduction=r, label_smoothing=0.1,
                                                       weight=mg(np.array([1.0, 2.0, 0.5, 1.5])))), (x,))
        yield (f"cross_entropy_probs-{reduction}",
               (lambda a, b, r=reduction: F.cross_entropy(a, b, reduction=r)), (x, rng.dirichlet(np.ones(4), 3)))
        yield f"nll-{reduction}", (lambda a, r=reduction: F.nll_loss(a, mg(t_cls), reduction=r)), (x,)


LOSS_CASES = list(_loss_cases())


@pytest.mark.parametrize("name,fn,arrays", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_loss_gradcheck_and_gradgradcheck(name, fn, arrays):
    inputs = float64_inputs(*arrays)
    assert minigan.gradcheck(fn, inputs)
    if not name.startswith("l1"):  # |x| is piecewise linear
        assert minigan.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("fn_name", ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
                                     "cross_entropy"])
def test_double_backward_matches_torch(fn_name):
    """create_graph=True gradients (a gradient penalty's ingredients) equal PyTorch's."""
    rng = np.random.default_rng(6)
    x = rng.uniform(0.1, 0.9, (3, 4))
    t = rng.uniform(0, 1, (3, 4)) if fn_name != "cross_entropy" else rng.integers(0, 4, (3,))
    results = []
    for lib, fn in ((torch, getattr(torch.nn.functional, fn_name)), (minigan, getattr(F, fn_name))):
        xs = (th if lib is torch else mg)(x, np.float64, requires_grad=True)
        ts = (th if lib is torch else mg)(t, np.float64 if t.dtype.kind == "f" else None)
        (g,) = lib.autograd.grad(fn(xs, ts), xs, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), xs)
        results.append((g, gg))
    (tg, tgg), (mgg_1, mgg_2) = results
    assert_close(mgg_1, tg, "float64", "first derivative")
    assert_close(mgg_2, tgg, "float64", "second derivative", scale=10)
