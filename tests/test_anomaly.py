"""Anomaly mode (issue 9): ``minigan.autograd.detect_anomaly()`` stops at the first NaN or Inf
of a forward or a backward and names the op, its inputs' shapes and dtypes, and the line of
this file where the op was created. Off, nothing is checked and nothing is raised."""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import minigan
from minigan import autograd
from minigan.autograd import (AnomalyError, Function, detect_anomaly, is_anomaly_enabled,
                              set_detect_anomaly)

HERE = os.path.basename(__file__)


def here() -> int:
    """The caller's current line (``line = here() + 1`` names the line below it)."""
    return inspect.currentframe().f_back.f_lineno


@pytest.fixture(autouse=True)
def anomaly_off():
    """Every test starts and ends with anomaly mode off (and fails if a test leaks it)."""
    assert not is_anomaly_enabled()
    yield
    leaked = is_anomaly_enabled()
    set_detect_anomaly(False)
    assert not leaked, "anomaly mode was left on"


def raised(fn) -> str:
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


# ============================================================================== forward
def test_forward_nan_names_op_shapes_dtype_and_line():
    x = minigan.tensor([-1.0, 2.0, 3.0], requires_grad=True)

    def go():
        with detect_anomaly():
            go.line = here() + 1
            x.log()
    message = raised(go)
    assert message.startswith("Function 'Log' returned nan values in its 0th output (forward)")
    assert "(3,) float32" in message
    assert f"{HERE}:{go.line}" in message
    assert "x.log()" in message  # the source line itself


def test_forward_zero_over_zero_float64_2d():
    a = minigan.zeros(2, 3, dtype=minigan.float64)
    b = minigan.zeros(2, 3, dtype=minigan.float64)

    def go():
        with detect_anomaly():
            go.line = here() + 1
            a / b
    message = raised(go)
    assert "Function 'Div' returned nan values" in message
    assert message.count("(2, 3) float64") == 2  # both inputs
    assert f"{HERE}:{go.line}" in message


def test_forward_inf_is_caught_too():
    x = minigan.tensor([1000.0])
    with pytest.raises(AnomalyError) as info:  # a RuntimeError, as PyTorch's
        with detect_anomaly():
            x.exp()
    assert "Function 'Exp' returned inf values" in str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert (info.value.op, info.value.phase) == ("Exp", "forward") and HERE in info.value.site


def test_forward_without_grad_is_checked():
    x = minigan.tensor([-1.0])

    def go():
        with detect_anomaly(), minigan.no_grad():
            x.sqrt()
    assert "Function 'Sqrt' returned nan" in raised(go)


# ============================================================================== backward
def test_backward_inf_sqrt_at_zero():
    x = minigan.tensor([0.0, 4.0], requires_grad=True)

    def go():
        with detect_anomaly():
            go.line = here() + 1
            y = x.sqrt()
            y.sum().backward()
    message = raised(go)
    assert message.startswith("Function 'SqrtBackward' returned inf values in its 0th output")
    assert "of 'Sqrt'" in message and "(2,) float32" in message
    assert f"{HERE}:{go.line}" in message
    assert x.grad is None  # stopped before the leaf received anything


def test_backward_nan_zero_over_zero():
    # forward is finite (sqrt(0) * 0 = 0); Sqrt's backward is 0 / (2 sqrt(0)) = nan
    x = minigan.tensor([[0.0, 1.0]], dtype=minigan.float64, requires_grad=True)

    def go():
        with detect_anomaly():
            go.line = here() + 1
            y = x.sqrt()
            (y * 0.0).sum().backward()
    message = raised(go)
    assert "Function 'SqrtBackward' returned nan values" in message
    assert "(1, 2) float64" in message and f"{HERE}:{go.line}" in message


def test_backward_nan_through_retained_graph_and_autograd_grad():
    x = minigan.tensor([0.0], requires_grad=True)

    def go():
        with detect_anomaly():
            y = x.pow(0.5) * 0.0
            autograd.grad(y.sum(), [x])
    assert "Function 'PowScalarBackward' returned nan" in raised(go)


def test_backward_create_graph_is_checked():
    x = minigan.tensor([0.0, 1.0], requires_grad=True)

    def go():
        with detect_anomaly():
            y = x.sqrt().sum()
            autograd.grad(y, [x], create_graph=True)
    message = raised(go)
    assert "returned inf values" in message


def test_backward_of_ops_made_before_the_mode_says_so():
    x = minigan.tensor([0.0], requires_grad=True)
    y = x.sqrt().sum()  # recorded while anomaly mode is off

    def go():
        with detect_anomaly():
            y.backward()
    message = raised(go)
    assert "SqrtBackward" in message and "anomaly mode was off" in message


class _Broken(Function):
    def forward(self, x):
        return x * 2

    def backward(self, F, gy):
        raise ValueError("this backward is broken")


def test_error_inside_a_backward_gets_a_note_with_the_creation_site():
    x = minigan.ones(3, requires_grad=True)
    with pytest.raises(ValueError, match="this backward is broken") as info:
        with detect_anomaly():
            y, line = _Broken()(x), here()
            y.sum().backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    if hasattr(info.value, "add_note"):
        assert "backward of Function '_Broken'" in notes and f"{HERE}:{line}" in notes


# ============================================================================== off, nesting
@pytest.mark.parametrize("start, other", [("strict", "cpu"), ("cpu", "strict")])
def test_copies_between_devices_are_checked_on_the_device_they_land_on(start, other):
    # the output of .to() lives on the other device: its values are checked with that
    # device's functions (strict -> cpu used to call array-api-strict on a NumPy array)
    with detect_anomaly():
        x = minigan.tensor([1.0, -2.0, 3.0], device=start, requires_grad=True)
        y = x.to(other) * 2.0
        assert y.device == minigan.device(other)
        y.sum().backward()
    assert x.grad.device == minigan.device(start)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 2.0, 2.0])
    with detect_anomaly(), pytest.raises(AnomalyError, match="Log"):
        minigan.tensor([-1.0], device=start).to(other).log()


def test_nothing_is_raised_when_off():
    x = minigan.tensor([-1.0, 0.0], requires_grad=True)
    with np.errstate(all="ignore"):
        y = x.log() + x.sqrt()
        y.sum().backward()
    values = y.detach().numpy()
    assert np.isnan(values[0]) and np.isinf(values[1])
    assert not np.isfinite(x.grad.numpy()).all()
    assert y.creator.created_at is None  # nothing recorded either


def test_nesting_restores_the_previous_state_even_on_error():
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled() and autograd.is_anomaly_check_nan_enabled()
        with set_detect_anomaly(False):
            assert not is_anomaly_enabled()
            with np.errstate(all="ignore"):
                minigan.tensor([-1.0]).log()  # off again: no error
        assert is_anomaly_enabled()
        with detect_anomaly(check_nan=False):
            assert is_anomaly_enabled() and not autograd.is_anomaly_check_nan_enabled()
            minigan.tensor([-1.0]).log()  # sites recorded, values not checked
        assert autograd.is_anomaly_check_nan_enabled()
    assert not is_anomaly_enabled()
    with pytest.raises(RuntimeError):
        with detect_anomaly():
            minigan.tensor([-1.0]).log()
    assert not is_anomaly_enabled()


def test_plain_call_and_decorators():
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def with_parentheses():
        return is_anomaly_enabled()

    @detect_anomaly
    def without_parentheses():
        return is_anomaly_enabled()

    @set_detect_anomaly(True)
    def via_set():
        return is_anomaly_enabled()

    assert not is_anomaly_enabled()  # decorating switched nothing on
    assert with_parentheses() and without_parentheses() and via_set()
    assert not is_anomaly_enabled()


def test_check_nan_false_records_the_site():
    x = minigan.tensor([2.0], requires_grad=True)
    with detect_anomaly(check_nan=False):
        y, line = x * 3.0, here()
    user, _ = y.creator.created_at
    assert os.path.basename(user[0]) == HERE and user[1] == line


# ============================================================================== a real model
def test_mnist_gan_steps_run_clean_and_a_nan_sample_is_traced_through_the_loop():
    """No false alarms on the book's improved GAN (BCE's clamp, saturated sigmoids), and a NaN
    real sample is caught at D's first op, named from this file and from the book's loop."""
    from minigan import book
    from minigan.data import bundled_mnist
    from minigan.training import gan_step

    minigan.manual_seed(0)
    experiment = book.get("mnist-gan")
    nets = experiment.build()
    data = bundled_mnist("train")
    ones, zeros = experiment.targets(minigan)
    with detect_anomaly():
        for i in range(3):
            gan_step(nets.D, nets.G, data[i][1], minigan.randn(100), minigan.randn(100), ones, zeros)
        # a saturated D (sigmoid of a huge logit is exactly 1.0): BCE clamps at -100, no alarm
        p = minigan.tensor([1.0, 0.0], requires_grad=True)
        loss = minigan.nn.functional.binary_cross_entropy(p, minigan.tensor([0.0, 1.0]))
        loss.backward()
        assert loss.item() == pytest.approx(100.0)

    bad = data[0][1] * float("nan")
    with pytest.raises(RuntimeError) as info:
        with detect_anomaly():
            line = here() + 1
            gan_step(nets.D, nets.G, bad, minigan.randn(100), minigan.randn(100), ones, zeros)
    message = str(info.value)
    assert "Function 'Linear' returned nan values" in message
    assert "(784,) float32, (200, 784) float32, (200,) float32" in message
    assert f"{HERE}:{line}" in message
    assert "training.py" in message and "train_step" in message
