"""nn.init and the layers' default initialisation against PyTorch's formulas and bounds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import minigan
from minigan import nn
from minigan.nn import init
from test_nn_helpers import DEVICES, host

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_is_torchs(nonlinearity):
    assert init.calculate_gain(nonlinearity) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity), rel=1e-15)
    if nonlinearity == "leaky_relu":
        for slope in (0.02, 0.2, math.sqrt(5), 0):
            assert init.calculate_gain(nonlinearity, slope) == torch.nn.init.calculate_gain(nonlinearity, slope)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(200, 784), (10, 1, 5, 5), (256, 3, 8, 8), (3, 256, 8, 8), (4, 3, 2)])
def test_fan_in_and_fan_out_are_torchs(shape):
    """(3, 256, 8, 8) is ConvTranspose2d(3, 256, 8)'s weight: fan_in comes from dim 1 (256 * 64),
    as PyTorch reads it (BOOK_SPEC section 1.9)."""
    t = minigan.zeros(*shape)
    assert init._calculate_fan_in_and_fan_out(t) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    if shape == (3, 256, 8, 8):
        assert init._calculate_fan_in_and_fan_out(t)[0] == 256 * 64


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(minigan.zeros(5))


def _empirical_bound_check(values, bound):
    values = np.abs(host(values))
    assert values.max() <= bound * (1 + 1e-6), f"max |w| {values.max()} above the bound {bound}"
    assert values.max() >= bound * 0.99, f"max |w| {values.max()} far below the bound {bound}"


@pytest.mark.parametrize("device", DEVICES)
def test_linear_default_init_is_torchs_bound(device):
    """U(-1/sqrt(in), 1/sqrt(in)) for weight and bias (kaiming_uniform_ with a = sqrt(5))."""
    minigan.manual_seed(0)
    lin = nn.Linear(784, 200, device=device)
    bound = 1 / math.sqrt(784)
    assert init.default_bound(lin.weight) == bound
    _empirical_bound_check(lin.weight, bound)
    b = host(lin.bias)
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    w = host(lin.weight)
    assert abs(w.mean()) < 0.01 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    # PyTorch's layer draws from the same interval
    t_w = torch.nn.Linear(784, 200).weight.detach().numpy()
    assert abs(np.abs(t_w).max() - np.abs(w).max()) < 0.01 * bound


def test_kaiming_uniform_sqrt5_bound_formula_for_every_fan():
    for fan_in in (1, 3, 100, 363, 784, 116412):
        gain = init.calculate_gain("leaky_relu", math.sqrt(5))
        bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
        assert bound == pytest.approx(1 / math.sqrt(fan_in), rel=1e-14)
        w = init.kaiming_uniform_(minigan.zeros(50, fan_in if fan_in < 1000 else 10), a=math.sqrt(5))
        limit = 1 / math.sqrt(w.shape[1])
        assert np.abs(host(w)).max() <= limit * (1 + 1e-6)


@pytest.mark.parametrize("shape", [(10, 1, 5, 5), (256, 3, 8, 8), (3, 256, 8, 8)])
def test_conv_shaped_weights_get_torchs_default_bound(shape):
    """What Conv2d / ConvTranspose2d do with their (out|in, in|out, k, k) weights: the bound is
    1/sqrt(dim 1 * k * k), e.g. 1/sqrt(256 * 64) for ConvTranspose2d(3, 256, 8)'s (3, 256, 8, 8)."""
    minigan.manual_seed(1)
    w = nn.Parameter(minigan.zeros(*shape))
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(shape[1] * shape[2] * shape[3])
    assert init.default_bound(w) == pytest.approx(bound, rel=1e-15)
    _empirical_bound_check(w, bound)
    t_w = torch.empty(shape)
    torch.nn.init.kaiming_uniform_(t_w, a=math.sqrt(5))
    assert np.abs(t_w.numpy()).max() <= bound * (1 + 1e-6)


@pytest.mark.parametrize("layer", ["LayerNorm", "BatchNorm1d", "BatchNorm2d"])
def test_norm_layers_start_at_one_and_zero(layer):
    m, t = getattr(nn, layer)(7), getattr(torch.nn, layer)(7)
    for (name, p), (t_name, tp) in zip(m.state_dict().items(), t.state_dict().items()):
        assert name == t_name
        np.testing.assert_array_equal(host(p), tp.numpy())


def test_init_functions_draw_the_right_distributions():
    big = (400, 500)
    w = init.uniform_(minigan.zeros(*big), -0.3, 0.7)
    assert host(w).min() >= -0.3 and host(w).max() < 0.7 and abs(host(w).mean() - 0.2) < 0.01
    w = init.normal_(minigan.zeros(*big), 2.0, 0.5)
    assert abs(host(w).mean() - 2.0) < 0.01 and abs(host(w).std() - 0.5) < 0.01
    np.testing.assert_array_equal(host(init.constant_(minigan.zeros(3), 0.25)), 0.25)
    np.testing.assert_array_equal(host(init.ones_(minigan.zeros(3))), 1.0)
    np.testing.assert_array_equal(host(init.zeros_(minigan.ones(3))), 0.0)
    fan_in, fan_out = 500, 400
    a = math.sqrt(6 / (fan_in + fan_out)) * 1.5
    _empirical_bound_check(init.xavier_uniform_(minigan.zeros(*big), gain=1.5), a)
    std = math.sqrt(2 / (fan_in + fan_out))
    assert abs(host(init.xavier_normal_(minigan.zeros(*big))).std() - std) < 0.01 * std
    gain = init.calculate_gain("relu")
    _empirical_bound_check(init.kaiming_uniform_(minigan.zeros(*big), nonlinearity="relu"),
                           math.sqrt(3) * gain / math.sqrt(fan_in))
    _empirical_bound_check(init.kaiming_uniform_(minigan.zeros(*big), mode="fan_out", nonlinearity="relu"),
                           math.sqrt(3) * gain / math.sqrt(fan_out))
    w = host(init.kaiming_normal_(minigan.zeros(*big), a=0.2))
    expected = init.calculate_gain("leaky_relu", 0.2) / math.sqrt(fan_in)
    assert abs(w.std() - expected) < 0.01 * expected
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(minigan.zeros(3, 3), mode="fan_avg")


@pytest.mark.parametrize("device", DEVICES)
def test_init_works_on_parameters_in_place(device):
    """On a Parameter with grad enabled (no 'leaf in-place' error), same object, same dtype
    and device, still requiring grad."""
    p = nn.Parameter(minigan.zeros(4, 5, dtype=minigan.float64, device=device))
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_uniform_, init.zeros_):
        out = fn(p)
        assert out is p and p.requires_grad and p.dtype == minigan.float64 and p.device == minigan.device(device)


def test_manual_seed_gives_identical_models_and_other_seeds_differ():
    def book_d():
        return nn.Sequential(nn.Linear(784, 200), nn.LeakyReLU(0.02), nn.LayerNorm(200),
                             nn.Linear(200, 1), nn.Sigmoid())

    minigan.manual_seed(0)
    a = book_d()
    minigan.manual_seed(0)
    b = book_d()
    minigan.manual_seed(1)
    c = book_d()
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        np.testing.assert_array_equal(host(pa), host(pb), err_msg=name)
        if "0." in name or "3." in name:
            assert not np.array_equal(host(pa), host(pc)), name


def test_seeded_init_is_the_same_on_every_device():
    minigan.manual_seed(5)
    a = nn.Linear(6, 3)
    minigan.manual_seed(5)
    b = nn.Linear(6, 3, device="strict")
    np.testing.assert_array_equal(host(a.weight), host(b.weight))


def test_init_accepts_a_numpy_generator():
    w1 = init.uniform_(minigan.zeros(5), generator=np.random.default_rng(3))
    w2 = init.uniform_(minigan.zeros(5), generator=np.random.default_rng(3))
    np.testing.assert_array_equal(host(w1), host(w2))


def weights_init(m):
    """pytorch.org's DCGAN tutorial's initialisation, as written there (also test_surface.py)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


@pytest.mark.parametrize("device", DEVICES)
def test_the_dcgan_tutorials_weights_init_on_data_arrays(device):
    """PyTorch's DCGAN tutorial initialises through ``m.weight.data`` (the raw array in
    minigan): the array is filled in place, with the numbers the Tensor path draws."""
    def net():
        return nn.Sequential(nn.ConvTranspose2d(4, 3, 4, 2, 1, bias=False), nn.BatchNorm2d(3)).to(device)

    a, b = net(), net()
    minigan.manual_seed(5)
    a.apply(weights_init)
    minigan.manual_seed(5)
    init.normal_(b[0].weight, 0.0, 0.02)
    init.normal_(b[1].weight, 1.0, 0.02)
    init.constant_(b[1].bias, 0)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(host(pa), host(pb))
    assert abs(float(np.std(host(a[0].weight))) - 0.02) < 0.01
    with pytest.raises(TypeError, match="nn.init: expected a Tensor or its .data array, got list"):
        init.zeros_([1.0, 2.0])
