"""Book section 1.1 (BOOK_SPEC.md sections 4.00 and 4.01): PyTorch basics and the
computation graph, with ``import minigan as torch``; and the PyTorch-shaped surface the
book's code uses (BOOK_SPEC / DESIGN.md "The PyTorch-shaped surface")."""
from __future__ import annotations

import numpy as np
import pytest

import minigan as torch  # the book's code, unchanged but for this line


# ----------------------------------------------------------------------------- 4.00
def test_tensor_plus_python_number():
    x = torch.tensor(3.5)
    y = x + 3
    assert y.item() == 6.5
    assert (y == 6.5).item()
    assert y.dtype == torch.float32
    # plain Python, as the notebook first shows: y = x^2 + 2 = 14.25
    assert 3.5 ** 2 + 2 == 14.25


def test_cubic_value_and_gradient():
    x = torch.tensor(3.5, requires_grad=True)
    y = (x - 1) * (x - 2) * (x - 3)
    assert y.item() == 1.875
    y.backward()
    assert x.grad.item() == 5.75  # 3x^2 - 12x + 11 at 3.5


# ----------------------------------------------------------------------------- 4.01
def test_chain_rule():
    x = torch.tensor(3.5, requires_grad=True)
    y = x * x
    z = 2 * y + 3
    z.backward()
    assert z.item() == 27.5
    assert x.grad.item() == 14.0


def test_two_inputs():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    x = 2 * a + 3 * b
    y = 5 * a * a + 3 * b * b * b
    z = 2 * x + 3 * y
    z.backward()
    assert z.item() == 83.0
    assert a.grad.item() == 64.0  # 4 + 30a
    assert b.grad.item() == 33.0  # 6 + 27b^2


def test_two_inputs_with_pow():
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    z = 2 * (2 * a + 3 * b) + 3 * (5 * a ** 2 + 3 * b ** 3)
    z.backward()
    assert (z.item(), a.grad.item(), b.grad.item()) == (83.0, 64.0, 33.0)


# ----------------------------------------------------------------------------- the surface
def test_float_tensor_type_names():
    t = torch.FloatTensor([1.0])
    assert t.type() == "torch.FloatTensor"
    assert t.dtype == torch.float32
    assert torch.DoubleTensor([1.0]).type() == "torch.DoubleTensor"
    assert torch.tensor([1, 2]).type() == "torch.LongTensor"
    assert torch.FloatTensor(3).shape == (3,)
    assert isinstance(t, torch.FloatTensor)
    assert t.type("torch.DoubleTensor").dtype == torch.float64


def test_item_assignment_one_hot_target():
    """``target = torch.zeros((10)); target[label] = 1.0`` (the MNIST classifier)."""
    target = torch.zeros((10))
    target[3] = 1.0
    np.testing.assert_array_equal(target.numpy(), np.eye(10, dtype=np.float32)[3])
    target[torch.tensor(5)] = 2.0
    assert target[5].item() == 2.0
    target[1:3] = torch.tensor([7.0, 8.0])
    assert target.tolist()[:4] == [0.0, 7.0, 8.0, 1.0]


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_item_assignment_on_strict_device(device):
    t = torch.zeros(4, device=device)
    t[2] = 1.0
    t[torch.tensor(3, device=device)] = 2.0  # a label that is itself a tensor
    t[0:2] = torch.tensor([4.0, 5.0], device=device)
    assert t.tolist() == [4.0, 5.0, 1.0, 2.0]
    t[torch.tensor([True, False, False, True], device=device)] = 0.0
    assert t.tolist() == [0.0, 5.0, 1.0, 0.0]


def test_item_assignment_refused_on_leaf_requiring_grad():
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w[0] = 1.0
    with torch.no_grad():
        w[0] = 1.0
    assert w.detach().tolist() == [1.0, 0.0, 0.0]


def test_tensor_methods_the_book_uses():
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3
    assert x.device == torch.device("cpu") and x.device == "cpu"
    v = x.view(3, 2)
    assert v.shape == (3, 2) and v.requires_grad
    assert x.view(-1).shape == (6,)
    assert x.permute(1, 0).shape == (3, 2)
    assert x.reshape(1, 6).shape == (1, 6)
    d = x.detach()
    assert isinstance(d.numpy(), np.ndarray) and d.numpy().dtype == np.float32
    assert x[1, 2].item() == 6.0
    assert x.to("cpu") is x and x.cpu() is x
    assert x.sum().item() == 21.0
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.data is not None and x.detach().numpy().shape == (2, 3)


def test_cat_and_matmul():
    a, b = torch.ones(2, 3), torch.zeros(1, 3)
    c = torch.cat((a, b))
    assert c.shape == (3, 3) and c.sum().item() == 6.0
    assert torch.cat([a, a], dim=1).shape == (2, 6)
    assert torch.matmul(a, torch.ones(3, 4)).tolist() == [[3.0] * 4] * 2


def test_creation_functions():
    assert torch.zeros(2, 3).shape == (2, 3) and torch.zeros((2, 3)).sum().item() == 0
    assert torch.ones(4).sum().item() == 4
    f = torch.full((2, 2), 7.0)
    assert f.tolist() == [[7.0, 7.0], [7.0, 7.0]] and f.dtype == torch.float32
    assert torch.full((2,), 3).dtype == torch.int64
    assert torch.arange(5).tolist() == [0, 1, 2, 3, 4] and torch.arange(5).dtype == torch.int64
    assert torch.arange(0.0, 1.0, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    r = torch.rand(1000)
    assert r.dtype == torch.float32 and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = torch.randn(4000)
    assert abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1) < 0.1
    x = torch.randn(2, 3, dtype=torch.float64)
    for like in (torch.zeros_like, torch.ones_like, torch.rand_like, torch.randn_like):
        y = like(x)
        assert y.shape == (2, 3) and y.dtype == torch.float64
    assert torch.full_like(x, 2.0).numpy().sum() == 12.0
    a = np.arange(6.0).reshape(2, 3)
    t = torch.from_numpy(a)
    a[0, 0] = 9.0  # shares memory, as torch.from_numpy
    assert t[0, 0].item() == 9.0 and t.dtype == torch.float64
    assert torch.tensor([1.5, 2.5]).dtype == torch.float32
    assert torch.tensor([True, False]).dtype == torch.bool


@pytest.mark.parametrize("device", ["cpu", "strict"])
def test_manual_seed_reproducible(device):
    torch.manual_seed(42)
    a = torch.rand(5, device=device)
    n = torch.randn(3, device=device)
    torch.manual_seed(42)
    b = torch.rand(5, device=device)
    m = torch.randn(3, device=device)
    assert a.tolist() == b.tolist() and n.tolist() == m.tolist()
    torch.manual_seed(43)
    assert torch.rand(5, device=device).tolist() != a.tolist()


def test_manual_seed_same_noise_on_every_device():
    torch.manual_seed(7)
    cpu = torch.randn(6).tolist()
    torch.manual_seed(7)
    strict = torch.randn(6, device="strict").tolist()
    assert cpu == strict


def test_default_tensor_type_and_dtype():
    torch.set_default_tensor_type(torch.DoubleTensor)
    assert torch.rand(2).dtype == torch.float64 and torch.tensor(3.5).dtype == torch.float64
    torch.set_default_tensor_type("torch.FloatTensor")
    assert torch.rand(2).dtype == torch.float32


def test_repr_shows_values_and_grad_fn():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn" in repr(x * 2)
    assert repr(torch.tensor(6.5)).startswith("tensor(6.5")
