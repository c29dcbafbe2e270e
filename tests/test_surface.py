"""PyTorch's surface beyond the book's needs, as tutorials use it: linspace, eye, the new_*
methods and type_as, mm/bmm's refusals, and nn.utils' gradient clipping - against PyTorch.
(mm and bmm's values and gradients are in the op case table.)"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from device_params import DEVICES

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("device", DEVICES)
def test_linspace_and_eye_match_torch(device):
    for args in [(-1, 1, 5), (0.0, 1.0, 1), (3, -2.5, 7), (0, 10, 0), (1e-3, 1e3, 11)]:
        for dtype in ("float32", "float64"):
            got = minigan.linspace(*args, dtype=getattr(minigan, dtype), device=device)
            want = torch.linspace(*args, dtype=getattr(torch, dtype))
            assert got.dtype.name == dtype and got.device == minigan.device(device)
            np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6 if dtype == "float32" else 1e-14)
    x = minigan.linspace(-1, 1, 4, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    for n, m in [(3, None), (2, 4), (4, 1), (0, 2)]:
        np.testing.assert_array_equal(minigan.eye(n, m, device=device).cpu().numpy(),
                                      (torch.eye(n) if m is None else torch.eye(n, m)).numpy())
    assert minigan.eye(2, dtype=minigan.int64).dtype == minigan.int64
    with pytest.raises(RuntimeError, match="linspace: number of steps must be a non-negative integer"):
        minigan.linspace(0, 1, -1)
    with pytest.raises(RuntimeError, match="eye: n must be a non-negative integer, got 2.5"):
        minigan.eye(2.5)


@pytest.mark.parametrize("device", DEVICES)
def test_new_methods_and_type_as_take_the_tensors_dtype_and_device(device):
    x = minigan.ones(2, dtype=minigan.float64, device=device)
    for made, shape, value in [(x.new_zeros(3), (3,), 0.0), (x.new_ones((2, 2)), (2, 2), 1.0),
                               (x.new_full((2,), 7), (2,), 7.0), (x.new_tensor([4, 5]), (2,), None),
                               (x.new_empty(1, 2), (1, 2), None)]:
        assert made.dtype == minigan.float64 and made.device == x.device and made.shape == shape
        if value is not None:
            assert made.cpu().numpy().tolist() == np.full(shape, value).tolist()
    assert x.new_zeros(2, dtype=minigan.int64).dtype == minigan.int64
    t = minigan.tensor([1.5, 2.5], requires_grad=True)
    y = t.type_as(x)
    assert y.dtype == minigan.float64 and y.device == x.device
    y.sum().backward()
    assert t.grad.dtype == minigan.float32 and t.grad.tolist() == [1.0, 1.0]


def test_mm_and_bmm_refuse_what_torch_refuses():
    with pytest.raises(RuntimeError, match=r"mm: both arguments must be matrices \(2-d\), got "
                                           r"shapes \(3,\) and \(3, 2\)"):
        minigan.mm(minigan.ones(3), minigan.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"bmm: expected two 3-d tensors with the same batch "
                                           r"size, got shapes \(2, 3, 4\) and \(1, 4, 5\)"):
        minigan.bmm(minigan.ones(2, 3, 4), minigan.ones(1, 4, 5))  # matmul would broadcast
    for fn, a, b in [(torch.mm, (3,), (3, 2)), (torch.bmm, (2, 3, 4), (1, 4, 5))]:
        with pytest.raises(RuntimeError):
            fn(torch.ones(*a), torch.ones(*b))


def _two_layer_grads(F, seed_grads):
    """Parameters whose .grad are set to the given arrays, in both frameworks."""
    params = []
    for g in seed_grads:
        p = (F.nn.Parameter(F.tensor(np.zeros_like(g))))
        p.grad = F.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(8)
    grads = [rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal((2, 2))]
    m_params, t_params = _two_layer_grads(minigan, grads), _two_layer_grads(torch, grads)
    m_total = minigan.nn.utils.clip_grad_norm_(m_params, max_norm, norm_type=norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(m_total.item(), t_total.item(), rtol=1e-12)
    for m, t in zip(m_params, t_params):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    assert minigan.nn.utils.clip_grad_norm_([minigan.nn.Parameter(minigan.ones(2))], 1.0).item() == 0.0


def test_clip_grad_norm_of_one_tensor_nonfinite_norms_and_clip_grad_value():
    p = minigan.nn.Parameter(minigan.zeros(3))
    p.grad = minigan.tensor([3.0, 4.0, 0.0])
    total = minigan.nn.utils.clip_grad_norm_(p, 1.0)  # a single tensor, as torch accepts
    assert total.item() == 5.0 and np.allclose(p.grad.numpy(), [0.6, 0.8, 0.0], rtol=1e-6)
    p.grad = minigan.tensor([float("inf"), 1.0, 0.0])
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm of order 2.0 of the "
                                           "gradients is non-finite"):
        minigan.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    grads = [np.array([-3.0, 0.2, 5.0]), np.array([[0.5, -0.7]])]
    m_params, t_params = _two_layer_grads(minigan, grads), _two_layer_grads(torch, grads)
    minigan.nn.utils.clip_grad_value_(m_params, 0.6)
    torch.nn.utils.clip_grad_value_(t_params, 0.6)
    for m, t in zip(m_params, t_params):
        np.testing.assert_array_equal(m.grad.numpy(), t.grad.numpy())


def test_the_pytorch_dcgan_tutorial_runs_as_written():
    """pytorch.org's DCGAN tutorial, its idioms unchanged under ``import minigan as torch``:
    weights_init through ``.data``, ``nn.ReLU(True)``, ``torch.full(..., dtype=torch.float)``,
    ``label.fill_``, ``output.view(-1)``, ``fake.detach()``, Adam with betas (small sizes)."""
    import minigan as torch  # noqa: F811 - the tutorial's name for the library
    nn, optim = torch.nn, torch.optim
    from test_nn_init import weights_init  # the tutorial's, as written there
    torch.manual_seed(999)
    nc, nz, ngf, ndf = 3, 8, 4, 4

    netG = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
    netD = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    netG.apply(weights_init)
    netD.apply(weights_init)
    first_conv = netD[0].weight.detach().numpy().copy()
    assert abs(float(first_conv.std()) - 0.02) < 0.01  # the init reached the parameters
    criterion = nn.BCELoss()
    real_label, fake_label = 1., 0.
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    real_cpu = torch.rand(2, nc, 64, 64) * 2 - 1
    b_size = real_cpu.size(0)
    netD.zero_grad()
    label = torch.full((b_size,), real_label, dtype=torch.float)
    output = netD(real_cpu).view(-1)
    errD_real = criterion(output, label)
    errD_real.backward()
    fake = netG(torch.randn(b_size, nz, 1, 1))
    label.fill_(fake_label)
    output = netD(fake.detach()).view(-1)
    errD_fake = criterion(output, label)
    errD_fake.backward()
    errD = errD_real + errD_fake
    optimizerD.step()
    netG.zero_grad()
    label.fill_(real_label)
    errG = criterion(netD(fake).view(-1), label)
    errG.backward()
    optimizerG.step()
    assert np.isfinite(errD.item()) and np.isfinite(errG.item())
    assert not np.array_equal(netD[0].weight.detach().numpy(), first_conv)
    assert netG(torch.randn(3, nz, 1, 1)).shape == (3, nc, 64, 64)
