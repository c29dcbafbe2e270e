"""dtype rules (PyTorch's): float32 stays float32 next to Python numbers, NumPy scalars and
0-d float64 tensors; sized float32 and float64 tensors give float64; every op's output and
gradients keep the input's dtype (float32 in, float32 grads)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan.testing import assert_matches_torch

from op_cases import CASES, TORCH_SIZE

torch = pytest.importorskip("torch")

F32 = minigan.float32
F64 = minigan.float64


@pytest.mark.parametrize("device", ["cpu", "strict"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_op_keeps_float32(case, device, data):
    """Every op on float32 inputs: float32 outputs and float32 gradients (and equal to PyTorch
    at float32 tolerances, which also compares each output's and gradient's dtype)."""
    inputs = data.draw(case.inputs(dict(TORCH_SIZE, max_dims=3), False), label="inputs")
    dtype = "float64" if case.name == "to_float32" else "float32"
    outs = assert_matches_torch(case.fn, *inputs, torch_fn=case.torch_fn, dtype=dtype,
                                device=device)
    expected_out = {"to_float64": F64, "to_int64": minigan.int64}.get(case.name, F32)
    for o in outs:
        if o.dtype not in (minigan.int64, minigan.bool):  # max's indices
            assert o.dtype == expected_out, f"{case.name}: output is {o.dtype.name}"
    # the gradients: re-run with one backward and look at every input's grad dtype
    xs = [minigan.tensor(a.astype(dtype), device=device, requires_grad=True)
          if isinstance(a, np.ndarray) and a.dtype.kind == "f" else
          minigan.tensor(a, device=device) if isinstance(a, np.ndarray) else a for a in inputs]
    outs = case.fn(minigan, *xs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    roots = [o for o in outs if o.requires_grad]
    if roots:
        minigan.autograd.backward(roots, [minigan.ones_like(o) for o in roots])
    for x in xs:
        if isinstance(x, minigan.Tensor) and x.grad is not None:
            assert x.grad.dtype == x.dtype, f"{case.name}: {x.dtype.name} input, {x.grad.dtype.name} grad"
            assert x.grad.device == x.device


SCALARS = [2, 2.5, np.float64(2.0), np.float32(2.0), np.int64(3)]


@pytest.mark.parametrize("device", ["cpu", "strict"])
@pytest.mark.parametrize("scalar", SCALARS, ids=lambda s: f"{type(s).__name__}")
def test_float32_with_scalars_stays_float32(scalar, device):
    x = minigan.tensor([1.0, 2.0, 4.0], requires_grad=True, device=device)
    for y in (x + scalar, scalar + x, x - scalar, scalar - x, x * scalar, scalar * x,
              x / scalar, scalar / x, x ** scalar, minigan.maximum(x, minigan.tensor(float(scalar), device=device))):
        assert y.dtype == F32, y
        y.sum().backward()
        assert x.grad.dtype == F32
    assert (abs(scalar) ** x).dtype == F32


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_zero_dim_float64_tensor_does_not_widen(device):
    x = minigan.tensor([1.0, 2.0], requires_grad=True, device=device)
    c = minigan.tensor(2.0, dtype=F64, requires_grad=True, device=device)
    for y in (x + c, c + x, x * c, c * x, x / c, c - x, x ** c, minigan.where(x > 1, x, c)):
        assert y.dtype == F32
    (x * c).sum().backward()
    assert x.grad.dtype == F32 and c.grad.dtype == F64
    assert c.grad.item() == pytest.approx(3.0)


def test_sized_float32_and_float64_give_float64_as_torch():
    a = np.array([1.0, 2.0], dtype=np.float32)
    b = np.array([[0.5], [1.5]])
    for fn in (lambda F, a, b: a + b, lambda F, a, b: a * b, lambda F, a, b: b - a,
               lambda F, a, b: F.cat([a.reshape(1, 2), b.reshape(1, 2)]),
               lambda F, a, b: F.where(b > 1, a, b), lambda F, a, b: a.reshape(2, 1) * b):
        outs = assert_matches_torch(fn, a, b, dtype=None)
        assert outs[0].dtype == F64
    # a float32 0-d tensor next to a sized float64 one: float64
    assert (minigan.tensor(1.0) + minigan.tensor([1.0], dtype=F64)).dtype == F64


@pytest.mark.parametrize("device", ["cpu", "strict"])
@pytest.mark.parametrize("expr", [
    lambda F, i, b: i + 1, lambda F, i, b: i * 2.5, lambda F, i, b: 2.5 * i,
    lambda F, i, b: i / 2, lambda F, i, b: 2 / i, lambda F, i, b: i / i, lambda F, i, b: i ** 2,
    lambda F, i, b: i ** 0.5, lambda F, i, b: 2 ** i, lambda F, i, b: 2.5 ** i,
    lambda F, i, b: i - 0.5, lambda F, i, b: b * 1.5, lambda F, i, b: i > 1,
    lambda F, i, b: i + F.tensor(1.5, dtype=F.float64, device=i.device),
    lambda F, i, b: i + F.tensor([0.5, 0.5, 0.5], device=i.device),
    lambda F, i, b: i * F.tensor(2.0, device=i.device), lambda F, i, b: (i > 1).sum(), lambda F, i, b: i.sum(),
    # float functions of integers and bools: the default float dtype (NumPy would give float64)
    lambda F, i, b: F.exp(i), lambda F, i, b: F.log(i), lambda F, i, b: F.sqrt(i), lambda F, i, b: F.erf(i),
    lambda F, i, b: F.tanh(i), lambda F, i, b: F.sigmoid(i), lambda F, i, b: F.sigmoid(b),
    lambda F, i, b: i.exp(), lambda F, i, b: i.sigmoid(), lambda F, i, b: i.tanh(),
])
def test_integer_promotion_as_torch(expr, device):
    """Integer (and bool) tensors with numbers and float tensors: PyTorch's result dtypes."""
    outs = assert_matches_torch(lambda F, i, b: expr(F, i, b), np.array([1, 2, 3]),
                                np.array([True, False, True]), device=device, grad=False)
    assert outs[0].device == device


@pytest.mark.parametrize("dtypes", [("int32", "int64"), ("bool", "int64"), ("uint8", "int32"),
                                    ("int64", "float32"), ("float32", "float64"), ("bool", "float32")])
def test_cat_promotes_as_torch(dtypes):
    arrays = [np.ones(2, dtype=d) for d in dtypes]
    assert_matches_torch(lambda F, *xs: F.cat(xs), *arrays, dtype=None, grad=False)


def test_integer_and_bool_promotion():
    i = minigan.tensor([1, 2, 3])
    assert i.dtype == minigan.int64
    assert (i + 1).dtype == minigan.int64
    assert (i * 2.5).dtype == F32  # int tensor * float -> default float, as torch
    assert (i / 2).tolist() == [0.5, 1.0, 1.5]
    assert (i + minigan.tensor([0.5, 0.5, 0.5])).dtype == F32
    assert (i > 1).dtype == minigan.bool
    assert (i > 1).sum().dtype == minigan.int64
    assert minigan.tensor([True, False]).sum().item() == 1
    with pytest.raises(RuntimeError, match="mean.*dtype"):
        i.mean()
    assert (minigan.tensor([1, 2], dtype=minigan.int32) + minigan.tensor([1, 2])).dtype == minigan.int64


def test_default_dtype_follows_set_default_dtype():
    assert minigan.tensor(3.5).dtype == F32 and minigan.rand(2).dtype == F32
    minigan.set_default_dtype(F64)
    assert minigan.tensor(3.5).dtype == F64 and minigan.zeros(2).dtype == F64
    assert minigan.randn(2).dtype == F64 and minigan.tensor([1, 2]).dtype == minigan.int64
    minigan.set_default_dtype(F32)
    with pytest.raises(TypeError, match="float32 or float64"):
        minigan.set_default_dtype(minigan.int64)


def test_dtype_aliases_and_conversions():
    x = minigan.tensor([1.7, -2.2])
    assert x.double().dtype == F64 and x.float().dtype == F32
    assert x.long().tolist() == [1, -2] and x.long().dtype == minigan.int64
    assert x.int().dtype == minigan.int32 and x.bool().dtype == minigan.bool
    assert x.to(minigan.float64).dtype == F64 and x.to("float64").dtype == F64
    assert minigan.float is minigan.float32 and minigan.double is minigan.float64
    assert minigan.tensor([1.0], dtype="double").dtype == F64


@pytest.mark.parametrize("bad", ["float16", "complex64", np.float16, np.complex128])
def test_unsupported_dtypes_are_refused_by_name(bad):
    name = np.dtype(bad).name
    with pytest.raises(TypeError, match=name):
        minigan.zeros(2, dtype=bad)
    with pytest.raises(TypeError, match=name):
        minigan.tensor(np.zeros(2, dtype=bad))
    with pytest.raises(TypeError, match=name):
        minigan.from_numpy(np.zeros(2, dtype=bad))
    with pytest.raises(TypeError, match=name):
        minigan.tensor([1.0]).to(np.dtype(bad))
