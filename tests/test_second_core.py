"""minigan.utils.second_core and Adam's big parameters updated on two cores.

The split must be invisible: the same numbers to the bit as one thread, for every Adam
option, and errors on the helper thread must reach the caller.
"""
from __future__ import annotations

import threading

import numpy as np
import pytest

import minigan
from minigan.optim import adam as adam_module
from minigan.utils import second_core


def test_run_halves_runs_both_and_waits():
    seen = []
    second_core.run_halves(lambda: seen.append(("first", threading.get_ident())),
                           lambda: seen.append(("second", threading.get_ident())))
    assert sorted(name for name, _ in seen) == ["first", "second"]
    idents = dict(seen)
    assert idents["first"] == threading.get_ident() != idents["second"]


def test_an_error_on_the_helper_reaches_the_caller_and_the_helper_keeps_working():
    def boom():
        raise ValueError("from the helper")
    with pytest.raises(ValueError, match="from the helper"):
        second_core.run_halves(lambda: None, boom)
    done = []
    second_core.run_halves(lambda: done.append(1), lambda: done.append(2))
    assert sorted(done) == [1, 2]


def _train(split: bool, **options):
    minigan.manual_seed(0)
    big = minigan.nn.Linear(400, 300)          # 120,000 weights: above SPLIT_FROM
    small = minigan.nn.Linear(300, 3)
    opt = minigan.optim.Adam(list(big.parameters()) + list(small.parameters()), lr=1e-2, **options)
    x = minigan.randn(5, 400)
    for step in range(4):
        if step == 1:   # the buckets exist after the first step: force the split on or off
            for plan in opt._plans.values():
                for bucket in plan.buckets:
                    bucket.split = split
        loss = (small(big(x).tanh()) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in list(big.parameters()) + list(small.parameters())]


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"amsgrad": True},
                                     {"maximize": True}, {"weight_decay": 0.1, "decoupled_weight_decay": True}],
                         ids=lambda o: ",".join(o) or "default")
def test_adam_on_two_cores_is_bit_for_bit_the_one_thread_update(options):
    assert 400 * 300 >= adam_module.SPLIT_FROM
    one, two = _train(False, **options), _train(True, **options)
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(one[0], _train_untouched())


def _train_untouched():
    minigan.manual_seed(0)
    return minigan.nn.Linear(400, 300).weight.detach().numpy().copy()


def test_the_split_is_used_for_big_parameters(monkeypatch):
    calls = []
    real = second_core.run_halves
    monkeypatch.setattr(second_core, "run_halves", lambda a, b: (calls.append(1), real(a, b)))
    if not second_core.AVAILABLE:
        pytest.skip("one usable core: Adam keeps to one thread")
    _train(True)
    assert calls   # the 400 x 300 weight went through the helper
