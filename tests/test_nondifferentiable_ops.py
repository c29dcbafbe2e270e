"""The ops without a gradient (argmax, argmin, comparisons, sign, logical_and) against PyTorch,
on the CPU and the strict stand-in device: values, shapes and dtypes."""
import numpy as np
import pytest
import torch

import minigan

DEVICES = ["cpu", "strict"]
DIMS = [(None, False), (0, False), (1, True), (-1, False), (-1, True)]


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    return rng.standard_normal((3, 4, 5)).astype(np.float32), rng.standard_normal((3, 4, 5)).astype(np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dim,keepdim", DIMS)
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extremes_match_torch(data, device, dim, keepdim, name):
    x, _ = data
    ours = getattr(minigan.tensor(x, device=device), name)(dim=dim, keepdim=keepdim)
    ref = getattr(torch.tensor(x), name)(dim=dim, keepdim=keepdim)
    assert ours.shape == tuple(ref.shape)
    assert ours.dtype == minigan.int64
    np.testing.assert_array_equal(ours.cpu().numpy(), ref.numpy())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_match_torch(data, device, op):
    x, y = data
    x[0, 0] = y[0, 0]  # one tie, so eq/le/ge see equality
    a, b = minigan.tensor(x, device=device), minigan.tensor(y, device=device)
    for ours, ref in [(getattr(a, op)(b), getattr(torch.tensor(x), op)(torch.tensor(y))),
                      (getattr(a, op)(0.5), getattr(torch.tensor(x), op)(0.5))]:
        assert ours.dtype == minigan.bool and not ours.requires_grad
        np.testing.assert_array_equal(ours.cpu().numpy(), ref.numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_sign_and_logical_and_match_torch(data, device):
    x, y = data
    a = minigan.tensor(x, device=device, requires_grad=True)
    s = minigan.sign(a)
    assert not s.requires_grad and s.creator is None
    np.testing.assert_array_equal(s.cpu().numpy(), torch.sign(torch.tensor(x)).numpy())
    both = minigan.logical_and(a > 0, minigan.tensor(y, device=device) > 0)
    np.testing.assert_array_equal(both.cpu().numpy(), ((torch.tensor(x) > 0) & (torch.tensor(y) > 0)).numpy())
