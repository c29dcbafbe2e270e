"""Every differentiable op against float64 central finite differences (``minigan.gradcheck``),
and the ops whose backward is itself differentiated (``gradgradcheck``, create_graph=True).

Shapes, broadcasting, dims and arguments are drawn by hypothesis (tests/op_cases.py); inputs
are kept away from kinks (0 for relu/abs, clamp bounds) and ties (max/min) for gradcheck
only. Each check runs on the CPU and on the "strict" device (array-api-strict).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan

from op_cases import CASES, GRADCHECK_SIZE, GRADGRAD_SIZE, to_minigan

DEVICES = ["cpu", "strict"]
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])

# Casts change precision: finite differences of a float32 output are not float64-accurate, and
# gradcheck refuses float32 inputs. Their gradients are compared with PyTorch instead.
GRADCHECKED = [c for c in CASES if "casts" not in c.tags]
GRADGRADCHECKED = [c for c in GRADCHECKED if c.gradgrad]


def _check(case, inputs, device, checker):
    args = to_minigan(inputs, device=device)

    def fn(*xs):
        return case.fn(minigan, *xs)
    assert checker(fn, args)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", GRADCHECKED, ids=lambda c: c.name)
@SETTINGS
@given(data=st.data())
def test_gradcheck(case, device, data):
    inputs = data.draw(case.inputs(GRADCHECK_SIZE, True), label="inputs")
    _check(case, inputs, device, minigan.gradcheck)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", GRADGRADCHECKED, ids=lambda c: c.name)
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_gradgradcheck(case, device, data):
    inputs = data.draw(case.inputs(GRADGRAD_SIZE, True), label="inputs")
    _check(case, inputs, device, minigan.gradgradcheck)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", [c for c in GRADCHECKED if c.name in {
    "matmul", "linear", "softmax", "log_softmax", "getitem_int_array", "cat", "var", "mul"}],
    ids=lambda c: c.name)
@settings(SETTINGS, max_examples=10)
@given(data=st.data())
def test_gradcheck_fast_mode(case, device, data):
    """The random-direction (v^T J u) mode agrees with autograd too, on larger inputs."""
    inputs = data.draw(case.inputs(dict(max_dims=4, max_side=5), True), label="inputs")
    _check(case, inputs, device, lambda fn, args: minigan.gradcheck(fn, args, fast_mode=True))
