"""max_pool2d / avg_pool2d and the MaxPool2d / AvgPool2d layers.

* Against PyTorch with the same inputs: forward, indices and the input gradient, float64
  tight and float32 at float32 tolerances, over shapes, kernels, strides, paddings and
  dilations drawn by hypothesis, on the CPU and on the "strict" device (array-api-strict,
  which rejects what would break on CuPy). Inputs are drawn from a few integers as often as
  not, so windows hold ties: PyTorch gives a tied window's gradient to its first maximum
  (row-major), and so must minigan. NaN and -inf inputs (next to padding) too.
* float64 finite differences: ``gradcheck`` and ``gradgradcheck``, and second derivatives
  against PyTorch's (a gradient penalty through a pooled critic).
* The layers: PyTorch's printing, arguments and errors, and DCGAN-MNIST's discriminator
  trunk (Conv2d, LeakyReLU, MaxPool2d twice) against PyTorch in float32.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import minigan
import minigan.nn.functional as F
from minigan import nn
from test_nn_helpers import DEVICES, compare_module, copy_parameters

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRICT_SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


# ----------------------------------------------------------------------------- drawn cases
def every_window_sees_the_image(size, k, s, p, d):
    """False if some (dilated) window lies wholly in the padding: PyTorch then returns -inf
    with an index outside the image and its backward writes out of bounds (a PyTorch bug);
    minigan returns -inf with no gradient. Such inputs are left out of the comparison."""
    n_out = (size + 2 * p - d * (k - 1) - 1) // s + 1
    return all(any(p <= o * s + i * d < p + size for i in range(k)) for o in range(n_out))


@st.composite
def pool_cases(draw, max_pool=True):
    """(x, kwargs): a 3-D or 4-D input and pooling arguments PyTorch accepts."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    padding = ph if ph == pw and draw(st.booleans()) else (ph, pw)
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding)
    dh = dw = 1
    if max_pool:
        dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        kwargs["dilation"] = (dh, dw)
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    h, w = draw(st.integers(min_h, min_h + 5)), draw(st.integers(min_w, min_w + 5))
    sh, sw = (kh, kw) if stride is None else (stride, stride) if isinstance(stride, int) else stride
    assume(every_window_sees_the_image(h, kh, sh, ph, dh) and every_window_sees_the_image(w, kw, sw, pw, dw))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shape = (n, c, h, w) if draw(st.booleans()) or n > 1 else (c, h, w)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.integers(-2, 3, shape).astype(float) if draw(st.booleans()) else rng.standard_normal(shape)
    return x, kwargs


def run_both(fn_m, fn_t, x, dtype, device, seed=0):
    """The op on minigan and PyTorch with the same input; one random upstream gradient
    backpropagated on both. Returns [(name, minigan array, torch array)]."""
    xm = minigan.tensor(x.astype(dtype), device=device, requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    outs_m, outs_t = fn_m(xm), fn_t(xt)
    outs_m = outs_m if isinstance(outs_m, tuple) else (outs_m,)
    outs_t = outs_t if isinstance(outs_t, tuple) else (outs_t,)
    assert outs_m[0].device == device and outs_m[0].dtype == getattr(minigan, dtype)
    gy = np.random.default_rng(seed).standard_normal(tuple(outs_t[0].shape)).astype(dtype)
    outs_m[0].backward(minigan.tensor(gy, device=device))
    outs_t[0].backward(torch.tensor(gy))
    pairs = [("output", outs_m[0], outs_t[0]), ("grad input", xm.grad, xt.grad)]
    pairs += [("indices", m, t) for m, t in zip(outs_m[1:], outs_t[1:])]
    return [(n, np.asarray(m.detach().numpy()), t.detach().numpy()) for n, m, t in pairs]


def assert_close(results, dtype, what=""):
    for name, m, t in results:
        assert m.shape == t.shape, f"{what} {name}: shape {m.shape} vs torch {t.shape}"
        if name == "indices":
            assert m.dtype == np.int64
            np.testing.assert_array_equal(m, t, err_msg=f"{what} {name}")
        else:
            np.testing.assert_allclose(m, t, **TOL[dtype], err_msg=f"{what} {name}")


# ----------------------------------------------------------------------------- vs PyTorch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=pool_cases(), return_indices=st.booleans())
def test_max_pool2d_matches_torch(case, dtype, return_indices):
    x, kwargs = case
    results = run_both(lambda t: F.max_pool2d(t, **kwargs, return_indices=return_indices),
                       lambda t: TF.max_pool2d(t, **kwargs, return_indices=return_indices),
                       x, dtype, "cpu")
    assert_close(results, dtype, f"max_pool2d {kwargs}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=pool_cases(max_pool=False), count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 3]))
def test_avg_pool2d_matches_torch(case, dtype, count_include_pad, divisor_override):
    x, kwargs = case
    kwargs.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    results = run_both(lambda t: F.avg_pool2d(t, **kwargs), lambda t: TF.avg_pool2d(t, **kwargs),
                       x, dtype, "cpu")
    assert_close(results, dtype, f"avg_pool2d {kwargs}")


@STRICT_SETTINGS
@given(case=pool_cases(), return_indices=st.booleans())
def test_max_pool2d_on_strict_device_matches_torch(case, return_indices):
    """array-api-strict rejects NumPy-only idioms: the same code then runs on CuPy."""
    x, kwargs = case
    results = run_both(lambda t: F.max_pool2d(t, **kwargs, return_indices=return_indices),
                       lambda t: TF.max_pool2d(t, **kwargs, return_indices=return_indices),
                       x, "float64", "strict")
    assert_close(results, "float64", f"max_pool2d {kwargs}")


@STRICT_SETTINGS
@given(case=pool_cases(max_pool=False), count_include_pad=st.booleans())
def test_avg_pool2d_on_strict_device_matches_torch(case, count_include_pad):
    x, kwargs = case
    kwargs["count_include_pad"] = count_include_pad
    results = run_both(lambda t: F.avg_pool2d(t, **kwargs), lambda t: TF.avg_pool2d(t, **kwargs),
                       x, "float64", "strict")
    assert_close(results, "float64", f"avg_pool2d {kwargs}")


@pytest.mark.parametrize("device", DEVICES)
def test_tied_windows_send_the_gradient_to_the_first_maximum(device):
    """An all-zero window after ReLU: PyTorch puts all of its gradient on the top-left
    element. Overlapping windows (stride 1) add up where they share their first maximum."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = [[1.0, 1.0], [1.0, 0.5]]
    for kwargs in (dict(kernel_size=2), dict(kernel_size=2, stride=1), dict(kernel_size=3, padding=1)):
        results = run_both(lambda t: F.max_pool2d(t, **kwargs), lambda t: TF.max_pool2d(t, **kwargs),
                           x, "float64", device)
        assert_close(results, "float64", str(kwargs))
    xm = minigan.tensor(x, device=device, requires_grad=True)
    F.max_pool2d(xm, 2).sum().backward()
    np.testing.assert_array_equal(xm.grad.numpy()[0, 0], [[1, 0, 1, 0], [0, 0, 0, 0],   # each window's
                                                           [1, 0, 1, 0], [0, 0, 0, 0]])  # top-left


@pytest.mark.parametrize("device", DEVICES)
def test_nan_and_minus_inf_follow_torch(device):
    """A NaN is the maximum (the last NaN of the window gets the gradient); a window of -inf
    next to padding picks its first real element, never the padding."""
    x = np.arange(2 * 5 * 6, dtype=float).reshape(1, 2, 5, 6) / 7.0
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = x[0, 0, 3, 4] = np.nan
    x[0, 1, :3, :3] = -np.inf
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                   dict(kernel_size=(3, 2), stride=2, padding=(1, 1))):
        results = run_both(lambda t: F.max_pool2d(t, **kwargs, return_indices=True),
                           lambda t: TF.max_pool2d(t, **kwargs, return_indices=True),
                           x, "float64", device)
        assert_close(results, "float64", str(kwargs))


def test_an_infinite_upstream_gradient_reaches_only_the_maximum():
    """inf * 0 is NaN: the backward must select, not multiply, when gy is not finite."""
    x = minigan.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.backward(minigan.tensor([[[[math.inf]]]]))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0, 0], [0, math.inf]])


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_the_gradient_comes_back_in_the_input_layout(pool):
    """A convolution's output at batch > 1 is (C, N, H, W) in memory; the pool's gradient is
    made in that layout (NumPy), so the activation before it meets it in its own layout in
    backward. Values against PyTorch; padded pools keep the plain (N, C, H, W) image."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((6, 4, 10, 12))  # (C, N, H, W)
    gy = rng.standard_normal((4, 6, 5, 6))
    for padding in (0, 1):
        x = minigan.from_numpy(a.transpose(1, 0, 2, 3)).requires_grad_()  # (N, C, H, W) view
        tx = torch.tensor(a).permute(1, 0, 2, 3).detach().requires_grad_()
        fn, tfn = (F.max_pool2d, torch.nn.functional.max_pool2d) if pool == "max" else \
            (F.avg_pool2d, torch.nn.functional.avg_pool2d)
        y, ty = fn(x, 2, 2, padding), tfn(tx, 2, 2, padding)
        g = gy if padding == 0 else rng.standard_normal(tuple(y.shape))
        y.backward(minigan.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
        if padding == 0:
            assert x.grad.numpy().strides == x.detach().numpy().strides


# ----------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(0)
    x = minigan.tensor(rng.permutation(2 * 3 * 5 * 6).reshape(2, 3, 5, 6) / 10.0, device=device,
                       requires_grad=True)  # distinct values: no ties within eps
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: F.max_pool2d(t, (2, 3), 1, (1, 0), (2, 1)),
               lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
               lambda t: F.avg_pool2d(t, (2, 1), divisor_override=3)):
        assert minigan.gradcheck(fn, (x,))
        assert minigan.gradgradcheck(lambda t: fn(t) ** 2, (x,))
        assert minigan.gradcheck(lambda t: fn(t[0]), (x,))  # an unbatched (C, H, W) input


@pytest.mark.parametrize("device", DEVICES)
def test_gradient_penalty_through_pooling_matches_torch(device):
    """Second derivatives: the norm of d critic / d x, differentiated again with respect to
    the input and the weight, as WGAN-GP does through a pooled critic."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))

    def penalty(lib, F_, xt, wt):
        h = F_.leaky_relu(F_.conv2d(xt, wt, padding=1), 0.2)
        score = (F_.max_pool2d(h, 2) ** 2).sum() + F_.avg_pool2d(h, 3, 1, 1).sum()
        (g,) = lib.autograd.grad(score, xt, create_graph=True)
        return ((g.reshape(2, -1).norm(2, dim=1) - 1) ** 2).mean()

    xm, wm = (minigan.tensor(a, device=device, requires_grad=True) for a in (x, w))
    xt, wt = (torch.tensor(a, requires_grad=True) for a in (x, w))
    pm, pt = penalty(minigan, F, xm, wm), penalty(torch, TF, xt, wt)
    pm.backward()
    pt.backward()
    np.testing.assert_allclose(pm.item(), pt.item(), rtol=1e-12)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(wm.grad.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- the layers
def test_layers_print_and_default_like_torch():
    pairs = [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
             (nn.MaxPool2d((2, 3), 1, 1), torch.nn.MaxPool2d((2, 3), 1, 1)),
             (nn.MaxPool2d(3, padding=1, dilation=2), torch.nn.MaxPool2d(3, padding=1, dilation=2)),
             (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
             (nn.AvgPool2d(2, count_include_pad=False), torch.nn.AvgPool2d(2, count_include_pad=False))]
    for m, t in pairs:
        assert repr(m) == repr(t)
        assert m.stride == t.stride and list(m.parameters()) == []
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 7))
    for m, t in pairs:
        np.testing.assert_allclose(m(minigan.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), rtol=1e-12)
    out, idx = nn.MaxPool2d(2, return_indices=True)(minigan.tensor(x))
    t_out, t_idx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())


def test_errors_name_the_problem():
    x = minigan.randn(1, 1, 4, 4)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="3-D .* or 4-D"):
        F.max_pool2d(minigan.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="too small"):
        F.avg_pool2d(minigan.randn(1, 1, 2, 2), 3)
    with pytest.raises(NotImplementedError, match="ceil_mode"):
        nn.MaxPool2d(2, ceil_mode=True)(x)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError, match="floating point"):
        F.max_pool2d(minigan.zeros(1, 1, 4, 4, dtype=minigan.int64), 2)
    with minigan.no_grad():
        assert F.max_pool2d(x.requires_grad_(), 2).creator is None


@pytest.mark.parametrize("device", DEVICES)
def test_dcgan_mnist_discriminator_trunk_matches_torch_float32(device):
    """DCGAN-MNIST's D up to the flatten: Conv2d(1,32,5,1), LeakyReLU 0.01, MaxPool2d(2,2),
    Conv2d(32,64,5,1), LeakyReLU 0.01, MaxPool2d(2,2) -> (N, 64, 4, 4), 1024 features."""
    def trunk(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 32, 5, 1), lib.nn.LeakyReLU(0.01), lib.nn.MaxPool2d(2, 2),
                                 lib.nn.Conv2d(32, 64, 5, 1), lib.nn.LeakyReLU(0.01), lib.nn.MaxPool2d(2, 2),
                                 lib.nn.Flatten())
    torch.manual_seed(0)  # the same weights whichever tests ran before
    t_model, m_model = trunk(torch), trunk(minigan).to(device)
    copy_parameters(t_model, m_model)
    x = np.random.default_rng(3).uniform(-1, 1, (3, 1, 28, 28))
    # The second Conv2d (32 -> 64, 5x5) runs the Winograd plan, whose float32 rounding is a
    # few times direct convolution's and spread evenly over a tensor (~1e-5 of its largest
    # entry, conv_winograd.py): an entry near zero sees that as a large relative difference,
    # so the absolute tolerance is taken of each tensor's largest entry.
    t_out, m_out = compare_module(t_model, m_model, [x], "float32", scale=5.0, of_largest=True)
    assert tuple(m_out.shape) == (3, 1024)
