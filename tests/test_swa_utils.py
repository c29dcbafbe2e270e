"""``copy.deepcopy`` of tensors and modules, ``lerp``, and ``minigan.optim.swa_utils``
(AveragedModel, the EMA / SWA averaging functions, update_bn, SWALR) against PyTorch's."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.optim import swa_utils
from device_params import DEVICES

torch = pytest.importorskip("torch")


# ============================================================================== deepcopy
def test_deepcopy_of_a_leaf_owns_its_numbers_and_keeps_grad_and_flags():
    t = minigan.tensor([1.0, 2.0], requires_grad=True)
    t.grad = minigan.tensor([0.5, 0.5])
    c = copy.deepcopy(t)
    assert c is not t and c.requires_grad and c.creator is None
    assert np.array_equal(c.detach().numpy(), t.detach().numpy()) and np.array_equal(c.grad.detach().numpy(), [0.5, 0.5])
    with minigan.no_grad():
        c.add_(1.0)
    assert t.detach().numpy().tolist() == [1.0, 2.0]          # not a view: its own array
    tt = torch.tensor([1.0, 2.0], requires_grad=True)
    tt.grad = torch.tensor([0.5, 0.5])
    assert copy.deepcopy(tt).grad is not None         # PyTorch copies a plain tensor's grad too


def test_deepcopy_refuses_a_tensor_a_graph_computed_as_pytorch_does():
    x = minigan.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(torch.tensor([1.0], requires_grad=True) * 2)


def test_deepcopy_of_a_module_matches_pytorch_grads_shared_weights_and_hooks():
    """A Parameter's copy has no grad (PyTorch's rule); a weight two layers share stays shared
    in the copy; forward hooks come along; the copy trains without touching the original."""
    for lib in (minigan, torch):
        lin = lib.nn.Linear(3, 3)
        model = lib.nn.Sequential(lin, lib.nn.Tanh(), lib.nn.Linear(3, 3))
        model[2].weight = lin.weight                  # tied
        calls = []
        model[0].register_forward_hook(lambda m, i, o: calls.append(1))
        model(lib.ones(2, 3)).sum().backward()
        twin = copy.deepcopy(model)
        assert twin[0].weight.grad is None
        assert twin[2].weight is twin[0].weight and twin[0].weight is not lin.weight
        twin(lib.ones(2, 3))
        assert len(calls) == 2
        before = lin.weight.detach().clone()
        opt = lib.optim.SGD(twin.parameters(), lr=0.5)
        twin(lib.ones(2, 3)).sum().backward()
        opt.step()
        assert lib.equal(lin.weight.detach(), before)
        assert not lib.equal(twin[0].weight.detach(), before)


@pytest.mark.parametrize("device", DEVICES)
def test_deepcopy_of_every_model_gives_the_same_numbers(device):
    """Every network of the book and beyond (registry), and both spectral norms: a copy with
    the same state dict (keys, order, numbers), its own parameters, the same output."""
    from minigan import registry
    minigan.manual_seed(0)
    modules = []
    for name in registry.NAMES:
        built = registry.get(name).build(device=device)
        parts = [built] if hasattr(built, "module") else [built.D, built.G]
        modules += [(name, part.module) for part in parts]
    sn = nn.Sequential(nn.utils.spectral_norm(nn.Linear(4, 4)),
                       nn.utils.parametrizations.spectral_norm(nn.Linear(4, 2))).to(device)
    modules.append(("spectral norms", sn))
    for name, module in modules:
        twin = copy.deepcopy(module)
        ours, theirs = module.state_dict(), twin.state_dict()
        assert list(ours) == list(theirs), name
        for key in ours:
            assert np.array_equal(ours[key].detach().cpu().numpy(), theirs[key].detach().cpu().numpy()), (name, key)
        assert not any(a is b for a, b in zip(module.parameters(), twin.parameters())), name
        assert type(twin) is type(module)
    x = minigan.randn(3, 4, device=device)
    sn.eval()
    twin = copy.deepcopy(sn)
    assert type(twin[1]).__name__ == "ParametrizedLinear"
    assert np.array_equal(twin(x).detach().cpu().numpy(), sn(x).detach().cpu().numpy())


# ============================================================================== lerp
def test_lerp_takes_the_nearer_end_as_pytorch_and_lerp_in_place():
    a, b = np.array([1.0, -2.0, 1e8]), np.array([3.0, 5.0, -1e-8])
    for w in (0.0, 0.25, 0.5, 0.9, 1.0, 1.7, -0.4):
        ours = minigan.lerp(minigan.tensor(a), minigan.tensor(b), w).detach().numpy()
        theirs = torch.lerp(torch.tensor(a), torch.tensor(b), w).detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-15, atol=0)
    assert minigan.lerp(minigan.tensor(a), minigan.tensor(b), 1.0).detach().numpy().tolist() == b.tolist()
    t = minigan.tensor(a)
    assert t.lerp_(minigan.tensor(b), 0.5) is t and np.allclose(t.detach().numpy(), (a + b) / 2)
    p = nn.Parameter(minigan.zeros(2))
    with pytest.raises(RuntimeError, match="lerp_: a leaf Variable"):
        p.lerp_(minigan.ones(2), 0.1)
    with pytest.raises(TypeError, match="lerp: end must be a Tensor"):
        minigan.lerp(minigan.ones(2), 1.0, 0.5)


# ============================================================================== AveragedModel
def _model(lib, batchnorm=True):
    layers = [lib.nn.Linear(4, 6), lib.nn.BatchNorm1d(6), lib.nn.LeakyReLU(0.2), lib.nn.Linear(6, 2)]
    if not batchnorm:
        layers.pop(1)
    return lib.nn.Sequential(*layers).double()


def _start(batchnorm=True):
    """The same model in both frameworks (PyTorch's numbers loaded into minigan's)."""
    torch.manual_seed(0)
    theirs = _model(torch, batchnorm)
    ours = _model(minigan, batchnorm)
    ours.load_state_dict({k: minigan.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


AVERAGES = {
    "swa (default)": lambda su: {},
    "ema multi": lambda su: {"multi_avg_fn": su.get_ema_multi_avg_fn(0.9)},
    "ema one by one": lambda su: {"avg_fn": su.get_ema_avg_fn(0.8)},
    "swa multi": lambda su: {"multi_avg_fn": su.get_swa_multi_avg_fn()},
    "swa one by one": lambda su: {"avg_fn": su.get_swa_avg_fn()},
}


def _train_and_average(lib, model, averaged, steps=6):
    rng = np.random.default_rng(1)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for step in range(steps):
        x = lib.tensor(rng.standard_normal((8, 4)))
        y = lib.tensor(rng.standard_normal((8, 2)))
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        averaged.update_parameters(model)
    return averaged


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("average", list(AVERAGES))
def test_averaged_model_matches_pytorch(average, use_buffers):
    """Six SGD steps, an update after each: every averaged parameter and buffer (BatchNorm's
    running statistics averaged with ``use_buffers``, copied without), ``n_averaged`` and the
    averaged model's output in eval mode equal PyTorch's (float64)."""
    ours, theirs = _start()
    mine = swa_utils.AveragedModel(ours, use_buffers=use_buffers, **AVERAGES[average](swa_utils))
    ref = torch.optim.swa_utils.AveragedModel(theirs, use_buffers=use_buffers,
                                              **AVERAGES[average](torch.optim.swa_utils))
    if average == "swa multi" and use_buffers:   # an int64 buffer: refused by both
        with pytest.raises(RuntimeError, match="cannot average integer tensors"):
            _train_and_average(minigan, ours, mine)
        with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
            _train_and_average(torch, theirs, ref)
        return
    _train_and_average(minigan, ours, mine)
    _train_and_average(torch, theirs, ref)
    a, b = mine.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_allclose(a[key].detach().numpy(), b[key].detach().numpy(), rtol=1e-12, atol=1e-14,
                                   err_msg=key)
    assert int(mine.n_averaged) == 6
    x = np.random.default_rng(2).standard_normal((5, 4))
    mine.eval(), ref.eval()
    np.testing.assert_allclose(mine(minigan.tensor(x)).detach().numpy(), ref(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12, atol=1e-14)
    # the average is not the model: after six moves it lies behind it
    assert not np.allclose(mine.module[0].weight.detach().numpy(), ours[0].weight.detach().numpy())


def test_averaged_model_first_update_copies_and_state_dict_round_trip(tmp_path):
    ours, _ = _start(batchnorm=False)
    avg = swa_utils.AveragedModel(ours, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.5))
    with minigan.no_grad():
        for p in avg.parameters():
            p.fill_(7.0)
    avg.update_parameters(ours)     # n_averaged 0: a copy, whatever the decay
    for p, q in zip(avg.parameters(), ours.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    assert not any(p is q for p, q in zip(avg.parameters(), ours.parameters()))
    with minigan.no_grad():
        for q in ours.parameters():
            q.mul_(3.0)
    avg.update_parameters(ours)
    np.testing.assert_allclose(avg.module[0].weight.detach().numpy(), 2 * ours[0].weight.detach().numpy() / 3)
    minigan.save(avg.state_dict(), tmp_path / "ema.pt")
    again = swa_utils.AveragedModel(_start(batchnorm=False)[0])
    again.load_state_dict(minigan.load(tmp_path / "ema.pt"))
    assert int(again.n_averaged) == 2
    assert np.array_equal(again.module[0].weight.detach().numpy(), avg.module[0].weight.detach().numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_averaged_model_on_every_device(device):
    """The EMA and SWA paths on the strict stand-in (and CUDA) give the CPU's numbers (on CUDA,
    integer buffers included, which PyTorch's foreach path there would refuse)."""
    results = {}
    for where in ("cpu", device):
        for name in ("swa (default)", "ema multi"):
            model = _start()[0].to(where)
            avg = swa_utils.AveragedModel(model, use_buffers=True, **AVERAGES[name](swa_utils))
            for k in range(3):
                with minigan.no_grad():
                    for p in model.parameters():
                        p.add_(0.1 * (k + 1))
                model(minigan.ones(3, 4, dtype=minigan.float64, device=where))
                avg.update_parameters(model)
            results[where, name] = {k: v.detach().cpu().numpy() for k, v in avg.state_dict().items()}
    for name in ("swa (default)", "ema multi"):
        # On CUDA PyTorch's default SWA takes its foreach path, a lerp whose weight 1 / (n + 1)
        # is a float32 number; its CPU path divides by n + 1. minigan follows both.
        rtol, atol = (1e-6, 1e-7) if device == "cuda" and name == "swa (default)" else (1e-13, 0)
        for key, value in results["cpu", name].items():
            np.testing.assert_allclose(results[device, name][key], value, rtol=rtol, atol=atol, err_msg=key)


def test_averaged_model_errors():
    ours, _ = _start()
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(ours, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    for make in (swa_utils.get_ema_avg_fn, swa_utils.get_ema_multi_avg_fn):
        with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
            make(1.5)
    avg = swa_utils.AveragedModel(ours)
    with pytest.raises(ValueError, match="not the same model"):
        avg.update_parameters(nn.Linear(4, 6).double())
    with pytest.raises(TypeError, match="must be an nn.Module"):
        swa_utils.AveragedModel(minigan.ones(2))


# ============================================================================== update_bn
def test_update_bn_matches_pytorch():
    """The running statistics recomputed over a loader of batches (and of (x, y) pairs): a
    plain mean over the batches, the momentum and the mode restored."""
    ours, theirs = _start()
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((7, 4)) * 2 + 1 for _ in range(4)]
    ours.eval(), theirs.eval()
    swa_utils.update_bn([minigan.tensor(b) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_allclose(ours.state_dict()[key].detach().numpy(), theirs.state_dict()[key].detach().numpy(),
                                   rtol=1e-12, err_msg=key)
    assert not ours.training and ours[1].momentum == 0.1
    swa_utils.update_bn([minigan.ones(2, 4)], nn.Linear(4, 2))   # no BatchNorm: nothing to do


# ============================================================================== SWALR
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 4])
def test_swalr_rates_match_pytorch(strategy, anneal_epochs):
    rates = {}
    for lib in (minigan, torch):
        a, b = lib.nn.Parameter(lib.zeros(2)), lib.nn.Parameter(lib.zeros(3))
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, swa_lr=[0.01, 0.02], anneal_epochs=anneal_epochs,
                                          anneal_strategy=strategy)
        seen = [sched.get_last_lr()]
        for _ in range(7):
            opt.step()
            sched.step()
            seen.append(sched.get_last_lr())
        rates[lib.__name__] = seen
    np.testing.assert_allclose(rates["minigan"], rates["torch"], rtol=1e-15)
    assert rates["minigan"][-1] == pytest.approx([0.01, 0.02])


def test_swalr_state_dict_and_errors():
    opt = minigan.optim.SGD([nn.Parameter(minigan.zeros(2))], lr=0.1)
    sched = swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3)
    sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and "anneal_func" not in state
    again = swa_utils.SWALR(minigan.optim.SGD([nn.Parameter(minigan.zeros(2))], lr=0.1), swa_lr=0.05)
    again.load_state_dict(state)
    assert again.anneal_epochs == 3 and again.anneal_func(0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear'"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="swa_lr must have the same length as optimizer.param_groups"):
        swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])


def test_the_ema_fast_path_is_lerp_bit_for_bit():
    """The multi-tensor EMA / SWA functions step arrays directly (swa_utils._lerp_into); their
    numbers are ``lerp_``'s exactly, on both sides of the switch at weight 0.5."""
    rng = np.random.default_rng(4)
    for decay in (0.999, 0.7, 0.5, 0.1):
        start = rng.standard_normal((5, 7)).astype(np.float32)
        end = rng.standard_normal((5, 7)).astype(np.float32)
        by_method = minigan.tensor(start)
        by_method.lerp_(minigan.tensor(end), 1 - decay)
        fast = nn.Parameter(minigan.tensor(start))
        swa_utils.get_ema_multi_avg_fn(decay)([fast], [minigan.tensor(end)], None)
        assert np.array_equal(fast.detach().numpy(), by_method.numpy()), decay
    with pytest.raises(RuntimeError, match="not the same model"):
        swa_utils.get_ema_multi_avg_fn(0.9)([nn.Parameter(minigan.zeros(3))], [minigan.zeros(4)], None)
