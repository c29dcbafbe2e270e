"""conv2d / conv_transpose2d and the Conv2d / ConvTranspose2d layers.

* Against PyTorch with the same inputs and weights: forward and every gradient (input,
  weight, bias), float64 tight and float32 at float32 tolerances, over shapes, strides,
  paddings, output paddings and dilations drawn by hypothesis; also on the "strict" device
  (array-api-strict), which rejects what would break on CuPy.
* float64 finite differences: ``gradcheck`` (full and fast mode) and ``gradgradcheck``, and
  second derivatives against PyTorch's (a gradient penalty through a conv).
* Exactly the book's layers (BOOK_SPEC 4.13 and 4.14) against PyTorch in float32.
* The layers: PyTorch's parameter shapes, default-init bounds, printing and error messages.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
import minigan.nn.functional as F
from minigan import nn
from minigan.functional import conv as conv_module

from device_params import DEVICES, NOT_NUMPY

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's, not ours

# (the ``plan`` fixture is function-scoped on purpose: the plan stays the same for every
# example of one test)
HEALTH = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
STRICT_SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=HEALTH)
TOL = {"float64": dict(rtol=1e-7, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-5)}


# ----------------------------------------------------------------------------- helpers
@pytest.fixture(params=["columns", "gather", "taps"])
def plan(request, monkeypatch):
    """Run a test with each plan forced (the automatic choice picks one per layer)."""
    monkeypatch.setattr(conv_module, "PLAN", request.param)
    return request.param


def run_both(kind, x, w, b, kwargs, dtype="float64", device="cpu", seed=0):
    """Run the op on minigan and torch with the same numbers; backprop one random upstream
    gradient on both. Returns [(name, minigan array, torch array)] for y, gx, gW, gb."""
    fn_m = F.conv2d if kind == "conv2d" else F.conv_transpose2d
    fn_t = getattr(torch.nn.functional, kind)
    arrays = [a for a in (x, w, b) if a is not None]
    ms = [minigan.tensor(a.astype(dtype), device=device, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    bm, bt = (ms[2], ts[2]) if b is not None else (None, None)
    ym = fn_m(ms[0], ms[1], bm, **kwargs)
    yt = fn_t(ts[0], ts[1], bt, **kwargs)
    assert ym.device == device
    assert ym.dtype == getattr(minigan, dtype)
    gy = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(dtype)
    ym.backward(minigan.tensor(gy, device=device))
    yt.backward(torch.tensor(gy))
    out = [("output", ym, yt)] + [(f"grad {n}", m.grad, t.grad)
                                  for n, m, t in zip(("input", "weight", "bias"), ms, ts)]
    return [(n, np.asarray(m.detach().numpy()), t.detach().numpy()) for n, m, t in out]


def assert_close(results, rtol, atol, scale_atol=False, what=""):
    for name, m, t in results:
        assert m.shape == t.shape, f"{what} {name}: shape {m.shape} vs torch {t.shape}"
        a = atol * max(1.0, float(np.abs(t).max())) if scale_atol else atol
        np.testing.assert_allclose(m, t, rtol=rtol, atol=a, err_msg=f"{what} {name}")


def out_size_conv(h, k, s, p0, p1, d):
    return (h + p0 + p1 - d * (k - 1) - 1) // s + 1


@st.composite
def conv2d_cases(draw):
    """(x, w, b, kwargs) with small sizes; the output is never empty."""
    n = draw(st.integers(1, 2))
    c, oc = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    form = draw(st.sampled_from(["pair", "int", "valid", "same"] if (sh, sw) == (1, 1) else ["pair", "int"]))
    if form == "pair":
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        pads = (padding[0], padding[0], padding[1], padding[1])
    elif form == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding,) * 4
    elif form == "valid":
        padding, pads = "valid", (0, 0, 0, 0)
    else:  # 'same' may pad one more row/column at the bottom/right than at the top/left
        padding = "same"
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    min_h = max(1, dh * (kh - 1) + 1 - pads[0] - pads[1])
    min_w = max(1, dw * (kw - 1) + 1 - pads[2] - pads[3])
    h, w = draw(st.integers(min_h, min_h + 6)), draw(st.integers(min_w, min_w + 6))
    batched = draw(st.booleans()) or n > 1
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((n, c, h, w) if batched else (c, h, w))
    wt = rng.standard_normal((oc, c, kh, kw))
    b = rng.standard_normal(oc) if draw(st.booleans()) else None
    kwargs = dict(stride=(sh, sw) if draw(st.booleans()) else sh if sh == sw else (sh, sw),
                  padding=padding, dilation=(dh, dw))
    return x, wt, b, kwargs


@st.composite
def conv_transpose2d_cases(draw):
    n = draw(st.integers(1, 2))
    c, oc = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    oph = draw(st.integers(0, max(sh, dh) - 1))
    opw = draw(st.integers(0, max(sw, dw) - 1))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    # the output must not be empty
    if (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1 <= 0:
        ph = 0
    if (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1 <= 0:
        pw = 0
    batched = draw(st.booleans()) or n > 1
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((n, c, h, w) if batched else (c, h, w))
    wt = rng.standard_normal((c, oc, kh, kw))
    b = rng.standard_normal(oc) if draw(st.booleans()) else None
    kwargs = dict(stride=(sh, sw), padding=(ph, pw), output_padding=(oph, opw), dilation=(dh, dw))
    return x, wt, b, kwargs


# ----------------------------------------------------------------------------- vs PyTorch, drawn
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=conv2d_cases())
def test_conv2d_matches_torch(case, dtype, plan):
    x, w, b, kwargs = case
    assert_close(run_both("conv2d", x, w, b, kwargs, dtype), **TOL[dtype], what=f"conv2d {kwargs}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=conv_transpose2d_cases())
def test_conv_transpose2d_matches_torch(case, dtype, plan):
    x, w, b, kwargs = case
    assert_close(run_both("conv_transpose2d", x, w, b, kwargs, dtype), **TOL[dtype],
                 what=f"conv_transpose2d {kwargs}")


@pytest.mark.parametrize("device", NOT_NUMPY)
@STRICT_SETTINGS
@given(case=conv2d_cases())
def test_conv2d_on_the_other_devices_matches_torch(case, plan, device):
    """array-api-strict rejects NumPy-only idioms, so the same code runs on CuPy (tested
    there too wherever a GPU is)."""
    x, w, b, kwargs = case
    assert_close(run_both("conv2d", x, w, b, kwargs, "float64", device=device), **TOL["float64"])


@pytest.mark.parametrize("device", NOT_NUMPY)
@STRICT_SETTINGS
@given(case=conv_transpose2d_cases())
def test_conv_transpose2d_on_the_other_devices_matches_torch(case, plan, device):
    x, w, b, kwargs = case
    assert_close(run_both("conv_transpose2d", x, w, b, kwargs, "float64", device=device),
                 **TOL["float64"])


def test_only_the_wanted_gradients_are_computed(plan):
    """An input that does not require grad gets none; the others are still right."""
    rng = np.random.default_rng(3)
    x = minigan.tensor(rng.standard_normal((1, 2, 6, 6)))
    w = minigan.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    y = F.conv2d(x, w, stride=2)
    y.sum().backward()
    assert x.grad is None and w.grad is not None
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    torch.nn.functional.conv2d(torch.tensor(x.numpy()), tw, stride=2).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-5, atol=1e-5)

    x.requires_grad_(True)
    w2 = minigan.tensor(w.detach().numpy())  # frozen weight: no columns are kept
    y = F.conv2d(x, w2)
    assert y.creator.big is None
    y.sum().backward()
    assert x.grad is not None and w2.grad is None
    with minigan.no_grad():
        assert F.conv2d(x, w).creator is None


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_work_arrays_are_never_shared_while_in_use(kind, monkeypatch):
    """Columns lent by the pool of work arrays: two graphs alive at once each keep their
    own, and given-back arrays are reused once their graph is gone."""
    pool = conv_module.work_arrays
    monkeypatch.setattr(pool, "min_size", 1)  # lend even small arrays
    monkeypatch.setattr(conv_module, "PLAN", "columns")
    pool.clear()
    rng = np.random.default_rng(6)
    w = rng.standard_normal((3, 2, 3, 3))  # conv2d: 2 -> 3 channels; conv_transpose2d: 3 -> 2
    x_shape = (2, 2, 7, 6) if kind == "conv2d" else (2, 3, 4, 3)
    fn_m, fn_t = getattr(F, kind), getattr(torch.nn.functional, kind)
    wm = minigan.tensor(w, requires_grad=True)
    ms = [minigan.tensor(rng.standard_normal(x_shape), requires_grad=True) for _ in range(2)]
    ys = [fn_m(x, wm, stride=2) for x in ms]  # both graphs alive
    for x, y in zip(ms, ys):
        wm.grad = None
        (y * y).sum().backward()
        tx, tw = torch.tensor(x.detach().numpy(), requires_grad=True), torch.tensor(w, requires_grad=True)
        ty = fn_t(tx, tw, stride=2)
        (ty * ty).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(wm.grad.numpy(), tw.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    del ys, y
    import gc
    gc.collect()
    assert pool.count > 0  # the columns came back
    pool.clear()


# ----------------------------------------------------------------------------- finite differences
def _t(rng, *shape, device="cpu"):
    return minigan.tensor(rng.standard_normal(shape), dtype=minigan.float64, requires_grad=True,
                          device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_small(device, plan):
    rng = np.random.default_rng(0)
    x, w, b = _t(rng, 2, 2, 5, 6, device=device), _t(rng, 3, 2, 3, 2, device=device), _t(rng, 3, device=device)
    assert minigan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 0), (1, 2)), (x, w, b))
    x, w = _t(rng, 2, 2, 3, 4, device=device), _t(rng, 2, 3, 3, 2, device=device)
    assert minigan.gradcheck(
        lambda x, w, b: F.conv_transpose2d(x, w, b, (2, 3), (1, 0), (1, 2), 1, (1, 2)), (x, w, b))


def test_gradcheck_fast_mode_bigger(plan):
    rng = np.random.default_rng(1)
    x, w, b = _t(rng, 2, 4, 17, 15), _t(rng, 5, 4, 4, 3), _t(rng, 5)
    assert minigan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, 2, 1), (x, w, b), fast_mode=True)
    x, w = _t(rng, 2, 4, 7, 6), _t(rng, 4, 5, 4, 3)
    assert minigan.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1), (x, w, b),
                             fast_mode=True)


def test_gradgradcheck_small():
    rng = np.random.default_rng(2)
    x, w, b = _t(rng, 1, 2, 4, 3), _t(rng, 2, 2, 2, 2), _t(rng, 2)
    assert minigan.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), 1, (1, 2)), (x, w, b))
    x, w = _t(rng, 1, 2, 2, 3), _t(rng, 2, 2, 2, 2)
    assert minigan.gradgradcheck(
        lambda x, w, b: F.conv_transpose2d(x, w, b, 2, (1, 0), (1, 0), 1, (1, 2)), (x, w, b))


@pytest.mark.parametrize("kind", ["conv2d", "conv_transpose2d"])
def test_double_backward_matches_torch(kind, plan):
    """A gradient penalty, ||d sum(conv(x)^2) / dx||^2, differentiated again (create_graph)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 2) if kind == "conv2d" else (3, 4, 3, 2))
    b = rng.standard_normal(4)
    kw = dict(stride=2, padding=1)

    def penalty(lib, fn, x, w, b):
        y = fn(x, w, b, **kw)
        (gx,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        return (gx * gx).sum()

    ms = [minigan.tensor(a, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    pm = penalty(minigan, getattr(F, kind), *ms)
    pt = penalty(torch, getattr(torch.nn.functional, kind), *ts)
    pm.backward()
    pt.backward()
    np.testing.assert_allclose(pm.item(), pt.item(), rtol=1e-10)
    for m, t, name in zip(ms, ts, ("x", "w", "b")):
        if t.grad is None:
            assert m.grad is None or not np.any(m.grad.numpy())
        else:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=name)


# ----------------------------------------------------------------------------- the book's layers
BOOK_LAYERS = [
    # (module, input shape, output shape): BOOK_SPEC 4.13 (MNIST CNN) and 4.14 (CelebA GAN)
    (("Conv2d", 1, 10, 5, 2, 0), (1, 1, 28, 28), (1, 10, 12, 12)),
    (("Conv2d", 10, 10, 3, 2, 0), (1, 10, 12, 12), (1, 10, 5, 5)),
    (("Conv2d", 3, 256, 8, 2, 0), (1, 3, 128, 128), (1, 256, 61, 61)),
    (("Conv2d", 256, 256, 8, 2, 0), (1, 256, 61, 61), (1, 256, 27, 27)),
    (("Conv2d", 256, 3, 8, 2, 0), (1, 256, 27, 27), (1, 3, 10, 10)),
    (("ConvTranspose2d", 3, 256, 8, 2, 0), (1, 3, 11, 11), (1, 256, 28, 28)),
    (("ConvTranspose2d", 256, 256, 8, 2, 0), (1, 256, 28, 28), (1, 256, 62, 62)),
    (("ConvTranspose2d", 256, 3, 8, 2, 1), (1, 256, 62, 62), (1, 3, 128, 128)),
]


@pytest.mark.parametrize("layer, in_shape, out_shape", BOOK_LAYERS,
                         ids=[f"{l[0]}({l[1]},{l[2]},k{l[3]},s{l[4]},p{l[5]})" for l, _, _ in BOOK_LAYERS])
def test_book_layer_matches_torch_float32(layer, in_shape, out_shape):
    kind, cin, cout, k, s, p = layer
    minigan.manual_seed(0)
    m = getattr(nn, kind)(cin, cout, k, stride=s, padding=p)
    t = getattr(torch.nn, kind)(cin, cout, k, stride=s, padding=p)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        t.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    rng = np.random.default_rng(5)
    x = rng.random(in_shape, dtype=np.float32)
    mx, tx = minigan.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    my, ty = m(mx), t(tx)
    assert my.shape == out_shape == tuple(ty.shape)
    assert my.dtype == minigan.float32
    gy = rng.standard_normal(out_shape).astype(np.float32)
    my.backward(minigan.tensor(gy))
    ty.backward(torch.tensor(gy))
    results = [("output", my.detach().numpy(), ty.detach().numpy()),
               ("grad input", mx.grad.numpy(), tx.grad.numpy()),
               ("grad weight", m.weight.grad.numpy(), t.weight.grad.numpy()),
               ("grad bias", m.bias.grad.numpy(), t.bias.grad.numpy())]
    for _, a, _ in results:
        assert a.dtype == np.float32
    # sums of up to 16,384 float32 products: compare relative to each tensor's scale
    assert_close(results, rtol=1e-4, atol=1e-5, scale_atol=True, what=repr(m))


# ----------------------------------------------------------------------------- the layers
def test_parameter_shapes_and_default_init_bounds():
    minigan.manual_seed(0)
    conv = nn.Conv2d(3, 256, 8, stride=2)
    assert conv.weight.shape == (256, 3, 8, 8) and conv.bias.shape == (256,)
    convt = nn.ConvTranspose2d(256, 3, 8, stride=2, padding=1)
    assert convt.weight.shape == (256, 3, 8, 8) and convt.bias.shape == (3,)
    # PyTorch: kaiming_uniform_(a=sqrt(5)) => U(+-1/sqrt(fan_in)); fan_in from weight dim 1
    for layer, fan_in in ((conv, 3 * 64), (convt, 3 * 64), (nn.Conv2d(10, 10, 3), 90),
                          (nn.ConvTranspose2d(3, 256, 8, 2), 256 * 64)):
        tw = torch.empty(tuple(layer.weight.shape))
        t_fan_in, _ = torch.nn.init._calculate_fan_in_and_fan_out(tw)
        assert t_fan_in == fan_in
        bound = 1 / math.sqrt(fan_in)
        for p in (layer.weight, layer.bias):
            v = p.detach().numpy()
            assert np.abs(v).max() <= bound
            assert np.abs(v).max() > 0.9 * bound  # really spread over the interval
            assert p.requires_grad and p.dtype == minigan.float32
    # the same seed gives the same weights
    minigan.manual_seed(0)
    again = nn.Conv2d(3, 256, 8, stride=2)
    np.testing.assert_array_equal(again.weight.detach().numpy(), conv.weight.detach().numpy())


def test_layers_register_parameters_and_follow_dtype():
    conv = nn.Conv2d(2, 4, 3, bias=False, dtype=minigan.float64)
    assert [n for n, _ in conv.named_parameters()] == ["weight"]
    assert conv.bias is None and conv.weight.dtype == minigan.float64
    y = conv(minigan.randn(1, 2, 5, 5, dtype=minigan.float64))
    assert y.dtype == minigan.float64 and y.shape == (1, 4, 3, 3)
    convt = nn.ConvTranspose2d(2, 4, 3)
    assert [n for n, _ in convt.named_parameters()] == ["weight", "bias"]
    assert sum(p.numel() for p in convt.parameters()) == 2 * 4 * 9 + 4


def test_repr_like_pytorch():
    cases = [
        (dict(in_channels=1, out_channels=10, kernel_size=5, stride=2), "Conv2d"),
        (dict(in_channels=1, out_channels=10, kernel_size=3, padding="same", dilation=2, bias=False), "Conv2d"),
        (dict(in_channels=256, out_channels=3, kernel_size=8, stride=2, padding=1), "ConvTranspose2d"),
        (dict(in_channels=4, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
              output_padding=(1, 0)), "ConvTranspose2d"),
    ]
    for kwargs, kind in cases:
        assert repr(getattr(nn, kind)(**kwargs)) == repr(getattr(torch.nn, kind)(**kwargs))
    assert repr(nn.Conv2d(1, 10, 5, 2)) == "Conv2d(1, 10, kernel_size=(5, 5), stride=(2, 2))"


def test_unbatched_input_and_same_padding():
    conv = nn.Conv2d(3, 4, 3, padding="same")
    assert conv(minigan.randn(3, 7, 6)).shape == (4, 7, 6)
    convt = nn.ConvTranspose2d(3, 4, 4, stride=2, padding=1)
    assert convt(minigan.randn(3, 5, 5)).shape == (4, 10, 10)
    conv = nn.Conv2d(2, 3, 4, padding="same", dilation=(1, 2))  # asymmetric padding
    assert conv(minigan.randn(1, 2, 6, 9)).shape == (1, 3, 6, 9)


def test_errors_name_the_layer_and_the_shapes():
    conv = nn.Conv2d(3, 256, 8, stride=2)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 256.*expected input with 3 channels.*\(1, 1, 28, 28\)"):
        conv(minigan.randn(1, 1, 28, 28))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 256.*\(1, 3, 5, 5\) is too small"):
        conv(minigan.randn(1, 3, 5, 5))
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 256.*3-D \(C, H, W\) or 4-D.*\(3, 5\)"):
        conv(minigan.randn(3, 5))
    convt = nn.ConvTranspose2d(3, 256, 8, stride=2)
    with pytest.raises(RuntimeError, match=r"ConvTranspose2d\(3, 256.*expected input with 3 channels"):
        convt(minigan.randn(1, 256, 11, 11))
    with pytest.raises(RuntimeError, match=r"float64 but the weight is float32"):
        conv(minigan.randn(1, 3, 32, 32, dtype=minigan.float64))
    with pytest.raises(RuntimeError, match="empty output"):
        F.conv_transpose2d(minigan.randn(1, 1, 1, 1), minigan.randn(1, 1, 1, 1), padding=1)
    with pytest.raises(ValueError, match="output padding must be smaller"):
        F.conv_transpose2d(minigan.randn(1, 1, 3, 3), minigan.randn(1, 1, 3, 3), stride=2,
                           output_padding=2)
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        F.conv2d(minigan.randn(1, 1, 5, 5), minigan.randn(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="stride must be positive"):
        F.conv2d(minigan.randn(1, 1, 5, 5), minigan.randn(1, 1, 3, 3), stride=0)
    with pytest.raises(NotImplementedError, match="groups=2"):
        nn.Conv2d(4, 4, 3, groups=2)
    with pytest.raises(NotImplementedError, match="groups=2"):
        F.conv2d(minigan.randn(1, 4, 5, 5), minigan.randn(4, 2, 3, 3), groups=2)
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nn.Conv2d(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_mnist_cnn_shapes_chain():
    """BOOK_SPEC 4.13: (1,1,28,28) -> Conv2d(1,10,5,s2) -> (1,10,12,12) -> Conv2d(10,10,3,s2)
    -> (1,10,5,5) -> view 250; the gradient reaches both layers' weights."""
    c1, c2 = nn.Conv2d(1, 10, kernel_size=5, stride=2), nn.Conv2d(10, 10, kernel_size=3, stride=2)
    x = minigan.rand(784).view(1, 1, 28, 28)
    h = c1(x)
    assert h.shape == (1, 10, 12, 12)
    y = c2(h)
    assert y.shape == (1, 10, 5, 5)
    y.view(250).sum().backward()
    assert c1.weight.grad.shape == (10, 1, 5, 5) and c2.bias.grad.shape == (10,)
