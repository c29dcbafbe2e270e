"""interpolate / nn.Upsample and embedding / nn.Embedding (and F.one_hot).

* Against PyTorch with the same inputs: forward and gradient, float64 tight and float32 at
  float32 tolerances, over shapes (1, 2 and 3 spatial axes), modes (nearest, nearest-exact,
  linear/bilinear/trilinear with and without align_corners), sizes and scale factors (whole,
  fractional, below 1, recomputed) drawn by hypothesis, on the CPU and on the "strict"
  device (array-api-strict, which rejects what would break on CuPy).
* Embedding: index tensors of any shape (0-d to 3-d, int64 and int32), repeated indices,
  ``padding_idx`` (its row gets no gradient) and ``scale_grad_by_freq``, against PyTorch.
* float64 ``gradcheck`` and ``gradgradcheck`` of both (their backward is linear, and
  differentiable again).
* The layers: PyTorch's printing, initialisation, state_dict names and errors.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
import minigan.nn.functional as F
from minigan import nn
from test_nn_helpers import DEVICES, compare_module, copy_parameters

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRICT_SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOL = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-5)}
LINEAR = {3: "linear", 4: "bilinear", 5: "trilinear"}


def run_both(fn_m, fn_t, inputs, dtype, device, seed=0):
    """``fn`` on minigan and PyTorch with the same inputs (float arrays require grad, integer
    ones are indices); one random upstream gradient backpropagated on both.
    Returns [(name, minigan array, torch array)] for the output and each float input's grad."""
    ms, ts = [], []
    for a in inputs:
        if a.dtype.kind == "f":
            ms.append(minigan.tensor(a.astype(dtype), device=device, requires_grad=True))
            ts.append(torch.tensor(a.astype(dtype), requires_grad=True))
        else:
            ms.append(minigan.tensor(a, device=device))
            ts.append(torch.tensor(a))
    ym, yt = fn_m(*ms), fn_t(*ts)
    assert ym.device == device and ym.dtype == getattr(minigan, dtype)
    gy = np.random.default_rng(seed).standard_normal(tuple(yt.shape)).astype(dtype)
    ym.backward(minigan.tensor(gy, device=device))
    yt.backward(torch.tensor(gy))
    out = [("output", ym, yt)] + [(f"grad {i}", m.grad, t.grad) for i, (m, t) in enumerate(zip(ms, ts))
                                  if t.requires_grad]
    return [(n, np.asarray(m.detach().numpy()), t.detach().numpy()) for n, m, t in out]


def assert_close(results, dtype, what=""):
    for name, m, t in results:
        assert m.shape == t.shape, f"{what} {name}: shape {m.shape} vs torch {t.shape}"
        np.testing.assert_allclose(m, t, **TOL[dtype], err_msg=f"{what} {name}")


# ============================================================================== interpolate
@st.composite
def interpolate_cases(draw):
    """(x, kwargs) that PyTorch accepts: 3-D, 4-D or 5-D input, a mode, a size or a factor."""
    n_spatial = draw(st.sampled_from([1, 2, 2, 2, 3]))
    spatial = tuple(draw(st.integers(1, 5)) for _ in range(n_spatial))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + spatial
    mode = draw(st.sampled_from(["nearest", "nearest-exact", LINEAR[len(shape)]]))
    kwargs = dict(mode=mode)
    if mode not in ("nearest", "nearest-exact"):
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        size = tuple(draw(st.integers(1, 8)) for _ in spatial)
        kwargs["size"] = size if len(size) > 1 or draw(st.booleans()) else size[0]
    else:
        factor = st.sampled_from([2, 2.0, 3, 0.5, 1.5, 1.3, 0.7, 1.0, 2.5])
        factors = tuple(draw(factor) for _ in spatial)
        assume_nonempty = all(int(n * f) >= 1 for n, f in zip(spatial, factors))
        if not assume_nonempty:
            factors = tuple(2 for _ in spatial)
        kwargs["scale_factor"] = factors if len(factors) > 1 else factors[0]
        if draw(st.booleans()):
            kwargs["recompute_scale_factor"] = draw(st.booleans())
    x = np.random.default_rng(draw(st.integers(0, 2 ** 16))).standard_normal(shape)
    return x, kwargs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=interpolate_cases())
def test_interpolate_matches_torch(case, dtype):
    x, kwargs = case
    results = run_both(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs),
                       [x], dtype, "cpu")
    assert_close(results, dtype, f"interpolate {x.shape} {kwargs}")


@STRICT_SETTINGS
@given(case=interpolate_cases())
def test_interpolate_on_strict_device_matches_torch(case):
    x, kwargs = case
    results = run_both(lambda t: F.interpolate(t, **kwargs), lambda t: TF.interpolate(t, **kwargs),
                       [x], "float64", "strict")
    assert_close(results, "float64", f"interpolate {x.shape} {kwargs}")


@pytest.mark.parametrize("device", DEVICES)
def test_interpolate_gradcheck_and_gradgradcheck(device):
    x = minigan.tensor(np.random.default_rng(0).standard_normal((2, 2, 3, 4)), device=device,
                       requires_grad=True)
    for kwargs in (dict(scale_factor=2), dict(size=(5, 3)), dict(scale_factor=1.5, mode="nearest-exact"),
                   dict(scale_factor=2, mode="bilinear"), dict(size=(2, 7), mode="bilinear", align_corners=True)):
        assert minigan.gradcheck(lambda t: F.interpolate(t, **kwargs), (x,)), kwargs
        assert minigan.gradgradcheck(lambda t: F.interpolate(t, **kwargs) ** 2, (x,)), kwargs


@pytest.mark.parametrize("device", DEVICES)
def test_nearest_by_two_repeats_pixels(device):
    """The common case, a factor of 2: each pixel becomes a 2 x 2 block, and its gradient is
    the sum of that block's."""
    x = minigan.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], device=device, requires_grad=True)
    y = nn.Upsample(scale_factor=2)(x)
    np.testing.assert_array_equal(y.detach().numpy()[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2],
                                                             [3, 3, 4, 4], [3, 3, 4, 4]])
    y.backward(minigan.tensor(np.arange(16.0).reshape(1, 1, 4, 4), device=device))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0 + 1 + 4 + 5, 2 + 3 + 6 + 7],
                                                         [8 + 9 + 12 + 13, 10 + 11 + 14 + 15]])


def test_upsample_layers_print_and_match_torch():
    pairs = [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(4, 5), mode="bilinear", align_corners=True),
              torch.nn.Upsample(size=(4, 5), mode="bilinear", align_corners=True)),
             (nn.Upsample(scale_factor=(2, 3), mode="bilinear"), torch.nn.Upsample(scale_factor=(2, 3), mode="bilinear")),
             (nn.UpsamplingNearest2d(scale_factor=2), torch.nn.UpsamplingNearest2d(scale_factor=2)),
             (nn.UpsamplingBilinear2d(size=7), torch.nn.UpsamplingBilinear2d(size=7))]
    x = np.random.default_rng(1).standard_normal((2, 3, 3, 4))
    for m, t in pairs:
        assert repr(m) == repr(t)
        assert m.scale_factor == t.scale_factor and list(m.parameters()) == []
        compare_module(t, m, [x], "float64")


def test_interpolate_errors_like_torch():
    x = minigan.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=8, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(minigan.randn(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match="same number of spatial"):
        F.interpolate(x, size=(2, 3, 4))
    with pytest.raises(RuntimeError, match="greater than 0"):
        F.interpolate(x, scale_factor=0.1)


# ============================================================================== embedding
@st.composite
def embedding_cases(draw):
    rows, dim = draw(st.integers(1, 7)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=3)))
    idx = rng.integers(0, rows, shape).astype(draw(st.sampled_from([np.int64, np.int32])))
    padding_idx = draw(st.one_of(st.none(), st.integers(-rows, rows - 1)))
    return rng.standard_normal((rows, dim)), idx, dict(padding_idx=padding_idx,
                                                         scale_grad_by_freq=draw(st.booleans()))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@SETTINGS
@given(case=embedding_cases())
def test_embedding_matches_torch(case, dtype):
    w, idx, kwargs = case
    results = run_both(lambda i, w: F.embedding(i, w, **kwargs), lambda i, w: TF.embedding(i, w, **kwargs),
                       [idx, w], dtype, "cpu")
    assert_close(results, dtype, f"embedding {idx.shape} {kwargs}")


@STRICT_SETTINGS
@given(case=embedding_cases())
def test_embedding_on_strict_device_matches_torch(case):
    w, idx, kwargs = case
    results = run_both(lambda i, w: F.embedding(i, w, **kwargs), lambda i, w: TF.embedding(i, w, **kwargs),
                       [idx, w], "float64", "strict")
    assert_close(results, "float64", f"embedding {idx.shape} {kwargs}")


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(2)
    w = minigan.tensor(rng.standard_normal((5, 3)), device=device, requires_grad=True)
    idx = minigan.tensor([[0, 4, 4], [2, 0, 0]], device=device)  # repeats add up
    assert minigan.gradcheck(lambda w: F.embedding(idx, w), (w,))
    assert minigan.gradgradcheck(lambda w: F.embedding(idx, w) ** 2, (w,))


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_layer_like_torch(device):
    minigan.manual_seed(0)
    e = nn.Embedding(1000, 8, padding_idx=3, device=device)
    assert e.weight.device == device
    assert repr(e) == repr(torch.nn.Embedding(1000, 8, padding_idx=3)) == "Embedding(1000, 8, padding_idx=3)"
    assert repr(nn.Embedding(10, 3, padding_idx=-1, scale_grad_by_freq=True)) == \
        repr(torch.nn.Embedding(10, 3, padding_idx=-1, scale_grad_by_freq=True))
    assert list(e.state_dict()) == ["weight"] and e.weight.shape == (1000, 8)
    w = e.weight.detach().numpy()
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.05 and abs(rest.std() - 1) < 0.05  # N(0, 1), PyTorch's init
    t = torch.nn.Embedding(1000, 8, padding_idx=3)
    copy_parameters(t, e)
    idx = np.random.default_rng(3).integers(0, 1000, (4, 5))
    compare_module(t, e, [idx], "float32", input_grads=False)
    assert e.weight.grad.numpy()[3].tolist() == [0.0] * 8


def test_embedding_from_pretrained_and_errors():
    table = minigan.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    e = nn.Embedding.from_pretrained(table)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(minigan.tensor([2, 0])).numpy(), [[5, 6], [1, 2]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(IndexError, match="index out of range"):
        e(minigan.tensor([3]))
    with pytest.raises(IndexError, match="index out of range"):
        e(minigan.tensor([-1]))
    with pytest.raises(RuntimeError, match="integer"):
        e(minigan.tensor([1.0]))
    with pytest.raises(AssertionError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(3, 2, max_norm=1.0)


@pytest.mark.parametrize("device", DEVICES)
def test_one_hot_matches_torch(device):
    idx = np.random.default_rng(4).integers(0, 5, (3, 4))
    for n in (-1, 7):
        got = F.one_hot(minigan.tensor(idx, device=device), n)
        want = TF.one_hot(torch.tensor(idx), n)
        assert got.dtype == minigan.int64 and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(IndexError):
        F.one_hot(minigan.tensor([5], device=device), 5)
