"""In-place arithmetic (functional/inplace.py): ``p -= lr * p.grad`` must change ``p``."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from device_params import DEVICES

torch = pytest.importorskip("torch")


def _mlp(F, params, x):
    w1, b1, w2, b2 = params
    return F.sigmoid(F.tanh(x @ w1.T + b1) @ w2.T + b2)


@pytest.mark.parametrize("device", DEVICES)
def test_hand_written_sgd_trains_as_in_pytorch(device):
    """The tutorial loop without an optimiser class: before in-place operators existed,
    ``p -= ...`` rebound the loop variable and the parameters never moved."""
    rng = np.random.default_rng(3)
    init = [rng.uniform(-0.5, 0.5, s) for s in [(6, 4), (6,), (2, 6), (2,)]]
    data = [(rng.standard_normal((5, 4)), rng.uniform(0, 1, (5, 2))) for _ in range(20)]
    m_params = [minigan.tensor(a, device=device, requires_grad=True) for a in init]
    t_params = [torch.tensor(a, requires_grad=True) for a in init]
    for F, params, make in ((minigan, m_params, lambda a: minigan.tensor(a, device=device)),
                            (torch, t_params, torch.tensor)):
        for x, target in data:
            loss = ((_mlp(F, params, make(x)) - make(target)) ** 2).mean()
            for p in params:
                p.grad = None
            loss.backward()
            with F.no_grad():
                for p in params:
                    p -= 0.5 * p.grad
    for m, t, a in zip(m_params, t_params, init):
        assert m.requires_grad and m.grad is not None
        assert not np.allclose(m.detach().cpu().numpy(), a)  # it moved
        np.testing.assert_allclose(m.detach().cpu().numpy(), t.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_operators_and_methods_keep_identity_shape_and_dtype(device):
    t = minigan.zeros(2, 3, device=device)
    same = t
    t += 1
    t -= minigan.tensor([0.5, 1.0, 1.5], device=device)   # broadcast into t's shape
    t *= 4
    t /= 2
    assert t is same and t.dtype == minigan.float32 and t.shape == (2, 3)
    np.testing.assert_array_equal(t.cpu().numpy(), [[1.0, 0.0, -1.0]] * 2)
    assert t.add_(minigan.ones(3, device=device), alpha=2) is same
    assert t.sub_(1).mul_(2).div_(4) is same
    np.testing.assert_array_equal(t.cpu().numpy(), [[1.0, 0.5, 0.0]] * 2)
    d = minigan.ones(3, dtype=minigan.float32, device=device)
    d += minigan.tensor([0.25, 0.5, 1.0], dtype=minigan.float64, device=device)
    assert d.dtype == minigan.float32  # the result is cast to t's dtype, as PyTorch
    i = minigan.tensor([1, 2, 3], device=device)
    i *= 3
    assert i.dtype == minigan.int64 and i.tolist() == [3, 6, 9]


def test_what_does_not_fit_is_refused_as_pytorch_refuses_it():
    i = minigan.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="__itruediv__: result type float32 can't be cast to "
                                           "the desired output type int64"):
        i /= 2
    with pytest.raises(RuntimeError, match="add_: result type float32 can't be cast"):
        i.add_(0.5)
    t = minigan.zeros(3)
    with pytest.raises(RuntimeError, match=r"__iadd__: output with shape \[3\] doesn't match "
                                           r"the broadcast shape \[2, 3\]"):
        t += minigan.ones(2, 3)
    ti = torch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast"):
        ti /= 2
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tz = torch.zeros(3)
        tz += torch.ones(2, 3)


def test_a_leaf_that_requires_grad_is_refused_while_recording():
    w = minigan.ones(3, requires_grad=True)
    for update in (lambda: w.__isub__(1.0), lambda: w.mul_(2)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation"):
            update()
    with minigan.no_grad():
        w -= 1.0
    assert w.requires_grad and w.tolist() == [0.0, 0.0, 0.0]


def test_a_tensor_of_a_recorded_graph_goes_out_of_place_with_the_right_gradient():
    """``h += b`` in a forward pass: recorded out of place (the name is rebound), so the
    gradient reaches b and x as in PyTorch; ``h.add_(b)`` is refused, not left undone."""
    x_np, b_np = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.5])
    grads = []
    for F, make in ((minigan, lambda a: minigan.tensor(a, dtype=minigan.float64, requires_grad=True)),
                    (torch, lambda a: torch.tensor(a, requires_grad=True))):
        x, b = make(x_np), make(b_np)
        h = x * 2.0
        h += b
        h *= 3.0
        (h * h).sum().backward()
        grads.append((x.grad.detach().numpy(), b.grad.detach().numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0])
    np.testing.assert_allclose(grads[0][1], grads[1][1])
    h = minigan.ones(2, requires_grad=True) * 3.0
    with pytest.raises(RuntimeError, match="add_: the result would have to be recorded in the graph"):
        h.add_(1.0)
    acc = minigan.zeros(2)  # a constant accumulating a recorded value: out of place too
    acc += h
    assert acc.requires_grad and acc.creator is not None


def test_a_tensor_assigned_to_data_is_named_at_the_next_op():
    """minigan's ``.data`` is the raw array, so PyTorch's ``p.data = p.data - lr * p.grad``
    stores a Tensor there; the next op said "operand 'Tensor' does not support ufuncs" from
    inside NumPy. It now names the op, the input and both fixes; the fixes train as PyTorch."""
    lin = minigan.nn.Linear(2, 3)
    x = minigan.ones(4, 2)
    lin(x).sum().backward()
    for p in lin.parameters():
        p.data = p.data - 0.1 * p.grad
    with pytest.raises(TypeError, match=r"Linear: input 1 holds a Tensor in its .data, which is "
                                        r"minigan's raw array .* p.data = new.data"):
        lin(x)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 2))
    m_lin, t_lin = minigan.nn.Linear(2, 3).double(), torch.nn.Linear(2, 3).double()
    with minigan.no_grad():
        m_lin.weight.copy_(minigan.tensor(w))
    with torch.no_grad():
        t_lin.weight.copy_(torch.tensor(w))
    m_lin.bias.data = t_lin.bias.detach().numpy().copy()
    for lin, F in ((m_lin, minigan), (t_lin, torch)):
        lin(F.ones(4, 2, dtype=F.float64)).sum().backward()
    for p in m_lin.parameters():
        p.data = (p - 0.1 * p.grad).data  # the array, as the message says
    with torch.no_grad():
        for p in t_lin.parameters():
            p.data = p.data - 0.1 * p.grad
    np.testing.assert_allclose(m_lin.weight.detach().numpy(), t_lin.weight.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(m_lin.bias.detach().numpy(), t_lin.bias.detach().numpy(), rtol=1e-14)


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_through_a_detached_tensor_changes_its_source_as_in_pytorch(device):
    """PyTorch code writes parameters through ``detach()`` (its swa_utils: ``p.detach().copy_(x)``;
    ``x.detach().zero_()``): every in-place method and operator on the detached tensor reaches
    the source, through a chain of detaches too, with PyTorch's numbers."""
    changes = [
        lambda F, t: t.copy_(F.tensor([5.0, 6.0, 7.0], dtype=t.dtype, device=t.device)),
        lambda F, t: t.add_(2.0), lambda F, t: t.sub_(t), lambda F, t: t.mul_(3.0),
        lambda F, t: t.div_(4.0), lambda F, t: t.lerp_(F.ones(3, dtype=t.dtype, device=t.device), 0.25),
        lambda F, t: t.zero_(), lambda F, t: t.fill_(9.0), lambda F, t: t.clamp_(-0.5, 1.5),
        lambda F, t: t.__iadd__(1.0), lambda F, t: t.__imul__(F.full((3,), 2.0, dtype=t.dtype, device=t.device)),
    ]
    for k, change in enumerate(changes):
        results = []
        for F, where in ((minigan, device), (torch, "cpu")):
            p = F.nn.Parameter(F.tensor([1.0, -2.0, 3.0], dtype=F.float64, device=where))
            change(F, p.detach())
            change(F, p.detach().detach())
            results.append(p.detach().cpu().numpy().copy())
        np.testing.assert_array_equal(results[0], results[1], err_msg=f"change {k}")


def test_a_detached_tensor_holds_no_strong_reference_and_parts_once_the_source_moves_on():
    import gc
    import weakref
    x = minigan.ones(3)
    alias = x.detach()
    watch = weakref.ref(x)
    del x
    gc.collect()
    assert watch() is None            # a detached fake keeps nothing of G's graph alive
    alias.fill_(2.0)                  # and its source gone, it simply changes itself
    assert alias.numpy().tolist() == [2.0, 2.0, 2.0]
    y = minigan.zeros(2)
    other = y.detach()
    y.copy_(minigan.ones(2))          # y now has an array of its own: the two have parted
    other.fill_(7.0)
    assert y.numpy().tolist() == [1.0, 1.0] and other.numpy().tolist() == [7.0, 7.0]
