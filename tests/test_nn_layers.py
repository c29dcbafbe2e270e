"""Layers against PyTorch: Linear, the activation modules, containers, Flatten, Dropout.

Every layer: the forward and every gradient (input, weight, bias) equal PyTorch's with the
same weights copied in, float64 tight and float32 at float32 tolerance, on shapes drawn by
hypothesis, on the CPU and on the "strict" array-API device; and a float64 gradcheck.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import nn
from test_nn_helpers import (DEVICES, DTYPES, compare_function, compare_module, copy_parameters,
                             float64_inputs, host, mg)

SETTINGS = settings(max_examples=20, deadline=None)


def batch_shapes(max_dims=2):
    """() (the book's unbatched samples), (N,) or (N, M)."""
    return st.lists(st.integers(1, 4), min_size=0, max_size=max_dims).map(tuple)


def away_from_zero(rng, shape, margin=0.05):
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, margin * np.sign(x + 1e-12) + x, x)


# ============================================================================== Linear
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(batch=batch_shapes(), n_in=st.integers(1, 9), n_out=st.integers(1, 9), bias=st.booleans(),
       seed=st.integers(0, 2**16))
def test_linear_matches_torch(device, dtype, batch, n_in, n_out, bias, seed):
    t_lin = torch.nn.Linear(n_in, n_out, bias=bias).to(getattr(torch, dtype))
    m_lin = nn.Linear(n_in, n_out, bias=bias, device=device, dtype=dtype)
    copy_parameters(t_lin, m_lin)
    x = np.random.default_rng(seed).standard_normal(batch + (n_in,))
    compare_module(t_lin, m_lin, [x], dtype)


def test_linear_gradcheck():
    lin = nn.Linear(4, 3).double()
    x, = float64_inputs(np.random.default_rng(0).standard_normal((2, 4)))
    assert minigan.gradcheck(lambda x, w, b: minigan.nn.functional.linear(x, w, b), (x, lin.weight, lin.bias))
    assert minigan.gradgradcheck(lambda x, w, b: minigan.nn.functional.linear(x, w, b).sigmoid(),
                                 (x, lin.weight, lin.bias))


def test_linear_rejects_a_wrong_input_size():
    lin = nn.Linear(784, 200)
    with pytest.raises(RuntimeError, match="784"):
        lin(minigan.rand(783))
    with pytest.raises(RuntimeError, match="float64"):
        lin(minigan.rand(784, dtype=minigan.float64))


def test_linear_attributes_and_shapes():
    lin = nn.Linear(784, 200)
    assert lin.weight.shape == (200, 784) and lin.bias.shape == (200,)
    assert lin.in_features == 784 and lin.out_features == 200
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    assert nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]
    assert lin(minigan.rand(784)).shape == (200,)  # the book's unbatched sample
    assert lin.weight.dtype == minigan.float32 and lin.weight.requires_grad


# ============================================================================== activations
ACTIVATIONS = [
    ("Sigmoid", (), {}),
    ("Tanh", (), {}),
    ("ReLU", (), {}),
    ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.02,), {}),
    ("LeakyReLU", (), {"negative_slope": 0.2}),
    ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}),
    ("Softmax", (), {"dim": -1}),
    ("LogSoftmax", (), {"dim": -1}),
    ("Softmax", (), {"dim": 0}),
    ("LogSoftmax", (), {"dim": 0}),
    ("Softplus", (), {}),
    ("Softplus", (), {"beta": 2.0, "threshold": 3.0}),
    ("SiLU", (), {}),
    ("ELU", (), {}),
    ("ELU", (0.4,), {}),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS, ids=lambda v: str(v) if v else "")
@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), seed=st.integers(0, 2**16))
def test_activation_matches_torch(device, dtype, name, args, kwargs, shape, seed):
    x = away_from_zero(np.random.default_rng(seed), shape) * 3
    t_mod = getattr(torch.nn, name)(*args, **kwargs)
    m_mod = getattr(nn, name)(*args, **kwargs)
    # scale 5: float32 derivatives like GELU-tanh's 1 - tanh^2 cancel to ~1e-6 absolute at |x| ~ 5
    compare_function(t_mod, m_mod, [x], dtype, device=device, scale=5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", [("Sigmoid", ()), ("ReLU", ()), ("LeakyReLU", (0.02,))])
def test_activation_of_a_large_array_matches_torch(device, dtype, name, args):
    """Over 4096 elements NumPy takes in-place paths (backend.sigmoid, the ReLU masks and
    maxima); the other devices run the generic code at that size too."""
    x = away_from_zero(np.random.default_rng(3), (3, 2000))
    compare_function(getattr(torch.nn, name)(*args), getattr(nn, name)(*args), [x], dtype,
                     device=device)


@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS)
def test_activation_repr_is_torchs(name, args, kwargs):
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


@pytest.mark.parametrize("name,args,kwargs", ACTIVATIONS)
def test_activation_gradcheck(name, args, kwargs):
    x, = float64_inputs(away_from_zero(np.random.default_rng(1), (3, 4)))
    mod = getattr(nn, name)(*args, **kwargs)
    assert minigan.gradcheck(mod, (x,))
    if name not in ("ReLU", "LeakyReLU"):  # piecewise linear: the second derivative is 0
        assert minigan.gradgradcheck(mod, (x,))


def test_activations_with_extreme_inputs_stay_finite():
    x = np.array([-1000.0, -30.0, 0.5, 30.0, 1000.0])
    for name in ("Sigmoid", "Tanh", "GELU", "Softplus", "SiLU", "ELU"):
        compare_function(getattr(torch.nn, name)(), getattr(nn, name)(), [x], "float32")


def test_softmax_without_dim_uses_torchs_legacy_choice():
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(mg(x))
    np.testing.assert_allclose(host(out).sum(axis=1), 1.0, rtol=1e-6)


def test_leaky_relu_slope_is_used():
    y = nn.LeakyReLU(0.2)(mg(np.array([-1.0, 2.0])))
    np.testing.assert_allclose(host(y), [-0.2, 2.0], rtol=1e-7)
    assert nn.LeakyReLU().negative_slope == 0.01


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


# ============================================================================== containers
def make_pair(layers):
    """The same Sequential in both frameworks, minigan's with PyTorch's weights."""
    t_seq = torch.nn.Sequential(*[getattr(torch.nn, n)(*a) for n, a in layers]).double()
    m_seq = nn.Sequential(*[getattr(nn, n)(*a) for n, a in layers]).double()
    copy_parameters(t_seq, m_seq)
    return t_seq, m_seq


@pytest.mark.parametrize("device", DEVICES)
def test_sequential_matches_torch(device):
    layers = [("Linear", (6, 5)), ("LeakyReLU", (0.02,)), ("LayerNorm", (5,)), ("Linear", (5, 2)),
              ("Sigmoid", ())]
    t_seq, m_seq = make_pair(layers)
    m_seq.to(device)
    x = np.random.default_rng(0).standard_normal((3, 6))
    compare_module(t_seq, m_seq, [x], "float64")
    assert repr(m_seq) == repr(t_seq)


def test_book_discriminator_gradcheck():
    """A shrunken notebook-08 D (Linear, LeakyReLU, LayerNorm, Linear, Sigmoid, BCELoss):
    finite differences through every parameter of the whole stack."""
    minigan.manual_seed(0)
    D = nn.Sequential(nn.Linear(5, 4), nn.LeakyReLU(0.02), nn.LayerNorm(4), nn.Linear(4, 1),
                      nn.Sigmoid()).double()
    x, = float64_inputs(np.random.default_rng(0).uniform(0, 1, 5))
    target = mg(np.array([1.0]))
    params = list(D.parameters())

    def loss(x, *ps):
        return nn.BCELoss()(D(x), target)
    assert minigan.gradcheck(loss, (x, *params))


def test_sequential_indexing_slicing_and_naming():
    a, b, c = nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c and seq[1] is b
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == [a, b]
    tail = seq[1:]
    assert [n for n, _ in tail.named_children()] == ["1", "2"]  # names kept, as PyTorch
    with pytest.raises(IndexError, match="Sequential: index 3"):
        seq[3]
    seq.append(nn.Tanh())
    assert len(seq) == 4 and isinstance(seq[3], nn.Tanh)
    seq[1] = nn.ReLU()
    assert isinstance(seq[1], nn.ReLU)
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1", "2"] and isinstance(seq[0], nn.ReLU)
    seq.insert(0, a)
    assert seq[0] is a and len(seq) == 4
    assert seq.pop(0) is a and len(seq) == 3
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.Linear(1, 1), lambda x: x)


def test_sequential_from_ordered_dict_and_chaining():
    from collections import OrderedDict
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Sigmoid())]))
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    x = minigan.rand(2)
    np.testing.assert_allclose(host(seq(x)), host(seq.act(seq.fc(x))))
    t_seq = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 2)), ("act", torch.nn.Sigmoid())]))
    assert repr(seq) == repr(t_seq)


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.Linear(2, 1))
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    del layers[0]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2"]
    with pytest.raises(IndexError, match="ModuleList: index -4"):
        layers[-4]
    with pytest.raises(TypeError, match="ModuleList: function is not a Module"):
        layers[0] = lambda x: x
    x = minigan.rand(2)
    for layer in layers:
        x = layer(x)
    assert x.shape == (1,)

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
            self.heads = nn.ModuleDict({"real": nn.Linear(3, 1), "class": nn.Linear(3, 10)})

    h = Holder()
    assert [n for n, _ in h.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
        "heads.real.weight", "heads.real.bias", "heads.class.weight", "heads.class.bias"]
    assert "real" in h.heads and h.heads["class"].out_features == 10


def test_identity_flatten_unflatten_match_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for t_mod, m_mod in [(torch.nn.Identity(), nn.Identity()),
                         (torch.nn.Flatten(), nn.Flatten()),
                         (torch.nn.Flatten(0, 2), nn.Flatten(0, 2)),
                         (torch.nn.Flatten(-2), nn.Flatten(-2)),
                         (torch.nn.Unflatten(1, (3, 1)), nn.Unflatten(1, (3, 1))),
                         (torch.nn.Unflatten(-1, (5, -1)), nn.Unflatten(-1, (5, -1)))]:
        compare_function(t_mod, m_mod, [x], "float64")
        assert repr(m_mod) == repr(t_mod)


# ============================================================================== Dropout
def test_dropout_zeroes_a_fraction_p_and_rescales():
    minigan.manual_seed(0)
    x = minigan.ones(200, 100, requires_grad=True)
    y = nn.Dropout(0.3)(x)
    values = host(y)
    kept = values != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()  # the gradient uses the same mask
    np.testing.assert_array_equal(host(x.grad), values)


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_is_reproducible_and_identity_in_eval(device):
    x = minigan.randn(50, device=device)
    drop = nn.Dropout()
    minigan.manual_seed(3)
    a = host(drop(x))
    minigan.manual_seed(3)
    b = host(drop(x))
    np.testing.assert_array_equal(a, b)
    assert (a == 0).any()
    drop.eval()
    assert drop(x) is x
    assert nn.functional.dropout(x, 0.5, training=False) is x
    assert repr(drop) == repr(torch.nn.Dropout())


def test_dropout_edge_probabilities_and_errors():
    x = minigan.randn(10)
    assert np.all(host(nn.Dropout(1.0)(x)) == 0)
    np.testing.assert_array_equal(host(nn.Dropout(0.0)(x)), host(x))
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)


def test_dropout_gradcheck_with_a_fixed_mask():
    x, = float64_inputs(np.random.default_rng(0).standard_normal((3, 4)))

    def fn(x):
        minigan.manual_seed(7)  # the same mask on every call
        return nn.functional.dropout(x, 0.4)
    assert minigan.gradcheck(fn, (x,))
    assert minigan.gradgradcheck(lambda x: fn(x) * fn(x), (x,))


def test_dropout_mask_statistics_match_torchs():
    """Same distribution as PyTorch (different generators): kept fraction and scale."""
    x = np.ones((400, 50))
    torch.manual_seed(0)
    minigan.manual_seed(0)
    t_out = torch.nn.functional.dropout(torch.tensor(x), 0.25).numpy()
    m_out = host(nn.functional.dropout(mg(x), 0.25))
    assert set(np.unique(t_out).round(6)) == set(np.unique(m_out).round(6))
    assert abs((t_out == 0).mean() - (m_out == 0).mean()) < 0.01


def test_softplus_is_the_gan_loss_of_logits():
    """The non-saturating GAN loss written with softplus (StyleGAN's form) is BCE with logits:
    softplus(-s) against target 1, softplus(s) against 0 - values and gradients, even for
    scores far out where a naive log(1 + e^s) overflows. (With the default threshold 20,
    softplus turns into the identity beyond it, as PyTorch's does: here it is set past the
    scores so the two are the same function.)"""
    scores = np.array([-80.0, -25.0, -3.0, -0.1, 0.0, 0.7, 4.0, 30.0, 90.0])
    for sign, target in ((-1.0, np.ones_like(scores)), (1.0, np.zeros_like(scores))):
        s1 = minigan.tensor(scores, requires_grad=True)
        s2 = minigan.tensor(scores, requires_grad=True)
        soft = nn.functional.softplus(sign * s1, threshold=1000.0).mean()
        bce = nn.functional.binary_cross_entropy_with_logits(s2, minigan.tensor(target))
        soft.backward()
        bce.backward()
        np.testing.assert_allclose(soft.item(), bce.item(), rtol=1e-12)
        np.testing.assert_allclose(s1.grad.numpy(), s2.grad.numpy(), rtol=1e-12, atol=1e-16)
        assert np.isfinite(soft.item())
