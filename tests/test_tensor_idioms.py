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


def test_logical_ops_nonzero_and_counts_match_pytorch():
    a = np.array([[1.0, 0.0, -3.0], [0.0, 5.0, 0.0]])
    for fn in (lambda F, t: F.logical_or(t > 0, t < -1), lambda F, t: F.logical_xor(t > 0, t != 0),
               lambda F, t: (t > 0).logical_not(), lambda F, t: F.nonzero(t), lambda F, t: t.nonzero(),
               lambda F, t: F.count_nonzero(t), lambda F, t: F.count_nonzero(t, dim=0),
               lambda F, t: F.nonzero(F.tensor(0.0)), lambda F, t: F.nonzero(F.tensor(2.0))):
        ours, theirs = fn(minigan, minigan.tensor(a)), fn(torch, torch.tensor(a))
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype.name == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for ours, theirs in zip(minigan.nonzero(minigan.tensor(a), as_tuple=True),
                            torch.nonzero(torch.tensor(a), as_tuple=True)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_nan_to_num_replaces_and_blocks_the_gradient_where_it_replaced():
    x = minigan.tensor([1.0, float("nan"), float("inf"), -float("inf")], requires_grad=True)
    y = minigan.nan_to_num(x, nan=0.0, posinf=9.0)
    assert y.detach().numpy().tolist() == [1.0, 0.0, 9.0, float(np.finfo(np.float32).min)]
    y.sum().backward()
    assert x.grad.numpy().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_random_draws_come_from_the_seeded_generator_with_the_right_law():
    minigan.manual_seed(3)
    z = minigan.normal(2.0, 0.5, size=(20000,))
    assert abs(float(z.mean()) - 2.0) < 0.02 and abs(float(z.std()) - 0.5) < 0.02
    per = minigan.normal(minigan.tensor([0.0, 100.0]), minigan.tensor([1.0, 0.001]))
    assert per.shape == (2,) and abs(float(per[1]) - 100.0) < 0.01
    coins = minigan.bernoulli(minigan.full((20000,), 0.3))
    assert coins.dtype == minigan.float32 and set(np.unique(coins.numpy())) <= {0.0, 1.0}
    assert abs(float(coins.mean()) - 0.3) < 0.02
    draws = minigan.multinomial(minigan.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]]), 2000, replacement=True)
    assert draws.dtype == minigan.int64 and draws.shape == (2, 2000)
    assert set(np.unique(draws[0].numpy())) == {1, 2} and abs(float((draws[0] == 2).float().mean()) - 0.75) < 0.04
    assert set(np.unique(draws[1].numpy())) == {0}
    perm = minigan.multinomial(minigan.ones(5), 5)
    assert sorted(perm.numpy().tolist()) == [0, 1, 2, 3, 4]                  # without replacement
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        minigan.multinomial(minigan.ones(3), 4)
    with pytest.raises(RuntimeError, match="all probabilities must be in"):
        minigan.bernoulli(minigan.tensor([1.5]))
    minigan.manual_seed(3)
    assert np.array_equal(minigan.normal(2.0, 0.5, size=(20000,)).numpy(), z.numpy())
    assert minigan.empty_like(minigan.ones(2, 3, dtype=minigan.float64)).dtype == minigan.float64


def test_inference_mode_records_nothing_as_a_context_and_a_decorator():
    w = minigan.ones(2, requires_grad=True)
    with minigan.inference_mode():
        assert not (w * 2).requires_grad
    with minigan.inference_mode(False):
        assert (w * 2).requires_grad

    @minigan.inference_mode()
    def predict(x):
        return x * 2
    assert not predict(w).requires_grad and minigan.is_grad_enabled()
