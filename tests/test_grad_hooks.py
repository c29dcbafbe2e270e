"""Tensor.register_hook (minigan/grad_hooks.py) against PyTorch's: what the hooks see, what
their return values change, removal, and that the fast walk comes back once they are gone."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import autograd

torch = pytest.importorskip("torch")


def _run(lib, hook_on):
    """x -> h = tanh(x W) -> loss; hooks record and change gradients, as ``hook_on`` says."""
    rng = np.random.default_rng(4)
    x = lib.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    h = lib.tanh(x @ w)
    seen = []
    handles = []
    if "h" in hook_on:
        handles.append(h.register_hook(lambda g: seen.append(("h", g.detach().numpy().copy()))))
        handles.append(h.register_hook(lambda g: g * 2.0))  # doubles what flows on to x and w
    if "w" in hook_on:
        handles.append(w.register_hook(lambda g: seen.append(("w", g.detach().numpy().copy())) or g + 1.0))
    (h * h).sum().backward()
    return x.grad.numpy(), w.grad.numpy(), seen, handles


@pytest.mark.parametrize("hook_on", [("h",), ("w",), ("h", "w")])
def test_hooks_see_and_change_gradients_as_in_torch(hook_on):
    mx, mw, m_seen, _ = _run(minigan, hook_on)
    tx, tw, t_seen, _ = _run(torch, hook_on)
    np.testing.assert_allclose(mx, tx, rtol=1e-12)
    np.testing.assert_allclose(mw, tw, rtol=1e-12)
    assert [name for name, _ in m_seen] == [name for name, _ in t_seen]
    for (_, a), (_, b) in zip(m_seen, t_seen):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_removed_hooks_stop_and_dead_tensors_take_theirs_along():
    from minigan import grad_hooks
    x = minigan.ones(3, requires_grad=True)
    calls = []
    first = x.register_hook(lambda g: calls.append("first"))
    x.register_hook(lambda g: calls.append("second"))
    (x * 2).sum().backward()
    assert calls == ["first", "second"] and x.grad.tolist() == [2.0, 2.0, 2.0]
    first.remove()
    first.remove()  # twice: nothing more happens
    (x * 2).sum().backward()
    assert calls == ["first", "second", "second"] and x.grad.tolist() == [4.0, 4.0, 4.0]
    assert grad_hooks.HOOKS
    del x  # the tensor gone, its hooks go with it: backward takes the fast walk again
    assert not grad_hooks.HOOKS


def test_hooks_in_autograd_grad_and_refusals():
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10.0)
    (g,) = autograd.grad((x * x).sum(), x)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    tx.register_hook(lambda g: g * 10.0)
    (tg,) = torch.autograd.grad((tx * tx).sum(), tx)
    np.testing.assert_allclose(g.numpy(), tg.numpy())
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        minigan.ones(2).register_hook(lambda g: g)
    y = minigan.ones(2, requires_grad=True)
    y.register_hook(lambda g: minigan.ones(3))
    with pytest.raises(RuntimeError, match=r"a hook returned \(3,\) for a gradient of shape \(2,\)"):
        (y * 1.0).sum().backward()
