"""Vector norms (``linalg.vector_norm``, ``Tensor.norm``), in-place ``clamp_``, and the rest of
what WGAN(-GP) and DCGAN need from the PyTorch surface: ``Module.apply`` with ``nn.init``,
``ReLU(inplace=True)``, ``Flatten``.

* Norms against PyTorch, forward and gradient, float64 and float32, over shapes, ords,
  dims and keepdim drawn by hypothesis, with zero vectors among the inputs (PyTorch's
  subgradient there is 0), on the CPU and on the "strict" device; ``gradcheck`` and
  ``gradgradcheck``; second derivatives at the zero vector against PyTorch's.
* WGAN-GP's gradient penalty, end to end in float64: the penalty and every parameter
  gradient through it (double backward) equal PyTorch's.
* WGAN's weight clipping, ``with no_grad(): p.clamp_(-c, c)``, on every parameter of a critic.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import minigan
from minigan import nn
from minigan.testing import assert_matches_torch
from test_nn_helpers import DEVICES, compare_module, copy_parameters

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ORDS = [2, 2.0, 1, math.inf, -math.inf, 0, 3, 0.5, 1.5, -1]


# ============================================================================== norms
@st.composite
def norm_cases(draw):
    """(x, ord, dim, keepdim): some rows all zero, some single entries zero."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal(shape)
    if draw(st.booleans()):
        x[0] = 0.0  # a zero vector along the other axes
    if draw(st.booleans()):
        x.reshape(-1)[-1] = 0.0
    ndim = len(shape)
    dim = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                         st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    return x, draw(st.sampled_from(ORDS)), dim, draw(st.booleans())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=norm_cases())
def test_vector_norm_matches_torch(case, dtype, device):
    x, ord, dim, keepdim = case
    if ord < 0 and dtype == "float32":
        ord = 3  # 1/0 = inf then inf**(1/p) = 0: both agree, but float32 grads near 0 overflow
    assert_matches_torch(lambda F, x: F.linalg.vector_norm(x, ord, dim, keepdim), x, dtype=dtype,
                         device=device, **({} if dtype == "float64" else dict(rtol=1e-4, atol=1e-5)))


@pytest.mark.parametrize("device", DEVICES)
@SETTINGS
@given(case=norm_cases())
def test_tensor_norm_and_torch_norm_match_torch(case, device):
    x, ord, dim, keepdim = case
    p = "fro" if ord == 2.0 and isinstance(ord, float) and (dim is None or isinstance(dim, int)) else ord
    if p == "fro" and dim is None:
        assert_matches_torch(lambda F, x: x.norm(), x, device=device)
        assert_matches_torch(lambda F, x: F.norm(x), x, device=device)
    else:
        assert_matches_torch(lambda F, x: x.norm(p, dim, keepdim), x, device=device)
        assert_matches_torch(lambda F, x: F.norm(x, p=p, dim=dim, keepdim=keepdim), x, device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck_and_gradgradcheck(device):
    x = minigan.tensor(np.random.default_rng(0).standard_normal((3, 4)) + 0.1, device=device,
                       requires_grad=True)
    for ord in (2, 1, math.inf, 3, 0.5, 1.5, -2):
        for dim in (None, 1, (0, 1)):
            assert minigan.gradcheck(lambda t: minigan.linalg.vector_norm(t, ord, dim), (x,)), (ord, dim)
            if ord not in (1, math.inf):  # piecewise linear: second derivative 0, checked anyway below
                assert minigan.gradgradcheck(lambda t: minigan.linalg.vector_norm(t, ord, dim), (x,)), (ord, dim)
    assert minigan.gradgradcheck(lambda t: minigan.linalg.vector_norm(t, 1, 1) * t.sum(), (x,))


@pytest.mark.parametrize("device", DEVICES)
def test_the_zero_vector_has_gradient_zero_and_no_nan(device):
    """sqrt(sum(x*x)) composed from primitives gives 0/0 = NaN there; PyTorch gives 0, first
    and second order, and so must minigan (a gradient penalty meets it when D is flat)."""
    x = np.zeros((2, 3))
    x[1] = [3.0, -4.0, 0.0]
    for ord in (2, 3, 1.5, 0.5):
        assert_matches_torch(lambda F, x: F.linalg.vector_norm(x, ord, dim=1), x, device=device)
    xm = minigan.tensor(x, device=device, requires_grad=True)
    (g,) = minigan.autograd.grad(minigan.linalg.vector_norm(xm, dim=1).sum(), xm, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [[0, 0, 0], [0.6, -0.8, 0]], rtol=1e-15)
    (gg,) = minigan.autograd.grad((g * g).sum() + g.sum(), xm)
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.linalg.vector_norm(xt, dim=1).sum(), xt, create_graph=True)
    (ggt,) = torch.autograd.grad((gt * gt).sum() + gt.sum(), xt)
    np.testing.assert_allclose(gg.numpy()[1], ggt.numpy()[1], rtol=1e-12, atol=1e-15)
    # At the zero vector itself PyTorch's second derivative is NaN (0/0 inside its double
    # backward); minigan's is 0, the limit of the masked first derivative.
    assert np.isnan(ggt.numpy()[0]).all() and (gg.numpy()[0] == 0).all()


def test_linalg_norm_vector_cases_and_errors():
    x = np.random.default_rng(1).standard_normal((3, 4))
    for kwargs in (dict(), dict(dim=1), dict(ord="fro"), dict(ord=3, dim=0), dict(dim=(0, 1), keepdim=True),
                   dict(ord=math.inf, dim=-1)):
        assert_matches_torch(lambda F, x: F.linalg.norm(x, **kwargs), x)
    assert_matches_torch(lambda F, x: F.linalg.norm(x, 1), x[0])
    with pytest.raises(NotImplementedError, match="matrix norm"):
        minigan.linalg.norm(minigan.tensor(x), ord=2)
    with pytest.raises(NotImplementedError, match="nuc"):
        minigan.tensor(x).norm("nuc")
    with pytest.raises(RuntimeError, match="floating point"):
        minigan.linalg.vector_norm(minigan.tensor([1, 2]))
    assert minigan.linalg.vector_norm(minigan.tensor([1, 2]), dtype=minigan.float64).item() == math.sqrt(5)


# ============================================================================== WGAN-GP
def critic(lib):
    """A small WGAN-GP critic: no BatchNorm (it would couple the samples' gradients)."""
    return lib.nn.Sequential(lib.nn.Linear(6, 16), lib.nn.LeakyReLU(0.2), lib.nn.LayerNorm(16),
                             lib.nn.Linear(16, 8), lib.nn.LeakyReLU(0.2), lib.nn.Linear(8, 1))


def gradient_penalty(lib, D, real, fake, alpha, lam=10.0):
    """Gulrajani et al.: lam * E[(|grad_x D(x_hat)|_2 - 1)^2] on random interpolates x_hat."""
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    score = D(x_hat)
    (grad,) = lib.autograd.grad(score, x_hat, grad_outputs=lib.ones_like(score), create_graph=True)
    return lam * ((grad.norm(2, dim=1) - 1) ** 2).mean()


@pytest.mark.parametrize("device", DEVICES)
def test_wgan_gp_penalty_and_its_parameter_gradients_match_torch(device):
    rng = np.random.default_rng(2)
    real, fake, alpha = rng.standard_normal((5, 6)), rng.standard_normal((5, 6)), rng.uniform(size=(5, 1))
    t_D = critic(torch).double()
    m_D = critic(minigan).double().to(device)
    copy_parameters(t_D, m_D)
    t_gp = gradient_penalty(torch, t_D, *(torch.tensor(a) for a in (real, fake, alpha)))
    m_gp = gradient_penalty(minigan, m_D, *(minigan.tensor(a, device=device) for a in (real, fake, alpha)))
    t_gp.backward()
    m_gp.backward()
    np.testing.assert_allclose(m_gp.item(), t_gp.item(), rtol=1e-12)
    t_params = dict(t_D.named_parameters())
    for name, p in m_D.named_parameters():
        t_grad = t_params[name].grad
        if p.grad is None:  # biases right before a LeakyReLU (or at the end) do not change
            # grad_x D (its slope is piecewise constant): minigan records no path, PyTorch zeros
            assert name in ("2.bias", "3.bias", "5.bias") and (t_grad is None or not t_grad.any())
            continue
        np.testing.assert_allclose(p.grad.numpy(), t_grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=name)


# ============================================================================== clamp_
@pytest.mark.parametrize("device", DEVICES)
def test_wgan_weight_clipping(device):
    """``for p in D.parameters(): p.clamp_(-c, c)`` under no_grad, as PyTorch, on every
    parameter; the parameters stay the same leaf objects an optimiser holds."""
    t_D = critic(torch).double()
    m_D = critic(minigan).double().to(device)
    copy_parameters(t_D, m_D)
    params = list(m_D.parameters())
    opt = minigan.optim.RMSprop(params, lr=5e-5)
    with torch.no_grad():
        for p in t_D.parameters():
            p.clamp_(-0.01, 0.01)
    with minigan.no_grad():
        for p in m_D.parameters():
            assert p.clamp_(-0.01, 0.01) is p
    t_params = dict(t_D.named_parameters())
    for name, p in m_D.named_parameters():
        assert p.is_leaf and p.requires_grad and p.device == device
        np.testing.assert_array_equal(p.detach().numpy(), t_params[name].detach().numpy())
        assert np.abs(p.detach().numpy()).max() <= 0.01
    assert opt.param_groups[0]["params"] == params and list(m_D.parameters()) == params


def test_clamp_in_place_semantics():
    x = minigan.tensor([-2.0, -0.5, 0.5, 2.0])
    assert x.clamp_(min=-1.0) is x
    np.testing.assert_array_equal(x.numpy(), [-1.0, -0.5, 0.5, 2.0])
    np.testing.assert_array_equal(x.clip_(max=minigan.tensor(1.0)).numpy(), [-1.0, -0.5, 0.5, 1.0])
    np.testing.assert_array_equal(minigan.tensor([0.0, 3.0]).clamp_(2.0, 1.0).numpy(),
                                  torch.tensor([0.0, 3.0]).clamp_(2.0, 1.0).numpy())  # min > max: max
    w = nn.Parameter(minigan.tensor([0.5, 2.0]))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.clamp_(-1, 1)  # outside no_grad, as PyTorch
    with pytest.raises(RuntimeError, match="at least one"):
        minigan.tensor([1.0]).clamp_()
    y = w * 2.0
    with pytest.raises(RuntimeError, match="use clamp"):
        y.clamp_(0, 1)
    with minigan.no_grad():
        w.clamp_(-1, 1)
    assert w.creator is None and w.grad is None
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, 1.0])


# ============================================================================== the rest of the surface
def test_module_apply_visits_like_torch_and_runs_dcgan_weights_init():
    """DCGAN's ``netG.apply(weights_init)``: children before parents, in PyTorch's order;
    conv weights N(0, 0.02), BatchNorm weights N(1, 0.02) and biases 0."""
    def net(lib):
        return lib.nn.Sequential(lib.nn.ConvTranspose2d(16, 64, 4, 1, 0, bias=False), lib.nn.BatchNorm2d(64),
                                 lib.nn.ReLU(True),
                                 lib.nn.Sequential(lib.nn.Conv2d(64, 64, 3), lib.nn.BatchNorm2d(64)))
    orders = []
    for lib in (torch, minigan):
        seen = []
        model = net(lib)
        assert model.apply(lambda m: seen.append(type(m).__name__)) is model
        orders.append(seen)
    assert orders[0] == orders[1]

    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.constant_(m.bias, 0)

    minigan.manual_seed(0)
    model = net(minigan).apply(weights_init)
    w = model[0].weight.detach().numpy()
    assert abs(w.mean()) < 0.002 and abs(w.std() - 0.02) < 0.002
    bn = model[3][1]
    assert abs(bn.weight.detach().numpy().mean() - 1) < 0.01 and not bn.bias.detach().numpy().any()
    assert model[0].weight.requires_grad and model[0].weight.is_leaf
    nn.init.zeros_(bn.weight)
    nn.init.ones_(bn.bias)
    assert not bn.weight.detach().numpy().any() and (bn.bias.detach().numpy() == 1).all()


@pytest.mark.parametrize("device", DEVICES)
def test_inplace_activations_are_accepted_and_compute_the_same(device):
    """``ReLU(inplace=True)`` / ``LeakyReLU(0.2, inplace=True)`` print as PyTorch's and give its
    outputs and gradients. (minigan computes them out of place: same numbers, no aliasing.)"""
    for m_act, t_act in ((nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
                         (nn.LeakyReLU(0.2, inplace=True), torch.nn.LeakyReLU(0.2, inplace=True))):
        assert repr(m_act) == repr(t_act)
        t_model = torch.nn.Sequential(torch.nn.Linear(5, 7), t_act, torch.nn.Linear(7, 2)).double()
        m_model = nn.Sequential(nn.Linear(5, 7), m_act, nn.Linear(7, 2)).double().to(device)
        copy_parameters(t_model, m_model)
        compare_module(t_model, m_model, [np.random.default_rng(3).standard_normal((4, 5))], "float64")
    x = minigan.tensor([-1.0, 1.0])
    minigan.nn.functional.relu(x, inplace=True)
    minigan.nn.functional.leaky_relu(x, 0.2, inplace=True)


def test_flatten_defaults_like_torch():
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5))
    for args in ((), (0,), (2,), (1, 2), (-3, -2)):
        compare_module(torch.nn.Flatten(*args), nn.Flatten(*args), [x], "float64")
