"""``minigan.gradcheck`` / ``gradgradcheck`` as a tool: it passes correct functions, catches
wrong ones (full and fast mode), and says where and by how much it failed."""
from __future__ import annotations

import re

import numpy as np
import pytest

import minigan
from minigan.autograd import Function
from minigan.gradcheck import GradcheckError


def leaf(a):
    return minigan.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


class WrongSquare(Function):
    """x^2 with a backward that is wrong in one element: the gradient of element 2 is doubled."""

    def forward(self, x):
        return x * x

    def backward(self, F, gy):
        x = self.input(F, 0)
        g = gy * 2.0 * x
        if F.is_array_mode:
            g = g.copy()
            g[2] *= 2.0
        return g


class WrongScale(Function):
    """3x with a backward of 2 (wrong everywhere, also for second order)."""

    def forward(self, x):
        return x * 3.0

    def backward(self, F, gy):
        return gy * 2.0


class WrongSecondOrder(Function):
    """x^3 whose first derivative is right but not differentiable correctly: it hides x from
    the graph (uses x's value as a constant), so the second derivative comes out as 0."""

    def forward(self, x):
        return x * x * x

    def backward(self, F, gy):
        x = self.input(F, 0)
        constant = x if F.is_array_mode else x.detach()
        return gy * 3.0 * constant * constant


X = [0.5, -1.25, 2.0, 0.75]


def test_passes_correct_functions():
    x, w = leaf(np.arange(6.0).reshape(2, 3) / 7), leaf(np.ones((3, 2)) * 0.3)
    assert minigan.gradcheck(lambda x, w: (x @ w).tanh(), (x, w))
    assert minigan.gradcheck(lambda x: x.exp().sum(dim=0), x)  # a single tensor, not a tuple
    assert minigan.gradcheck(lambda x, w: (x @ w, x.sigmoid()), (x, w))  # two outputs
    assert minigan.gradgradcheck(lambda x, w: (x @ w).tanh(), (x, w))
    assert minigan.gradcheck(lambda x, w: (x @ w).tanh(), (x, w), fast_mode=True)


def test_non_grad_and_non_tensor_inputs_are_passed_through():
    x = leaf(X)
    c = minigan.tensor(np.array([1.0, 2.0, 3.0, 4.0]))  # no grad: not checked
    assert minigan.gradcheck(lambda x, c, k: (x * c) ** k, (x, c, 2))


def test_wrong_backward_raises_naming_input_index_and_values():
    x = leaf(X)
    with pytest.raises(GradcheckError) as info:
        minigan.gradcheck(lambda t: WrongSquare()(t), (x,))
    message = str(info.value)
    assert "input 0" in message
    assert "[2]" in message  # the wrong element, d output[2] / d input[2]
    numbers = dict(re.findall(r"(numerical|analytical) (-?\d[\d.e+-]*)", message))
    assert float(numbers["numerical"]) == pytest.approx(4.0, rel=1e-6)  # 2 * x[2]
    assert float(numbers["analytical"]) == pytest.approx(8.0)
    assert "tolerance" in message


def test_names_the_right_input_among_several():
    a, b = leaf([1.0, 2.0]), leaf([0.5, 0.25, 1.5, 1.0])
    with pytest.raises(GradcheckError, match="input 1"):
        minigan.gradcheck(lambda a, b: a.sum() * WrongScale()(b), (a, b))


def test_raise_exception_false_returns_false():
    x = leaf(X)
    assert minigan.gradcheck(lambda t: WrongSquare()(t), (x,), raise_exception=False) is False
    assert minigan.gradcheck(lambda t: t * t, (x,), raise_exception=False) is True


def test_fast_mode_catches_wrong_functions():
    x = leaf(X)
    with pytest.raises(GradcheckError, match="fast mode.*input 0"):
        minigan.gradcheck(lambda t: WrongScale()(t), (x,), fast_mode=True)
    for seed in range(3):
        assert not minigan.gradcheck(lambda t: WrongSquare()(t), (x,), fast_mode=True,
                                     raise_exception=False, seed=seed)


def test_fast_mode_on_a_large_input():
    rng = np.random.default_rng(0)
    x = leaf(rng.standard_normal((40, 50)))
    w = leaf(rng.standard_normal((50, 30)))
    assert minigan.gradcheck(lambda x, w: minigan.softmax(x @ w, dim=1), (x, w), fast_mode=True)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    x = leaf(X)
    assert minigan.gradcheck(lambda t: WrongSecondOrder()(t), (x,))  # first order is right
    with pytest.raises(GradcheckError):
        minigan.gradgradcheck(lambda t: WrongSecondOrder()(t), (x,))
    assert minigan.gradgradcheck(lambda t: WrongSecondOrder()(t), (x,), raise_exception=False) is False


def test_refuses_float32_inputs():
    x = minigan.tensor([1.0, 2.0], dtype=minigan.float32, requires_grad=True)
    with pytest.raises(TypeError, match="float32.*float64"):
        minigan.gradcheck(lambda t: t * t, (x,))


def test_refuses_when_nothing_requires_grad():
    with pytest.raises(ValueError, match="requires grad"):
        minigan.gradcheck(lambda t: t * t, (minigan.tensor([1.0], dtype=minigan.float64),))


@pytest.mark.parametrize("fast_mode", [False, True])
def test_does_not_modify_the_callers_inputs(fast_mode):
    x = leaf(X)
    array, before = x.data, x.detach().numpy().copy()
    minigan.gradcheck(lambda t: t.exp(), (x,), fast_mode=fast_mode)
    assert x.data is array
    np.testing.assert_array_equal(x.detach().numpy(), before)  # exactly: no rounding residue
    assert x.grad is None


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_works_on_the_strict_device(device):
    x = minigan.tensor(np.array(X), device=device, requires_grad=True)
    assert minigan.gradcheck(lambda t: (t * t).sum(), (x,))
    assert not minigan.gradcheck(lambda t: WrongScale()(t), (x,), raise_exception=False)


def test_checks_a_custom_function_with_two_outputs():
    class SplitHalves(Function):
        def forward(self, x):
            return x[:2] * 2.0

        def backward(self, F, gy):
            return F.pad(gy * 2.0, (0, 2))

    x = leaf(X)
    assert minigan.gradcheck(lambda t: SplitHalves()(t), (x,))


# ============================================================================== minigan.testing
from minigan import testing  # noqa: E402


def test_assert_matches_torch_passes_and_returns_minigan_outputs():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    outs = testing.assert_matches_torch(lambda F, x, w: (F.sigmoid(x @ w).sum(dim=1), x.mean()), x, w)
    assert len(outs) == 2 and isinstance(outs[0], minigan.Tensor) and outs[0].shape == (4,)
    outs = testing.assert_matches_torch(lambda F, x, w: F.tanh(x @ w), x, w, dtype="float32")
    assert outs[0].dtype == minigan.float32
    # integer inputs become constant tensors, other arguments pass through
    testing.assert_matches_torch(lambda F, x, i, k: x[i] * k, x, np.array([0, 2, 2]), 3.0)


def test_assert_matches_torch_catches_a_wrong_forward():
    pytest.importorskip("torch")
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(AssertionError) as info:
        testing.assert_matches_torch(lambda F, x: x * 2, x, torch_fn=lambda F, x: x * 2 + (x > 3.5) * 1e-6)
    message = str(info.value)
    assert "output 0" in message and "(2, 2)" in message and "[1, 1]" in message
    assert "max abs diff 1e-06" in message


def test_assert_matches_torch_catches_a_wrong_gradient():
    pytest.importorskip("torch")
    x = np.array([0.5, 1.5, -2.0])
    with pytest.raises(AssertionError, match="gradient of input 0 .*shape \\(3,\\)"):
        testing.assert_matches_torch(lambda F, x: WrongScale()(x) if F is minigan else x * 3.0, x)
    with pytest.raises(AssertionError, match="gradient of input 1"):
        testing.assert_matches_torch(lambda F, a, b: a * (WrongScale()(b) if F is minigan else b * 3.0),
                                     x, x + 1)


def test_assert_matches_torch_catches_shape_dtype_and_count_differences():
    pytest.importorskip("torch")
    x = np.ones((2, 3))
    with pytest.raises(AssertionError, match="shape differs.*\\(3, 2\\).*\\(2, 3\\)"):
        testing.assert_matches_torch(lambda F, x: x.T if F is minigan else x, x)
    with pytest.raises(AssertionError, match="dtype differs: minigan float32, torch float64"):
        testing.assert_matches_torch(lambda F, x: x.float() if F is minigan else x, x)
    with pytest.raises(AssertionError, match="number of outputs"):
        testing.assert_matches_torch(lambda F, x: (x, x) if F is minigan else x, x)
    with pytest.raises(AssertionError, match="requires_grad differs"):
        testing.assert_matches_torch(lambda F, x: x.detach() if F is minigan else x * 1, x)


def test_assert_matches_torch_tolerances():
    pytest.importorskip("torch")
    x = np.array([1.0, 2.0])
    bump = lambda rel: (lambda F, x: x * (1 + rel))  # noqa: E731
    testing.assert_matches_torch(lambda F, x: x * 1.0, x, torch_fn=bump(5e-8))  # within rtol 1e-7
    with pytest.raises(AssertionError):
        testing.assert_matches_torch(lambda F, x: x * 1.0, x, torch_fn=bump(5e-7))
    testing.assert_matches_torch(lambda F, x: x * 1.0, x, torch_fn=bump(5e-7), rtol=1e-6)
    testing.assert_matches_torch(lambda F, x: x * 1.0, x, torch_fn=bump(5e-5), dtype="float32")
    with pytest.raises(AssertionError):
        testing.assert_matches_torch(lambda F, x: x * 1.0, x, torch_fn=bump(5e-4), dtype="float32")
    assert testing.default_tolerances("float64") == (1e-7, 1e-10)
    assert testing.default_tolerances(minigan.float32) == (1e-4, 1e-5)


def test_compare_and_convert():
    torch = pytest.importorskip("torch")
    m = minigan.tensor([[1.0, 2.0]], dtype=minigan.float64, device="strict", requires_grad=True)
    t = testing.to_torch(m)
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64 and t.requires_grad
    testing.compare_tensors(m, t)
    back = testing.from_torch(t * 2, device="strict")
    assert back.device == "strict" and back.tolist() == [[2.0, 4.0]] and back.requires_grad
    with pytest.raises(AssertionError, match="values differ"):
        testing.compare_tensors(back, t)
    testing.compare_tensors(minigan.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(AssertionError, match="values differ"):
        testing.compare_tensors(minigan.tensor([1, 2]), torch.tensor([1, 3]))
    testing.compare_tensors(minigan.tensor([np.inf, np.nan]), torch.tensor([np.inf, np.nan]))


def test_missing_torch_is_a_clear_import_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(testing.TorchUnavailableError, match="pip install torch"):
        testing.assert_matches_torch(lambda F, x: x, np.ones(2))
    assert issubclass(testing.TorchUnavailableError, ImportError)
