"""The graph walk: accumulation, retain_graph, grad modes, retain_grad, autograd.grad,
create_graph, detach, requires_grad propagation, deep graphs (DESIGN.md "Engine decisions")."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigan
from minigan.autograd import Function


def leaf(value, dtype=minigan.float64):
    return minigan.tensor(value, dtype=dtype, requires_grad=True)


# ----------------------------------------------------------------------------- the classic traps
def test_same_tensor_twice_in_one_op():
    a = leaf(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_self_product_and_diamond():
    x = leaf(3.0)
    y = x * x  # both inputs of one Mul are x
    y.backward()
    assert x.grad.item() == 6.0
    x = leaf(2.0)
    u, v = x * 3.0, x.exp()  # a diamond: two paths from x meet again in z
    z = u * v
    z.backward()
    assert x.grad.item() == pytest.approx(3 * np.exp(2.0) + 6 * np.exp(2.0), rel=1e-14)


def test_leaf_used_in_many_places():
    x = leaf([1.0, 2.0, 3.0])
    y = (x * 2).sum() + (x ** 2).sum() + x[0] * x[2] + x.mean()
    y.backward()
    expected = 2 + 2 * np.array([1.0, 2.0, 3.0]) + np.array([3.0, 0.0, 1.0]) + 1 / 3
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14)


def test_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, -2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2 + 3, -4 + 3])


def test_backward_twice_with_retain_graph_accumulates():
    x = leaf(2.0)
    y = x.exp() * x
    y.backward(retain_graph=True)
    first = x.grad.item()
    y.backward()
    assert first == pytest.approx(3 * np.exp(2.0), rel=1e-14)
    assert x.grad.item() == pytest.approx(2 * first, rel=1e-14)


def test_second_backward_without_retain_graph_raises():
    x = leaf(2.0)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_deep_chain_has_no_recursion_limit():
    x = leaf(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 5000, rel=1e-10)
    del y
    gc.collect()


def test_deep_chain_of_two_input_ops():
    a, b = leaf(0.5), leaf(0.25)
    y = a
    for i in range(3000):
        y = y + b if i % 2 else y * 1.0
    y.backward()
    assert a.grad.item() == 1.0 and b.grad.item() == 1500.0


def test_wide_graph():
    xs = [leaf(float(i)) for i in range(500)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x * x
    total.backward()
    assert xs[0].grad.item() == 1.0
    assert [x.grad.item() for x in xs[1:4]] == [2.0, 4.0, 6.0]


# ----------------------------------------------------------------------------- grad modes
def test_no_grad_as_context_manager():
    x = leaf(1.0)
    with minigan.no_grad():
        y = x * 2
        assert not minigan.is_grad_enabled()
    assert minigan.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_as_decorator_and_nesting():
    x = leaf(1.0)

    @minigan.no_grad()
    def inference(t):
        assert not minigan.is_grad_enabled()
        with minigan.enable_grad():
            inner = t * 3
        return t * 2, inner

    y, inner = inference(x)
    assert not y.requires_grad
    assert inner.requires_grad
    assert minigan.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad():
    x = leaf(1.0)

    @minigan.enable_grad()
    def f(t):
        return t * 2

    with minigan.no_grad():
        y = f(x)
        assert not minigan.is_grad_enabled()
    assert y.requires_grad


def test_set_grad_enabled():
    x = leaf(1.0)
    with minigan.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with minigan.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @minigan.set_grad_enabled(False)
    def f(t):
        return t + 1

    assert not f(x).requires_grad
    assert minigan.is_grad_enabled()


def test_decorators_without_parentheses():
    """``@torch.no_grad`` and ``@torch.enable_grad`` also work uncalled (PyTorch 2)."""
    x = leaf(1.0)

    @minigan.no_grad
    def inference(t):
        return t * 2

    @minigan.enable_grad
    def training(t):
        return t * 2

    assert not inference(x).requires_grad and minigan.is_grad_enabled()
    with minigan.no_grad():
        assert training(x).requires_grad
        assert not minigan.is_grad_enabled()


def test_set_grad_enabled_as_a_plain_call():
    """As in PyTorch, ``set_grad_enabled(False)`` on its own switches recording off at once."""
    x = leaf(1.0)
    minigan.set_grad_enabled(False)
    try:
        assert not minigan.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        minigan.set_grad_enabled(True)
    assert minigan.is_grad_enabled() and (x * 2).requires_grad
    with minigan.no_grad():
        with minigan.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not minigan.is_grad_enabled()
    context = minigan.no_grad()  # made early, entered later: takes the mode at entry
    with context:
        assert not minigan.is_grad_enabled()
    assert minigan.is_grad_enabled()


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with minigan.no_grad():
            raise ValueError("boom")
    assert minigan.is_grad_enabled()


# ----------------------------------------------------------------------------- flags and leaves
def test_requires_grad_propagation():
    a = leaf(1.0)
    b = minigan.tensor(2.0, dtype=minigan.float64)
    assert not b.requires_grad
    assert not (b * 3).requires_grad and (b * 3).is_leaf
    c = a * b
    assert c.requires_grad and not c.is_leaf and c.grad_fn is not None
    c.backward()
    assert a.grad.item() == 2.0
    assert b.grad is None


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        minigan.tensor([1, 2], requires_grad=True)


def test_non_leaf_grad_is_none_unless_retained():
    x = leaf([1.0, 2.0])
    h = x * 3
    r = x * 4
    r.retain_grad()
    ((h * h).sum() + (r * r).sum()).backward()
    assert h.grad is None
    np.testing.assert_allclose(r.grad.numpy(), 2 * 4 * np.array([1.0, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * np.array([1.0, 2.0]) + 2 * 16 * np.array([1.0, 2.0]))


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])
    z = (d * x).sum()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # d treated as a constant


def test_requires_grad_flag_changes():
    x = minigan.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    x.requires_grad_(False)
    assert not (x * 2).requires_grad


def test_backward_with_explicit_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    y.backward(minigan.tensor([1.0, 0.5, 0.0], dtype=minigan.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 0.0])


def test_graph_is_freed_after_backward():
    x = leaf(np.ones(3))
    y = (x * 2).exp()
    fn = weakref.ref(y.grad_fn)
    loss = y.sum()
    loss.backward()
    del y, loss
    gc.collect()
    assert fn() is None


# ----------------------------------------------------------------------------- autograd.grad
def test_autograd_grad_does_not_touch_dot_grad():
    x = leaf([1.0, 2.0])
    y = (x ** 3).sum()
    (g,) = minigan.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    assert x.grad is None
    assert not g.requires_grad


def test_autograd_grad_of_intermediate_and_unused():
    x, w = leaf(2.0), leaf(5.0)
    h = x * 3
    y = h * h
    (gh,) = minigan.autograd.grad(y, h)
    assert gh.item() == 12.0
    with pytest.raises(RuntimeError, match="not have been used"):
        minigan.autograd.grad((x * 2), [x, w])
    gx, gw = minigan.autograd.grad(x * 2, [x, w], allow_unused=True)
    assert gx.item() == 2.0 and gw is None


def test_create_graph_gives_second_and_third_derivatives():
    x = leaf(1.5)
    y = x ** 4
    (g,) = minigan.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    assert g.item() == pytest.approx(4 * 1.5 ** 3)
    (g2,) = minigan.autograd.grad(g, x, create_graph=True)
    assert g2.item() == pytest.approx(12 * 1.5 ** 2)
    (g3,) = minigan.autograd.grad(g2, x)
    assert g3.item() == pytest.approx(24 * 1.5)


def test_gradient_penalty_pattern():
    """WGAN-GP style: the norm of d D(x)/dx, backpropagated into D's weight."""
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((3, 4)))
    x = leaf(rng.standard_normal((2, 4)))
    d = minigan.sigmoid(x @ w.T).sum()
    (gx,) = minigan.autograd.grad(d, x, create_graph=True)
    penalty = ((gx * gx).sum(dim=1) - 1.0).pow(2).mean()
    penalty.backward()
    assert w.grad is not None and w.grad.shape == (3, 4)

    def penalty_of(w_):
        x_ = minigan.tensor(x.detach().numpy(), requires_grad=True)
        d_ = minigan.sigmoid(x_ @ w_.T).sum()
        (g_,) = minigan.autograd.grad(d_, x_, create_graph=True)
        return ((g_ * g_).sum(dim=1) - 1.0).pow(2).mean()
    assert minigan.gradcheck(penalty_of, (leaf(w.detach().numpy()),))


def test_backward_create_graph_then_backward_again():
    x = leaf(3.0)
    y = x * x * x
    y.backward(create_graph=True)
    g = x.grad
    assert g.item() == 27.0 and g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == 18.0


def test_fused_op_double_backward_through_composite():
    """Linear is fused (hand-written array backward); its create_graph path must be exact."""
    rng = np.random.default_rng(1)
    x, w, b = leaf(rng.standard_normal(4)), leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal(3))
    assert minigan.gradgradcheck(lambda x, w, b: minigan.nn.functional.linear(x, w, b).tanh(), (x, w, b))


# ----------------------------------------------------------------------------- Function subclass
class Cube(Function):
    """A user-written primitive: forward on arrays, backward written once against F."""

    def forward(self, x):
        return x * x * x

    def backward(self, F, gy):
        x = self.input(F, 0)
        return gy * 3.0 * x * x


def test_user_function_first_and_second_order():
    x = leaf([0.5, -1.0, 2.0])
    y = Cube()(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.detach().numpy() ** 2)
    assert minigan.gradcheck(lambda t: Cube()(t), (leaf([0.5, -1.0, 2.0]),))
    assert minigan.gradgradcheck(lambda t: Cube()(t), (leaf([0.5, -1.0, 2.0]),))


def test_broadcast_gradient_is_reduced_centrally():
    """A backward that returns a broadcast-shaped gradient is summed to the input's shape."""
    a = leaf(np.ones((3, 1)))
    b = leaf(np.ones(4))
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 4.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))


@pytest.mark.parametrize("dtype", [minigan.float32, minigan.float64])
@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_a_batch_of_one_bias_gets_the_gradient_itself(dtype, device):
    """(1, n) + (n,): summing over the batch axis of one number is a reshape (ArrayOps.sum_to's
    fast path); the values are those of a real sum, -0 aside (+0 in NumPy's sum)."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal((1, 5))
    for batch in (1, 2):  # 2: the reduce itself, for comparison
        x = minigan.tensor(rng.standard_normal((batch, 5)), dtype=dtype, device=device)
        b = minigan.tensor(rng.standard_normal(5), dtype=dtype, device=device, requires_grad=True)
        gy = minigan.tensor(np.repeat(g, batch, axis=0), dtype=dtype, device=device)
        (x + b).backward(gy)
        assert b.grad.shape == (5,) and b.grad.dtype == dtype and b.grad.device == b.device
        np.testing.assert_array_equal(b.grad.numpy(), (batch * g[0]).astype(b.grad.numpy().dtype))
    # the bias after a batch-1 matmul, as in ``sigmoid(x @ W + b).sum()``
    x = minigan.tensor(rng.standard_normal((1, 4)), dtype=dtype, device=device)
    W = minigan.tensor(rng.standard_normal((4, 3)), dtype=dtype, device=device, requires_grad=True)
    b = minigan.tensor(rng.standard_normal(3), dtype=dtype, device=device, requires_grad=True)
    z = x @ W + b
    minigan.sigmoid(z).sum().backward()
    s = 1 / (1 + np.exp(-z.detach().numpy()[0].astype(np.float64)))
    np.testing.assert_allclose(b.grad.numpy(), s * (1 - s), rtol=1e-5 if dtype == minigan.float32 else 1e-12)
