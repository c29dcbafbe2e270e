"""Every differentiable op against PyTorch: forward values and every input's gradient.

The cases (tests/op_cases.py) draw shapes, broadcasting, dims and arguments with
hypothesis; each runs the same function on minigan and on PyTorch (float64, tight
tolerances) through :func:`minigan.testing.assert_matches_torch`, on the CPU and on the
"strict" device (array-api-strict), whose results are compared with PyTorch too.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan.testing import assert_matches_torch

from op_cases import CASES, COVERED_FUNCTIONAL, NOT_DIFFERENTIABLE, TORCH_SIZE

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "strict"]
SETTINGS = settings(max_examples=25, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@SETTINGS
@given(data=st.data())
def test_op_matches_torch(case, device, data):
    inputs = data.draw(case.inputs(TORCH_SIZE, False), label="inputs")
    outs = assert_matches_torch(case.fn, *inputs, torch_fn=case.torch_fn, dtype=case.dtype,
                                device=device)
    for o in outs:
        assert o.device == device


def test_every_functional_op_has_a_case():
    """A new op in minigan.functional must be added to the case table (or marked as having
    no gradient), so nothing escapes these tests."""
    exported = set(minigan.functional.__all__)
    assert exported - COVERED_FUNCTIONAL - NOT_DIFFERENTIABLE == set()
    assert COVERED_FUNCTIONAL <= exported


@pytest.mark.parametrize("device", DEVICES)
def test_reflected_python_scalars(device):
    """Python numbers on the left: radd, rsub, rmul, rtruediv, rpow (and NumPy scalars)."""
    x = np.array([0.5, 1.25, 2.0, 3.0])
    for fn in (lambda F, x: 3 + x, lambda F, x: 3 - x, lambda F, x: 3 * x, lambda F, x: 3 / x,
               lambda F, x: 2 ** x, lambda F, x: 2.5 ** x, lambda F, x: np.float64(2.0) - x,
               lambda F, x: np.float64(2.0) / x, lambda F, x: 1 - (2 / (1 + x)) ** 2):
        assert_matches_torch(fn, x, device=device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn", [
    lambda F, x: F.sigmoid(x), lambda F, x: F.tanh(x), lambda F, x: F.softmax(x, dim=-1),
    lambda F, x: F.log_softmax(x, dim=-1), lambda F, x: F.log_softmax(x, dim=0),
    lambda F, x: F.nn.functional.gelu(x), lambda F, x: F.nn.functional.leaky_relu(x, 0.2),
    lambda F, x: F.exp(-F.abs(x)), lambda F, x: F.erf(x),
], ids=["sigmoid", "tanh", "softmax", "log_softmax", "log_softmax0", "gelu", "leaky_relu",
        "exp_neg_abs", "erf"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_stable_at_large_inputs(fn, device, dtype):
    """|x| = 1000 must give finite values and gradients equal to PyTorch's (no overflow)."""
    x = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0], [1000.0, 999.0, -1000.0, 2.0, 1.0]])
    (out,) = assert_matches_torch(fn, x, dtype=dtype, device=device)
    assert np.isfinite(out.detach().numpy()).all()


@pytest.mark.parametrize("namespace", ["numpy", "array_api_strict"])
def test_erf_fallback_matches_scipy(namespace):
    """The array-API erf (used where SciPy/cupyx are missing, and on the strict device) is
    accurate to a few ulp over the whole range, tiny and huge arguments included."""
    special = pytest.importorskip("scipy.special")
    import importlib
    xp = importlib.import_module(namespace)
    x = np.concatenate([np.logspace(-300, 1.5, 3000), -np.logspace(-300, 1.5, 3000),
                        np.linspace(-8.0, 8.0, 16001), [0.0, 3.0, -3.0, np.nextafter(3.0, 0), 40.0]])
    got = np.asarray(np.from_dlpack(minigan.backend._erf_series(xp, xp.asarray(x))))
    np.testing.assert_allclose(got, special.erf(x), rtol=2e-15, atol=0)
    got32 = minigan.backend._erf_series(xp, xp.asarray(x.astype(np.float32)))
    assert np.from_dlpack(got32).dtype == np.float32
    np.testing.assert_allclose(np.from_dlpack(got32), special.erf(x.astype(np.float32)), rtol=1e-6, atol=1e-38)
