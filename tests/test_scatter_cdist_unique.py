"""scatter / scatter_add / scatter_reduce / index_add, cdist and unique beyond the op case table:
every reduce mode with and without the input's own values, ties and zeros, second derivatives,
cdist at zero distance and for each p, unique's options, the in-place forms, the errors, and a
hypothesis test over shapes (CPU and the strict backend agree with each other and with PyTorch)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan.testing import assert_matches_torch

from device_params import DEVICES

torch = pytest.importorskip("torch")

REDUCES = ["sum", "prod", "mean", "amax", "amin"]
X = np.array([[1.0, -2.0, 0.0, 3.0], [2.0, 2.0, -1.0, 0.5], [0.0, 1.0, 1.0, -3.0]])
IDX = np.array([[0, 1, 2, 0], [2, 0, 2, 1], [0, 0, 1, 2]])             # repeats in every column
SRC = np.array([[1.0, 2.0, 1.0, 3.0], [2.0, 2.0, 0.0, 0.5], [1.0, 0.0, 1.0, 0.5]])  # ties, zeros


def _t(a, device, **kw):
    return minigan.tensor(a, device=device, **kw)


# ----------------------------------------------------------------------------- scatter_reduce
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_every_mode_matches_torch_with_ties_and_zeros(reduce, include_self, device):
    for dim in (0, 1, -1):
        assert_matches_torch(lambda F, x, i, s: F.scatter_reduce(x, dim, i, s, reduce,
                                                                 include_self=include_self),
                             X, IDX, SRC, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_amax_and_amin_split_the_gradient_evenly_among_ties(device):
    """Two src values and the input's own tie for the maximum: each gets a third (PyTorch)."""
    x = _t([3.0, 5.0], device, requires_grad=True)
    src = _t([3.0, 3.0, 1.0], device, requires_grad=True)
    out = x.scatter_reduce(0, _t([0, 0, 1], device), src, "amax")
    out.backward(_t([1.0, 1.0], device))
    np.testing.assert_allclose(out.detach().numpy(), [3.0, 5.0])
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 1.0])
    np.testing.assert_allclose(src.grad.numpy(), [1 / 3, 1 / 3, 0.0])


@pytest.mark.parametrize("device", DEVICES)
def test_include_self_false_counts_an_equal_input_among_the_ties_as_pytorch_2_13(device):
    """PyTorch 2.13's formula counts an input equal to the result among the ties even when
    include_self=False (it then gets nothing): the two src maxima get a third each."""
    def fn(F, x, i, s):
        return F.scatter_reduce(x, 0, i, s, "amax", include_self=False)
    (out,) = assert_matches_torch(fn, np.array([3.0, 5.0]), np.array([0, 0, 1]),
                                  np.array([3.0, 3.0, 1.0]), device=device)
    np.testing.assert_allclose(out.detach().numpy(), [3.0, 1.0])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("src,x", [
    ([2.0, 0.0, 3.0, 4.0], [1.5, -2.0]),      # one zero at place 0
    ([2.0, 0.0, 0.0, 4.0], [1.5, -2.0]),      # two zeros at place 0
    ([2.0, 5.0, 3.0, 0.0], [0.0, -2.0]),      # the input is 0 at place 0, a zero src at place 1
    ([0.0, 5.0, 3.0, 4.0], [0.0, 0.0]),       # input and src both 0 at place 0
])
def test_prod_gradients_are_exact_at_zeros(src, x, include_self, device):
    def fn(F, x, s):
        return F.scatter_reduce(x, 0, F.tensor([0, 0, 1, 1], device=s.device), s, "prod",
                                include_self=include_self)
    assert_matches_torch(fn, np.array(x), np.array(src), device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCES)
def test_second_derivatives(reduce, include_self, device):
    """gradgradcheck of every mode, a lone zero in prod's src and its input included."""
    rng = np.random.default_rng(3)
    x = rng.permutation(np.linspace(-2, 2, 12)).reshape(3, 4)
    src = rng.permutation(np.linspace(-1.9, 1.9, 8)).reshape(2, 4)
    if reduce == "prod":
        src[1, 2], x[0, 1] = 0.0, 0.0
    idx = _t(np.array([[0, 1, 0, 2], [0, 1, 2, 2]]), device)
    args = (_t(x, device, requires_grad=True), _t(src, device, requires_grad=True))

    def fn(a, b):
        return minigan.scatter_reduce(a, 0, idx, b, reduce, include_self=include_self)
    assert minigan.gradcheck(fn, args)
    assert minigan.gradgradcheck(fn, args)


@pytest.mark.parametrize("device", DEVICES)
def test_prod_double_backward_with_two_zeros_at_one_place_is_refused_as_pytorch(device):
    message = "Double backward is unsupported for src when >1 zeros"
    for F, dev in ((minigan, device), (torch, None)):
        kw = {} if F is torch else {"device": dev}
        x = F.tensor([1.5, 2.0], dtype=F.float64, requires_grad=True, **kw)
        src = F.tensor([0.0, 0.0, 3.0], dtype=F.float64, requires_grad=True, **kw)
        out = F.scatter_reduce(x, 0, F.tensor([0, 0, 1], **kw), src, "prod")
        (g,) = F.autograd.grad(out.sum(), src, create_graph=True)
        np.testing.assert_allclose(g.detach().numpy(), [0.0, 0.0, 2.0])   # first derivatives: right
        with pytest.raises(RuntimeError, match=message):
            g.sum().backward()


@pytest.mark.parametrize("device", DEVICES)
def test_a_longer_src_gives_its_unread_part_no_gradient(device):
    """Only src's leading part (the index's shape) is read; the rest gets zeros. (PyTorch 2.13's
    scatter and scatter_add backward raise here, and its scatter_reduce gives the rest a
    gradient, so the values are compared with PyTorch and the gradients by finite differences.)"""
    x, idx = np.zeros((3, 3)), np.array([[0, 2], [1, 1]])
    src = np.arange(1.0, 13.0).reshape(3, 4)
    ops = [lambda F, a, i, s: F.scatter(a, 1, i[:, :1], s),
           lambda F, a, i, s: F.scatter_add(a, 1, i, s),
           lambda F, a, i, s: F.scatter_reduce(a, 1, i, s, "amax", include_self=False)]
    for op in ops:
        theirs = op(torch, torch.tensor(x), torch.tensor(idx), torch.tensor(src))
        a, s = _t(x, device, requires_grad=True), _t(src, device, requires_grad=True)
        ours = op(minigan, a, _t(idx, device), s)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy())
        ours.sum().backward()
        assert np.all(s.grad.numpy()[2:, :] == 0) and np.all(s.grad.numpy()[:, 2:] == 0)
        assert minigan.gradcheck(lambda a, s: op(minigan, a, _t(idx, device), s), (a, s))


# ----------------------------------------------------------------------------- scatter, index_add
@pytest.mark.parametrize("device", DEVICES)
def test_scatter_with_a_repeated_place_keeps_the_last_write_on_every_backend(device):
    out = _t([0.0, 0.0, 0.0], device).scatter(0, _t([1, 2, 1], device), _t([5.0, 6.0, 7.0], device))
    np.testing.assert_array_equal(out.numpy(), [0.0, 7.0, 6.0])


@pytest.mark.parametrize("device", DEVICES)
def test_scatter_values_integers_reduce_and_zero_dim_match_torch(device):
    cases = [
        lambda F, x, i: F.scatter(x, 1, i, 2.5),
        lambda F, x, i: x.scatter(1, i, value=-1.0),
        lambda F, x, i: F.scatter(x.to(F.int64), 1, i, 2.7),
        lambda F, x, i: F.scatter(x, 1, i, x * 2, reduce="add"),
        lambda F, x, i: F.scatter(x, 1, i, 3.0, reduce="multiply"),
        lambda F, x, i: F.scatter_add(x.to(F.int64), 1, i, (x * 3).to(F.int64)),
        lambda F, x, i: F.index_add(x.to(F.int64), 1, i[0], (x * 3).to(F.int64)[:, :2], alpha=2),
        lambda F, x, i: F.scatter_reduce(x.to(F.int64), 1, i, (x * 3).to(F.int64) - 4, "mean"),
        lambda F, x, i: F.scatter_reduce(x.to(F.int64), 1, i, (x * 3).to(F.int64) - 4, "mean",
                                         include_self=False),
        lambda F, x, i: F.scatter(x[0, 0], 0, i[0, 1], x[1, 1]),
        lambda F, x, i: F.scatter_add(x[0, 0], -1, i[0, 1], x[1, 1]),
        lambda F, x, i: F.scatter_reduce(x[0, 0], 0, i[0, 1], x[1, 1], "prod"),
        lambda F, x, i: F.index_add(x[0, 0], 0, i[0, 1:], x[1, 1]),
        lambda F, x, i: F.scatter(x, 0, i[:0], x[:0, :2]),            # an empty index writes nothing
    ]
    for k, fn in enumerate(cases):
        # (PyTorch has no derivative for scatter's reduce=; minigan's is scatter_reduce's)
        assert_matches_torch(fn, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
                             np.array([[2, 0], [1, 1]]), device=device, grad=k not in (3, 4))


@pytest.mark.parametrize("device", DEVICES)
def test_index_add_is_alpha_times_index_select_in_the_gradient(device):
    x = _t(np.zeros((2, 4)), device, requires_grad=True)
    source = _t(np.arange(6.0).reshape(2, 3), device, requires_grad=True)
    index = _t([3, 0, 3], device)
    out = x.index_add(1, index, source, alpha=-2.0)
    np.testing.assert_array_equal(out.detach().numpy(), [[-2.0, 0.0, 0.0, -4.0], [-8.0, 0.0, 0.0, -16.0]])
    gy = _t(np.arange(8.0).reshape(2, 4), device)
    out.backward(gy)
    np.testing.assert_array_equal(source.grad.numpy(), -2.0 * gy.index_select(1, index).numpy())
    np.testing.assert_array_equal(x.grad.numpy(), gy.numpy())


# ----------------------------------------------------------------------------- in place
@pytest.mark.parametrize("device", DEVICES)
def test_in_place_forms_write_into_the_tensor(device):
    idx = _t([[1, 0]], device)
    for name, args, expected in [
        ("scatter_", (1, idx, _t([[5.0, 6.0]], device)), [[6.0, 5.0, 3.0]]),
        ("scatter_", (1, idx, 9.0), [[9.0, 9.0, 3.0]]),
        ("scatter_add_", (1, idx, _t([[5.0, 6.0]], device)), [[7.0, 7.0, 3.0]]),
        ("scatter_reduce_", (1, idx, _t([[5.0, 6.0]], device), "prod"), [[6.0, 10.0, 3.0]]),
        ("index_add_", (1, _t([2, 2], device), _t([[5.0, 6.0]], device)), [[1.0, 2.0, 14.0]]),
    ]:
        t = _t([[1.0, 2.0, 3.0]], device)
        assert getattr(t, name)(*args) is t
        np.testing.assert_array_equal(t.numpy(), expected)


def test_in_place_forms_refuse_what_they_cannot_record():
    idx, src = minigan.tensor([0]), minigan.tensor([1.0])
    leaf = minigan.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_: a leaf Variable that requires grad"):
        leaf.scatter_(0, idx, src)
    with pytest.raises(RuntimeError, match="index_add_: the result would have to be recorded"):
        (leaf * 2).index_add_(0, idx, src)
    with pytest.raises(RuntimeError, match="scatter_add_: the result would have to be recorded"):
        minigan.zeros(2).scatter_add_(0, idx, minigan.ones(1, requires_grad=True))
    with minigan.no_grad():
        leaf.scatter_(0, idx, src)
    np.testing.assert_array_equal(leaf.detach().numpy(), [1.0, 0.0])
    with pytest.raises(RuntimeError, match=r"scatter\(\): Expected self.dtype to be equal to src.dtype"):
        minigan.zeros(2, dtype=minigan.int64).scatter_(0, idx, src)


# ----------------------------------------------------------------------------- cdist
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf])
def test_cdist_matches_torch_at_zero_distances_zero_differences_and_ties(p, device):
    """Row 0 of x1 equals row 0 of x2 (distance 0: p = 2's gradient is 0 there, not NaN), rows
    share coordinates (zero differences, p < 1's rule) and |differences| tie (inf's rule: each
    tie gets the whole gradient)."""
    x1 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 5.0, 3.0]])
    x2 = np.array([[1.0, 2.0, 3.0], [1.0, -1.0, 0.0]])
    (out,) = assert_matches_torch(lambda F, a, b: F.cdist(a, b, p=p), x1, x2, device=device)
    grads = assert_matches_torch(lambda F, a, b: F.cdist(a, b, p=p).sum(), x1, x1, device=device)
    assert np.isfinite(grads[0].detach().numpy()).all()
    assert_matches_torch(lambda F, a, b: F.cdist(a, b, p=p), x1, x2, dtype="float32", device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_cdist_broadcasts_batches_and_takes_compute_mode(device):
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 1, 4, 3)), rng.standard_normal((3, 5, 3))
    for mode in ("use_mm_for_euclid_dist_if_necessary", "donot_use_mm_for_euclid_dist"):
        (out,) = assert_matches_torch(lambda F, a, b: F.cdist(a, b, compute_mode=mode), x1, x2,
                                      device=device)
        assert out.shape == (2, 3, 4, 5)
    args = (_t(x1, device, requires_grad=True), _t(x2, device, requires_grad=True))
    assert minigan.gradgradcheck(lambda a, b: minigan.cdist(a, b, p=3), args)


# ----------------------------------------------------------------------------- unique
UNIQUE_INPUTS = [
    np.array([3.0, 1.0, np.nan, 2.0, 1.0, np.nan, 3.0, -0.0, 0.0]),
    np.array([[3, 1, 2], [1, 3, 5], [0, 1, 1], [3, 1, 2]]),
    np.array([[[1, 0], [1, 0]], [[0, 0], [1, 0]], [[1, 0], [1, 0]]]),
    np.array([True, False, True, True]),
    np.array(5.0),
    np.zeros((0, 3)),
    np.array([[2.0, np.nan], [3.0, 1.0], [2.0, np.nan], [3.0, 1.0]]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("consecutive", [False, True])
@pytest.mark.parametrize("a", UNIQUE_INPUTS, ids=range(len(UNIQUE_INPUTS)))
def test_unique_matches_torch_for_every_option(a, consecutive, device):
    # (with NaN, PyTorch's dim= sorting goes wrong, a comparator that is no order: minigan puts
    # NaN last and keeps each apart, as PyTorch's flattened unique does; compared there only)
    dims = [None] + ([d for d in range(-a.ndim, a.ndim) if not (a.size == 0 and d % a.ndim)]
                     if not np.isnan(a).any() else [])
    for dim in dims:
        for inverse in (False, True):
            for counts in (False, True):
                kw = dict(return_inverse=inverse, return_counts=counts, dim=dim)

                def fn(F, x):
                    return (F.unique_consecutive(x, **kw) if consecutive else
                            x.unique(sorted=True, **kw))
                outs = assert_matches_torch(fn, a, device=device, grad=False)
                for o in outs[1:]:
                    assert o.dtype == minigan.int64


def test_unique_gives_constants():
    x = minigan.tensor([2.0, 1.0, 2.0], requires_grad=True)
    values, inverse = minigan.unique(x, return_inverse=True)
    assert not values.requires_grad and values.grad_fn is None
    np.testing.assert_array_equal(values[inverse].numpy(), x.detach().numpy())


# ----------------------------------------------------------------------------- errors
def test_errors_name_the_op_and_what_is_wrong():
    x, src = minigan.zeros(3, 2), minigan.ones(1, 2)
    idx = minigan.tensor([[1, 0]])
    cases = [
        (IndexError, r"scatter\(\): index 3 is out of bounds for dimension 0 with size 3",
         lambda: x.scatter(0, minigan.tensor([[3, 0]]), src)),
        (IndexError, r"scatter_add\(\): index -1 is out of bounds for dimension 1 with size 2",
         lambda: x.scatter_add(1, minigan.tensor([[-1, 0]]), src)),
        (RuntimeError, r"scatter\(\): Expected dtype int32/int64 for index, got float32",
         lambda: x.scatter(0, minigan.tensor([[1.0, 0.0]]), src)),
        (RuntimeError, r"scatter_reduce\(\): Index tensor must have the same number of dimensions as "
                       r"self tensor \(index of shape \(2,\), self of shape \(3, 2\)\)",
         lambda: x.scatter_reduce(0, minigan.tensor([1, 0]), src, "sum")),
        (RuntimeError, r"scatter\(\): Expected index \[1, 3\] to be no larger than self \[3, 2\] apart "
                       r"from dimension 0 and to be no larger size than src \[1, 2\]",
         lambda: x.scatter(0, minigan.tensor([[1, 0, 0]]), src)),
        (RuntimeError, r"scatter_add\(\): Expected self.dtype to be equal to src.dtype \(self is "
                       r"float32, src float64\)", lambda: x.scatter_add(0, idx, src.double())),
        (RuntimeError, "reduce argument must be either sum, prod, mean, amax or amin, got median",
         lambda: x.scatter_reduce(0, idx, src, "median")),
        (IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
         lambda: x.scatter(2, idx, src)),
        (IndexError, r"index_add\(\): index 4 is out of range for dimension 0 with size 3",
         lambda: x.index_add(0, minigan.tensor([4]), src)),
        (RuntimeError, r"index_add\(\): Expected dtype int32/int64 for index but got: float32",
         lambda: x.index_add(0, minigan.tensor([1.0]), src)),
        (IndexError, r"index_add\(\): Index is supposed to be a vector, but got dim: 2",
         lambda: x.index_add(0, idx, src)),
        (RuntimeError, r"index_add\(\): Number of indices \(2\) should be equal to source.size\(dim\): "
                       r"\(1\), for dim: 0", lambda: x.index_add(0, minigan.tensor([0, 1]), src)),
        (RuntimeError, r"source tensor shape must match self tensor shape, excluding the specified "
                       r"dimension. Got self.shape = \[3, 2\] source.shape = \[1, 3\]",
         lambda: x.index_add(0, minigan.tensor([0]), minigan.ones(1, 3))),
        (RuntimeError, r"index_add\(\): self \(float32\) and source \(float64\) must have the same",
         lambda: x.index_add(0, minigan.tensor([0]), src.double())),
        (RuntimeError, "cdist only supports at least 2D tensors, X1 got: 1D",
         lambda: minigan.cdist(minigan.zeros(3), x)),
        (RuntimeError, "X1 and X2 must have the same number of columns. X1: 2 X2: 4",
         lambda: minigan.cdist(x, minigan.zeros(3, 4))),
        (RuntimeError, "cdist only supports non-negative p values",
         lambda: minigan.cdist(x, x, p=-1)),
        (RuntimeError, "cdist only supports floating-point dtypes, X1 got: int64",
         lambda: minigan.cdist(x.long(), x.long())),
        (RuntimeError, r"cdist: the batch shapes of X1 \(2, 3, 2\) and X2 \(3, 3, 2\) do not broadcast",
         lambda: minigan.cdist(minigan.zeros(2, 3, 2), minigan.zeros(3, 3, 2))),
        (RuntimeError, "unique: There are 0 sized dimensions, and they aren't selected",
         lambda: minigan.unique(minigan.zeros(2, 0), dim=0)),
        (IndexError, "unique_consecutive: Dimension specified as 0 but tensor has no dimensions",
         lambda: minigan.unique_consecutive(minigan.tensor(5.0), dim=0)),
    ]
    for kind, message, call in cases:
        with pytest.raises(kind, match=message):
            call()


# ----------------------------------------------------------------------------- properties
@st.composite
def _scatter_problem(draw):
    shape = tuple(draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)))
    axis = draw(st.integers(0, len(shape) - 1))
    idx_shape = tuple(draw(st.integers(1, 5)) if d == axis else draw(st.integers(1, n))
                      for d, n in enumerate(shape))
    idx = draw(hnp.arrays(np.int64, idx_shape, elements=st.integers(0, shape[axis] - 1)))
    values = st.integers(-3, 3).map(lambda k: k / 2)    # ties and zeros
    x = draw(hnp.arrays(np.float64, shape, elements=values))
    src = draw(hnp.arrays(np.float64, idx_shape, elements=values))
    return x, axis - len(shape) * draw(st.integers(0, 1)), idx, src, draw(st.sampled_from(REDUCES)), \
        draw(st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=_scatter_problem())
def test_scatter_family_over_shapes_matches_torch_on_cpu_and_strict(problem):
    """Random shapes, axes (negative too), repeated places, ties and zeros: scatter_reduce,
    scatter_add and index_add (as a scatter_add of the index repeated across slices) against
    PyTorch on both backends."""
    x, dim, idx, src, reduce, include_self = problem
    axis = dim % x.ndim
    line = idx.reshape(-1)[:4]                      # places along the axis, repeats too
    source_shape = tuple(line.size if d == axis else n for d, n in enumerate(x.shape))
    source = np.linspace(-1.0, 1.0, int(np.prod(source_shape))).reshape(source_shape)
    for device in ("cpu", "strict"):
        assert_matches_torch(lambda F, a, i, s: F.scatter_reduce(a, dim, i, s, reduce,
                                                                 include_self=include_self),
                             x, idx, src, device=device)
        assert_matches_torch(lambda F, a, i, s: F.scatter_add(a, dim, i, s), x, idx, src, device=device)
        assert_matches_torch(lambda F, a, i, s: F.index_add(a, dim, i, s, alpha=0.5), x, line, source,
                             device=device)
