"""Numerical edges (issue 9): the book's activations, losses and normalisations stay finite and
match PyTorch at extreme inputs - logits of +-1e4, +-88/+-89 (where float32's exp overflows),
saturated probabilities of exactly 0 and 1, constant inputs with zero variance - in float32
and float64, forward and backward. pyproject turns RuntimeWarnings from minigan into errors,
so an overflow or a 0/0 inside minigan fails these tests even when the result is right."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan.testing import assert_matches_torch

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64"]
# logits around float32's exp overflow (e^88.7 = 3.4e38), far beyond it, and ordinary ones
EXTREME = np.array([-1e4, -89.0, -88.0, -17.0, -1.0, 0.0, 1.0, 17.0, 88.0, 89.0, 1e4])


def finite_everywhere(outputs, *inputs):
    """Every output and every input gradient is finite (no nan, no inf)."""
    for k, out in enumerate(outputs):
        assert np.isfinite(out.detach().numpy()).all(), f"output {k} is not finite: {out}"


def check(fn, *arrays, dtype, **kwargs):
    """assert_matches_torch (outputs and gradients), then finiteness of minigan's outputs."""
    outs = assert_matches_torch(fn, *arrays, dtype=dtype, **kwargs)
    finite_everywhere(outs)
    return outs


def in_float64(fn):
    """``fn`` computed by PyTorch in float64, returned in the inputs' dtype: the reference where
    PyTorch's own float32 kernel loses the answer. A constant channel of -1e4 must normalise
    to exactly 0; torch 2.x's float32 CPU BatchNorm gives x_hat = -0.027 there (it computes
    x * alpha + beta, cancelling two terms of 3e6), and its LayerNorm backward rounds the
    gradient to whole numbers. minigan is exact: LayerNorm subtracts each row's first value
    before the mean, BatchNorm sums float32 in float64."""
    def wrapped(F, *inputs):
        dtype = inputs[0].dtype
        outs = fn(F, *[x.double() for x in inputs])
        return tuple(o.to(dtype) for o in outs) if isinstance(outs, tuple) else outs.to(dtype)
    return wrapped


def check_grads_finite(fn, *arrays, dtype):
    """minigan's own gradients of every input are finite (a separate run, same inputs)."""
    inputs = [minigan.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(minigan, *inputs)
    out.sum().backward() if out.ndim else out.backward()
    for i, x in enumerate(inputs):
        assert x.grad is not None and np.isfinite(x.grad.numpy()).all(), f"input {i}: {x.grad}"


# ============================================================================== sigmoid
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_extreme_logits(dtype):
    check(lambda F, x: F.sigmoid(x), EXTREME, dtype=dtype)
    check_grads_finite(lambda F, x: F.sigmoid(x), EXTREME, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_extreme_logits_large_array(dtype):
    # above 4096 elements minigan's NumPy sigmoid takes its in-place 1 / (1 + e^-x) path
    x = np.resize(EXTREME, 5000)
    check(lambda F, x: F.sigmoid(x), x, dtype=dtype)


def test_sigmoid_of_a_large_integer_array():
    # the in-place NumPy path (over 4096 elements) is for floats; integers get a float result.
    # nn.Sigmoid hands them to that path as they are (F.sigmoid converts them first)
    x = np.arange(-2500, 2500) // 50  # 5000 integers from -50 to 49
    y = minigan.nn.Sigmoid()(minigan.tensor(x)).numpy()
    assert y.dtype.kind == "f" and np.allclose(y, 1 / (1 + np.exp(-x.astype(np.float64))))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("slope", [None, 0.2])
def test_relu_gradient_at_zero_large_array(dtype, slope):
    # above 4096 elements the NumPy backward multiplies by a 0/1 mask made in place; at exactly
    # 0 (and -0) the gradient is PyTorch's: 0 for ReLU, the slope for LeakyReLU
    x = np.resize([-2.0, -0.0, 0.0, 1e-30, -1e-30, 3.0, -1e4], 5000)

    def fn(F, x):
        act = F.nn.functional.relu if slope is None else (
            lambda v: F.nn.functional.leaky_relu(v, slope))
        return act(x) * F.tensor(np.linspace(-1, 1, 5000), dtype=x.dtype)
    check(fn, x, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_of_a_large_array_bit_for_bit(dtype):
    # above 4096 elements NumPy's ReLU takes the maximum against an array of zeros (against
    # the scalar 0 NumPy 2.4 runs a scalar loop, 2.5x slower): the same bits as the scalar
    # form (negatives and -0 to +0, NaN and inf kept) and PyTorch's values (its relu keeps
    # the sign of -0, which compares equal)
    x = np.resize(np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 1e-42, -1e-42, -3.0, 2.5], dtype=dtype), 5000)
    y = minigan.nn.functional.relu(minigan.tensor(x)).numpy()
    bits = np.uint32 if dtype == "float32" else np.uint64
    np.testing.assert_array_equal(y.view(bits), np.maximum(x, 0.0).view(bits))
    np.testing.assert_array_equal(y, torch.relu(torch.tensor(x)).numpy())


# ============================================================================== BCE
TARGETS = np.array([0.0, 1.0, 0.5])


def const(F, a, like):
    """A constant target beside ``like``: PyTorch's gradient for BCE's *target* at a saturated
    p is inf (unclamped logs); minigan's is the clamped -logit(p), finite on purpose (loss.py),
    so targets are compared as constants here."""
    return F.tensor(a, dtype=like.dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_on_saturated_sigmoid(dtype, reduction):
    """sigmoid(+-1e4) is exactly 1 or 0: log 0 is clamped at -100, the gradient stays finite
    (PyTorch's 1e-12 floor), and the chain through sigmoid matches PyTorch."""
    x = np.repeat(EXTREME, 3)
    t = np.tile(TARGETS, len(EXTREME))

    def fn(F, x):
        return F.nn.functional.binary_cross_entropy(F.sigmoid(x), const(F, t, x), reduction=reduction)
    # d/dx through a saturated sigmoid is (p - t)/max(p(1-p), 1e-12) * p(1-p): tiny products
    # of huge and tiny numbers, identical formulas on both sides; float32 needs its own rtol
    rtol = 1e-4 if dtype == "float32" else 1e-7
    check(fn, x, dtype=dtype, rtol=rtol)
    check_grads_finite(fn, x, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_on_exact_zero_and_one(dtype):
    p = np.array([0.0, 0.0, 1.0, 1.0, 1e-45, 1.0 - 1e-7, 0.5])
    t = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.5])
    outs = check(lambda F, p: F.nn.functional.binary_cross_entropy(p, const(F, t, p), reduction="none"),
                 p, dtype=dtype)
    assert outs[0].detach().numpy().max() <= 100.0  # the clamp: at most -(-100)
    check_grads_finite(lambda F, p: F.nn.functional.binary_cross_entropy(p, const(F, t, p)), p,
                       dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_gradient_floor_bit_for_bit(dtype):
    # BCE's backward floors p (1 - p) at 1e-12 with a two-sided clip to [1e-12, 1] (NumPy 2.4
    # runs a maximum against a scalar as a scalar loop): the same bits as the maximum, at the
    # edges (0, 1, subnormal, the floor itself, 1/2) and on a large random array
    edges = np.array([0.0, 1.0, 1e-45, 1e-12, 1.0 - 1e-7, 0.5, 1e-6, 1.0 - 1e-12], dtype=dtype)
    p = np.concatenate([edges, np.random.default_rng(0).random(5000).astype(dtype)])
    t = np.resize(np.array([0.0, 1.0, 0.3], dtype=dtype), p.size)
    pt = minigan.tensor(p, requires_grad=True)
    minigan.nn.functional.binary_cross_entropy(pt, minigan.tensor(t), reduction="sum").backward()
    expected = (p - t) / np.maximum((1.0 - p) * p, 1e-12)
    bits = np.uint32 if dtype == "float32" else np.uint64
    np.testing.assert_array_equal(pt.grad.numpy().view(bits), expected.view(bits))


# ============================================================================== BCE with logits
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_extreme(dtype, pos_weight):
    x = np.repeat(EXTREME, 3).reshape(-1, 3)
    t = np.tile(TARGETS, (len(EXTREME), 1))

    def fn(F, x, t):
        kwargs = {} if pos_weight is None else {"pos_weight": const(F, np.full(3, pos_weight), x)}
        return F.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none", **kwargs)
    check(fn, x, t, dtype=dtype)
    check_grads_finite(fn, x, t, dtype=dtype)


# ============================================================================== softmax
ROWS = np.array([[1e4, -1e4, 0.0, 1.0],
                 [89.0, 88.0, -89.0, -88.0],
                 [5.0, 5.0, 5.0, 5.0],          # constant row
                 [-1e4, -1e4, -1e4, -1e4],      # constant and huge
                 [1e4, 1e4, -1e4, 0.0]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_family_extreme(dtype, dim, op):
    def fn(F, x):
        return getattr(F.nn.functional, op)(x, dim=dim)
    outs = check(fn, ROWS, dtype=dtype)
    if op == "softmax":
        sums = outs[0].detach().numpy().sum(axis=dim)
        np.testing.assert_allclose(sums, 1.0, rtol=1e-6)
    check_grads_finite(lambda F, x: fn(F, x) * F.tensor(np.arange(20.0).reshape(5, 4).astype(dtype)),
                       ROWS, dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(dtype):
    targets = np.array([1, 0, 2, 3, 2])
    check(lambda F, x, t: F.nn.functional.cross_entropy(x, t), ROWS, targets, dtype=dtype)


# ============================================================================== LayerNorm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", ["constant", "zeros", "extreme", "constant_huge", "constant_odd"])
def test_layer_norm_edges(dtype, values):
    rng = np.random.default_rng(1)
    x = {"constant": np.full((3, 200), 0.7),
         "zeros": np.zeros((3, 200)),
         "extreme": np.resize(EXTREME, (3, 200)) * rng.choice([-1.0, 1.0], (3, 200)),
         "constant_huge": np.full((3, 200), 1e4),
         # 200 float32 copies of 1234.567 don't sum to 200 x 1234.567: a plain mean gave 0.1
         "constant_odd": np.full((3, 200), 1234.567)}[values]
    w, b = rng.standard_normal(200), rng.standard_normal(200)

    def fn(F, x, w, b):
        return F.nn.functional.layer_norm(x, (200,), w, b)
    # a constant row normalises to exactly 0 with gradient (g - mean g) / sqrt(eps): large
    # (~316 g) but finite. float32 extremes: PyTorch's two-pass variance vs minigan's differ
    # in rounding on 1e8-sized squares.
    rtol, atol = (1e-4, 1e-4) if dtype == "float32" else (1e-7, 1e-8)
    reference = in_float64(fn) if values in ("constant_huge", "constant_odd") else None
    outs = check(fn, x, w, b, dtype=dtype, rtol=rtol, atol=atol, torch_fn=reference)
    check_grads_finite(fn, x, w, b, dtype=dtype)
    if values != "extreme":  # a constant row is exactly 0 after normalising: y = bias
        np.testing.assert_array_equal(outs[0].detach().numpy(),
                                      np.broadcast_to(b.astype(dtype), x.shape))


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_module_book_shape_constant_sample(dtype):
    """The book's LayerNorm(200) on one (200,) sample (its fast path), all values equal."""
    x = np.full(200, -3.0)

    def fn(F, x):
        layer = F.nn.LayerNorm(200).to(x.dtype)
        return layer(x)
    check(fn, x, dtype=dtype)


# ============================================================================== BatchNorm
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", ["constant", "extreme", "constant_huge", "constant_odd"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (1, 3, 4, 4), (1, 3, 14, 14)])
def test_batch_norm_training_edges(dtype, values, shape):
    rng = np.random.default_rng(2)
    x = {"constant": np.full(shape, 0.25),
         "extreme": np.resize(EXTREME, shape) * rng.choice([-1.0, 1.0], shape),
         "constant_huge": np.full(shape, -1e4),
         "constant_odd": np.full(shape, 1234.567)}[values]  # float32 sums of it round
    C = shape[1]
    w, b = rng.standard_normal(C), rng.standard_normal(C)

    def fn(F, x, w, b):
        layer = (F.nn.BatchNorm2d(C) if len(shape) == 4 else F.nn.BatchNorm1d(C)).to(x.dtype)
        with F.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        y = layer(x)
        return y, layer.running_mean * 1.0, layer.running_var * 1.0
    rtol, atol = (1e-4, 1e-4) if dtype == "float32" else (1e-7, 1e-8)
    reference = in_float64(fn) if values in ("constant_huge", "constant_odd") else None
    outs = check(fn, x, w, b, dtype=dtype, rtol=rtol, atol=atol, torch_fn=reference)
    if values != "extreme":  # a constant channel is 0 after normalising: y = bias
        expected = np.broadcast_to(b.reshape((1, C) + (1,) * (len(shape) - 2)), shape).astype(dtype)
        # exactly in float32 (its sums are exact in float64); float64 keeps its own rounding
        # of the mean (~1e-16 relative, times |x| / sqrt(eps)): 5e-10 at 1234.567, as torch's
        atol = 0.0 if dtype == "float32" else 1e-8
        np.testing.assert_allclose(outs[0].detach().numpy(), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_eval_with_zero_running_var(dtype):
    x = np.resize(EXTREME, (4, 3))

    def fn(F, x):
        layer = F.nn.BatchNorm1d(3).to(x.dtype).eval()
        with F.no_grad():
            layer.running_var.zero_()
        return layer(x)
    check(fn, x, dtype=dtype, rtol=1e-4 if dtype == "float32" else 1e-7)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_batch_norm1d_batch_of_one_in_training_raises_pytorchs_error(shape):
    x_t = torch.zeros(shape)
    with pytest.raises(ValueError) as expected:
        torch.nn.BatchNorm1d(3)(x_t)
    layer = minigan.nn.BatchNorm1d(3)
    with pytest.raises(ValueError) as got:
        layer(minigan.zeros(*shape))
    prefix = "Expected more than 1 value per channel when training, got input size"
    assert str(expected.value).startswith(prefix)
    assert str(got.value).startswith(prefix) and str(list(shape)) in str(got.value)
    assert np.all(layer.running_mean.numpy() == 0) and np.all(layer.running_var.numpy() == 1)
    layer.eval()
    assert layer(minigan.zeros(*shape)).shape == shape  # eval mode: running statistics, fine
