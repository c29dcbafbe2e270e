"""Learning-rate schedules (minigan/optim/lr_scheduler.py) against PyTorch's: the same rates,
epoch by epoch and bit for bit, and a resumed schedule continuing where it stopped."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import minigan

torch = pytest.importorskip("torch")

SCHEDULES = {
    "lambda": ("LambdaLR", dict(lr_lambda=lambda e: 1.0 - e / 40)),
    "lambda_per_group": ("LambdaLR", dict(lr_lambda=[lambda e: 0.95 ** e, lambda e: 1 / (1 + e)])),
    "step": ("StepLR", dict(step_size=7, gamma=0.3)),
    "multistep": ("MultiStepLR", dict(milestones=[3, 8, 8, 20], gamma=0.5)),
    "exponential": ("ExponentialLR", dict(gamma=0.93)),
    "cosine": ("CosineAnnealingLR", dict(T_max=10, eta_min=1e-4)),
}


def _optimiser(lib, cls="SGD"):
    """Two parameter groups with their own rates, as the schedules must treat each."""
    a, b = lib.nn.Parameter(lib.zeros(2)), lib.nn.Parameter(lib.zeros(3))
    return getattr(lib.optim, cls)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)


def _rates(lib, name, epochs, opt=None, sched=None):
    cls, kwargs = SCHEDULES[name]
    opt = opt or _optimiser(lib)
    sched = sched or getattr(lib.optim.lr_scheduler, cls)(opt, **kwargs)
    rates = [sched.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        sched.step()
        rates.append(sched.get_last_lr())
        assert rates[-1] == [g["lr"] for g in opt.param_groups]
    return rates, opt, sched


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_rates_match_torch_bit_for_bit(name):
    ours, _, _ = _rates(minigan, name, 35)
    theirs, _, _ = _rates(torch, name, 35)
    assert ours == theirs  # floats compared exactly


@pytest.mark.parametrize("name", ["step", "multistep", "exponential", "cosine"])
def test_step_with_an_epoch_uses_the_closed_form_as_torch(name):
    cls, kwargs = SCHEDULES[name]
    got, want = [], []
    for lib, out in ((minigan, got), (torch, want)):
        opt = _optimiser(lib)
        sched = getattr(lib.optim.lr_scheduler, cls)(opt, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: the epoch argument is deprecated
            for epoch in (4, 9, 21, 30):
                opt.step()
                sched.step(epoch)
                out.append(sched.get_last_lr())
    assert got == want


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_resumed_schedule_continues_where_it_stopped(name):
    straight, _, _ = _rates(minigan, name, 25)
    first, opt, sched = _rates(minigan, name, 12)
    opt_state, sched_state = opt.state_dict(), sched.state_dict()
    cls, kwargs = SCHEDULES[name]
    opt2 = _optimiser(minigan)
    opt2.load_state_dict(opt_state)
    sched2 = getattr(minigan.optim.lr_scheduler, cls)(opt2, **kwargs, last_epoch=11)
    sched2.load_state_dict(sched_state)
    rest, _, _ = _rates(minigan, name, 13, opt2, sched2)
    assert first + rest[1:] == straight


def test_refusals():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        minigan.optim.lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(KeyError, match="'initial_lr' is not specified in param_groups"):
        minigan.optim.lr_scheduler.StepLR(_optimiser(minigan), step_size=2, last_epoch=4)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        minigan.optim.lr_scheduler.LambdaLR(_optimiser(minigan), [lambda e: 1.0])


def test_adam_follows_the_schedule_as_torch():
    """The rate written into the group is the one Adam steps with."""
    rng = np.random.default_rng(2)
    w0, grads = rng.standard_normal(4), rng.standard_normal((12, 4))
    results = []
    for lib in (minigan, torch):
        w = lib.nn.Parameter(lib.tensor(w0))
        opt = lib.optim.Adam([w], lr=0.1)
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.7)
        for g in grads:
            w.grad = lib.tensor(g)
            opt.step()
            sched.step()
        results.append(w.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
