"""gather, sort, argsort and topk beyond the op case table: ties, repeats, 0-d tensors, errors,
and the batched idioms they serve (picking each row's label score, the k best samples)."""
from __future__ import annotations

import numpy as np
import pytest

import minigan

torch = pytest.importorskip("torch")


def test_ties_sort_stably_in_index_order_as_pytorch_with_stable_true():
    a = np.array([[2.0, 1.0, 2.0, 1.0, 3.0, 2.0]])
    for descending in (False, True):
        values, indices = minigan.tensor(a).sort(dim=1, descending=descending)
        tv, ti = torch.tensor(a).sort(dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(values.numpy(), tv.numpy())
        np.testing.assert_array_equal(indices.numpy(), ti.numpy())
        ours = minigan.tensor(a).argsort(dim=1, descending=descending)
        theirs = torch.tensor(a).argsort(dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_repeated_gather_indices_add_their_gradients():
    """Each read of an element adds its gradient: a scatter-add, not a scatter."""
    x = minigan.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = x.gather(1, minigan.tensor([[2, 2, 0, 2]]))
    y.backward(minigan.tensor([[1.0, 10.0, 100.0, 1000.0]]))
    np.testing.assert_array_equal(y.detach().numpy(), [[3.0, 3.0, 1.0, 3.0]])
    np.testing.assert_array_equal(x.grad.numpy(), [[100.0, 0.0, 1011.0]])


def test_the_idioms_they_serve_match_pytorch():
    """log_softmax(logits).gather(1, labels[:, None]) (each row's label score, the NLL by hand)
    and the k largest D scores of a batch (top-k GAN training), gradients included."""
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((6, 10)), rng.integers(0, 10, 6)
    results = []
    for fw in (minigan, torch):
        x = fw.tensor(logits, requires_grad=True)
        picked = fw.nn.functional.log_softmax(x, dim=1).gather(1, fw.tensor(labels)[:, None])
        best, where = x[:, 0].topk(3)
        loss = -picked.mean() - best.sum()
        loss.backward()
        results.append((loss.item(), where.numpy().copy(), x.grad.numpy().copy()))
    (l1, w1, g1), (l2, w2, g2) = results
    assert l1 == pytest.approx(l2, rel=1e-12)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


def test_zero_dimensional_and_empty_cases():
    s = minigan.tensor(5.0, requires_grad=True)
    values, indices = s.sort()
    assert values.item() == 5.0 and indices.item() == 0
    values.backward()
    assert s.grad.item() == 1.0
    v, i = minigan.tensor([3.0, 1.0]).topk(0)
    assert v.shape == (0,) and i.shape == (0,)


def test_errors_name_the_op_and_the_shapes():
    x = minigan.tensor([[1.0, 2.0, 3.0]])
    with pytest.raises(RuntimeError, match="gather: index 3 is out of bounds for dim 1 with size 3"):
        x.gather(1, minigan.tensor([[3]]))
    with pytest.raises(RuntimeError, match="gather: index must be an int64 tensor, got float32"):
        x.gather(1, minigan.tensor([[0.0]]))
    with pytest.raises(RuntimeError, match=r"gather: index of shape \(1, 4\) does not fit input of "
                                           r"shape \(1, 3\) along dim 0"):
        x.gather(0, minigan.tensor([[0, 0, 0, 0]]))
    with pytest.raises(RuntimeError, match=r"topk: k \(4\) out of range for dim -1 of size 3"):
        x.topk(4)
