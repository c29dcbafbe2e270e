"""Module forward hooks, ``F.normalize``/``mv``/``dot`` and ``nn.utils.spectral_norm``, each
against PyTorch: the same calls, the same numbers (float64), the same state dict keys."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan.autograd import gradcheck
from device_params import NOT_NUMPY

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # (tests/conftest.py)


# ============================================================================== forward hooks
def _hooked_calls(fw):
    """Register the same hooks on a Linear of framework ``fw``; what they saw and returned."""
    fw.manual_seed(0)
    layer = fw.nn.Linear(3, 2).double()
    log = []
    layer.register_forward_pre_hook(lambda m, args: log.append(("pre", len(args))))
    layer.register_forward_pre_hook(lambda m, args: args[0] * 2)            # one value: wrapped
    layer.register_forward_pre_hook(lambda m, args: log.append(("first",)), prepend=True)
    layer.register_forward_hook(lambda m, args, out: log.append(("post", tuple(out.shape))))
    handle = layer.register_forward_hook(lambda m, args, out: out + 1)
    layer.register_forward_hook(lambda m, args, kwargs, out: log.append(("kw", sorted(kwargs))),
                                with_kwargs=True)
    x = fw.from_numpy(np.arange(6.0).reshape(2, 3))
    first = layer(x).detach().numpy().copy()
    handle.remove()
    handle.remove()                                   # a second remove does nothing
    second = layer(x).detach().numpy().copy()
    plain = fw.nn.functional.linear(x * 2, layer.weight, layer.bias).detach().numpy()
    return log, first, second, plain


def test_forward_hooks_run_like_pytorch():
    ours, theirs = _hooked_calls(minigan), _hooked_calls(torch)
    assert ours[0] == theirs[0] == [("first",), ("pre", 1), ("post", (2, 2)), ("kw", [])] * 2
    for log, first, second, plain in (ours, theirs):   # (each framework's own initial weights)
        np.testing.assert_allclose(first, plain + 1)       # pre-hook doubled x, hook added 1
        np.testing.assert_allclose(second, plain)          # the +1 hook was removed


def test_hooks_with_kwargs_replace_arguments_and_handles_work_as_context_managers():
    class Scale(minigan.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    x = minigan.ones(2)
    with m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True):
        assert m(x).tolist() == [3.0, 3.0]
    assert m(x).tolist() == [1.0, 1.0] and not m._has_hooks
    m.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"Scale: a forward pre-hook registered with_kwargs=True"):
        m(x)
    with pytest.raises(TypeError, match="register_forward_hook: the hook must be callable, got int"):
        m.register_forward_hook(3)


def test_a_hook_sees_every_layer_of_a_network():
    """What hooks are for: looking at activations without editing the model."""
    net = minigan.nn.Sequential(minigan.nn.Linear(4, 3), minigan.nn.ReLU(), minigan.nn.Linear(3, 1))
    scales = {}
    for name, m in net.named_children():
        m.register_forward_hook(lambda mod, args, out, name=name: scales.__setitem__(name, out.shape))
    net(minigan.ones(5, 4))
    assert scales == {"0": (5, 3), "1": (5, 3), "2": (5, 1)}


# ============================================================================== normalize, mv, dot
@pytest.mark.parametrize("p, dim", [(2, 1), (2, 0), (1, -1), (3, 1)])
def test_normalize_matches_torch_and_gradchecks(p, dim):
    a = np.random.default_rng(1).standard_normal((4, 5))
    a[2] = 0.0                                       # a zero row: divided by eps, stays zero
    x, xt = minigan.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = minigan.nn.functional.normalize(x, p=p, dim=dim)
    yt = torch.nn.functional.normalize(xt, p=p, dim=dim)
    g = np.random.default_rng(2).standard_normal((4, 5))
    y.backward(minigan.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    b = np.random.default_rng(3).standard_normal((3, 4)) + 0.5
    assert gradcheck(lambda t: minigan.nn.functional.normalize(t, p=p, dim=dim), (minigan.tensor(b, requires_grad=True),))


def test_mv_and_dot_match_torch_and_name_bad_shapes():
    rng = np.random.default_rng(4)
    W, v, u = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(4)
    np.testing.assert_allclose(minigan.mv(minigan.tensor(W), minigan.tensor(v)).numpy(),
                               torch.mv(torch.tensor(W), torch.tensor(v)).numpy(), rtol=1e-14)
    assert minigan.tensor(v).dot(minigan.tensor(u)).item() == pytest.approx(float(np.dot(v, u)), rel=1e-14)
    assert gradcheck(minigan.mv, (minigan.tensor(W, requires_grad=True), minigan.tensor(v, requires_grad=True)))
    assert gradcheck(minigan.dot, (minigan.tensor(v, requires_grad=True), minigan.tensor(u, requires_grad=True)))
    with pytest.raises(RuntimeError, match=r"mv: expected a matrix \(n, m\) and a vector \(m,\), got shapes \(3, 4\) and \(3,\)"):
        minigan.mv(minigan.tensor(W), minigan.tensor(v[:3]))
    with pytest.raises(RuntimeError, match=r"dot: expected two 1-d tensors of the same length, got shapes \(4,\) and \(3, 4\)"):
        minigan.dot(minigan.tensor(v), minigan.tensor(W))


# ============================================================================== spectral_norm
#: the layers both spectral norms are checked on, and an input shape for each
LAYERS = {"linear": (lambda nn: nn.Linear(5, 4), (3, 5)),
          "conv": (lambda nn: nn.Conv2d(2, 3, 3), (2, 2, 6, 6)),
          "conv_transpose": (lambda nn: nn.ConvTranspose2d(2, 3, 3, 2), (2, 2, 4, 4))}


def _layer_pair(kind, normalise):
    """The layer on both frameworks, ``normalise(fw)`` applied, PyTorch's initial weights and
    random u, v (buffers) copied into minigan's."""
    build, shape = LAYERS[kind]
    torch.manual_seed(0)
    theirs = normalise(torch)(build(torch.nn).double())
    ours = normalise(minigan)(build(minigan.nn).double())
    ours.load_state_dict({k: minigan.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs, shape


def _train_side_by_side(ours, theirs, shape, steps, learnt, seed):
    """``steps`` forward/backward/SGD steps on both: outputs, every buffer (u and v) and the
    gradient of the learnt weight (``learnt(layer)``) equal PyTorch's at each step."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        y, yt = ours(minigan.tensor(x)), theirs(torch.tensor(x))
        g = rng.standard_normal(tuple(yt.shape))
        y.backward(minigan.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-13)
        buffers = dict(theirs.named_buffers())
        assert len(buffers) == 2
        for name, b in ours.named_buffers():
            np.testing.assert_allclose(b.numpy(), buffers[name].numpy(), rtol=1e-10, atol=1e-13, err_msg=name)
        o, t = learnt(ours), learnt(theirs)
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12)
        with minigan.no_grad():
            o -= 0.5 * o.grad
        with torch.no_grad():
            t -= 0.5 * t.grad
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()


@pytest.mark.parametrize("kind", list(LAYERS))
def test_spectral_norm_trains_like_pytorch(kind):
    """Forward, the gradient through sigma, the power iteration's u and v, eval mode (no
    iteration) and removal: PyTorch's numbers in float64, step after step."""
    ours, theirs, shape = _layer_pair(kind, lambda fw: fw.nn.utils.spectral_norm)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in ours.named_parameters()] == ["bias", "weight_orig"]
    _train_side_by_side(ours, theirs, shape, 4, lambda layer: layer.weight_orig, seed=5)
    u_before = ours.weight_u.numpy().copy()
    x = np.random.default_rng(7).standard_normal(shape)
    np.testing.assert_allclose(ours(minigan.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_array_equal(ours.weight_u.numpy(), u_before)    # eval: no power iteration
    minigan.nn.utils.remove_spectral_norm(ours)
    torch.nn.utils.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-10)
    assert not ours._has_hooks


def test_spectral_norm_bounds_the_largest_singular_value():
    """What it is for: after some forwards (power iteration converging) the weight used has
    spectral norm 1, whatever the scale of the learnt one."""
    minigan.manual_seed(0)
    layer = minigan.nn.utils.spectral_norm(minigan.nn.Linear(30, 20).double(), n_power_iterations=3)
    with minigan.no_grad():
        layer.weight_orig *= 50.0
    x = minigan.zeros(1, 30, dtype=minigan.float64)
    for _ in range(10):
        layer(x)
    assert np.linalg.norm(layer.weight.detach().numpy(), 2) == pytest.approx(1.0, rel=1e-6)
    assert np.linalg.norm(layer.weight_orig.detach().numpy(), 2) > 40


def test_spectral_norm_state_survives_a_checkpoint(tmp_path):
    minigan.manual_seed(1)
    layer = minigan.nn.utils.spectral_norm(minigan.nn.Linear(4, 3))
    layer(minigan.ones(2, 4))
    minigan.save(layer.state_dict(), tmp_path / "sn.npz")
    minigan.manual_seed(2)
    fresh = minigan.nn.utils.spectral_norm(minigan.nn.Linear(4, 3))
    fresh.load_state_dict(minigan.load(tmp_path / "sn.npz"))
    fresh.eval()
    layer.eval()
    np.testing.assert_array_equal(fresh(minigan.ones(2, 4)).detach().numpy(),
                                  layer(minigan.ones(2, 4)).detach().numpy())


def test_spectral_norm_errors_name_the_problem():
    sn = minigan.nn.utils.spectral_norm
    layer = sn(minigan.nn.Linear(4, 3))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks on the same parameter weight"):
        sn(layer)
    with pytest.raises(ValueError, match="Linear has no parameter 'scale' .its parameters: bias, weight_orig."):
        sn(layer, name="scale")
    with pytest.raises(ValueError, match="not supported on LayerNorm"):
        sn(minigan.nn.LayerNorm(4))
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        sn(minigan.nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        minigan.nn.utils.remove_spectral_norm(minigan.nn.Linear(2, 2))



@pytest.mark.parametrize("device", NOT_NUMPY)
def test_spectral_norm_and_hooks_on_other_backends(device):
    """The same layer on the strict stand-in (and CUDA where there is one) as on the CPU:
    forward, power iteration and gradient, so the CuPy path needs no NumPy-only idiom."""
    results = []
    for dev in ("cpu", device):
        minigan.manual_seed(3)
        layer = minigan.nn.utils.spectral_norm(minigan.nn.Conv2d(2, 3, 3).double()).to(dev)
        seen = []
        layer.register_forward_hook(lambda m, args, out: seen.append(tuple(out.shape)))
        x = minigan.tensor(np.linspace(-1, 1, 2 * 2 * 5 * 5).reshape(2, 2, 5, 5), device=dev)
        for _ in range(2):
            layer(x).sum().backward()
        assert seen == [(2, 3, 3, 3)] * 2
        results.append([t.to("cpu").numpy() for t in (layer.weight_u, layer.weight_v, layer.weight_orig.grad)])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


# ============================================================================== parametrizations
@pytest.mark.parametrize("kind", list(LAYERS))
def test_parametrizations_spectral_norm_trains_like_pytorch(kind):
    """PyTorch's newer spectral_norm (a parametrization: ``layer.weight`` computed on every
    read): class, state dict, forward, gradient of ``original``, u and v step by step, eval,
    removal."""
    ours, theirs, shape = _layer_pair(kind, lambda fw: fw.nn.utils.parametrizations.spectral_norm)
    plain = type(LAYERS[kind][0](minigan.nn)).__name__
    assert type(ours).__name__ == type(theirs).__name__ == "Parametrized" + plain
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
        "parametrizations.weight.0._v"]
    _train_side_by_side(ours, theirs, shape, 3, lambda layer: layer.parametrizations.weight.original, seed=6)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-10)
    minigan.nn.utils.parametrize.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours).__name__ == type(theirs).__name__ == plain
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-10)


def test_the_15_first_power_iterations_find_the_largest_singular_value():
    minigan.manual_seed(4)
    layer = minigan.nn.utils.parametrizations.spectral_norm(minigan.nn.Linear(12, 8).double())
    layer.eval()                                     # no further iteration: registration's 15 only
    W = layer.parametrizations.weight.original.detach().numpy()
    # without the 15 steps, u . W v of random unit vectors is a fraction of the largest
    # singular value, and the weight read would have a norm of several
    np.testing.assert_allclose(np.linalg.norm(layer.weight.detach().numpy(), 2), 1.0, rtol=1e-4)
    assert np.linalg.norm(W, 2) > 0.5


class _Double(minigan.nn.Module):
    """A parametrization of one's own: X -> 2 X, with its right inverse."""

    def forward(self, X):
        return X * 2

    def right_inverse(self, X):
        return X / 2


def test_a_parametrization_of_ones_own_like_pytorch():
    """register_parametrization with any module: the property, assignment through
    right_inverse, chaining, the gradient, is_parametrized, and removal either way."""
    P = minigan.nn.utils.parametrize

    class TDouble(torch.nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, X):
            return X / 2

    w0 = np.arange(6.0).reshape(2, 3)
    results = []
    for fw, Double, tp in ((minigan, _Double, P), (torch, TDouble, torch.nn.utils.parametrize)):
        layer = fw.nn.Linear(3, 2).double()
        with fw.no_grad():
            layer.weight.copy_(fw.tensor(w0))
        assert not tp.is_parametrized(layer)
        tp.register_parametrization(layer, "weight", Double())
        tp.register_parametrization(layer, "weight", Double())      # chained: 4 X
        assert tp.is_parametrized(layer) and tp.is_parametrized(layer, "weight")
        assert not tp.is_parametrized(layer, "bias")
        original = layer.parametrizations.weight.original.detach().numpy().copy()
        read = layer.weight.detach().numpy().copy()
        layer(fw.ones(1, 3, dtype=fw.float64)).sum().backward()
        grad = layer.parametrizations.weight.original.grad.numpy().copy()
        with pytest.raises(KeyError, match="attribute 'weight' already exists"):
            layer.weight = fw.nn.Parameter(fw.tensor(np.full((2, 3), 8.0)))  # would shadow it
        layer.weight = fw.tensor(np.full((2, 3), 8.0))            # stored through the inverses
        stored = layer.parametrizations.weight.original.detach().numpy().copy()
        tp.remove_parametrizations(layer, "weight", leave_parametrized=False)
        results.append((original, read, grad, stored, layer.weight.detach().numpy().copy(),
                        type(layer).__name__, list(layer.state_dict())))
    ours, theirs = results
    np.testing.assert_array_equal(ours[0], w0 / 2)                  # right_inverse at the first registration
    np.testing.assert_array_equal(ours[1], 2 * w0)                  # the second appended: read as 4 X
    np.testing.assert_array_equal(ours[2], np.full((2, 3), 4.0))    # d(sum of 4 W x)/dW at x = 1
    np.testing.assert_array_equal(ours[3], np.full((2, 3), 2.0))    # 8 assigned -> 8 / 4 stored
    np.testing.assert_array_equal(ours[4], np.full((2, 3), 2.0))    # removed, not left parametrised
    for a, b in zip(ours, theirs):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b


def test_parametrize_errors_name_the_problem():
    P = minigan.nn.utils.parametrize
    with pytest.raises(ValueError, match="Module 'Linear' does not have a parameter, a buffer, or a "
                                         "parametrized element with name 'scale'"):
        P.register_parametrization(minigan.nn.Linear(2, 2), "scale", _Double())
    with pytest.raises(TypeError, match="the parametrization must be a Module, got function"):
        P.register_parametrization(minigan.nn.Linear(2, 2), "weight", lambda X: X)
    with pytest.raises(ValueError, match="Module Linear does not have a parametrization on weight"):
        P.remove_parametrizations(minigan.nn.Linear(2, 2), "weight")
    with pytest.raises(ValueError, match="Module 'ReLU' has no parameter or buffer with name 'weight'"):
        minigan.nn.utils.parametrizations.spectral_norm(minigan.nn.ReLU())


@pytest.mark.parametrize("device", NOT_NUMPY)
def test_parametrized_layers_in_a_sequential_checkpoint_and_other_backends(device, tmp_path):
    """A Sequential of parametrized layers (its batch-1 shortcut calls each layer's forward,
    which reads the property), saved and loaded, and the same numbers on the strict stand-in."""
    sn = minigan.nn.utils.parametrizations.spectral_norm

    def build():
        minigan.manual_seed(5)
        return minigan.nn.Sequential(sn(minigan.nn.Linear(4, 3).double()), minigan.nn.ReLU(),
                                     sn(minigan.nn.Linear(3, 1).double()))
    net = build()
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    net(minigan.tensor(x)).sum().backward()
    minigan.save(net.state_dict(), tmp_path / "net.npz")
    outputs = []
    for dev in ("cpu", device):
        fresh = build().to(dev)
        fresh.load_state_dict(minigan.load(tmp_path / "net.npz"))
        fresh.eval()
        outputs.append(fresh(minigan.tensor(x, device=dev)).to("cpu").detach().numpy())
    net.eval()
    np.testing.assert_array_equal(outputs[0], net(minigan.tensor(x)).detach().numpy())
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-12)
