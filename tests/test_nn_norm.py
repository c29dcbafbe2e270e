"""LayerNorm and BatchNorm1d/2d against PyTorch: forward, the gradients of input, weight and
bias, running statistics over several steps, eval mode, the book's single-image training
mode, and float64 gradcheck / gradgradcheck of the fused functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from minigan.nn import functional as F
from test_nn_helpers import (DEVICES, DTYPES, assert_close, compare_function, compare_module,
                             copy_parameters, float64_inputs, host, mg, th)

SETTINGS = settings(max_examples=20, deadline=None)


def perturb_affine(t_mod, seed):
    """Give gamma and beta non-trivial values (they start at 1 and 0)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.tensor(rng.uniform(0.5, 1.5, tuple(p.shape))))


# ============================================================================== LayerNorm
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(lead=st.lists(st.integers(1, 4), max_size=2).map(tuple),
       normalized=st.lists(st.integers(1, 6), min_size=1, max_size=2).map(tuple),
       affine=st.booleans(), bias=st.booleans(), eps=st.sampled_from([1e-5, 1e-3]),
       seed=st.integers(0, 2**16))
def test_layer_norm_matches_torch(device, dtype, lead, normalized, affine, bias, eps, seed):
    if int(np.prod(normalized)) < 3:  # 1 value normalises to 0, 2 to +-1: gradients ~ rounding noise
        normalized = normalized[:-1] + (normalized[-1] + 2,)
    t_mod = torch.nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias).to(getattr(torch, dtype))
    m_mod = nn.LayerNorm(normalized, eps=eps, elementwise_affine=affine, bias=bias, device=device, dtype=dtype)
    perturb_affine(t_mod, seed)
    copy_parameters(t_mod, m_mod)
    x = np.random.default_rng(seed).standard_normal(lead + normalized) * 2 + 1
    if affine:
        compare_module(t_mod, m_mod, [x], dtype, scale=3)
    else:
        compare_function(t_mod, m_mod, [x], dtype, scale=3, device=device)
    assert repr(m_mod) == repr(t_mod)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_book_path(device, dtype):
    """Notebook 04 / 08: LayerNorm(200) on one (200,) sample after LeakyReLU(0.02)."""
    t_mod = torch.nn.LayerNorm(200).to(getattr(torch, dtype))
    m_mod = nn.LayerNorm(200, device=device, dtype=dtype)
    perturb_affine(t_mod, 0)
    copy_parameters(t_mod, m_mod)
    x = np.random.default_rng(0).standard_normal(200)
    x = np.where(x > 0, x, 0.02 * x)
    compare_module(t_mod, m_mod, [x], dtype, scale=3)


def test_layer_norm_functional_and_errors():
    x = np.random.default_rng(1).standard_normal((3, 4, 5))
    w, b = np.linspace(0.5, 1.5, 20).reshape(4, 5), np.linspace(-1, 1, 20).reshape(4, 5)
    compare_function(lambda a, c, d: torch.nn.functional.layer_norm(a, (4, 5), c, d),
                     lambda a, c, d: F.layer_norm(a, (4, 5), c, d), [x, w, b], "float64")
    compare_function(lambda a: torch.nn.functional.layer_norm(a, [5]), lambda a: F.layer_norm(a, [5]),
                     [x], "float64")
    with pytest.raises(RuntimeError, match=r"expected input with shape \[\*, 4\]"):
        nn.LayerNorm(4)(mg(x))
    with pytest.raises(RuntimeError, match="weight"):
        F.layer_norm(mg(x), (5,), mg(np.ones(4)))


def test_layer_norm_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(2)
    x, w, b = float64_inputs(rng.standard_normal((2, 5)), rng.uniform(0.5, 1.5, 5), rng.standard_normal(5))
    for fn, args in [(lambda x, w, b: F.layer_norm(x, (5,), w, b), (x, w, b)),
                     (lambda x: F.layer_norm(x, (5,)), (x,)),
                     (lambda x, w: F.layer_norm(x, (5,), w), (x, w))]:
        assert minigan.gradcheck(fn, args)
        assert minigan.gradgradcheck(fn, args)
    x1, = float64_inputs(rng.standard_normal(6))  # the book's 1-d path
    assert minigan.gradcheck(lambda x: F.layer_norm(x, (6,)), (x1,))
    assert minigan.gradgradcheck(lambda x: F.layer_norm(x, (6,)), (x1,))
    x3, = float64_inputs(rng.standard_normal((2, 2, 3)))
    assert minigan.gradgradcheck(lambda x: F.layer_norm(x, (2, 3)), (x3,))


def test_layer_norm_normalises():
    y = host(nn.LayerNorm(200)(minigan.randn(200) * 5 + 3))
    assert abs(y.mean()) < 1e-5 and abs(y.var() - 1) < 1e-3


# ============================================================================== BatchNorm
BN_SHAPES = {"BatchNorm1d": [(4, 3), (2, 3, 5), (1, 3, 4)],
             "BatchNorm2d": [(1, 3, 4, 5), (2, 3, 3, 3), (3, 2, 1, 2), (1, 4, 2, 1)]}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["BatchNorm1d", "BatchNorm2d"])
@SETTINGS
@given(which=st.integers(0, 3), channels=st.integers(1, 5), affine=st.booleans(), bias=st.booleans(),
       momentum=st.sampled_from([0.1, 0.5, None]), seed=st.integers(0, 2**16))
def test_batch_norm_training_steps_and_eval_match_torch(device, dtype, name, which, channels, affine, bias,
                                                        momentum, seed):
    """Three training steps (output, every gradient, running stats, counter), then eval."""
    shape = list(BN_SHAPES[name][which % len(BN_SHAPES[name])])
    shape[1] = channels
    t_mod = getattr(torch.nn, name)(channels, momentum=momentum, affine=affine, bias=bias).to(getattr(torch, dtype))
    m_mod = getattr(nn, name)(channels, momentum=momentum, affine=affine, bias=bias, device=device, dtype=dtype)
    perturb_affine(t_mod, seed)
    copy_parameters(t_mod, m_mod)
    rng = np.random.default_rng(seed)
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        if affine:
            m_mod.zero_grad()
            t_mod.zero_grad()
            compare_module(t_mod, m_mod, [x], dtype, scale=5, seed=step)
        else:
            compare_function(t_mod, m_mod, [x], dtype, scale=5, seed=step, device=device)
        assert_close(m_mod.running_mean, t_mod.running_mean, dtype, "running_mean", scale=5)
        assert_close(m_mod.running_var, t_mod.running_var, dtype, "running_var", scale=5)
        assert int(host(m_mod.num_batches_tracked)) == int(t_mod.num_batches_tracked) == step + 1
    t_mod.eval()
    m_mod.eval()
    x = rng.standard_normal(shape)
    if affine:
        m_mod.zero_grad()
        t_mod.zero_grad()
        compare_module(t_mod, m_mod, [x], dtype, scale=5)
    else:
        compare_function(t_mod, m_mod, [x], dtype, scale=5, device=device)
    assert int(host(m_mod.num_batches_tracked)) == 3  # eval does not count


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_book_case_single_image_in_training_mode(dtype):
    """Notebooks 13-15: BatchNorm2d(C) on one (1, C, H, W) image, always in training mode,
    normalises each channel over its H x W values (BOOK_SPEC section 1.5)."""
    t_mod, m_mod = torch.nn.BatchNorm2d(10).to(getattr(torch, dtype)), nn.BatchNorm2d(10, dtype=dtype)
    x = np.random.default_rng(4).standard_normal((1, 10, 12, 12)) * 3 + 2
    compare_module(t_mod, m_mod, [x], dtype, scale=5)
    y = host(m_mod(mg(x, dtype)))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)


def test_batch_norm_big_book_shape_matches_torch():
    """The conv GAN's (1, 256, 61, 61) activation, float32."""
    t_mod, m_mod = torch.nn.BatchNorm2d(256), nn.BatchNorm2d(256)
    perturb_affine(t_mod, 5)
    copy_parameters(t_mod, m_mod)
    x = np.random.default_rng(5).standard_normal((1, 256, 61, 61)).astype(np.float32)
    compare_module(t_mod, m_mod, [x], "float32", scale=10)


def test_batch_norm_without_running_stats_and_batch_of_one_error():
    for t_mod, m_mod in [(torch.nn.BatchNorm1d(3, track_running_stats=False),
                          nn.BatchNorm1d(3, track_running_stats=False))]:
        assert list(m_mod.state_dict()) == list(t_mod.state_dict()) == ["weight", "bias"]
        x = np.random.default_rng(0).standard_normal((4, 3))
        compare_module(t_mod.double(), m_mod.double(), [x], "float64")
        t_mod.eval()
        m_mod.eval()  # no running stats: eval still uses the batch statistics
        compare_module(t_mod, m_mod, [x], "float64")
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                         r"got input size \[1, 3\]"):
        nn.BatchNorm1d(3)(minigan.randn(1, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm2d(3)(minigan.randn(1, 3, 1, 1))
    bn = nn.BatchNorm1d(3).eval()
    assert bn(minigan.randn(1, 3)).shape == (1, 3)  # eval mode: fine
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(minigan.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(minigan.randn(2, 3, 4, 4))


def test_batch_norm_state_dict_repr_and_dtype_moves():
    t_mod, m_mod = torch.nn.BatchNorm2d(256), nn.BatchNorm2d(256)
    assert list(m_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(m_mod) == repr(t_mod)
    assert repr(nn.BatchNorm1d(4, momentum=None, affine=False)) == repr(torch.nn.BatchNorm1d(4, momentum=None, affine=False))
    m_mod.double()
    assert m_mod.running_mean.dtype == minigan.float64 and m_mod.weight.dtype == minigan.float64
    assert m_mod.num_batches_tracked.dtype == minigan.int64
    m_mod(minigan.randn(1, 256, 2, 2, dtype=minigan.float64))
    assert m_mod.running_var.dtype == minigan.float64


def test_batch_norm_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(minigan.randn(5, 2) * 3 + 1)
    bn.reset_running_stats()
    np.testing.assert_array_equal(host(bn.running_mean), 0)
    np.testing.assert_array_equal(host(bn.running_var), 1)
    assert int(host(bn.num_batches_tracked)) == 0


def test_batch_norm_functional_matches_torch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 2, 4))
    rm, rv = rng.standard_normal(2), rng.uniform(0.5, 2, 2)
    w, b = rng.uniform(0.5, 1.5, 2), rng.standard_normal(2)
    for training in (True, False):
        t_rm, t_rv, m_rm, m_rv = th(rm), th(rv), mg(rm), mg(rv)
        compare_function(lambda a, c, d: torch.nn.functional.batch_norm(a, t_rm, t_rv, c, d, training, 0.3, 1e-3),
                         lambda a, c, d: F.batch_norm(a, m_rm, m_rv, c, d, training, 0.3, 1e-3),
                         [x, w, b], "float64")
        assert_close(m_rm, t_rm, "float64", "running_mean")
        assert_close(m_rv, t_rv, "float64", "running_var")


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2), (2, 2, 3), (1, 2, 2, 3)])
def test_batch_norm_gradcheck_and_gradgradcheck(training, shape):
    rng = np.random.default_rng(8)
    x, w, b = float64_inputs(rng.standard_normal(shape), rng.uniform(0.5, 1.5, 2), rng.standard_normal(2))
    rm, rv = mg(rng.standard_normal(2)), mg(rng.uniform(0.5, 2, 2))

    def fn(x, w, b):
        return F.batch_norm(x, rm, rv, w, b, training=training)
    assert minigan.gradcheck(fn, (x, w, b))
    assert minigan.gradgradcheck(fn, (x, w, b))
    assert minigan.gradgradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,)) if training else True


def test_batch_norm_double_backward_matches_torch():
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((1, 2, 3, 3)), rng.uniform(0.5, 1.5, 2)
    results = []
    for lib, fn in ((torch, torch.nn.functional.batch_norm), (minigan, F.batch_norm)):
        make = th if lib is torch else mg
        xs, ws = make(x, requires_grad=True), make(w, requires_grad=True)
        g = lib.autograd.grad((fn(xs, None, None, ws, None, True) ** 3).sum(), xs, create_graph=True)[0]
        gg = lib.autograd.grad((g * g).sum(), [xs, ws])
        results.append([g, *gg])
    for m_val, t_val in zip(results[1], results[0]):
        assert_close(m_val, t_val, "float64", "double backward", scale=10)
