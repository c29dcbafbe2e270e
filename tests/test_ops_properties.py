"""Properties that hold for any shape and any values (hypothesis), independent of PyTorch:
broadcasting and its undoing, inverse pairs of shape ops, identities of the activations,
the linearity of backward, and device independence (CPU == strict)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan.testing import arrays, broadcastable_pairs, broadcastable_shapes, shapes, tensors

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
DEVICES = ["cpu", "strict"]


def host(t):
    return t.detach().numpy()


# ----------------------------------------------------------------------------- the strategies
@SETTINGS
@given(data=st.data())
def test_strategies_do_what_they_say(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3, max_side=4))
    assert 1 <= len(shape) <= 3 and all(1 <= s <= 4 for s in shape)
    other = data.draw(broadcastable_shapes(shape))
    np.broadcast_shapes(shape, other)
    a, b = data.draw(broadcastable_pairs())
    np.broadcast_shapes(a, b)
    x = data.draw(arrays(shape, away_from=[0.0, 1.0], margin=0.1))
    assert x.shape == shape and np.all(np.abs(x) >= 0.1 - 1e-12) and np.all(np.abs(x - 1) >= 0.1 - 1e-12)
    y = data.draw(arrays(shape, min_magnitude=0.5))
    assert np.all(np.abs(y) >= 0.5)
    z = data.draw(arrays(shape, distinct=True))
    gaps = np.diff(np.sort(z.ravel()))
    assert np.all(gaps >= 4.0 / (2 * max(100, z.size)) - 1e-12)
    f32 = data.draw(arrays(shape, dtype="float32"))
    assert f32.dtype == np.float32
    ints = data.draw(arrays(shape, dtype="int64", min_value=-3, max_value=3))
    assert ints.dtype == np.int64 and np.all(np.abs(ints) <= 3)
    t = data.draw(tensors(shape, device="strict"))
    assert t.requires_grad and t.device == "strict" and t.shape == shape and t.dtype == minigan.float64


# ----------------------------------------------------------------------------- broadcasting
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(data=st.data())
def test_broadcast_forward_and_gradient_shapes(device, data):
    sa, sb = data.draw(broadcastable_pairs())
    a_np, b_np = data.draw(arrays(sa)), data.draw(arrays(sb))
    a = minigan.tensor(a_np, device=device, requires_grad=True)
    b = minigan.tensor(b_np, device=device, requires_grad=True)
    out = a * b + a
    np.testing.assert_allclose(host(out), a_np * b_np + a_np, rtol=1e-15)
    out.sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    full = np.broadcast_shapes(sa, sb)
    # d/da sum(a*b + a) = sum of (b + 1) over the axes a was broadcast along
    expected_a = np.broadcast_to(b_np + 1, full)
    expected_a = expected_a.sum(axis=tuple(range(len(full) - len(sa)))) if len(full) > len(sa) else expected_a
    expected_a = expected_a.sum(axis=tuple(i for i, s in enumerate(sa) if s == 1), keepdims=True) \
        if any(s == 1 for s in sa) else expected_a
    np.testing.assert_allclose(host(a.grad), np.reshape(expected_a, sa), rtol=1e-12)


@SETTINGS
@given(data=st.data())
def test_sum_to_undoes_expand(data):
    shape = data.draw(shapes(max_dims=3))
    target = data.draw(broadcastable_shapes(shape, max_dims=4))
    full = np.broadcast_shapes(shape, target)
    x = minigan.tensor(data.draw(arrays(shape)), requires_grad=True)
    e = x.expand(full)
    back = minigan.sum_to(e, shape)
    copies = math.prod(full) // math.prod(shape)
    np.testing.assert_allclose(host(back), host(x) * copies, rtol=1e-13)
    back.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.full(shape, float(copies)))


# ----------------------------------------------------------------------------- inverse pairs
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(data=st.data())
def test_shape_op_round_trips(device, data):
    shape = data.draw(shapes(min_dims=1, max_dims=4))
    x = data.draw(tensors(shape, device=device))
    perm = data.draw(st.permutations(range(len(shape))))
    inverse = tuple(np.argsort(perm))
    np.testing.assert_array_equal(host(x.permute(*perm).permute(*inverse)), host(x))
    np.testing.assert_array_equal(host(x.reshape(-1).reshape(shape)), host(x))
    np.testing.assert_array_equal(host(x.flatten().view(shape)), host(x))
    d = data.draw(st.integers(0, len(shape)))
    np.testing.assert_array_equal(host(x.unsqueeze(d).squeeze(d)), host(x))
    if len(shape) >= 2:
        np.testing.assert_array_equal(host(x.transpose(0, -1).transpose(0, -1)), host(x))
    axis = data.draw(st.integers(0, len(shape) - 1))
    pieces = x.split(1, dim=axis)
    assert len(pieces) == shape[axis]
    np.testing.assert_array_equal(host(minigan.cat(pieces, dim=axis)), host(x))
    stacked = minigan.stack([x, x * 2], dim=axis)
    np.testing.assert_array_equal(host(stacked[(slice(None),) * axis + (1,)]), host(x) * 2)
    # and the gradient of a round trip is the identity
    y = x.permute(*perm).reshape(-1)
    g = data.draw(arrays(y.shape))
    y.backward(minigan.tensor(g, device=device))
    np.testing.assert_array_equal(host(x.grad), np.transpose(g.reshape([shape[p] for p in perm]), inverse))


@SETTINGS
@given(data=st.data())
def test_getitem_gradient_scatters_into_zeros(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(tensors(shape))
    n = shape[0]
    idx = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
    y = x[minigan.tensor(idx)]
    y.sum().backward()
    counts = np.zeros(n)
    for i in idx:
        counts[i] += 1  # repeated indices add up
    expected = np.broadcast_to(counts.reshape((n,) + (1,) * (len(shape) - 1)), shape)
    np.testing.assert_array_equal(host(x.grad), expected)


# ----------------------------------------------------------------------------- identities
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(data=st.data())
def test_activation_identities(device, data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(tensors(shape, device=device, requires_grad=False, min_value=-30, max_value=30))
    np.testing.assert_allclose(host(minigan.sigmoid(x) + minigan.sigmoid(-x)), 1.0, rtol=1e-14)
    np.testing.assert_allclose(host(minigan.tanh(-x)), -host(minigan.tanh(x)), rtol=1e-15)
    np.testing.assert_allclose(host(2 * minigan.sigmoid(2 * x) - 1), host(minigan.tanh(x)), atol=1e-15)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    s = minigan.softmax(x, dim=dim)
    np.testing.assert_allclose(host(s.sum(dim=dim)), 1.0, rtol=1e-14)
    np.testing.assert_allclose(host(minigan.log_softmax(x, dim=dim).exp()), host(s), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(host(minigan.softmax(x + 100.0, dim=dim)), host(s), rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(host(minigan.relu(x)), np.maximum(host(x), 0))
    np.testing.assert_allclose(host(minigan.erf(-x)), -host(minigan.erf(x)), rtol=1e-15)
    np.testing.assert_allclose(host(x.var(dim=dim, unbiased=False)),
                               host((x * x).mean(dim=dim) - x.mean(dim=dim) ** 2),
                               rtol=1e-8, atol=1e-10 * float(np.abs(host(x)).max() ** 2 + 1))


@SETTINGS
@given(data=st.data())
def test_softmax_gradient_sums_to_zero(data):
    """softmax outputs sum to 1, so a constant upstream gradient gives a zero input gradient."""
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    x = data.draw(tensors(shape))
    dim = data.draw(st.integers(0, len(shape) - 1))
    minigan.softmax(x, dim=dim).backward(minigan.ones(shape, dtype=minigan.float64) * 3.0)
    np.testing.assert_allclose(host(x.grad), 0.0, atol=1e-14)


# ----------------------------------------------------------------------------- backward is linear
@SETTINGS
@given(data=st.data(), c=st.floats(-3, 3, allow_nan=False))
def test_backward_is_linear_in_the_upstream_gradient(data, c):
    shape = data.draw(shapes(max_dims=3))
    x_np = data.draw(arrays(shape))
    g1, g2 = data.draw(arrays(shape)), data.draw(arrays(shape))

    def grad_for(g):
        x = minigan.tensor(x_np, requires_grad=True)
        (minigan.tanh(x) * x.exp() + x ** 2).backward(minigan.tensor(g))
        return host(x.grad)
    np.testing.assert_allclose(grad_for(g1 + c * g2), grad_for(g1) + c * grad_for(g2),
                               rtol=1e-9, atol=1e-9)


@SETTINGS
@given(data=st.data())
def test_accumulation_equals_sum_of_separate_backwards(data):
    shape = data.draw(shapes(max_dims=3))
    x = data.draw(tensors(shape))
    y = (x * x.sigmoid()).sum()
    y.backward(retain_graph=True)
    once = host(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(host(x.grad), 2 * once, rtol=1e-15)


# ----------------------------------------------------------------------------- device independence
@SETTINGS
@given(data=st.data())
def test_cpu_and_strict_agree_on_a_small_network(data):
    """The same computation on both backends gives the same values and gradients."""
    n_in, n_hidden = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    batch = data.draw(shapes(min_dims=0, max_dims=1, max_side=3))
    x_np = data.draw(arrays(batch + (n_in,)))
    w_np, b_np = data.draw(arrays((n_hidden, n_in))), data.draw(arrays((n_hidden,)))
    results = []
    for device in DEVICES:
        x, w, b = (minigan.tensor(a, device=device, requires_grad=True) for a in (x_np, w_np, b_np))
        h = minigan.nn.functional.leaky_relu(minigan.nn.functional.linear(x, w, b), 0.2)
        out = minigan.log_softmax(h, dim=-1).sum() + minigan.sigmoid(h).mean() + (h ** 2).amax()
        out.backward()
        results.append([host(out), host(x.grad), host(w.grad), host(b.grad)])
    for cpu, strict in zip(*results):
        np.testing.assert_allclose(strict, cpu, rtol=1e-13, atol=1e-15)
