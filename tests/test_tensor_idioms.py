"""PyTorch's everyday tensor idioms beyond the book - repeat, tile, roll, index_select,
masked_fill, cumsum, clamp_min/max - beyond the op case table (which checks them against
PyTorch on random shapes, with gradcheck and gradgradcheck): integers, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

import minigan

torch = pytest.importorskip("torch")


def test_the_idioms_on_integer_tensors_match_pytorch():
    a = np.arange(12).reshape(3, 4)
    for fn in (lambda F, t: t.repeat(2, 1, 3), lambda F, t: F.tile(t, (2,)), lambda F, t: F.roll(t, -5),
               lambda F, t: F.roll(t, (1, 2), (0, 1)), lambda F, t: F.cumsum(t, 1),
               lambda F, t: t.index_select(1, F.tensor([3, 0, 3])), lambda F, t: t.masked_fill(t > 6, -1),
               lambda F, t: F.clamp_min(t, 4), lambda F, t: t.clamp_max(5)):
        ours, theirs = fn(minigan, minigan.tensor(a)), fn(torch, torch.tensor(a))
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert minigan.cumsum(minigan.tensor([True, True, False]), 0).numpy().tolist() == [1, 2, 2]


def test_the_idioms_refuse_what_pytorch_refuses():
    x = minigan.zeros(2, 3)
    with pytest.raises(RuntimeError, match=r"number of repeat dims \(1\) can not be smaller than number of dimensions of tensor \(2\)"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        minigan.roll(x, (1, 2), 0)
    with pytest.raises(TypeError, match="index must be a 1-d int32/int64 tensor, got Tensor float32"):
        x.index_select(0, minigan.tensor([0.0]))
    with pytest.raises(RuntimeError, match="expected a bool mask tensor, got float32"):
        x.masked_fill(minigan.zeros(3), 1.0)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.masked_fill(x > 0, minigan.zeros(3))
    with pytest.raises(RuntimeError, match=r"mask of shape \(4, 2, 3\) must broadcast to the tensor's shape \(2, 3\)"):
        x.masked_fill(minigan.zeros(4, 2, 3) > 0, 1.0)


def test_masked_fill_blocks_the_gradient_where_filled():
    x = minigan.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x.masked_fill(x < 0, 0.0) * 2).sum().backward()
    assert x.grad.numpy().tolist() == [2.0, 0.0, 2.0]
