"""Determinism (issue 9): the same seed gives bit-identical training on the CPU.

Two in-process runs of 300 book-style steps of the improved MNIST GAN through the experiment
API (``GanExperiment.fit``: real bundled digits in stored order, ``randn(100)`` seeds from
minigan's seeded host generator) must end with the same bytes in every weight, every Adam
moment and every recorded loss. A different seed must give different weights (so the
comparison can fail). On a GPU this is not promised: CuPy's reductions and cuBLAS choose
algorithms whose summation order can differ from run to run (README, "Reliability").
"""
from __future__ import annotations

import numpy as np
import pytest

import minigan
from minigan import book
from minigan.data import bundled_mnist

STEPS = 300


def train(seed: int, steps: int = STEPS) -> dict:
    """Every number a run ends with: weights, optimiser state and progress, as bytes."""
    minigan.manual_seed(seed)
    experiment = book.get("mnist-gan")
    nets = experiment.build()
    assert experiment.fit(nets, bundled_mnist("train"), steps=steps) == steps
    out = {}
    for name, net in (("D", nets.D), ("G", nets.G)):
        for key, value in net.module.state_dict().items():
            out[f"{name}.{key}"] = value.numpy().tobytes()
        for index, state in net.optimiser.state_dict()["state"].items():
            for key, value in state.items():
                if isinstance(value, minigan.Tensor):
                    out[f"{name}.adam.{index}.{key}"] = value.numpy().tobytes()
                else:
                    out[f"{name}.adam.{index}.{key}"] = repr(value)
        out[f"{name}.progress"] = np.asarray(net.progress, dtype=np.float64).tobytes()
        out[f"{name}.counter"] = net.counter
    return out


def test_same_seed_same_bits_different_seed_different_weights():
    a, b = train(0), train(0)
    assert a.keys() == b.keys()
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"two runs with seed 0 differ in {differ}"
    c = train(1, steps=10)
    assert a["G.0.weight"] != c["G.0.weight"] and a["D.0.weight"] != c["D.0.weight"]
    assert train(0, steps=10)["G.0.weight"] != c["G.0.weight"]  # the seed, not the length


def test_manual_seed_takes_pytorchs_range_and_remaps_negative_seeds():
    """torch.manual_seed: any integer in [-2**63, 2**64 - 1]; a negative seed s is
    0xffff_ffff_ffff_ffff + s. Outside the range: a RuntimeError that says so."""
    first = minigan.manual_seed(-1).random(3)
    np.testing.assert_array_equal(first, minigan.manual_seed(0xffff_ffff_ffff_ffff - 1).random(3))
    np.testing.assert_array_equal(minigan.manual_seed(-2 ** 63).random(3),
                                  minigan.manual_seed(0xffff_ffff_ffff_ffff - 2 ** 63).random(3))
    minigan.manual_seed(2 ** 64 - 1)
    for bad in (2 ** 64, -2 ** 63 - 1):
        with pytest.raises(RuntimeError, match="out of range"):
            minigan.manual_seed(bad)
    minigan.manual_seed(0)
