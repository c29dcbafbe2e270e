"""The pointwise maths beyond the book (functional/pointwise.py) where the case table does not
reach: infinities and NaN, integer inputs, zero gradients that still reach the leaves, and
the gradient checker at PyTorch's address. Values and gradients of every function on random
shapes are in op_cases.py (PyTorch, gradcheck, gradgradcheck, dtypes, CUDA)."""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from device_params import DEVICES
from minigan.testing import assert_matches_torch

torch = pytest.importorskip("torch")

SPECIAL = np.array([-np.inf, -3.0, -1.0, -0.0, 0.0, 1e-300, 0.5, 2.0, np.inf, np.nan])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_finiteness_tests_match_torch_and_record_nothing(name, device):
    x = minigan.tensor(SPECIAL, device=device, requires_grad=True)
    got = getattr(minigan, name)(x)
    want = getattr(torch, name)(torch.tensor(SPECIAL))
    assert got.dtype == minigan.bool and not got.requires_grad
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    np.testing.assert_array_equal(getattr(x, name)().cpu().numpy(), want.numpy())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["log1p", "expm1", "log2", "log10", "reciprocal", "rsqrt",
                                  "sin", "cos", "tan", "floor", "ceil", "round", "trunc"])
def test_special_values_match_torch(name, device):
    """inf, -inf, NaN, signed zeros and a tiny number: the same answers as PyTorch, with
    NumPy's warnings for invalid values silenced as PyTorch raises none."""
    with np.errstate(all="ignore"):
        assert_matches_torch(lambda F, x: getattr(F, name)(x), SPECIAL, device=device,
                             grad=False)


def test_tiny_arguments_keep_their_digits():
    """log1p and expm1 exist for these: log(1 + x) and exp(x) - 1 lose every digit."""
    x = minigan.tensor([1e-12, -1e-15], dtype=minigan.float64)
    np.testing.assert_allclose(minigan.log1p(x).numpy(), [1e-12 - 5e-25, -1e-15], rtol=1e-15)
    np.testing.assert_allclose(minigan.expm1(x).numpy(), [1e-12 + 5e-25, -1e-15], rtol=1e-15)
    assert minigan.log(1 + x).numpy()[1] != -1e-15  # what the plain formula gives instead


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc"])
def test_rounding_has_zero_gradient_that_reaches_the_leaf(name):
    """PyTorch defines the gradient as 0 everywhere: the leaf gets zeros, not None."""
    x = minigan.tensor([-1.5, -0.2, 0.7, 2.5], dtype=minigan.float64, requires_grad=True)
    (getattr(minigan, name)(x) * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(4))
    tx = torch.tensor([-1.5, -0.2, 0.7, 2.5], dtype=torch.float64, requires_grad=True)
    (getattr(torch, name)(tx) * 3.0).sum().backward()
    np.testing.assert_array_equal(tx.grad.numpy(), np.zeros(4))


def test_rounding_integers_returns_them_and_round_halves_to_even():
    ints = minigan.tensor([-3, 0, 7])
    for name in ("floor", "ceil", "round", "trunc"):
        out = getattr(minigan, name)(ints)
        assert out.dtype == minigan.int64 and out.tolist() == [-3, 0, 7]
    halves = [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    assert minigan.tensor(halves).round().tolist() == torch.tensor(halves).round().tolist() \
        == [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="round: decimals=1 needs a floating tensor, got int64"):
        minigan.round(ints, decimals=1)


def test_integer_inputs_of_float_functions_become_the_default_float():
    x = minigan.tensor([1, 2, 4])
    for name in ("sin", "log1p", "log2", "reciprocal", "rsqrt"):
        out = getattr(minigan, name)(x)
        want = getattr(torch, name)(torch.tensor([1, 2, 4]))
        assert out.dtype == minigan.float32 and str(want.dtype) == "torch.float32"
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_logsumexp_with_infinite_slices_matches_torch(device):
    """A slice of all -inf gives -inf (no NaN from -inf - -inf), one with +inf gives inf, and
    huge values do not overflow."""
    rows = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0], [1000.0, 1000.0, -5.0],
                     [0.5, -0.25, 2.0]])
    assert_matches_torch(lambda F, x: F.logsumexp(x, 1), rows, device=device, grad=False)
    assert_matches_torch(lambda F, x: F.logsumexp(x, dim=(0, 1), keepdim=True), rows[2:],
                         device=device)
    assert_matches_torch(lambda F, x: x.logsumexp(-1), rows[2:], device=device)


def test_gradient_checker_at_pytorchs_address():
    """Test suites written for PyTorch import ``torch.autograd.gradcheck``."""
    from minigan.autograd import GradcheckError, gradcheck, gradgradcheck
    assert gradcheck is minigan.gradcheck and gradgradcheck is minigan.gradgradcheck
    x = minigan.randn(3, dtype=minigan.float64, requires_grad=True)
    assert gradcheck(lambda t: minigan.logsumexp(minigan.sin(t) * t, 0), (x,))
    assert gradgradcheck(lambda t: minigan.rsqrt(t * t + 1.0), (x,))

    class WrongCos(minigan.autograd.Function):
        def forward(self, a):
            return np.cos(a)

        def backward(self, F, gy):
            return gy * F.sin(self.input(F, 0))  # the sign is missing

    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(lambda t: WrongCos()(t), (x,))
