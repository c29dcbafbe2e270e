"""Module.register_full_backward_hook and register_full_backward_pre_hook
(minigan/nn/backward_hooks.py) against torch.nn with the same weights, in float64: what the
hooks see, what their return values change, their order, removal, ``autograd.grad``,
``create_graph=True``, the refusals, and that a module without hooks records no extra node."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import minigan
from minigan import autograd
from device_params import NOT_NUMPY

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("one_torch_thread")
NO_INPUT_GRAD = "Full backward hook is firing when gradients are computed with respect to module outputs"


# ------------------------------------------------------------------------------ helpers
def _numpy(t):
    """A gradient as a NumPy copy (either framework, any device), or None."""
    return None if t is None else t.detach().cpu().numpy().copy()


def _same_weights(lib, module, seed=0):
    """Overwrite every parameter with the same standard normal numbers on either framework."""
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for _, p in module.named_parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape))))
    return module


def _recorder(log, name, ret=None):
    """Hooks that append what they see to ``log``; ``ret`` maps the gradients to a result."""
    def hook(module, grad_input, grad_output):
        log.append((name, type(module).__name__, [_numpy(g) for g in grad_input],
                    [_numpy(g) for g in grad_output]))
        return None if ret is None else ret(grad_input)

    def pre_hook(module, grad_output):
        log.append((name, type(module).__name__, [_numpy(g) for g in grad_output]))
        return None if ret is None else ret(grad_output)
    return hook, pre_hook


def _assert_same(a, b):
    """Two values that may be arrays, None, or (nested) lists/tuples of those."""
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert a is not None and b is not None, (a, b)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-12), (a, b)
    else:
        assert a == b, (a, b)


class TwoInputs:
    """``forward(a, k, b)``: two Tensors and a number between them, as a module of each framework."""

    @staticmethod
    def make(lib):
        class Mix(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(3, 3)

            def forward(self, a, k, b):
                return lib.tanh(self.lin(a)) * b * k + a
        return Mix()


class TupleOutput:
    """A module whose output is a tuple: (tanh(x W), x * 3, a number)."""

    @staticmethod
    def make(lib):
        class Split(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(3, 2)

            def forward(self, x):
                return lib.tanh(self.lin(x)), x * 3.0, 7
        return Split()


# ------------------------------------------------------------------------------ what hooks see
def _linear(lib):
    return lib.nn.Linear(3, 4)


def _conv(lib):
    return lib.nn.Conv2d(2, 3, 3, padding=1)


def _block(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.LeakyReLU(0.2), lib.nn.Linear(5, 2),
                             lib.nn.Sigmoid())


CASES = {  # name: (module, input shape)
    "Linear": (_linear, (4, 3)),
    "Conv2d": (_conv, (2, 2, 5, 5)),
    "Sequential": (_block, (4, 3)),
}


def _see(lib, case, x_requires_grad, device="cpu"):
    make, shape = CASES[case]
    module = _same_weights(lib, make(lib).double())
    log = []
    module.register_full_backward_hook(_recorder(log, "hook")[0])
    module.register_full_backward_pre_hook(_recorder(log, "pre")[1])
    if lib is minigan:
        module = module.to(device)
    rng = np.random.default_rng(1)
    x = lib.tensor(rng.standard_normal(shape), requires_grad=x_requires_grad)
    if lib is minigan:
        x = x.to(device).detach().requires_grad_(x_requires_grad)
    weights = lib.tensor(rng.standard_normal(tuple(module(x).shape)))
    if lib is minigan:
        weights = weights.to(device)
    log.clear()
    (module(x) * weights).sum().backward()
    grads = [_numpy(p.grad) for p in module.parameters()] + [_numpy(x.grad)]
    return log, grads


@pytest.mark.parametrize("x_requires_grad", [True, False])
@pytest.mark.parametrize("case", list(CASES))
def test_hooks_see_the_gradients_torch_gives(case, x_requires_grad):
    """With an input that needs no gradient (a network's first layer), the hooks run when the
    outputs' gradients are ready, grad_input all None, and both frameworks warn so."""
    results = []
    for lib in (minigan, torch):
        if x_requires_grad:
            results.append(_see(lib, case, x_requires_grad))
        else:
            with pytest.warns(UserWarning, match=NO_INPUT_GRAD):
                results.append(_see(lib, case, x_requires_grad))
    (m_log, m_grads), (t_log, t_grads) = results
    assert [entry[0] for entry in m_log] == ["pre", "hook"]
    _assert_same(m_log, t_log)
    _assert_same(m_grads, t_grads)


@pytest.mark.filterwarnings(f"ignore:{NO_INPUT_GRAD}")
def test_hooks_on_each_layer_of_a_sequential_record_gradient_norms():
    """The typical use: every layer's gradient norms, printed or kept, newest layer first."""
    results = []
    for lib in (minigan, torch):
        net = _same_weights(lib, _block(lib).double())
        norms = []
        for i, layer in enumerate(net):
            layer.register_full_backward_hook(
                lambda m, gi, go, i=i: norms.append((i, float(go[0].norm()),
                                                     None if gi[0] is None else float(gi[0].norm()))))
        x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3))
        net(x).sum().backward()
        results.append(norms)
    assert [n[0] for n in results[0]] == [3, 2, 1, 0]
    _assert_same(results[0], results[1])


def _two_inputs(lib, b_requires_grad):
    module = _same_weights(lib, TwoInputs.make(lib).double())
    log = []
    module.register_full_backward_hook(_recorder(log, "hook")[0])
    module.register_full_backward_pre_hook(_recorder(log, "pre")[1])
    rng = np.random.default_rng(2)
    a = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = lib.tensor(rng.standard_normal((4, 3)), requires_grad=b_requires_grad)
    (module(a, 2.0, b) ** 2).sum().backward()
    return log, [_numpy(a.grad), _numpy(b.grad)]


@pytest.mark.parametrize("b_requires_grad", [True, False])
def test_a_module_with_two_tensor_inputs_and_a_number(b_requires_grad):
    m = _two_inputs(minigan, b_requires_grad)
    t = _two_inputs(torch, b_requires_grad)
    grad_input = m[0][1][2]
    assert len(grad_input) == 3 and grad_input[1] is None  # the number gets None
    assert np.any(grad_input[2]) == b_requires_grad  # a Tensor that needs no gradient: zeros
    _assert_same(m, t)


def _tuple_output(lib, use_second):
    module = _same_weights(lib, TupleOutput.make(lib).double())
    log = []
    module.register_full_backward_hook(_recorder(log, "hook")[0])
    module.register_full_backward_pre_hook(_recorder(log, "pre")[1])
    x = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    y, z, k = module(x)
    loss = (y ** 2).sum() + ((z * z).sum() if use_second else 0.0)
    loss.backward()
    return log, _numpy(x.grad), k


@pytest.mark.parametrize("use_second", [True, False])
def test_a_module_whose_output_is_a_tuple(use_second):
    m = _tuple_output(minigan, use_second)
    t = _tuple_output(torch, use_second)
    grad_output = m[0][0][2]
    assert len(grad_output) == 3 and grad_output[2] is None
    assert (grad_output[1] is None) == (not use_second)
    _assert_same(m, t)


# ------------------------------------------------------------------------------ what returns change
def _replace(lib, which):
    net = _same_weights(lib, _block(lib).double())
    if which in ("grad_input", "both"):
        net[2].register_full_backward_hook(lambda m, gi, go: (gi[0] * -3.0,))
    if which in ("grad_output", "both"):
        net[2].register_full_backward_pre_hook(lambda m, go: (go[0] + 0.5,))
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    net(x).sum().backward()
    return [_numpy(p.grad) for p in net.parameters()] + [_numpy(x.grad)]


@pytest.mark.parametrize("which", ["grad_input", "grad_output", "both"])
def test_returned_tuples_change_the_leaf_gradients_as_in_torch(which):
    plain = _replace(minigan, None)
    changed = _replace(minigan, which)
    _assert_same(changed, _replace(torch, which))
    # grad_output changes everything inside net[2] and before; grad_input only before it
    assert not np.allclose(changed[-1], plain[-1])
    if which == "grad_input":
        _assert_same(changed[2:4], plain[2:4])


def _two_input_replaced(lib):
    module = _same_weights(lib, TwoInputs.make(lib).double())
    module.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2.0, None, None))
    a = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    b = lib.tensor(np.linspace(1, 2, 12).reshape(4, 3), requires_grad=True)
    module(a, 3.0, b).sum().backward()
    return _numpy(a.grad), _numpy(b.grad)


def test_a_none_in_the_returned_grad_input_stops_that_gradient():
    m = _two_input_replaced(minigan)
    t = _two_input_replaced(torch)
    assert m[1] is None
    _assert_same(m, t)


# ------------------------------------------------------------------------------ order and removal
def _order(lib):
    layer = lib.nn.Linear(2, 2).double()
    calls = []
    handles = [layer.register_full_backward_hook(lambda m, gi, go: calls.append("hook a")),
               layer.register_full_backward_hook(lambda m, gi, go: calls.append("hook b")),
               layer.register_full_backward_hook(lambda m, gi, go: calls.append("hook first"), prepend=True),
               layer.register_full_backward_pre_hook(lambda m, go: calls.append("pre a")),
               layer.register_full_backward_pre_hook(lambda m, go: calls.append("pre first"), prepend=True)]
    x = lib.ones(1, 2, dtype=lib.float64, requires_grad=True)
    layer(x).sum().backward()
    handles[0].remove()
    handles[3].remove()
    handles[3].remove()  # twice: nothing more happens
    layer(x).sum().backward()
    late = layer(x)
    handles[1].remove()  # after the call, before backward: it still runs, as in torch
    late.sum().backward()
    for h in handles:
        h.remove()
    layer(x).sum().backward()
    return calls


def test_prepend_order_and_handle_removal_as_in_torch():
    calls = _order(minigan)
    assert calls == _order(torch)
    assert calls[:5] == ["pre first", "pre a", "hook first", "hook a", "hook b"]


def test_a_module_without_hooks_records_no_extra_node():
    layer = minigan.nn.Linear(3, 2)
    x = minigan.ones(1, 3, requires_grad=True)
    plain = type(layer(x).creator)
    assert not layer._has_hooks
    handle = layer.register_full_backward_hook(lambda m, gi, go: None)
    assert layer._has_hooks and type(layer(x).creator).__name__ == "_Pick"
    handle.remove()
    assert not layer._has_hooks and type(layer(x).creator) is plain
    with minigan.no_grad():  # no graph, no nodes
        layer.register_full_backward_pre_hook(lambda m, go: None)
        assert layer(x).creator is None


# ------------------------------------------------------------------------------ autograd.grad, create_graph
def _grad_of_input(lib):
    net = _same_weights(lib, _block(lib).double())
    log = []
    net[0].register_full_backward_hook(_recorder(log, "hook", lambda gi: (gi[0] * 2.0,))[0])
    net[2].register_full_backward_pre_hook(_recorder(log, "pre")[1])
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    (g,) = (autograd if lib is minigan else torch.autograd).grad(net(x).sum(), x)
    return log, _numpy(g), [p.grad for p in net.parameters()]


def test_hooks_run_in_autograd_grad():
    m = _grad_of_input(minigan)
    t = _grad_of_input(torch)
    _assert_same(m[:2], t[:2])
    assert all(g is None for g in m[2])


def _penalty(lib):
    """A gradient penalty through hooked layers: d/dtheta of |d D(x) / dx|^2."""
    net = _same_weights(lib, lib.nn.Sequential(lib.nn.Linear(3, 5), lib.nn.Tanh(),
                                               lib.nn.Linear(5, 1)).double())
    log = []
    net[0].register_full_backward_hook(_recorder(log, "hook0", lambda gi: (gi[0] * 1.5,))[0])
    net[1].register_full_backward_pre_hook(_recorder(log, "pre1", lambda go: (go[0] - 0.25,))[1])
    net[2].register_full_backward_hook(_recorder(log, "hook2")[0])
    x = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    (g,) = (autograd if lib is minigan else torch.autograd).grad(net(x).sum(), x, create_graph=True)
    first = len(log)
    ((g ** 2).sum() + (g * x).sum()).backward()
    return [entry[0] for entry in log], first, log, _numpy(g), [_numpy(p.grad) for p in net.parameters()], \
        _numpy(x.grad)


def test_hooks_under_create_graph_give_torchs_second_derivatives():
    m = _penalty(minigan)
    t = _penalty(torch)
    assert m[0] == t[0] and m[1] == t[1]
    _assert_same(m, t)


def _called_twice(lib):
    layer = _same_weights(lib, lib.nn.Linear(3, 3).double())
    log = []
    layer.register_full_backward_hook(_recorder(log, "hook", lambda gi: (gi[0] * 2.0,))[0])
    x = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    y = layer(lib.tanh(layer(x)))
    (y ** 2).sum().backward(retain_graph=True)
    (y * 3.0).sum().backward()  # a second walk over the retained graph
    return log, _numpy(x.grad), _numpy(layer.weight.grad)


def test_a_module_called_twice_and_backward_twice():
    m = _called_twice(minigan)
    t = _called_twice(torch)
    assert len(m[0]) == 4
    _assert_same(m, t)


# ------------------------------------------------------------------------------ refusals
@pytest.mark.filterwarnings(f"ignore:{NO_INPUT_GRAD}")
def test_wrong_returns_are_refused_naming_the_module():
    layer = minigan.nn.Linear(2, 2)
    x = minigan.ones(1, 2, requires_grad=True)
    handle = layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Linear: backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        layer(x).sum().backward()
    handle.remove()
    handle = layer.register_full_backward_pre_hook(lambda m, go: ())
    with pytest.raises(RuntimeError, match="Linear: backward pre hook returned an invalid number "
                                           "of grad_output, got 0, but expected 1"):
        layer(x).sum().backward()
    handle.remove()
    handle = layer.register_full_backward_hook(lambda m, gi, go: (minigan.ones(3),))
    with pytest.raises(RuntimeError, match=r"Linear: a backward hook returned \(3,\) on cpu for the "
                                           r"gradient of input 0, of shape \(1, 2\) on cpu"):
        layer(x).sum().backward()
    handle.remove()
    layer.register_full_backward_hook(lambda m, gi, go: (go[0],))
    with pytest.raises(RuntimeError, match="Linear: backward hook for Modules where no input "
                                           "requires gradient should always return None"):
        layer(minigan.ones(1, 2)).sum().backward()
    with pytest.raises(TypeError, match="Linear.register_full_backward_pre_hook: the hook must be callable"):
        layer.register_full_backward_pre_hook(3)


def test_the_torch_messages_say_the_same():
    """The refusals above, in torch's words (minigan adds the module's name in front)."""
    layer = torch.nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned an invalid number of grad_input, got 2, but expected 1"):
        layer(torch.ones(1, 2, requires_grad=True)).sum().backward()


# ------------------------------------------------------------------------------ other backends
@pytest.mark.parametrize("device", NOT_NUMPY)
@pytest.mark.parametrize("case", ["Conv2d", "Sequential"])
def test_hooks_on_other_backends(case, device):
    """The same hooks on the strict stand-in (and CUDA where there is one) as on the CPU."""
    _assert_same(_see(minigan, case, True, device), _see(minigan, case, True, "cpu"))


def _unused_input(lib):
    class FirstOnly(lib.nn.Module):
        def forward(self, a, b):
            return a * 2.0
    module = FirstOnly()
    seen = []
    module.register_full_backward_hook(lambda m, gi, go: seen.append([_numpy(g) for g in gi]))
    a = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    module(a, b).sum().backward()
    return seen, _numpy(a.grad), _numpy(b.grad)


def test_an_input_that_gets_no_gradient_gets_zeros_as_in_torch():
    m = _unused_input(minigan)
    _assert_same(m, _unused_input(torch))
    assert m[2].tolist() == [0.0, 0.0, 0.0]  # torch's zeros reach b.grad too


def _loss_module(lib, anomaly):
    """A hooked loss (its output is the scalar backward starts from), in anomaly mode or not."""
    loss_fn = lib.nn.MSELoss()
    log = []
    loss_fn.register_full_backward_hook(_recorder(log, "hook")[0])
    x = lib.tensor([1.0, 2.0, 4.0], requires_grad=True)
    with lib.autograd.detect_anomaly() if anomaly else contextlib.nullcontext():
        loss_fn(x * 2.0, lib.tensor([0.0, 1.0, 0.0])).backward()
    return log, _numpy(x.grad)


@pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled")
@pytest.mark.parametrize("anomaly", [False, True])
def test_a_hooked_loss_module_and_anomaly_mode(anomaly):
    m = _loss_module(minigan, anomaly)
    _assert_same(m, _loss_module(torch, anomaly))
    assert m[0][0][2][1].tolist() == [0.0, 0.0, 0.0]  # the target, which needs no gradient
