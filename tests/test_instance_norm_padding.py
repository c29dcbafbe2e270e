"""InstanceNorm1d/2d and the padding layers (ReflectionPad2d and kin) - the building blocks of
pix2pix's and CycleGAN's generators - against PyTorch's, on every device."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import minigan
from minigan import nn
from minigan.optim import swa_utils
from test_nn_helpers import DEVICES, DTYPES, assert_close, compare_module, copy_parameters, float64_inputs, mg

NORMS = [("InstanceNorm2d", (2, 3, 5, 4), {}),
         ("InstanceNorm2d", (2, 3, 5, 4), {"affine": True}),
         ("InstanceNorm2d", (3, 4, 4), {"affine": True, "track_running_stats": True}),   # one sample
         ("InstanceNorm1d", (4, 3, 6), {"track_running_stats": True, "momentum": 0.3}),
         ("InstanceNorm1d", (2, 3, 6), {"affine": True, "track_running_stats": True, "momentum": None}),
         ("InstanceNorm1d", (3, 7), {})]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, shape, kwargs", NORMS)
def test_instance_norm_trains_and_evaluates_as_pytorch(device, dtype, name, shape, kwargs):
    """Three training steps (output, input and parameter gradients, running statistics after
    each) and then eval mode, from PyTorch's start."""
    theirs = getattr(torch.nn, name)(3, **kwargs).to(getattr(torch, dtype))
    ours = getattr(nn, name)(3, **kwargs).to(dtype).to(device)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    copy_parameters(theirs, ours)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + step
        compare_module(theirs, ours, [x], dtype, seed=step)
        for key, value in theirs.state_dict().items():
            assert_close(ours.state_dict()[key], value, dtype, what=key)
    theirs.eval(), ours.eval()
    compare_module(theirs, ours, [rng.standard_normal(shape)], dtype)


def test_instance_norm_gradcheck_and_gradgradcheck():
    x, w, b = float64_inputs(np.random.default_rng(1).standard_normal((2, 3, 3, 2)),
                             np.random.default_rng(2).uniform(0.5, 1.5, 3), np.random.default_rng(3).standard_normal(3))
    fn = lambda x, w, b: nn.functional.instance_norm(x, weight=w, bias=b)  # noqa: E731
    assert minigan.gradcheck(fn, (x, w, b))
    assert minigan.gradgradcheck(fn, (x, w, b))


def test_instance_norm_refuses_what_pytorch_refuses():
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.InstanceNorm2d(3)(minigan.zeros(4, 2))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), but got: 4"):
        nn.InstanceNorm2d(3, affine=True)(minigan.zeros(1, 4, 2, 2))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm2d(3)(minigan.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        nn.InstanceNorm2d(3)(minigan.zeros(1, 3, 1, 1))


def test_update_bn_leaves_instance_norm_alone_as_pytorch():
    ours = nn.Sequential(nn.Conv2d(1, 2, 3), nn.InstanceNorm2d(2, track_running_stats=True))
    ours(minigan.randn(2, 1, 5, 5))
    before = ours[1].running_mean.numpy().copy()
    swa_utils.update_bn([minigan.randn(2, 1, 5, 5)], ours)
    assert np.array_equal(ours[1].running_mean.numpy(), before)


PADS = [("ReflectionPad2d", ((1, 2, 0, 3),), (2, 3, 4, 5)),
        ("ReflectionPad2d", (2,), (3, 4, 5)),
        ("ReflectionPad1d", ((3, 1),), (2, 3, 5)),
        ("ReplicationPad2d", ((3, 0, 1, 4),), (2, 2, 3, 3)),
        ("ReplicationPad1d", (2,), (3, 4)),
        ("CircularPad2d", ((1, 3, 2, 0),), (1, 2, 3, 4)),
        ("CircularPad1d", (2,), (2, 2, 3)),
        ("ZeroPad2d", ((1, 0, 2, 3),), (2, 3, 4, 4)),
        ("ZeroPad1d", (2,), (2, 3, 4)),
        ("ConstantPad2d", (1, 0.5), (2, 3, 3)),
        ("ConstantPad1d", ((2, 1), -1.0), (3, 4))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name, args, shape", PADS)
def test_padding_layers_match_pytorch(device, name, args, shape):
    theirs, ours = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(4).standard_normal(shape)
    if device == "cpu":      # values and gradients; elsewhere the values (the same ops run)
        compare_module(theirs, ours, [x], "float64")
    out = ours(mg(x, device=device))
    np.testing.assert_array_equal(out.cpu().numpy(), theirs(torch.tensor(x)).numpy())


def test_padding_refusals_name_the_problem():
    with pytest.raises(RuntimeError, match=r"reflect padding \(4, 0\) must be smaller than the padded dimension 2 of size 4"):
        nn.ReflectionPad2d((0, 0, 4, 0))(minigan.zeros(1, 1, 4, 4))
    with pytest.raises(RuntimeError, match="circular padding .* can wrap at most once"):
        nn.CircularPad1d(5)(minigan.zeros(1, 1, 4))
    with pytest.raises(NotImplementedError, match="pads the last 1, 2 or 3 dimensions"):
        nn.functional.pad(minigan.zeros(4), (1, 1), mode="reflect")
    with pytest.raises(NotImplementedError, match="mode 'wrap' is not supported"):
        nn.functional.pad(minigan.zeros(2, 4), (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="padding must be an int or 4 ints"):
        nn.ReflectionPad2d((1, 2))
    with pytest.raises(RuntimeError, match="a dim appears multiple times"):
        minigan.zeros(2, 3).flip(0, -2)


def test_a_cyclegan_style_block_trains_as_in_pytorch():
    """ReflectionPad2d -> Conv2d -> InstanceNorm2d -> ReLU (CycleGAN's residual block, one
    half), two SGD steps in float64 from PyTorch's weights: the same weights after."""
    def block(lib):
        return lib.nn.Sequential(lib.nn.ReflectionPad2d(1), lib.nn.Conv2d(2, 2, 3),
                                 lib.nn.InstanceNorm2d(2, affine=True), lib.nn.ReLU()).double()
    torch.manual_seed(0)
    theirs, ours = block(torch), block(minigan)
    ours.load_state_dict({k: minigan.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    for lib, model in ((torch, theirs), (minigan, ours)):
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        data = np.random.default_rng(5)
        for _ in range(2):
            x = lib.tensor(data.standard_normal((2, 2, 5, 5)))
            loss = (model(x) + x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=key)
