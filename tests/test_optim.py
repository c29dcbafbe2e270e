"""SGD and Adam against PyTorch: the same parameters and gradients, step for step.

Every comparison runs in float64 for 100 steps and must end at PyTorch's values with rtol
1e-10 (atol 1e-12 covers entries that pass through zero). Gradients are drawn with NumPy and
set directly, so the optimiser alone is tested; a loss-driven run then checks it inside a
real training loop. Each runs on the CPU (in-place path) and on the "strict" array-API
device (plain path, the stand-in for CuPy), and on CUDA where a GPU is present.
"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.optim import SGD, Adam, AdamW
from minigan.optim import adam as adam_module

torch = pytest.importorskip("torch")

DEVICES = ["cpu", "strict", pytest.param("cuda", marks=pytest.mark.cuda)]
TOL = dict(rtol=1e-10, atol=1e-12)
# big enough that the (200, 30) weight is updated where it lies and the rest share flat vectors
SHAPES = [(200, 50), (50,), (1,), (3, 4), (7,)]
STEPS = 100


@pytest.fixture(params=DEVICES)
def device(request):
    if request.param == "cuda" and not minigan.cuda.is_available():
        pytest.skip(f"CUDA not available: {minigan.cuda.unavailable_reason()}")
    return request.param


def problem(seed=0, steps=STEPS, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    return init, grads


def run_torch(cls, kwargs, init, grads, groups=None):
    params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    opt = cls(params if groups is None else groups(params), **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in params], opt


def make_params(init, device="cpu"):
    return [nn.Parameter(minigan.tensor(a, device=device)) for a in init]


def run_minigan(cls, kwargs, init, grads, device="cpu", groups=None, params=None, opt=None):
    params = params if params is not None else make_params(init, device)
    opt = opt or cls(params if groups is None else groups(params), **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else minigan.tensor(g, device=p.device)
        opt.step()
    return [p.detach().numpy() for p in params], opt


def assert_same(ours, theirs, **tol):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, **(tol or TOL), err_msg=f"parameter {i}")


SGD_CASES = {
    "plain": dict(lr=0.01),
    "momentum": dict(lr=0.01, momentum=0.9),
    "dampening": dict(lr=0.01, momentum=0.9, dampening=0.3),
    "nesterov": dict(lr=0.01, momentum=0.9, nesterov=True),
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "maximize": dict(lr=0.01, maximize=True),
    "everything": dict(lr=0.02, momentum=0.5, weight_decay=0.05, nesterov=True, maximize=True),
    "wd_dampening": dict(lr=0.02, momentum=0.5, dampening=0.5, weight_decay=0.05),
}

ADAM_CASES = {
    "default": dict(),
    "weight_decay": dict(weight_decay=0.1),
    "amsgrad": dict(amsgrad=True),
    "maximize": dict(maximize=True),
    "lr_1e-4": dict(lr=1e-4),
    "betas_eps": dict(lr=0.01, betas=(0.5, 0.9), eps=1e-3),
    "everything": dict(lr=3e-3, weight_decay=0.05, amsgrad=True, maximize=True),
    "decoupled": dict(weight_decay=0.1, decoupled_weight_decay=True),
}


# ============================================================================== parity
@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_matches_torch(case, device):
    init, grads = problem()
    theirs, _ = run_torch(torch.optim.SGD, SGD_CASES[case], init, grads)
    ours, _ = run_minigan(SGD, SGD_CASES[case], init, grads, device)
    assert_same(ours, theirs)


@pytest.mark.parametrize("case", ADAM_CASES)
def test_adam_matches_torch(case, device):
    init, grads = problem()
    theirs, _ = run_torch(torch.optim.Adam, ADAM_CASES[case], init, grads)
    ours, _ = run_minigan(Adam, ADAM_CASES[case], init, grads, device)
    assert_same(ours, theirs)


def test_adamw_matches_torch(device):
    init, grads = problem()
    theirs, _ = run_torch(torch.optim.AdamW, dict(lr=3e-3), init, grads)
    ours, _ = run_minigan(AdamW, dict(lr=3e-3), init, grads, device)
    assert_same(ours, theirs)


@pytest.mark.parametrize("cls", ["SGD", "Adam"])
def test_missing_gradients_skip_those_parameters(cls, device):
    """A parameter without a gradient is not touched and its step count stays (PyTorch)."""
    init, grads = problem(seed=1, steps=40)
    rng = np.random.default_rng(2)
    for step_grads in grads:
        for i in range(len(step_grads)):
            if rng.random() < 0.3:
                step_grads[i] = None
    kwargs = dict(lr=0.01, momentum=0.9) if cls == "SGD" else dict(lr=0.01, amsgrad=True)
    theirs, _ = run_torch(getattr(torch.optim, cls), kwargs, init, grads)
    ours, _ = run_minigan(getattr(minigan.optim, cls), kwargs, init, grads, device)
    assert_same(ours, theirs)


@pytest.mark.parametrize("cls", ["SGD", "Adam"])
def test_param_groups_with_their_own_options(cls, device):
    init, grads = problem(seed=3, steps=30)
    extra = dict(momentum=0.9) if cls == "SGD" else dict(betas=(0.8, 0.99))

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1, **extra}]
    theirs, t_opt = run_torch(getattr(torch.optim, cls), dict(lr=0.01), init, grads, groups=groups)
    ours, m_opt = run_minigan(getattr(minigan.optim, cls), dict(lr=0.01), init, grads, device, groups=groups)
    assert_same(ours, theirs)
    assert [g["lr"] for g in m_opt.param_groups] == [g["lr"] for g in t_opt.param_groups]


def test_add_param_group_then_keep_training(device):
    init, grads = problem(seed=4, steps=20)
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    m_params = make_params(init, device)
    t_opt = torch.optim.Adam(t_params[:2], lr=0.01)
    m_opt = Adam(m_params[:2], lr=0.01)
    for k, step_grads in enumerate(grads):
        if k == 10:
            t_opt.add_param_group({"params": t_params[2:], "lr": 0.05})
            m_opt.add_param_group({"params": m_params[2:], "lr": 0.05})
        for tp, mp, g in zip(t_params, m_params, step_grads):
            tp.grad, mp.grad = torch.tensor(g), minigan.tensor(g, device=device)
        t_opt.step()
        m_opt.step()
    assert_same([p.detach().numpy() for p in m_params], [p.detach().numpy() for p in t_params])


def test_changing_lr_and_betas_between_steps_matches_torch(device):
    """A schedule may change lr and betas; Adam's sums are rescaled to keep PyTorch's maths."""
    init, grads = problem(seed=5, steps=60)
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    m_params = make_params(init, device)
    t_opt = torch.optim.Adam(t_params, lr=0.01, amsgrad=True)
    m_opt = Adam(m_params, lr=0.01, amsgrad=True)
    for k, step_grads in enumerate(grads):
        for opt in (t_opt, m_opt):
            opt.param_groups[0]["lr"] = 0.01 * (1 + k % 7) / 7
            opt.param_groups[0]["betas"] = (0.85 + 0.1 * (k % 3) / 2, 0.99 + 0.009 * (k % 5) / 4)
        for tp, mp, g in zip(t_params, m_params, step_grads):
            tp.grad, mp.grad = torch.tensor(g), minigan.tensor(g, device=device)
        t_opt.step()
        m_opt.step()
    assert_same([p.detach().numpy() for p in m_params], [p.detach().numpy() for p in t_params])


# ============================================================================== a real loss
def mlp_loss(F, params, x, t):
    """A two-layer MLP written with primitives: x @ W.T + b, sigmoid, mean squared error."""
    w1, b1, w2, b2 = params
    h = F.sigmoid(x @ w1.T + b1)
    y = F.sigmoid(h @ w2.T + b2)
    return ((y - t) ** 2).mean()


def train_side_by_side(cls, kwargs, device, batch=1, steps=50):
    """Train :func:`mlp_loss`'s MLP with optimiser ``cls`` (its name in both libraries) in
    PyTorch and in minigan from the same start on the same data; both must agree throughout."""
    rng = np.random.default_rng(6)
    shapes = [(16, 8), (16,), (3, 16), (3,)]
    init = [rng.uniform(-0.5, 0.5, s) for s in shapes]
    data = [(rng.standard_normal((batch, 8)), rng.uniform(0, 1, (batch, 3))) for _ in range(steps)]
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    t_opt = getattr(torch.optim, cls)(t_params, **kwargs)
    m_params = make_params(init, device)
    m_opt = getattr(minigan.optim, cls)(m_params, **kwargs)
    t_losses, m_losses = [], []
    for x, t in data:
        t_opt.zero_grad()
        loss = mlp_loss(torch, t_params, torch.tensor(x), torch.tensor(t))
        loss.backward()
        t_opt.step()
        t_losses.append(loss.item())

        m_opt.zero_grad()
        loss = mlp_loss(minigan, m_params, minigan.tensor(x, device=device), minigan.tensor(t, device=device))
        loss.backward()
        m_opt.step()
        m_losses.append(loss.item())
    np.testing.assert_allclose(m_losses, t_losses, rtol=1e-10)
    assert_same([p.detach().numpy() for p in m_params], [p.detach().numpy() for p in t_params])


@pytest.mark.parametrize("cls,kwargs", [("SGD", dict(lr=0.5, momentum=0.5)), ("Adam", dict(lr=0.01)),
                                        ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=1e-3))])
def test_loss_driven_training_matches_torch(cls, kwargs, device):
    train_side_by_side(cls, kwargs, device)


def test_closure_is_evaluated_with_grad_enabled():
    p = nn.Parameter(minigan.tensor([1.0, 2.0], dtype="float64"))
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    with minigan.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.8, 1.6])


# ============================================================================== semantics
def test_step_records_no_graph_and_updates_in_place():
    """On NumPy the update mutates p.data (small and big parameters alike), like PyTorch."""
    params = make_params([np.ones(s) for s in [(100, 100), (5,)]])
    arrays = [p.data for p in params]
    for opt in (SGD(params, lr=0.1, momentum=0.9), Adam(params)):
        for p in params:
            p.grad = minigan.ones_like(p)
        with minigan.enable_grad():
            opt.step()
        for p, a in zip(params, arrays):
            assert p.data is a and p.is_leaf and p.requires_grad and p.creator is None
            assert not np.allclose(a, 1.0)


def test_zero_grad():
    p = nn.Parameter(minigan.tensor([1.0, 2.0]))
    opt = Adam([p])
    (p * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.numpy().tolist() == [0.0, 0.0] and not p.grad.requires_grad
    (p * 3).sum().backward()
    assert p.grad.numpy().tolist() == [3.0, 3.0]
    opt.zero_grad()
    assert p.grad is None
    opt.step()  # no gradients: nothing happens, no state appears
    assert opt.state == {} and p.detach().numpy().tolist() == [1.0, 2.0]


def test_zero_grad_never_writes_into_a_shared_gradient():
    """The engine may share one gradient array between tensors: zeroing must not write into it."""
    p = nn.Parameter(minigan.tensor([1.0, 2.0]))
    shared = np.array([5.0, 6.0], dtype=np.float32)
    p.grad = minigan.from_numpy(shared)
    Adam([p]).zero_grad(set_to_none=False)
    assert shared.tolist() == [5.0, 6.0] and p.grad.numpy().tolist() == [0.0, 0.0]


def test_step_follows_rebound_data_and_dtype_changes():
    """``copy_``/``load_state_dict`` rebind p.data; ``Module.to`` changes its dtype: both work."""
    init, grads = problem(seed=7, steps=20)
    theirs, _ = run_torch(torch.optim.Adam, dict(lr=0.01), init, grads)
    params = make_params(init)
    _, opt = run_minigan(Adam, dict(lr=0.01), init, grads[:10], params=params)
    for p in params:
        p.data = p.data.copy()  # same values, new arrays
    ours, _ = run_minigan(Adam, {}, init, grads[10:], params=params, opt=opt)
    assert_same(ours, theirs)
    for p in params:
        p.data = p.data.astype(np.float32)
    run_minigan(Adam, {}, init, grads[:3], params=params, opt=opt)
    assert all(s["exp_sum"].dtype == minigan.float32 and s["step"] == 23 for s in opt.state.values())
    assert all(p.dtype == minigan.float32 for p in params)


def test_sgd_momentum_buffer_follows_a_dtype_change():
    params = make_params([np.ones((3, 2)), np.ones(2)])
    opt = SGD(params, lr=0.1, momentum=0.9)
    for _ in range(2):
        for p in params:
            p.grad = minigan.ones_like(p)
        opt.step()
    for p in params:
        p.data, p.grad = p.data.astype(np.float32), None
        p.grad = minigan.ones_like(p)
    opt.step()
    assert all(opt.state[p]["momentum_buffer"].dtype == minigan.float32 for p in params)
    np.testing.assert_allclose(params[1].detach().numpy(), 1 - 0.1 * (1 + 1.9 + 2.71), rtol=1e-6)


def test_constructor_checks_match_torch():
    p = [nn.Parameter(minigan.zeros(2))]
    for bad in (dict(lr=-1.0), dict(momentum=-0.1), dict(weight_decay=-1),
                dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)):
        with pytest.raises(ValueError):
            SGD(p, **bad)
    for bad in (dict(lr=-1.0), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)),
                dict(weight_decay=-1.0)):
        with pytest.raises(ValueError):
            Adam(p, **bad)
    with pytest.raises(ValueError, match="empty parameter list"):
        Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        Adam(p[0])
    with pytest.raises(ValueError, match="non-leaf"):
        Adam([p[0] * 2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        Adam([{"params": p}, {"params": p}])
    assert SGD(p).defaults["lr"] == 1e-3 and Adam(p).defaults["betas"] == (0.9, 0.999)


def test_a_gradient_of_the_wrong_shape_is_refused():
    p = nn.Parameter(minigan.zeros(200))
    q = nn.Parameter(minigan.zeros(20000))
    for param in (p, q):
        opt = Adam([param])
        param.grad = minigan.zeros(1)
        with pytest.raises(RuntimeError, match="gradient of shape"):
            opt.step()


def test_repr_lists_groups():
    text = repr(Adam([nn.Parameter(minigan.zeros(2))], lr=0.5))
    assert text.startswith("Adam (") and "Parameter Group 0" in text and "lr: 0.5" in text


# ============================================================================== state dicts
def structure(sd):
    return {"state": {k: sorted(v) for k, v in sd["state"].items()},
            "param_groups": [sorted(g) for g in sd["param_groups"]]}


@pytest.mark.parametrize("cls,kwargs", [("SGD", dict(lr=0.01, momentum=0.9)),
                                        ("Adam", dict(lr=0.01)),
                                        ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01))])
def test_state_dict_round_trip_through_a_checkpoint_continues_exactly(cls, kwargs, device, tmp_path):
    """Interrupted (save, fresh optimiser, load) and uninterrupted runs end bit for bit equal."""
    init, grads = problem(seed=8, steps=30)
    make = getattr(minigan.optim, cls)
    straight, _ = run_minigan(make, kwargs, init, grads, device)

    params = make_params(init, device)
    _, opt = run_minigan(make, kwargs, init, grads[:15], device, params=params)
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"] and sd["param_groups"][0]["params"] == [0, 1, 2, 3, 4]
    assert sorted(sd["state"]) == [0, 1, 2, 3, 4]
    minigan.save({"params": [p.detach() for p in params], "optim": sd, "epoch": 3}, tmp_path / "ckpt.npz")

    ckpt = minigan.load(tmp_path / "ckpt.npz", map_location=device)
    assert ckpt["epoch"] == 3 and structure(ckpt["optim"]) == structure(sd)
    fresh = [nn.Parameter(t) for t in ckpt["params"]]
    fresh_opt = make(fresh, lr=123.0)  # options come from the state dict
    fresh_opt.load_state_dict(ckpt["optim"])
    assert fresh_opt.param_groups[0]["lr"] == kwargs["lr"]
    resumed, _ = run_minigan(make, kwargs, init, grads[15:], device, params=fresh, opt=fresh_opt)
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a, b)


def test_state_dict_is_a_snapshot_with_pytorch_structure():
    init, grads = problem(seed=9, steps=5)
    _, opt = run_minigan(Adam, dict(lr=0.01), init, grads)
    _, t_opt = run_torch(torch.optim.Adam, dict(lr=0.01), init, grads)
    sd, t_sd = opt.state_dict(), t_opt.state_dict()
    assert sd["param_groups"][0]["params"] == t_sd["param_groups"][0]["params"]
    assert set(t_sd["param_groups"][0]) - set(sd["param_groups"][0]) <= {"capturable", "differentiable"}
    assert sorted(sd["state"]) == sorted(t_sd["state"])
    before = sd["state"][0]["exp_sum"].numpy().copy()
    run_minigan(Adam, {}, init, grads, params=opt.param_groups[0]["params"], opt=opt)
    np.testing.assert_array_equal(sd["state"][0]["exp_sum"].numpy(), before)  # a snapshot
    for i, state in sd["state"].items():  # PyTorch's averages are (1 - beta) times the sums
        np.testing.assert_allclose(0.1 * state["exp_sum"].numpy(), t_sd["state"][i]["exp_avg"].numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(1e-3 * state["exp_sum_sq"].numpy(),
                                   t_sd["state"][i]["exp_avg_sq"].numpy(), rtol=1e-12)
        assert state["step"] == 5 == t_sd["state"][i]["step"].item()


def test_pytorch_adam_state_loads_and_continues_like_pytorch(device):
    """A PyTorch Adam state dict (exp_avg, tensor steps) converted to minigan tensors loads."""
    init, grads = problem(seed=10, steps=40)
    kwargs = dict(lr=0.01, amsgrad=True)
    theirs, _ = run_torch(torch.optim.Adam, kwargs, init, grads)
    _, t_opt = run_torch(torch.optim.Adam, kwargs, init, grads[:20])
    t_params = t_opt.param_groups[0]["params"]
    t_sd = t_opt.state_dict()
    converted = {"state": {k: {n: minigan.tensor(v.numpy()) for n, v in s.items()}
                           for k, s in t_sd["state"].items()},
                 "param_groups": t_sd["param_groups"]}
    params = make_params([p.detach().numpy() for p in t_params], device)
    opt = Adam(params)
    opt.load_state_dict(converted)
    ours, _ = run_minigan(Adam, {}, init, grads[20:], params=params, opt=opt)
    assert_same(ours, theirs)


def test_load_state_dict_checks_the_groups():
    p = [nn.Parameter(minigan.zeros(2)), nn.Parameter(minigan.zeros(3))]
    sd = Adam(p).state_dict()
    with pytest.raises(ValueError, match="number of parameter groups"):
        Adam([{"params": p[:1]}, {"params": p[1:]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        Adam(p[:1]).load_state_dict(sd)


def test_small_parameters_share_flat_state_vectors():
    """The layout the speed comes from: small parameters' moments are views of one vector."""
    params = make_params([np.ones(s) for s in [(100, 100), (5,), (7,)]])
    opt = Adam(params)
    for p in params:
        p.grad = minigan.ones_like(p)
    opt.step()
    small = [opt.state[p]["exp_sum"].data for p in params[1:]]
    assert all(s.base is not None and s.base is small[0].base for s in small)
    assert params[0].numel() >= adam_module.SMALL > params[1].numel()


@pytest.mark.parametrize("case", ["default", "everything", "decoupled"])
def test_big_parameters_stepped_in_blocks_give_the_same_bits(case, monkeypatch):
    """Point 4 of optim/adam.py: a very big parameter is stepped in cache-sized blocks. With
    the thresholds and the block lowered so that blocks (and a short last one) really happen,
    the parameters and moments are bit for bit those of the whole-array step, and PyTorch's."""
    monkeypatch.setattr(adam_module, "BLOCK", 70)
    shapes = [(30, 20), (257,), (9,)]  # 600 numbers in 9 blocks (the last of 40), 257 in 4, one small
    init, grads = problem(seed=4, steps=5, shapes=shapes)
    results = {}
    for blocked_from in (10 ** 9, 100):
        params = make_params(init)
        opt = Adam(params, **ADAM_CASES[case])
        opt.small_numel, opt.blocked_from = 10, blocked_from  # (9,) stays small, the others big
        ours, opt = run_minigan(Adam, None, init, grads, params=params, opt=opt)
        results[blocked_from] = ours + [opt.state[p][k].numpy() for p in params for k in ("exp_sum", "exp_sum_sq")]
    for whole, blocked in zip(results[10 ** 9], results[100]):
        np.testing.assert_array_equal(blocked, whole)
    theirs, _ = run_torch(torch.optim.Adam, ADAM_CASES[case], init, grads)
    assert_same(results[100][:3], theirs)


def test_blocks_are_skipped_for_a_strided_parameter():
    """Only contiguous arrays have flat views to cut into blocks: a parameter whose array is
    a transposed view is stepped whole (a flattened copy would take the update away)."""
    init, grads = problem(seed=5, steps=3, shapes=[(40, 30)])
    params = make_params(init)
    params[0].data = np.ascontiguousarray(init[0].T).T  # the same values, a transposed view
    assert not params[0].data.flags.c_contiguous
    opt = Adam(params)
    opt.small_numel, opt.blocked_from = 10, 100
    ours, _ = run_minigan(Adam, None, init, grads, params=params, opt=opt)
    theirs, _ = run_torch(torch.optim.Adam, {}, init, grads)
    assert_same(ours, theirs)
