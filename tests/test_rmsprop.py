"""RMSprop against PyTorch: the same parameters and gradients, step for step (as test_optim.py
does for SGD and Adam).

Every option (alpha, eps, weight decay, momentum, centered, maximize) over 100 float64 steps
must end at PyTorch's values with rtol 1e-10, on the CPU (in-place path) and on the "strict"
array-API device (plain path, the stand-in for CuPy), and on CUDA where a GPU is present;
then a loss-driven run, WGAN's settings, state dicts (a checkpoint resumes bit for bit, a
PyTorch state dict loads) and PyTorch's argument checks.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.optim import RMSprop
from test_optim import (assert_same, make_params, problem, run_minigan, run_torch, structure,
                        train_side_by_side)

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "strict", pytest.param("cuda", marks=pytest.mark.cuda)]

CASES = {
    "defaults": dict(),
    "wgan": dict(lr=5e-5),
    "alpha": dict(lr=0.01, alpha=0.9),
    "eps": dict(lr=0.01, eps=1e-3),
    "momentum": dict(lr=0.01, momentum=0.9),
    "centered": dict(lr=0.01, centered=True),
    "centered_small_alpha": dict(lr=0.01, alpha=0.3, centered=True),  # lerp from the other end
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "maximize": dict(lr=0.01, maximize=True),
    "everything": dict(lr=0.02, alpha=0.95, eps=1e-4, weight_decay=0.05, momentum=0.5, centered=True,
                       maximize=True),
}


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda" and not minigan.cuda.is_available():
        pytest.skip(f"CUDA not available: {minigan.cuda.unavailable_reason()}")
    return request.param


@pytest.mark.parametrize("case", CASES)
def test_rmsprop_matches_torch(case, device):
    init, grads = problem()
    theirs, _ = run_torch(torch.optim.RMSprop, CASES[case], init, grads)
    ours, _ = run_minigan(RMSprop, CASES[case], init, grads, device)
    assert_same(ours, theirs)


def test_missing_gradients_and_param_groups(device):
    """A parameter without a gradient is untouched and its step count stays; a group's own
    options override the defaults."""
    init, grads = problem(seed=1, steps=40)
    rng = np.random.default_rng(2)
    for step_grads in grads:
        for i in range(len(step_grads)):
            if rng.random() < 0.3:
                step_grads[i] = None

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.05, "momentum": 0.5, "centered": True}]
    theirs, t_opt = run_torch(torch.optim.RMSprop, dict(lr=0.01), init, grads, groups=groups)
    ours, m_opt = run_minigan(RMSprop, dict(lr=0.01), init, grads, device, groups=groups)
    assert_same(ours, theirs)
    t_sd, m_sd = t_opt.state_dict(), m_opt.state_dict()
    for i, s in m_sd["state"].items():
        assert s["step"] == t_sd["state"][i]["step"].item()


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.005, momentum=0.9, centered=True)])
def test_loss_driven_training_matches_torch(kwargs, device):
    train_side_by_side("RMSprop", kwargs, device, batch=4)


def test_step_records_no_graph_and_updates_in_place():
    params = make_params([np.ones(s) for s in [(100, 100), (5,)]])
    arrays = [p.data for p in params]
    opt = RMSprop(params, momentum=0.9, centered=True)
    for p in params:
        p.grad = minigan.ones_like(p)
    with minigan.enable_grad():
        opt.step()
    for p, a in zip(params, arrays):
        assert p.data is a and p.is_leaf and p.requires_grad and p.creator is None
        assert not np.allclose(a, 1.0)


def test_state_follows_a_dtype_change():
    params = make_params([np.ones((3, 2)), np.ones(2)])
    opt = RMSprop(params, momentum=0.9, centered=True)
    for _ in range(2):
        for p in params:
            p.grad = minigan.ones_like(p)
        opt.step()
    for p in params:
        p.data, p.grad = p.data.astype(np.float32), None
        p.grad = minigan.ones_like(p)
    opt.step()
    for p in params:
        state = opt.state[p]
        assert state["step"] == 3 and p.dtype == minigan.float32
        assert all(state[k].dtype == minigan.float32 for k in ("square_avg", "momentum_buffer", "grad_avg"))


# ============================================================================== state dicts
@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)])
def test_state_dict_round_trip_through_a_checkpoint_continues_exactly(kwargs, device, tmp_path):
    init, grads = problem(seed=8, steps=30)
    straight, _ = run_minigan(RMSprop, kwargs, init, grads, device)
    params = make_params(init, device)
    _, opt = run_minigan(RMSprop, kwargs, init, grads[:15], device, params=params)
    sd = opt.state_dict()
    minigan.save({"params": [p.detach() for p in params], "optim": sd}, tmp_path / "ckpt.npz")
    ckpt = minigan.load(tmp_path / "ckpt.npz", map_location=device)
    assert structure(ckpt["optim"]) == structure(sd)
    fresh = [nn.Parameter(t) for t in ckpt["params"]]
    fresh_opt = RMSprop(fresh, lr=123.0)  # options come from the state dict
    fresh_opt.load_state_dict(ckpt["optim"])
    assert fresh_opt.param_groups[0]["lr"] == kwargs["lr"]
    resumed, _ = run_minigan(RMSprop, kwargs, init, grads[15:], device, params=fresh, opt=fresh_opt)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a, b)


def test_state_dict_has_pytorch_structure_and_is_a_snapshot():
    init, grads = problem(seed=9, steps=5)
    kwargs = dict(lr=0.01, momentum=0.9, centered=True)
    _, opt = run_minigan(RMSprop, kwargs, init, grads)
    _, t_opt = run_torch(torch.optim.RMSprop, kwargs, init, grads)
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert structure(sd) == structure(t_sd)  # the same keys in state and in the groups
    for i, state in sd["state"].items():
        assert state["step"] == 5 == t_sd["state"][i]["step"].item()
        for key in ("square_avg", "momentum_buffer", "grad_avg"):
            np.testing.assert_allclose(state[key].numpy(), t_sd["state"][i][key].numpy(), rtol=1e-10, atol=1e-15)
    before = sd["state"][0]["square_avg"].numpy().copy()
    run_minigan(RMSprop, {}, init, grads, params=opt.param_groups[0]["params"], opt=opt)
    np.testing.assert_array_equal(sd["state"][0]["square_avg"].numpy(), before)


def test_pytorch_state_dict_loads_and_continues_like_pytorch(device):
    init, grads = problem(seed=10, steps=40)
    kwargs = dict(lr=0.01, momentum=0.5, centered=True)
    theirs, _ = run_torch(torch.optim.RMSprop, kwargs, init, grads)
    _, t_opt = run_torch(torch.optim.RMSprop, kwargs, init, grads[:20])
    t_sd = t_opt.state_dict()
    converted = {"state": {k: {n: minigan.tensor(v.numpy()) for n, v in s.items()}
                           for k, s in t_sd["state"].items()},
                 "param_groups": t_sd["param_groups"]}
    params = make_params([p.detach().numpy() for p in t_opt.param_groups[0]["params"]], device)
    opt = RMSprop(params)
    opt.load_state_dict(converted)
    assert all(isinstance(s["step"], int) and s["step"] == 20 for s in opt.state.values())
    ours, _ = run_minigan(RMSprop, {}, init, grads[20:], params=params, opt=opt)
    assert_same(ours, theirs)


def test_constructor_checks_match_torch():
    p = [nn.Parameter(minigan.zeros(2))]
    for kwargs, message in ((dict(lr=-1), "Invalid learning rate"), (dict(eps=-1), "Invalid epsilon"),
                            (dict(momentum=-1), "Invalid momentum"), (dict(weight_decay=-1), "Invalid weight_decay"),
                            (dict(alpha=-1), "Invalid alpha")):
        with pytest.raises(ValueError, match=message):
            RMSprop(p, **kwargs)
        with pytest.raises(ValueError, match=message):
            torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    opt = RMSprop(p)
    t_opt = torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(2))])
    assert set(opt.defaults) == set(t_opt.defaults)
    for key in ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"):
        assert opt.defaults[key] == t_opt.defaults[key], key
    assert "RMSprop (" in repr(opt) and "alpha: 0.99" in repr(opt)
    assert minigan.optim.RMSprop is RMSprop
