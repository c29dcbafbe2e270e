"""isclose, allclose, equal, any, all (functional/predicates.py) and minigan.testing.assert_close,
against PyTorch's answers: what a test suite asks of tensors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from device_params import DEVICES
from minigan.testing import arrays, assert_close, shapes

torch = pytest.importorskip("torch")

INF, NAN = float("inf"), float("nan")
A = [1.0, INF, -INF, NAN, 1e-9, 100.0, 0.0, -2.0, INF]
B = [1.0 + 1e-6, INF, INF, NAN, 0.0, 100.001, -0.0, -2.00002, 5.0]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kwargs", [{}, dict(equal_nan=True), dict(rtol=1e-3, atol=0.0),
                                    dict(rtol=0.0, atol=0.0), dict(rtol=0.1, atol=1e-3)])
def test_isclose_matches_torch_at_special_values(kwargs, dtype, device):
    a, b = minigan.tensor(A, dtype=dtype, device=device), minigan.tensor(B, dtype=dtype, device=device)
    ta, tb = torch.tensor(A, dtype=getattr(torch, dtype)), torch.tensor(B, dtype=getattr(torch, dtype))
    got = minigan.isclose(a, b, **kwargs)
    assert got.dtype == minigan.bool and not got.requires_grad
    assert got.tolist() == torch.isclose(ta, tb, **kwargs).tolist()
    assert a.isclose(b, **kwargs).tolist() == got.tolist()
    assert minigan.allclose(a, b, **kwargs) == torch.allclose(ta, tb, **kwargs)
    assert minigan.allclose(a[:2], b[:2]) is True and a[:2].allclose(b[:2])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_isclose_broadcasts_like_torch(data):
    shape = data.draw(shapes(max_dims=3, max_side=3))
    a = data.draw(arrays(shape, elements=st.sampled_from([0.0, 1.0, 1.0000001, 2.0, -1.0])))
    b = data.draw(arrays(shape[1:], elements=st.sampled_from([0.0, 1.0, 1.001, 2.0])))
    rtol = data.draw(st.sampled_from([0.0, 1e-5, 1e-2]))
    got = minigan.isclose(minigan.tensor(a), minigan.tensor(b), rtol=rtol)
    want = torch.isclose(torch.tensor(a), torch.tensor(b), rtol=rtol)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_isclose_on_integers_and_bools_and_its_refusals():
    i, j = minigan.tensor([1, 5, 100]), minigan.tensor([1, 6, 101])
    ti, tj = torch.tensor([1, 5, 100]), torch.tensor([1, 6, 101])
    for kwargs in ({}, dict(rtol=0.2, atol=0)):
        assert minigan.isclose(i, j, **kwargs).tolist() == torch.isclose(ti, tj, **kwargs).tolist()
    flags = minigan.tensor([True, False]), minigan.tensor([True, True])
    assert minigan.isclose(*flags).tolist() == [True, False]
    with pytest.raises(RuntimeError, match="isclose: both tensors must have the same dtype, got "
                                           "float32 and float64"):
        minigan.isclose(minigan.ones(2), minigan.ones(2, dtype=minigan.float64))
    with pytest.raises(RuntimeError, match=r"isclose: shapes \(2,\) and \(3,\) are not broadcastable"):
        minigan.isclose(minigan.ones(2), minigan.ones(3))
    with pytest.raises(RuntimeError, match="rtol and atol must be non-negative"):
        minigan.isclose(minigan.ones(2), minigan.ones(2), atol=-1.0)


def test_equal_needs_shape_and_values():
    for a, b in [([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.5]), ([1.0], [1.0, 1.0]),
                 ([NAN], [NAN]), ([[1, 2]], [[1, 2]]), ([-0.0], [0.0]), ([1, 2], [1.0, 2.0]),
                 ([1, 2], [1.0, 2.5])]:
        assert minigan.equal(minigan.tensor(a), minigan.tensor(b)) == torch.equal(torch.tensor(a), torch.tensor(b))
    assert minigan.tensor([1, 2]).equal(minigan.tensor([1, 2])) is True


@pytest.mark.parametrize("device", DEVICES)
def test_any_and_all_match_torch(device):
    x = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, NAN, -1.0]])
    for name in ("any", "all"):
        for kwargs in ({}, dict(dim=0), dict(dim=1, keepdim=True), dict(dim=(0, 1))):
            got = getattr(minigan, name)(minigan.tensor(x, device=device), **kwargs)
            want = getattr(torch, name)(torch.tensor(x), **kwargs)
            assert got.dtype == minigan.bool and tuple(got.shape) == tuple(want.shape)
            np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
        flags = minigan.tensor([[True, False], [True, True]], device=device)
        assert getattr(flags, name)(dim=1).tolist() == getattr(torch.tensor([[True, False], [True, True]]), name)(dim=1).tolist()


def test_assert_close_passes_and_fails_where_torch_testing_does():
    cases = [
        (minigan.tensor([1.0, 2.0]), minigan.tensor([1.0, 2.0 + 1e-6]), {}),
        (minigan.tensor([1.0, 2.0]), minigan.tensor([1.0, 2.001]), {}),
        (minigan.tensor([1.0, NAN]), minigan.tensor([1.0, NAN]), {}),
        (minigan.tensor([1.0, NAN]), minigan.tensor([1.0, NAN]), dict(equal_nan=True)),
        (minigan.tensor([INF, -INF]), minigan.tensor([INF, -INF]), {}),
        (minigan.tensor([1.0, 2.0], dtype=minigan.float64), minigan.tensor([1.0, 2.0 + 1e-9], dtype=minigan.float64), {}),
        (minigan.tensor([1.0, 2.0], dtype=minigan.float64), minigan.tensor([1.0, 2.0 + 1e-5], dtype=minigan.float64), {}),
        (minigan.tensor([3, 4]), minigan.tensor([3, 5]), {}),
        (minigan.tensor([1.0, 2.0]), minigan.tensor([1.1, 2.1]), dict(rtol=0.0, atol=0.2)),
    ]
    for a, b, kwargs in cases:
        try:
            torch.testing.assert_close(torch.from_numpy(a.numpy()), torch.from_numpy(b.numpy()), **kwargs)
            torch_ok = True
        except AssertionError:
            torch_ok = False
        if torch_ok:
            assert_close(a, b, **kwargs)
        else:
            with pytest.raises(AssertionError, match="not close"):
                assert_close(a, b, **kwargs)


def test_assert_close_says_what_differs():
    with pytest.raises(AssertionError, match=r"G output: not close: 1 of 3 elements differ \(shape "
                                             r"\(3,\), dtype float32\); the largest difference 0.5 "
                                             r"at index \[2\]: actual 3.0, expected 3.5"):
        assert_close(minigan.tensor([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.5], np.float32),
                     msg="G output")
    with pytest.raises(AssertionError, match=r"shapes differ: actual \(2,\), expected \(3,\)"):
        assert_close(minigan.ones(2), minigan.ones(3))
    with pytest.raises(AssertionError, match="dtypes differ: actual float32, expected float64"):
        assert_close(minigan.ones(2), np.ones(2))
    assert_close(minigan.ones(2), [1.0, 1.0])  # a list: compared without the dtype check
    assert_close(minigan.ones(2, device="strict"), torch.ones(2))
    with pytest.raises(ValueError, match="give both rtol and atol"):
        assert_close(minigan.ones(2), minigan.ones(2), rtol=1e-3)
