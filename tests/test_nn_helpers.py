"""Shared helpers of the layer tests (test_nn_*.py): run one module or function on minigan and
PyTorch with the same numbers and compare the output and every gradient.

The helpers are tested at the bottom: a comparison that cannot fail proves nothing.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minigan
from minigan import backend as B

from device_params import DEVICES  # noqa: F401  (re-exported to the test_nn_* modules)

DTYPES = ["float64", "float32"]

# float64: both sides compute the same formulas, only the summation order differs
# float32: one rounding per op on either side, a few ulps apart after a reduction
TOLERANCES = {"float64": dict(rtol=1e-7, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-6)}


def host(x):
    """A minigan tensor (or raw array) of any device as a NumPy array; torch tensors too."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, minigan.Tensor):
        return np.asarray(x.backend.xp.to_numpy(x.data))
    return np.asarray(x)


def mg(a, dtype=None, device="cpu", requires_grad=False):
    """A minigan tensor holding the NumPy array ``a`` (cast to ``dtype`` if given)."""
    a = np.asarray(a)
    t = minigan.tensor(a if dtype is None else a.astype(dtype), device=device)
    return t.requires_grad_(True) if requires_grad else t


def th(a, dtype=None, requires_grad=False):
    a = np.asarray(a)
    return torch.tensor(a if dtype is None else a.astype(dtype), requires_grad=requires_grad)


def assert_close(actual, expected, dtype, what="value", scale=1.0, of_largest=False):
    """Compare at the tolerance of ``dtype``; ``scale`` loosens it for long reductions.
    ``of_largest``: the absolute tolerance is taken of the tensor's largest entry, for results
    whose rounding is spread evenly over the tensor (Winograd's transforms) rather than
    proportional to each entry."""
    tol = TOLERANCES[dtype]
    if isinstance(actual, minigan.Tensor) and isinstance(expected, torch.Tensor):
        assert "torch." + actual.dtype.name == str(expected.dtype), \
            f"{what}: dtype {actual.dtype.name} vs PyTorch's {expected.dtype}"
    a, e = host(actual), host(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs PyTorch's {e.shape}"
    atol = tol["atol"] * scale
    if of_largest and e.size:
        atol *= max(1.0, float(np.abs(e).max()))
    np.testing.assert_allclose(a, e, rtol=tol["rtol"] * scale, atol=atol,
                               err_msg=f"{what} differs from PyTorch ({dtype})")


def copy_parameters(torch_module, mg_module):
    """Give the minigan module PyTorch's parameter and buffer values, checking that both have
    the same names and shapes (state_dict keys are part of the PyTorch surface)."""
    t_state = torch_module.state_dict()
    m_state = mg_module.state_dict()
    assert list(t_state) == list(m_state), f"state_dict keys {list(m_state)} vs PyTorch's {list(t_state)}"
    targets = dict(mg_module.named_parameters())
    for prefix, m in mg_module.named_modules():
        for name, b in m._buffers.items():
            if b is not None:
                targets[prefix + ("." if prefix else "") + name] = b
    for name, value in t_state.items():
        target = targets[name]
        assert target.shape == tuple(value.shape), f"{name}: shape {target.shape} vs {tuple(value.shape)}"
        new = minigan.tensor(value.detach().numpy(), device=target.device)
        target.data = new.data if new.dtype == target.dtype or not target.is_floating_point() \
            else new.to(target.dtype).data


def compare_module(torch_module, mg_module, inputs, dtype, scale=1.0, seed=0, input_grads=True,
                   of_largest=False):
    """Forward ``inputs`` (NumPy arrays) through both modules, backpropagate the same random
    upstream gradient and compare the output, each input's gradient and each parameter's
    gradient (by name). Returns the two outputs."""
    held = [*mg_module.parameters(), *mg_module.buffers()]   # (a module may hold only buffers)
    device = held[0].device if held else minigan.device("cpu")
    return compare_function(torch_module, mg_module, inputs, dtype, scale, seed, device=str(device),
                            modules=(torch_module, mg_module), input_grads=input_grads,
                            of_largest=of_largest)


def compare_function(torch_fn, mg_fn, inputs, dtype, scale=1.0, seed=0, device="cpu", modules=None,
                     input_grads=True, upstream=True, of_largest=False):
    """Like compare_module for two callables taking the same inputs (NumPy arrays); integer
    arrays are passed as they are and get no gradient."""
    np_dtype = np.dtype(dtype)
    t_in, m_in = [], []
    for a in inputs:
        a = np.asarray(a)
        is_float = a.dtype.kind == "f"
        want = input_grads and is_float
        t_in.append(th(a, np_dtype if is_float else None, requires_grad=want))
        m_in.append(mg(a, np_dtype if is_float else None, device=device, requires_grad=want))
    t_out, m_out = torch_fn(*t_in), mg_fn(*m_in)
    assert_close(m_out, t_out, dtype, "output", scale, of_largest)
    if not t_out.requires_grad:
        return t_out, m_out
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(tuple(t_out.shape)) if upstream else np.ones(tuple(t_out.shape))
    t_out.backward(th(g, np_dtype))
    m_out.backward(mg(g, np_dtype, device=device))
    for i, (t, m) in enumerate(zip(t_in, m_in)):
        if t.requires_grad:
            assert m.grad is not None, f"input {i} got no gradient"
            assert_close(m.grad, t.grad, dtype, f"gradient of input {i}", scale, of_largest)
    if modules is not None:
        t_params = dict(modules[0].named_parameters())
        for name, p in modules[1].named_parameters():
            assert p.grad is not None, f"parameter {name} got no gradient"
            assert_close(p.grad, t_params[name].grad, dtype, f"gradient of {name}", scale, of_largest)
    return t_out, m_out


def float64_inputs(*arrays, device="cpu"):
    """float64 minigan tensors that require grad, for gradcheck."""
    return tuple(mg(a, np.float64, device=device, requires_grad=True) for a in arrays)


# ============================================================================== the helpers' own tests
def test_compare_function_catches_a_wrong_gradient():
    class Wrong(minigan.autograd.Function):  # right forward, gradient off by 1 %
        def forward(self, x):
            return x * 2.0

        def backward(self, F, gy):
            return gy * 2.02

    x = np.linspace(-1, 1, 6)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        compare_function(lambda t: t * 2.0, lambda t: Wrong()(t), [x], "float64")


def test_compare_function_catches_a_wrong_output():
    x = np.linspace(-1, 1, 6)
    with pytest.raises(AssertionError, match="output"):
        compare_function(lambda t: t * 2.0, lambda t: t * 2.0001, [x], "float32")


def test_tolerance_of_the_largest_entry_still_catches_an_error():
    """``of_largest`` widens the absolute tolerance to the tensor's scale, no further: an
    error of 1e-3 of the largest entry (in one small entry) still fails at float32."""
    e = np.linspace(-3, 3, 7)
    a = e.copy()
    a[3] += 3e-3  # the entry at 0
    assert_close(mg(e + 2e-5, "float32"), th(e, "float32"), "float32", of_largest=True, scale=5.0)
    with pytest.raises(AssertionError, match="differs"):
        assert_close(mg(a, "float32"), th(e, "float32"), "float32", of_largest=True, scale=5.0)


def test_assert_close_checks_the_dtype():
    with pytest.raises(AssertionError, match="dtype float64"):
        assert_close(mg(np.ones(2)), torch.ones(2, dtype=torch.float32), "float32")


def test_copy_parameters_checks_names():
    t_mod = torch.nn.Sequential(torch.nn.Linear(3, 2))
    m_mod = minigan.nn.Sequential(minigan.nn.Linear(3, 2))
    copy_parameters(t_mod, m_mod)
    np.testing.assert_array_equal(host(m_mod[0].weight), t_mod[0].weight.detach().numpy())
    other = minigan.nn.Sequential(minigan.nn.Identity(), minigan.nn.Linear(3, 2))
    with pytest.raises(AssertionError, match="state_dict keys"):
        copy_parameters(t_mod, other)


def test_strict_device_is_really_strict():
    """The strict device must reject NumPy-only idioms, or the strict runs prove nothing."""
    t = mg(np.ones(3), device="strict")
    with pytest.raises((TypeError, AttributeError)):
        t.data.sum()  # an ndarray method
    assert B.get_backend("strict").xp.name == "array_api_strict"
