"""SRGAN's and the image GANs' blocks beyond the book - PixelShuffle, PReLU, AdaptiveAvgPool2d,
Dropout2d - and orthogonal initialisation and parameters_to_vector, against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minigan
from minigan import nn
from test_nn_helpers import DEVICES, DTYPES, compare_module, copy_parameters

LAYERS = [("PixelShuffle", (2,), (2, 8, 3, 4)),
          ("PixelUnshuffle", (2,), (2, 2, 4, 6)),
          ("PReLU", (), (2, 3, 4)),
          ("PReLU", (3,), (2, 3, 4, 4)),
          ("AdaptiveAvgPool2d", (1,), (2, 3, 5, 7)),
          ("AdaptiveAvgPool2d", ((3, 2),), (2, 3, 7, 5)),
          ("AdaptiveAvgPool2d", ((4, None),), (3, 6, 5))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, args, shape", LAYERS)
def test_layers_match_pytorch(device, dtype, name, args, shape):
    theirs = getattr(torch.nn, name)(*args).to(getattr(torch, dtype))
    ours = getattr(nn, name)(*args).to(dtype).to(device)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.05, 0.5)
    copy_parameters(theirs, ours)
    assert repr(ours) == repr(theirs)
    if not list(ours.parameters()) and device != "cpu":   # no parameter tells compare_module the device
        out = ours(minigan.tensor(np.ones(shape), dtype=dtype, device=device))
        np.testing.assert_allclose(out.cpu().numpy(), theirs(torch.ones(shape, dtype=getattr(torch, dtype))).numpy())
        return
    compare_module(theirs, ours, [np.random.default_rng(0).standard_normal(shape)], dtype)


def test_pixel_shuffle_refuses_channels_that_do_not_divide():
    with pytest.raises(RuntimeError, match=r"input.size\(-3\)=6 is not divisible by 4"):
        nn.PixelShuffle(2)(minigan.zeros(1, 6, 2, 2))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        nn.PReLU(3)(minigan.zeros(2, 4))


def test_dropout2d_drops_whole_channels():
    minigan.manual_seed(0)
    x = minigan.ones(64, 16, 3, 3, requires_grad=True)
    layer = nn.Dropout2d(0.25)
    y = layer(x)
    values = y.detach().numpy().reshape(64 * 16, 9)
    assert all(len(set(row)) == 1 for row in values)                  # a channel: all or none
    dropped = float(np.mean(values[:, 0] == 0))
    assert 0.2 < dropped < 0.3 and set(np.unique(values)) == {0.0, np.float32(1 / 0.75)}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())   # the gradient is the mask
    layer.eval()
    assert layer(x) is x
    minigan.manual_seed(0)
    assert np.array_equal(nn.Dropout2d(0.25)(x).detach().numpy(), y.detach().numpy())   # seeded


@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (4, 2, 3, 3), (5, 5)])
def test_orthogonal_init_gives_orthonormal_rows_or_columns(shape):
    w = nn.Parameter(minigan.empty(*shape))
    nn.init.orthogonal_(w, gain=2.0)
    m = w.detach().numpy().reshape(shape[0], -1).astype(np.float64) / 2.0
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        nn.init.orthogonal_(minigan.empty(3))
    p = nn.Parameter(minigan.zeros(3, 3))
    nn.init.orthogonal_(p.detach())                  # PyTorch's spelling through an alias
    assert np.abs(p.detach().numpy()).sum() > 0


def test_parameters_to_vector_and_back_match_pytorch():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.PReLU(4), torch.nn.Linear(4, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 4), nn.PReLU(4), nn.Linear(4, 2)).double()
    copy_parameters(theirs, ours)
    v_t = torch.nn.utils.parameters_to_vector(theirs.parameters())
    v_m = nn.utils.parameters_to_vector(ours.parameters())
    np.testing.assert_array_equal(v_m.detach().numpy(), v_t.detach().numpy())
    nn.utils.vector_to_parameters(v_m * 2, ours.parameters())
    torch.nn.utils.vector_to_parameters(v_t * 2, theirs.parameters())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    with pytest.raises(RuntimeError, match="a vector of 30 numbers is needed"):
        nn.utils.vector_to_parameters(minigan.zeros(3), ours.parameters())
